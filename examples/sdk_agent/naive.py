"""A first version of the checkout agent, as it is usually written: the model decides,
the code does what it says, the conversation lives in memory.

Run it for real (your keys, your shop): ``OPENAI_API_KEY=... STRIPE_API_KEY=...
python -m examples.sdk_agent.naive orders.json``. Under ninelives it runs unchanged:
``ninelives check examples.sdk_agent.naive:design`` (docs/real-agents.md). What it gets
wrong, ninelives shows: a restart forgets the conversation, so the model is asked again
and the card is charged again under a new idempotency key (the SDK's automatic keys are
safe within one process only); and whatever arguments the model gives reach Stripe.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import openai
import stripe

from simulator import Design

from .shop import MODEL, TOOLS, Shop, clients, first_message


async def run_tool(name: str, args: dict[str, Any], payments: stripe.StripeClient,
                   shop: Shop) -> dict[str, Any]:
    if name == "payments_charge":
        customer = await payments.v1.customers.retrieve_async(args["customer"])
        intent = await payments.v1.payment_intents.create_async(params={
            "amount": args["amount_cents"], "currency": args["currency"],
            "customer": args["customer"], "confirm": True,
            "payment_method": customer.invoice_settings.default_payment_method,
            "automatic_payment_methods": {"enabled": True, "allow_redirects": "never"}})
        return {"payment_intent": intent.id, "status": intent.status}
    if name == "inventory_reserve":
        return await shop.reserve(args)
    if name == "email_send":
        return await shop.send(args)
    return {"error": f"unknown tool {name}"}


async def checkout(order: dict[str, Any], llm: openai.AsyncOpenAI,
                   payments: stripe.StripeClient, shop: Shop) -> dict[str, Any]:
    """Let the model take the order to its end; its outcome."""
    messages: list[Any] = first_message(order)
    while True:
        answer = await llm.chat.completions.create(model=MODEL, messages=messages,
                                                   tools=TOOLS)
        message = answer.choices[0].message
        if not message.tool_calls:
            return {"status": "failed", "said": message.content}
        messages.append(message.model_dump(exclude_none=True))
        for call in message.tool_calls:
            args = json.loads(call.function.arguments)
            if call.function.name == "finish":
                return args["outcome"]  # type: ignore[no-any-return]
            result = await run_tool(call.function.name, args, payments, shop)
            messages.append({"role": "tool", "tool_call_id": call.id,
                             "content": json.dumps(result)})


async def main(env: Any) -> None:
    """The worker: take every open order to its end."""
    llm, payments, shop = clients()
    for task in await env.tasks.list():
        outcome = await checkout(task["input"], llm, payments, shop)
        await env.tasks.complete(task["id"], outcome)


design = Design(name="sdk-naive", main=main, scenarios=("checkout",),
                description="checkout with AsyncOpenAI tools and stripe.StripeClient; "
                            "state in memory")


if __name__ == "__main__":  # pragma: no cover - against the real APIs
    import asyncio

    async def _real(path: str) -> None:
        llm, payments, shop = clients()
        with open(path) as f:
            for order in json.load(f):
                print(await checkout(order, llm, payments, shop))

    asyncio.run(_real(sys.argv[1]))
