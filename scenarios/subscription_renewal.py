"""``subscription-renewal``: charge monthly for three months, sleeping between charges.

Days of virtual time pass between charges, and on some seeds the provider has an outage
(503 before executing) that lasts longer than the 24 h idempotency-key lifetime. A design
that keeps retrying an unknown-outcome charge with the same key past that lifetime
charges twice; the reference reconciles by metadata first.
"""

from __future__ import annotations

import itertools
import random
from typing import Any, ClassVar

from fakes import InFlight, PaymentProvider, Request, Response, Service, make_customers
from simulator import NS_PER_DAY, NS_PER_HOUR, World

from ._invariants import EXACTLY_ONCE_CHARGE, NO_EFFECT_OUTSIDE_GATE, exactly_once_charges
from ._scenario import Scenario
from ._script import Conversation, ModelScript, call, finish
from ._violation import Violation

MONTHS = 3
PERIOD_DAYS = 30


class Outage(Service):
    """Wraps a service: between ``start_ns`` and ``end_ns`` every request gets a 503
    before executing (nothing stored, nothing done)."""

    def __init__(self, inner: Service, start_ns: int, end_ns: int) -> None:
        self.inner = inner
        self.name = inner.name
        self.side_effecting = inner.side_effecting
        self.keyed = inner.keyed
        self.start_ns = start_ns
        self.end_ns = end_ns
        self.rejected = 0

    def begin(self, request: Request, now_ns: int) -> Response | InFlight:
        if self.start_ns <= now_ns < self.end_ns:
            self.rejected += 1
            return Response(503, {"error": {"type": "api_error", "code": "service_unavailable",
                                            "message": "provider outage"}})
        return self.inner.begin(request, now_ns)

    def finish(self, flight: InFlight, now_ns: int) -> Response:
        return self.inner.finish(flight, now_ns)

    def effects(self) -> list[Any]:
        return self.inner.effects()

    def snapshot(self) -> dict[str, Any]:
        return self.inner.snapshot()


class RenewalPolicy(ModelScript):
    """The fake model's script for a subscription: charge, wait a period, again."""

    def next_turn(self, conversation: Conversation,
                  rng: random.Random) -> dict[str, Any]:
        sub = conversation.input
        charges = [r for r in conversation.results if r.tool == "payments.charge"]
        if charges and not charges[-1].ok:
            return finish(status="past_due", months_paid=len(charges) - 1)
        if len(charges) >= sub["months"]:
            return finish(status="complete", months_paid=len(charges))
        if conversation.results and conversation.results[-1].tool == "payments.charge":
            return {"action": "wait", "seconds": sub["period_days"] * 86_400.0}
        return call("payments.charge", customer=sub["customer"],
                    amount_cents=sub["amount_cents"], currency=sub["currency"])

    def wrong_turn(self, conversation: Conversation, proposed: dict[str, Any],
                   rng: random.Random) -> dict[str, Any]:
        sub = conversation.input
        return call("payments.charge", customer=sub["customer"],
                    amount_cents=sub["amount_cents"] * 12, currency=sub["currency"])


class SubscriptionRenewal(Scenario):
    name: ClassVar[str] = "subscription-renewal"
    description: ClassVar[str] = ("2 subscriptions charged monthly for 3 months; "
                                  "provider outages longer than the 24 h key lifetime")
    fault_window_s: ClassVar[float] = 100 * 86_400.0
    liveness_bound_s: ClassVar[float] = 10 * 86_400.0
    tools: ClassVar[tuple[str, ...]] = ("payments.charge", "payments.search")
    keyed_tools: ClassVar[tuple[str, ...]] = ("payments.charge",)
    max_ops_per_process: ClassVar[int] = 70
    max_calls_per_tool: ClassVar[int] = 8
    max_model_calls: ClassVar[int] = 16
    subscriptions: ClassVar[int] = 2

    def build(self, world: World) -> None:
        rng = world.kernel.rng.stream("workload")
        customers = make_customers(rng, self.subscriptions)
        provider: Service = PaymentProvider(customers)
        if rng.random() < 0.5:
            # An outage of 26-40 h starting right when a renewal is due.
            month = rng.randint(1, MONTHS - 1)
            start = month * PERIOD_DAYS * NS_PER_DAY + rng.randint(0, 60) * 10**9
            provider = Outage(provider, start, start + rng.randint(26, 40) * NS_PER_HOUR)
        world.services["payments"] = provider
        world.model.policy = RenewalPolicy()
        for n, customer in enumerate(customers, start=1):
            world.workflows.submit(f"renewal-{n}", "subscription-renewal", {
                "subscription_id": f"sub-{n}", "customer": customer.id, "currency": "usd",
                "amount_cents": rng.choice([900, 1_500, 4_900]), "months": MONTHS,
                "period_days": PERIOD_DAYS})

    def _provider(self, world: World) -> PaymentProvider:
        service = world.services["payments"]
        return service.inner if isinstance(service, Outage) else service  # type: ignore[return-value]

    def final_state(self, world: World) -> dict[str, Any]:
        provider = self._provider(world)
        state: dict[str, Any] = {}
        for workflow in world.workflows.submitted():
            sub = workflow["input"]
            state[sub["subscription_id"]] = {
                "charges": sum(1 for c in provider.ledger if c.customer == sub["customer"]),
                "outcome": world.workflows.outcomes.get(workflow["id"]),
            }
        return state

    def check_safety(self, world: World) -> list[Violation]:
        provider = self._provider(world)
        subs = [w["input"] for w in world.workflows.submitted()]
        by_customer = {s["customer"]: s for s in subs}
        violations = exactly_once_charges(
            provider, {s["customer"]: s["months"] for s in subs},
            lambda c: f"subscription {by_customer[c]['subscription_id']}"
            if c in by_customer else c)
        # Two charges less than half a period apart are one month charged twice.
        for sub in subs:
            charges = [c for c in provider.ledger if c.customer == sub["customer"]]
            for a, b in itertools.pairwise(charges):
                if b.t_ns - a.t_ns < sub["period_days"] * NS_PER_DAY // 2:
                    violations.append(Violation(
                        invariant=EXACTLY_ONCE_CHARGE,
                        message=f"subscription {sub['subscription_id']} was charged twice "
                                f"for one month ({(b.t_ns - a.t_ns) / 3.6e12:.1f} h apart)",
                        evidence={"ledger": [{"id": c.id, "t_ns": c.t_ns,
                                              "idempotency_key": c.idempotency_key}
                                             for c in (a, b)]}))
                    break
            for charge in charges:
                if charge.amount_cents != sub["amount_cents"]:
                    violations.append(Violation(
                        invariant=NO_EFFECT_OUTSIDE_GATE,
                        message=f"charge {charge.id} of {charge.amount_cents} cents; the "
                                f"plan costs {sub['amount_cents']}",
                        evidence={"charge": charge.id, "amount_cents": charge.amount_cents}))
        return violations
