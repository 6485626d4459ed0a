"""The checkout agent, fixed: the same model, tools and SDKs as ``naive``, with the four
answers a durable agent needs.

- **State** lives in SQLite, in the machine's data directory: every turn of every
  conversation (the model's answers and the tools' results), committed as it happens.
  A restart rebuilds each conversation from the log and goes on from its last turn.
- **Retries** carry a key made from the workflow and the step (``checkout-1:3``), never
  from the process: a charge retried after a restart is the same charge to Stripe,
  which answers it from its idempotency store. A 5xx the service stored against the key
  would only be replayed: the step then gets a recorded new attempt (``checkout-1:3:2``),
  once a search by the step's metadata shows the charge did not happen.
- **Between the model and the tools** an executor checks every proposed call against the
  order (the customer and the total to charge, the items to reserve, the address to
  write to) and refuses anything else, before it is recorded.
- **The resumable unit** is one tool call: a crash redoes at most the call in flight.

Run it for real as ``naive`` (``python -m examples.sdk_agent.durable orders.json``);
under ninelives: ``ninelives check examples.sdk_agent.durable:design``.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import sys
from pathlib import Path
from typing import Any

import httpx
import openai
import stripe

from simulator import Design

from .shop import MODEL, TOOLS, Shop, ShopError, clients, first_message

#: how long to wait before trying a step again after a service or the model failed
RETRY_AFTER_S = 5.0


class StepLog:
    """Each workflow's conversation, one committed row per turn, and its outcome."""

    def __init__(self, path: Path) -> None:
        self.db = sqlite3.connect(path)
        with self.db:
            self.db.execute("CREATE TABLE IF NOT EXISTS turns (workflow TEXT, n INTEGER, "
                            "message TEXT, PRIMARY KEY (workflow, n))")
            self.db.execute("CREATE TABLE IF NOT EXISTS outcomes (workflow TEXT PRIMARY KEY,"
                            " outcome TEXT)")
            self.db.execute("CREATE TABLE IF NOT EXISTS attempts (workflow TEXT, step INTEGER,"
                            " n INTEGER, PRIMARY KEY (workflow, step))")

    def turns(self, workflow: str) -> list[dict[str, Any]]:
        rows = self.db.execute("SELECT message FROM turns WHERE workflow = ? ORDER BY n",
                               (workflow,))
        return [json.loads(m) for (m,) in rows]

    def append(self, workflow: str, n: int, message: dict[str, Any]) -> None:
        with self.db:  # one transaction: committed, or (killed before) not there at all
            self.db.execute("INSERT INTO turns VALUES (?, ?, ?)",
                            (workflow, n, json.dumps(message)))

    def attempt(self, workflow: str, step: int) -> int:
        """Which attempt of the step this is (1 until a stored failure forced another)."""
        row = self.db.execute("SELECT n FROM attempts WHERE workflow = ? AND step = ?",
                              (workflow, step)).fetchone()
        return 1 if row is None else int(row[0])

    def next_attempt(self, workflow: str, step: int) -> None:
        with self.db:
            self.db.execute("INSERT OR REPLACE INTO attempts VALUES (?, ?, ?)",
                            (workflow, step, self.attempt(workflow, step) + 1))

    def outcome(self, workflow: str) -> dict[str, Any] | None:
        row = self.db.execute("SELECT outcome FROM outcomes WHERE workflow = ?",
                              (workflow,)).fetchone()
        return None if row is None else json.loads(row[0])  # type: ignore[no-any-return]

    def finish(self, workflow: str, outcome: dict[str, Any]) -> None:
        with self.db:
            self.db.execute("INSERT OR REPLACE INTO outcomes VALUES (?, ?)",
                            (workflow, json.dumps(outcome)))


class StoredFailure(Exception):
    """The service answered a 5xx and stored it against the key: the same key would
    only replay it (Stripe's rule), so the step needs a new attempt, once it is known
    that nothing happened."""


class Refused(Exception):
    """A proposed call the executor will not run (the model is asked again)."""


def gate(order: dict[str, Any], name: str, args: dict[str, Any]) -> None:
    """Raise ``Refused`` unless the call is one this order allows."""
    if name == "payments_charge":
        wanted = {"customer": order["customer"], "amount_cents": order["total_cents"],
                  "currency": order["currency"]}
        if args != wanted:
            raise Refused(f"charge {args} is not this order's {wanted}")
    elif name == "inventory_reserve":
        items = {(i["sku"], i["quantity"]) for i in order["items"]}
        if args.get("order_id") != order["order_id"] or \
                (args.get("sku"), args.get("quantity")) not in items:
            raise Refused(f"reservation {args} is not an item of {order['order_id']}")
    elif name == "email_send":
        if args.get("to") != order["email"]:
            raise Refused(f"email to {args.get('to')!r}, not the customer")
    elif name != "finish":
        raise Refused(f"unknown tool {name}")


async def execute(name: str, args: dict[str, Any], step: str, key: str,
                  payments: stripe.StripeClient, shop: Shop) -> dict[str, Any]:
    """Run one gated call under ``key``; its result, or ``{"error"}`` for a refusal by
    the service (a declined card). Raises ``StoredFailure`` for a 5xx stored against
    the key, anything else for a failure worth retrying later under the same key."""
    try:
        if name == "payments_charge":
            customer = await payments.v1.customers.retrieve_async(args["customer"])
            intent = await payments.v1.payment_intents.create_async(params={
                "amount": args["amount_cents"], "currency": args["currency"],
                "customer": args["customer"], "confirm": True,
                "payment_method": customer.invoice_settings.default_payment_method,
                "metadata": {"step": step},
                "automatic_payment_methods": {"enabled": True, "allow_redirects": "never"},
            }, options={"idempotency_key": key})
            return {"payment_intent": intent.id, "status": intent.status}
        if name == "inventory_reserve":
            return await shop.reserve(args, key)
        return await shop.send(args, key)
    except stripe.CardError as error:
        return {"error": {"type": "card_error", "message": str(error.user_message)}}
    except stripe.APIError as error:
        if (error.http_status or 0) >= 500:
            raise StoredFailure(str(error)) from error
        raise
    except ShopError as error:
        if error.status >= 500:
            raise StoredFailure(str(error)) from error
        if error.status in (409, 429):
            raise
        return {"error": error.body.get("error", error.body)}


async def charged(payments: stripe.StripeClient, step: str) -> dict[str, Any] | None:
    """The charge a step already made, looked up by the step in its metadata."""
    found = await payments.v1.payment_intents.search_async(
        params={"query": f"metadata['step']:'{step}'"})
    for intent in found.data:
        if intent.status == "succeeded":
            return {"payment_intent": intent.id, "status": intent.status}
    return None


async def decide(llm: openai.AsyncOpenAI, order: dict[str, Any],
                 messages: list[dict[str, Any]]) -> dict[str, Any]:
    """The model's next turn, once it proposes a call the executor accepts."""
    while True:
        try:
            answer = await llm.chat.completions.create(model=MODEL, messages=messages,
                                                       tools=TOOLS)
        except openai.APIError:  # its own retries spent: try again later
            await asyncio.sleep(RETRY_AFTER_S)
            continue
        message = answer.choices[0].message
        try:
            [call] = message.tool_calls or []
            args = json.loads(call.function.arguments)
            if not isinstance(args, dict):
                raise Refused("arguments are not an object")
            gate(order, call.function.name, args)
        except (ValueError, Refused):
            continue  # malformed, several calls, or refused: not recorded, ask again
        return message.model_dump(exclude_none=True)


async def checkout(workflow: str, order: dict[str, Any], log: StepLog,
                   llm: openai.AsyncOpenAI, payments: stripe.StripeClient,
                   shop: Shop) -> dict[str, Any]:
    """Take the order from its last recorded turn to its end; its outcome."""
    done = log.outcome(workflow)
    if done is not None:
        return done
    turns = log.turns(workflow)
    while True:
        last = turns[-1] if turns else None
        if last is None or last["role"] == "tool":
            turns.append(await decide(llm, order, first_message(order) + turns))
            log.append(workflow, len(turns) - 1, turns[-1])
            continue
        [call] = last["tool_calls"]
        name = call["function"]["name"]
        args = json.loads(call["function"]["arguments"])
        if name == "finish":
            log.finish(workflow, args["outcome"])
            return args["outcome"]  # type: ignore[no-any-return]
        step = f"{workflow}:{len(turns) - 1}"  # the same after any restart
        attempt = log.attempt(workflow, len(turns) - 1)
        key = step if attempt == 1 else f"{step}:{attempt}"
        try:
            result = await execute(name, args, step, key, payments, shop)
        except StoredFailure:
            # A new key only once it is known the old one did nothing: a charge is
            # looked up by its step; the shop's services act on no 5xx they answer.
            try:
                found = await charged(payments, step) if name == "payments_charge" else None
            except (stripe.StripeError, httpx.HTTPError):
                await asyncio.sleep(RETRY_AFTER_S)
                continue
            if found is None:
                log.next_attempt(workflow, len(turns) - 1)
                continue
            result = found
        except (stripe.StripeError, ShopError, httpx.HTTPError):
            await asyncio.sleep(RETRY_AFTER_S)  # retried with the same key
            continue
        turns.append({"role": "tool", "tool_call_id": call["id"],
                      "content": json.dumps(result)})
        log.append(workflow, len(turns) - 1, turns[-1])


async def main(env: Any) -> None:
    """The worker: take every open order to its end, from where the log left it."""
    llm, payments, shop = clients()
    log = StepLog(Path(env.data_dir) / "checkout.sqlite")
    for task in await env.tasks.list():
        outcome = await checkout(task["id"], task["input"], log, llm, payments, shop)
        await env.tasks.complete(task["id"], outcome)


design = Design(name="sdk-durable", main=main, scenarios=("checkout",),
                description="checkout with AsyncOpenAI tools and stripe.StripeClient; a "
                            "step log in SQLite, keys from the workflow and step, a gate")


if __name__ == "__main__":  # pragma: no cover - against the real APIs
    async def _real(path: str) -> None:
        llm, payments, shop = clients()
        log = StepLog(Path(os.environ.get("CHECKOUT_DB", "checkout.sqlite")))
        with open(path) as f:
            for n, order in enumerate(json.load(f), start=1):
                print(await checkout(f"order-{n}", order, log, llm, payments, shop))

    asyncio.run(_real(sys.argv[1]))
