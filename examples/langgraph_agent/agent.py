"""The checkout graph (package docstring): state, nodes, the worker.

Nothing here knows about ninelives except ``main(env)``'s two ports (``env.tasks``, the
queue a deployment takes runs from, and ``env.data_dir``, the machine's disk) and the
``Design`` at the end. The graph is ordinary LangGraph: it runs for real with
``python -m examples.langgraph_agent.agent orders.json`` and your keys.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any, Literal, TypedDict

import stripe
from langchain_core.messages import AIMessage, AnyMessage
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import InjectedToolCallId, tool
from langchain_openai import ChatOpenAI
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.prebuilt import InjectedState, ToolNode
from langgraph.types import RetryPolicy

from examples.sdk_agent.shop import MODEL, Shop, ShopError, first_message
from simulator import Design

Durability = Literal["exit", "async", "sync"]
#: the shop's and Stripe's transient failures, retried by LangGraph's own policy
RETRY = RetryPolicy(max_attempts=4, initial_interval=1.0)
#: how long the worker waits before running a failed thread again
RETRY_RUN_AFTER_S = 5.0


class Checkout(TypedDict):
    order: dict[str, Any]
    messages: Annotated[list[AnyMessage], add_messages]
    outcome: dict[str, Any] | None


def gate(order: dict[str, Any], name: str, args: dict[str, Any]) -> str | None:
    """Why this order does not allow the call, or None (examples/sdk_agent/durable.py)."""
    if name == "payments_charge":
        wanted = {"customer": order["customer"], "amount_cents": order["total_cents"],
                  "currency": order["currency"]}
        return None if args == wanted else f"charge {args} is not this order's {wanted}"
    if name == "inventory_reserve":
        items = {(i["sku"], i["quantity"]) for i in order["items"]}
        if args.get("order_id") == order["order_id"] and \
                (args.get("sku"), args.get("quantity")) in items:
            return None
        return f"reservation {args} is not an item of {order['order_id']}"
    if name == "email_send":
        return None if args.get("to") == order["email"] else "email not to the customer"
    return f"unknown tool {name}"


def build_tools(keyed: bool, payments: stripe.StripeClient, shop: Shop) -> list[Any]:
    """The three tools. ``keyed``: each call's idempotency key is the thread id and the
    tool call's id (the same after a restart as long as the model's message was
    checkpointed) and its arguments are checked against the order; otherwise the
    stripe SDK makes its own key (one per request, new in a new process)."""

    def key_of(config: RunnableConfig, call_id: str) -> str | None:
        if not keyed:
            return None
        return f"{config['configurable']['thread_id']}:{call_id}"

    def refused(state: dict[str, Any], name: str, args: dict[str, Any]) -> str | None:
        return gate(state["order"], name, args) if keyed else None

    async def shop_call(fn: Any, name: str, args: dict[str, Any], state: dict[str, Any],
                        config: RunnableConfig, call_id: str) -> str:
        why = refused(state, name, args)
        if why is not None:
            return json.dumps({"error": f"refused: {why}"})
        try:
            return json.dumps(await fn(args, key_of(config, call_id)))
        except ShopError as error:
            if error.status in (409, 429) or error.status >= 500:
                raise ConnectionError(str(error)) from error  # LangGraph retries these
            return json.dumps({"error": error.body.get("error", error.body)})

    @tool
    async def payments_charge(customer: str, amount_cents: int, currency: str,
                              state: Annotated[dict[str, Any], InjectedState],
                              config: RunnableConfig,
                              call_id: Annotated[str, InjectedToolCallId]) -> str:
        """Charge the customer's card on file."""
        args = {"customer": customer, "amount_cents": amount_cents, "currency": currency}
        why = refused(state, "payments_charge", args)
        if why is not None:
            return json.dumps({"error": f"refused: {why}"})
        key = key_of(config, call_id)
        try:
            found = await payments.v1.customers.retrieve_async(customer)
            intent = await payments.v1.payment_intents.create_async(params={
                "amount": amount_cents, "currency": currency, "customer": customer,
                "confirm": True,
                "payment_method": found.invoice_settings.default_payment_method,
                "automatic_payment_methods": {"enabled": True, "allow_redirects": "never"},
            }, options={"idempotency_key": key} if key else {})
        except stripe.CardError as error:
            return json.dumps({"error": {"type": "card_error",
                                         "message": str(error.user_message)}})
        return json.dumps({"payment_intent": intent.id, "status": intent.status})

    @tool
    async def inventory_reserve(order_id: str, sku: str, quantity: int,
                                state: Annotated[dict[str, Any], InjectedState],
                                config: RunnableConfig,
                                call_id: Annotated[str, InjectedToolCallId]) -> str:
        """Reserve stock for one item of the order."""
        return await shop_call(shop.reserve, "inventory_reserve",
                               {"order_id": order_id, "sku": sku, "quantity": quantity},
                               state, config, call_id)

    @tool
    async def email_send(to: str, subject: str, body: str,
                         state: Annotated[dict[str, Any], InjectedState],
                         config: RunnableConfig,
                         call_id: Annotated[str, InjectedToolCallId]) -> str:
        """Email the customer."""
        return await shop_call(shop.send, "email_send",
                               {"to": to, "subject": subject, "body": body},
                               state, config, call_id)

    return [payments_charge, inventory_reserve, email_send]


FINISH = {"type": "function", "function": {
    "name": "finish", "description": "The order is done: report its outcome.",
    "parameters": {"type": "object", "properties": {"outcome": {"type": "object"}},
                   "required": ["outcome"]}}}


def build_graph(keyed: bool, payments: stripe.StripeClient, shop: Shop,
                llm: ChatOpenAI) -> StateGraph:
    """The checkout graph: model -> tools -> model ... -> finish."""
    tools = build_tools(keyed, payments, shop)
    model = llm.bind_tools([*tools, FINISH])

    async def call_model(state: Checkout) -> dict[str, Any]:
        return {"messages": [await model.ainvoke(state["messages"])]}

    def route(state: Checkout) -> str:
        last = state["messages"][-1]
        calls = last.tool_calls if isinstance(last, AIMessage) else []
        if not calls:
            return "finish"
        if any(c["name"] == "finish" for c in calls):
            return "finish"
        return "tools"

    def finish(state: Checkout) -> dict[str, Any]:
        last = state["messages"][-1]
        for call in getattr(last, "tool_calls", []):
            if call["name"] == "finish":
                return {"outcome": call["args"].get("outcome", {})}
        said = last.content if isinstance(last, AIMessage) else None
        return {"outcome": {"status": "failed", "said": said}}

    graph = StateGraph(Checkout)
    graph.add_node("model", call_model, retry_policy=RETRY)
    graph.add_node("tools", ToolNode(tools), retry_policy=RETRY)
    graph.add_node("finish", finish)
    graph.add_edge(START, "model")
    graph.add_conditional_edges("model", route, ["tools", "finish"])
    graph.add_edge("tools", "model")
    graph.add_edge("finish", END)
    return graph


def clients() -> tuple[ChatOpenAI, stripe.StripeClient, Shop]:
    """The clients, built the normal way from the environment's keys."""
    llm = ChatOpenAI(model=MODEL, api_key=os.environ.get("OPENAI_API_KEY", "sk-test"),
                     max_retries=2)
    payments = stripe.StripeClient(os.environ.get("STRIPE_API_KEY", "sk_test_ninelives"),
                                   http_client=stripe.HTTPXClient(), max_network_retries=2)
    return llm, payments, Shop()


async def run_thread(app: Any, thread_id: str, order: dict[str, Any],
                     durability: Durability, sleep: Any) -> dict[str, Any]:
    """Take one thread to its end as a deployment's worker does: start it, or resume
    it from its last checkpoint (``ainvoke(None, config)``); a run that fails is run
    again from there after a pause."""
    config: RunnableConfig = {"configurable": {"thread_id": thread_id}}
    while True:
        snapshot = await app.aget_state(config)
        if snapshot.values and not snapshot.next:
            return snapshot.values.get("outcome") or {"status": "failed"}  # type: ignore[no-any-return]
        start = None if snapshot.values else {"order": order, "outcome": None,
                                              "messages": first_message(order)}
        try:
            await app.ainvoke(start, config, durability=durability)
        except Exception as error:  # a failed run (its node's retries spent): run it again
            if isinstance(error, (KeyError, TypeError, AttributeError)):
                raise  # a bug, not a failed run
            await sleep(RETRY_RUN_AFTER_S)


def make_design(durability: Durability, keyed: bool) -> Design:
    """The worker ``main(env)`` and its ``Design`` for one durability mode."""
    import asyncio

    async def main(env: Any) -> None:
        llm, payments, shop = clients()
        path = Path(env.data_dir) / "checkpoints.sqlite"
        async with AsyncSqliteSaver.from_conn_string(str(path)) as saver:
            app = build_graph(keyed, payments, shop, llm).compile(checkpointer=saver)
            for task in await env.tasks.list():
                outcome = await run_thread(app, task["id"], task["input"], durability,
                                           asyncio.sleep)
                await env.tasks.complete(task["id"], outcome)

    kind = "keyed" if keyed else "flawed"
    return Design(
        name=f"langgraph-{kind}-{durability}", main=main, scenarios=("checkout",),
        description=f"checkout on LangGraph (ChatOpenAI, ToolNode, AsyncSqliteSaver, "
                    f"durability={durability!r}); " + (
                        "charges keyed by thread id + tool call id, calls gated"
                        if keyed else "stripe's automatic keys, model arguments unchecked"))


if __name__ == "__main__":  # pragma: no cover - against the real APIs
    import asyncio

    async def _real(path: str) -> None:
        llm, payments, shop = clients()
        db = os.environ.get("CHECKOUT_DB", "checkpoints.sqlite")
        async with AsyncSqliteSaver.from_conn_string(db) as saver:
            app = build_graph(True, payments, shop, llm).compile(checkpointer=saver)
            with open(path) as f:
                for n, order in enumerate(json.load(f), start=1):
                    print(await run_thread(app, f"order-{n}", order, "async",
                                           asyncio.sleep))

    asyncio.run(_real(sys.argv[1]))
