"""What both versions of the agent share: the tools it offers the model, and the shop's
own services (inventory, mailer) it calls over HTTP.

Nothing here knows about ninelives. The base URLs are the shop's internal services;
under ninelives they are served by the simulation's fakes (``https://inventory.internal``,
``https://email.internal``), in production by your own deployment (set
``INVENTORY_URL`` and ``EMAIL_URL``).
"""

from __future__ import annotations

import json
import os
from typing import Any

import httpx
import openai
import stripe

MODEL = os.environ.get("CHECKOUT_MODEL", "gpt-4o-mini")
SYSTEM = ("You check out one order of an online shop. Call exactly one tool at a time: "
          "charge the order's total, reserve each item, email a receipt, then call "
          "finish with the outcome.")


def _fn(name: str, description: str, properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "function", "function": {
        "name": name, "description": description,
        "parameters": {"type": "object", "properties": properties,
                       "required": sorted(properties), "additionalProperties": False}}}


TOOLS = [
    _fn("payments_charge", "Charge the customer's card on file.", {
        "customer": {"type": "string"}, "amount_cents": {"type": "integer"},
        "currency": {"type": "string"}}),
    _fn("inventory_reserve", "Reserve stock for one item of the order.", {
        "order_id": {"type": "string"}, "sku": {"type": "string"},
        "quantity": {"type": "integer"}}),
    _fn("email_send", "Email the customer.", {
        "to": {"type": "string"}, "subject": {"type": "string"}, "body": {"type": "string"}}),
    _fn("finish", "The order is done: report its outcome.", {
        "outcome": {"type": "object"}}),
]


def first_message(order: dict[str, Any]) -> list[dict[str, Any]]:
    """The conversation a checkout starts with."""
    return [{"role": "system", "content": SYSTEM},
            {"role": "user", "content": f"Check out this order: {json.dumps(order)}"}]


class Shop:
    """The shop's internal services over HTTP (inventory, mailer)."""

    def __init__(self, client: httpx.AsyncClient | None = None) -> None:
        self.client = client or httpx.AsyncClient(timeout=10.0)
        self.inventory = os.environ.get("INVENTORY_URL", "https://inventory.internal")
        self.email = os.environ.get("EMAIL_URL", "https://email.internal")

    async def _post(self, url: str, args: dict[str, Any], key: str | None) -> dict[str, Any]:
        headers = {"Idempotency-Key": key} if key else {}
        response = await self.client.post(url, json=args, headers=headers)
        body: dict[str, Any] = response.json()
        if response.status_code >= 400:
            raise ShopError(response.status_code, body)
        return body

    async def reserve(self, args: dict[str, Any], key: str | None = None) -> dict[str, Any]:
        return await self._post(f"{self.inventory}/reserve", args, key)

    async def send(self, args: dict[str, Any], key: str | None = None) -> dict[str, Any]:
        return await self._post(f"{self.email}/send", args, key)


class ShopError(Exception):
    """The shop's service refused a request (its status and error body)."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(f"{status}: {body.get('error', body)}")
        self.status = status
        self.body = body


def clients() -> tuple[openai.AsyncOpenAI, stripe.StripeClient, Shop]:
    """The SDK clients, built the normal way from the environment's keys (stripe's
    HTTPX client, with the retries Stripe's docs recommend: ``StripeClient`` retries
    nothing by default)."""
    llm = openai.AsyncOpenAI(api_key=os.environ.get("OPENAI_API_KEY", "sk-test"))
    payments = stripe.StripeClient(os.environ.get("STRIPE_API_KEY", "sk_test_ninelives"),
                                   http_client=stripe.HTTPXClient(), max_network_retries=2)
    return llm, payments, Shop()
