"""Swarm plans aim at what a design really calls: the scenario's tools, and the wire
tools (``payments.payment_intents.create``) real SDK code reaches them by."""

from __future__ import annotations

import httpx

from reference_agent import load_design
from scenarios import fault_space, get_scenario, observed_tools
from simulator import Design

CHARGE = {"amount": "1250", "currency": "usd", "customer": "cus_1",
          "payment_method": "pm_1", "confirm": "true"}


async def _wire_main(env: object) -> None:
    async with httpx.AsyncClient() as client:
        await client.get("https://api.stripe.com/v1/customers/cus_1",
                         headers={"Authorization": "Bearer sk_test_1"})
        await client.post("https://api.stripe.com/v1/payment_intents", data=CHARGE,
                          headers={"Authorization": "Bearer sk_test_1"})
        await client.post("https://inventory.internal/reserve", json={
            "order_id": "order-1", "sku": "sku-mug", "quantity": 1})


WIRE = Design(name="wire-caller", main=_wire_main)


def test_a_wire_design_adds_what_it_calls_and_which_of_it_is_keyed() -> None:
    checkout = get_scenario("checkout")
    extra, keyed = observed_tools(checkout, WIRE)
    # inventory.reserve is the scenario's own already; the two Stripe routes are new
    assert extra == ["payments.customers.retrieve", "payments.payment_intents.create"]
    assert keyed == ["payments.payment_intents.create"]  # a read takes no key
    space = fault_space(checkout, WIRE)
    assert space.tools[:3] == list(checkout.tools) and space.tools[3:] == extra
    assert "payments.payment_intents.create" in space.keyed_tools


def test_a_dialect_design_keeps_the_scenarios_space_unchanged() -> None:
    checkout = get_scenario("checkout")
    design = load_design("reference")
    assert observed_tools(checkout, design) == ([], [])
    assert fault_space(checkout, design).tools == list(checkout.tools)
