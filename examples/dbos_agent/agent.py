"""The checkout workflow on DBOS (package docstring).

Nothing here knows about ninelives except ``main(env)``'s ports (``env.tasks``, the
queue the worker takes orders from, ``env.data_dir``, the machine's disk) and the
``Design`` at the end.
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any

import openai
import stripe
from dbos import DBOS, DBOSConfig, SetWorkflowID

from examples.sdk_agent.durable import Refused, gate
from examples.sdk_agent.shop import MODEL, TOOLS, Shop, ShopError, first_message
from simulator import Design

#: a checkout's steps: at most this many model turns
MAX_TURNS = 24


class _Clients:
    """The SDK clients of this process (a workflow's arguments must be serializable)."""

    llm: openai.AsyncOpenAI
    payments: stripe.StripeClient
    shop: Shop
    keyed = True


CLIENTS = _Clients()


def step_key() -> str:
    """The idempotency key of the running step."""
    if CLIENTS.keyed:
        return f"{DBOS.workflow_id}:{DBOS.step_id}"
    return str(uuid.uuid4())  # new each time the step runs: the flaw


@DBOS.step(retries_allowed=True, max_attempts=5, interval_seconds=2.0)
async def ask_model(order: dict[str, Any], turns: list[dict[str, Any]]) -> dict[str, Any]:
    """The model's next turn, once it proposes a call the gate accepts."""
    while True:
        answer = await CLIENTS.llm.chat.completions.create(
            model=MODEL, messages=first_message(order) + turns, tools=TOOLS)
        message = answer.choices[0].message
        try:
            [call] = message.tool_calls or []
            args = json.loads(call.function.arguments)
            if not isinstance(args, dict):
                raise Refused("arguments are not an object")
            gate(order, call.function.name, args)
        except (ValueError, Refused):
            continue
        return message.model_dump(exclude_none=True)


@DBOS.step(retries_allowed=True, max_attempts=5, interval_seconds=2.0)
async def charge(args: dict[str, Any]) -> dict[str, Any]:
    """Charge the order's total under the step's key."""
    payments = CLIENTS.payments
    try:
        customer = await payments.v1.customers.retrieve_async(args["customer"])
        intent = await payments.v1.payment_intents.create_async(params={
            "amount": args["amount_cents"], "currency": args["currency"],
            "customer": args["customer"], "confirm": True,
            "payment_method": customer.invoice_settings.default_payment_method,
            "automatic_payment_methods": {"enabled": True, "allow_redirects": "never"},
        }, options={"idempotency_key": step_key()})
    except stripe.CardError as error:
        return {"error": {"type": "card_error", "message": str(error.user_message)}}
    return {"payment_intent": intent.id, "status": intent.status}


@DBOS.step(retries_allowed=True, max_attempts=5, interval_seconds=2.0)
async def shop_call(name: str, args: dict[str, Any]) -> dict[str, Any]:
    """Reserve an item or send the receipt under the step's key."""
    fn = CLIENTS.shop.reserve if name == "inventory_reserve" else CLIENTS.shop.send
    try:
        return await fn(args, step_key())
    except ShopError as error:
        if error.status in (409, 429) or error.status >= 500:
            raise  # DBOS retries the step
        return {"error": error.body.get("error", error.body)}


@DBOS.workflow()
async def checkout(order: dict[str, Any]) -> dict[str, Any]:
    """The order from its first model turn to its outcome; each turn and each call a
    step, recorded in the system database as it finishes."""
    turns: list[dict[str, Any]] = []
    for _ in range(MAX_TURNS):
        message = await ask_model(order, turns)
        turns.append(message)
        [call] = message["tool_calls"]
        name = call["function"]["name"]
        args = json.loads(call["function"]["arguments"])
        if name == "finish":
            return args["outcome"]  # type: ignore[no-any-return]
        result = await (charge(args) if name == "payments_charge"
                        else shop_call(name, args))
        turns.append({"role": "tool", "tool_call_id": call["id"],
                      "content": json.dumps(result)})
    return {"status": "failed", "said": "too many turns"}


def launch(data_dir: Path, keyed: bool) -> None:
    """Configure and launch DBOS on a SQLite system database in ``data_dir``: a
    restarted process recovers the workflows its last life left pending."""
    CLIENTS.llm = openai.AsyncOpenAI(api_key=os.environ.get("OPENAI_API_KEY", "sk-test"))
    CLIENTS.payments = stripe.StripeClient(
        os.environ.get("STRIPE_API_KEY", "sk_test_ninelives"),
        http_client=stripe.HTTPXClient(), max_network_retries=2)
    CLIENTS.shop = Shop()
    CLIENTS.keyed = keyed
    config: DBOSConfig = {"name": "checkout", "application_version": "1",
                          "executor_id": "worker",
                          "system_database_url": f"sqlite:///{data_dir / 'dbos.sqlite'}"}
    DBOS(config=config)
    DBOS.launch()


def make_design(keyed: bool) -> Design:
    """The worker ``main(env)`` and its ``Design``."""

    async def main(env: Any) -> None:
        launch(Path(env.data_dir), keyed)
        for task in await env.tasks.list():
            with SetWorkflowID(task["id"]):  # the same workflow after a restart
                handle = await DBOS.start_workflow_async(checkout, task["input"])
            await env.tasks.complete(task["id"], await handle.get_result())

    kind = "keyed" if keyed else "flawed"
    return Design(name=f"dbos-{kind}", main=main, scenarios=("checkout",),
                  description="checkout as a DBOS workflow (SQLite system database); "
                              + ("step keys from workflow id and step id" if keyed
                                 else "a fresh UUID key each time a step runs"))
