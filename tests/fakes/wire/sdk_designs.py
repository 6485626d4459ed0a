"""Designs of real SDK code for the process-isolation tests of HTTP
(``test_wire_net_isolated.py``), at module level: a zygote imports them in a fresh
interpreter. Each keeps what it saw in the store, which both modes share."""

from __future__ import annotations

import json

import httpx
import openai
import stripe

from simulator import Env

ORDER = {"order_id": "order-1", "customer": "cus_1", "email": "a@example.com",
         "currency": "usd", "total_cents": 4_300,
         "items": [{"sku": "sku-mug", "quantity": 2}]}
PROMPT = f"Check out this order, one tool call at a time: {json.dumps(ORDER)}"
TOOLS = [{"type": "function", "function": {"name": n, "parameters": {"type": "object"}}}
         for n in ("payments_charge", "inventory_reserve", "email_send")]
CHARGE = {"amount": 990, "currency": "usd", "customer": "cus_1", "payment_method": "pm_1",
          "confirm": True}


async def keep(env: Env, what: str, value: object) -> None:
    async with env.store.transaction() as tx:
        tx.put("seen", f"{env.incarnation}:{what}", value)


async def sdk_agent(env: Env) -> None:
    """AsyncOpenAI with tools, then a PaymentIntent through stripe's async client, both
    built the ordinary way (default base URLs, default HTTP clients: stripe's async
    calls fall back to its HTTPXClient)."""
    client = openai.AsyncOpenAI(api_key="sk-test", timeout=5.0)
    answer = await client.chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": PROMPT}], tools=TOOLS)
    await keep(env, "tool", answer.choices[0].message.tool_calls[0].function.name)
    # StripeClient does not retry unless asked (its max_network_retries defaults to 0,
    # unlike the module-level stripe.max_network_retries = 2): asked, as in production.
    payments = stripe.StripeClient("sk_test_x", max_network_retries=2)
    intent = await payments.v1.payment_intents.create_async(params=CHARGE)
    await keep(env, "intent", [intent.status, intent.amount])


async def unknown_host(env: Env) -> None:
    """A request to a host no fake serves."""
    async with httpx.AsyncClient() as client:
        await client.get("https://api.example.org/v1/things?x=1")


async def times_out(env: Env) -> None:
    """httpx's own read timeout, as the SDKs expect it."""
    async with httpx.AsyncClient(timeout=2.0) as client:
        try:
            await client.post("https://api.stripe.com/v1/payment_intents",
                              headers={"Authorization": "Bearer sk_test_1"},
                              data={"amount": "1250", "currency": "usd", "customer": "cus_1",
                                    "payment_method": "pm_1", "confirm": "true"})
        except httpx.ReadTimeout as error:
            await keep(env, "error", type(error).__name__)


async def stripe_sync(env: Env) -> None:
    """stripe's sync call with its default HTTP client (``requests``), from asyncio."""
    payments = stripe.StripeClient("sk_test_x")
    try:
        payments.v1.payment_intents.create(params=CHARGE)
    except BaseException as error:  # what the design sees, kept
        await keep(env, "error", type(error).__name__)


async def httpx_sync(env: Env) -> None:
    """httpx's sync client in an asyncio design."""
    with httpx.Client() as client:
        client.get("https://api.openai.com/v1/models")
