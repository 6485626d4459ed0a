"""``checkout``: several orders from seeded customers; charge, reserve, receipt, finish.

The model proposes the steps and may take them in another valid order on another ask
(charge first or reserve first), so a design that asks again after a crash diverges.
Invariants: each order charged at most once (exactly once if it completed as paid), no
effect the policy gate would refuse, plus the shared ones.
"""

from __future__ import annotations

import random
from typing import Any, ClassVar

from fakes import Email, Inventory, PaymentProvider, make_customers
from simulator import World

from ._invariants import NO_EFFECT_OUTSIDE_GATE, exactly_once_charges
from ._scenario import Scenario
from ._script import Conversation, ModelScript, call, finish
from ._violation import Violation

CATALOG = {"sku-mug": 1_250, "sku-tee": 2_400, "sku-cap": 1_800, "sku-pen": 300}


class CheckoutPolicy(ModelScript):
    """The fake model's script for a checkout workflow."""

    def next_turn(self, conversation: Conversation,
                  rng: random.Random) -> dict[str, Any] | list[dict[str, Any]]:
        order = conversation.input
        if conversation.failed("payments.charge"):
            return finish(status="declined", order=order["order_id"])
        todo: list[dict[str, Any]] = []
        if not conversation.succeeded("payments.charge"):
            todo.append(call("payments.charge", customer=order["customer"],
                             amount_cents=order["total_cents"], currency=order["currency"]))
        for item in order["items"]:
            if not conversation.succeeded("inventory.reserve", sku=item["sku"]):
                todo.append(call("inventory.reserve", order_id=order["order_id"],
                                 sku=item["sku"], quantity=item["quantity"]))
        if todo:
            return todo  # several valid next steps: not the same every time
        if not conversation.succeeded("email.send"):
            return call("email.send", to=order["email"],
                        subject=f"Receipt for {order['order_id']}",
                        body=f"We charged {order['total_cents'] / 100:.2f} "
                             f"{order['currency'].upper()}. Thank you!")
        return finish(status="paid", order=order["order_id"],
                      charged_cents=order["total_cents"])

    def wrong_turn(self, conversation: Conversation, proposed: dict[str, Any],
                   rng: random.Random) -> dict[str, Any]:
        order = conversation.input
        choice = rng.randrange(3)
        if choice == 0:
            return call("payments.charge", customer=order["customer"],
                        amount_cents=order["total_cents"] * 100, currency=order["currency"])
        if choice == 1:
            return call("payments.charge", customer="cus_unknown",
                        amount_cents=order["total_cents"], currency=order["currency"])
        return call("payments.refund_everything", customer=order["customer"])


class Checkout(Scenario):
    name: ClassVar[str] = "checkout"
    description: ClassVar[str] = ("3 orders from seeded customers: charge the total, "
                                  "reserve stock, email a receipt")
    tools: ClassVar[tuple[str, ...]] = ("payments.charge", "inventory.reserve", "email.send")
    keyed_tools: ClassVar[tuple[str, ...]] = tools
    max_ops_per_process: ClassVar[int] = 70
    max_calls_per_tool: ClassVar[int] = 6
    max_model_calls: ClassVar[int] = 18
    orders: ClassVar[int] = 3

    situations: ClassVar[tuple[str, ...]] = (
        "charge-response-lost-after-commit", "stored-response-replayed", "idempotency-conflict-409",
        "crash-with-request-in-flight", "response-to-dead-process", "lease-fenced",
        "model-answer-refused", "process-restarted")

    def build(self, world: World) -> None:
        rng = world.kernel.rng.stream("workload")
        customers = make_customers(rng, self.orders, decline_fraction=0.0)
        if rng.random() < 0.25:  # sometimes one card declines
            customers[-1] = customers[-1].model_copy(update={"declines": True})
        world.services["payments"] = PaymentProvider(customers)
        world.services["inventory"] = Inventory({sku: 100 for sku in CATALOG})
        world.services["email"] = Email()
        world.model.policy = CheckoutPolicy()
        for n, customer in enumerate(customers, start=1):
            skus = rng.sample(sorted(CATALOG), rng.randint(1, 2))
            items = [{"sku": sku, "quantity": rng.randint(1, 3)} for sku in skus]
            total = sum(CATALOG[i["sku"]] * i["quantity"] for i in items)
            order_id = f"order-{n}"
            world.workflows.submit(f"checkout-{n}", "checkout", {
                "order_id": order_id, "customer": customer.id, "email": customer.email,
                "currency": "usd", "total_cents": total, "items": items})

    def _orders(self, world: World) -> list[dict[str, Any]]:
        return [w["input"] for w in world.workflows.submitted()]

    def final_state(self, world: World) -> dict[str, Any]:
        provider: PaymentProvider = world.services["payments"]  # type: ignore[assignment]
        inventory: Inventory = world.services["inventory"]  # type: ignore[assignment]
        email: Email = world.services["email"]  # type: ignore[assignment]
        state: dict[str, Any] = {}
        for workflow in world.workflows.submitted():
            order = workflow["input"]
            oid = order["order_id"]
            state[oid] = {
                "charged_cents": sorted(c.amount_cents for c in provider.ledger
                                        if c.customer == order["customer"]),
                "reserved": sorted((r.sku, r.quantity) for r in inventory.reservations
                                   if r.order_id == oid),
                "receipts": sum(1 for m in email.sent if m.to == order["email"]),
                "outcome": world.workflows.outcomes.get(workflow["id"]),
            }
        return state

    def check_safety(self, world: World) -> list[Violation]:
        provider: PaymentProvider = world.services["payments"]  # type: ignore[assignment]
        orders = self._orders(world)
        by_customer = {o["customer"]: o for o in orders}
        violations: list[Violation] = []
        for charge in provider.ledger:
            order = by_customer.get(charge.customer)
            if order is None or charge.amount_cents != order["total_cents"]:
                violations.append(Violation(
                    invariant=NO_EFFECT_OUTSIDE_GATE,
                    message=f"charge {charge.id} of {charge.amount_cents} cents to "
                            f"{charge.customer} matches no order's total",
                    evidence={"charge": {"id": charge.id, "amount_cents": charge.amount_cents,
                                         "customer": charge.customer},
                              "order_total_cents": order["total_cents"] if order else None}))
        # The gate check first: a hallucinated charge also makes a second charge, and
        # the more specific finding names the flaw.
        violations += exactly_once_charges(
            provider, {o["customer"]: 1 for o in orders},
            lambda c: f"order {by_customer[c]['order_id']}" if c in by_customer else c)
        return violations
