"""The policy gate, as a table: allowlist, argument schemas, and the limits that tie a
proposal to the workflow's own facts (a checkout charges exactly the order's total, to
its customer, in its currency, once; an SRE agent restarts only the diagnosed service
whose logs it examined; a renewal charges at most ``months`` times; waits are bounded).
And every hallucination the scenarios' fake models produce is refused."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from reference_agent import AGENTS, parse_proposal, review
from reference_agent._proposals import proposal_from_dict
from scenarios.checkout import CheckoutPolicy
from scenarios.sre_incident import IncidentPolicy
from scenarios.subscription_renewal import RenewalPolicy

ORDER = {"order_id": "order-1", "customer": "cus_1", "email": "ann@example.com",
         "currency": "usd", "total_cents": 4_300,
         "items": [{"sku": "sku-mug", "quantity": 2}, {"sku": "sku-tee", "quantity": 1}]}
INCIDENT = {"incident_id": "INC-1", "alert": "error rate high", "service": "frontend",
            "services": ["frontend", "checkout", "inventory-api"], "channel": "#incidents"}
SUB = {"subscription_id": "sub-1", "customer": "cus_2", "currency": "usd",
       "amount_cents": 900, "months": 3, "period_days": 30}


def call(tool: str, **args: Any) -> dict[str, Any]:
    return {"action": "call", "tool": tool, "args": args}


def charge(**override: Any) -> dict[str, Any]:
    args = {"customer": "cus_1", "amount_cents": 4_300, "currency": "usd"}
    args.update(override)
    return call("payments.charge", **args)


def done(tool: str, ok: bool = True, **args: Any) -> dict[str, Any]:
    return {"step": 0, "tool": tool, "args": args, "ok": ok}


CHARGED = [done("payments.charge", customer="cus_1", amount_cents=4_300, currency="usd")]
EXAMINED = [done("logs.search", service="inventory-api", query="error")]
POSTED = [*EXAMINED, done("chat.post", channel="#incidents",
                          text="Incident INC-1: inventory-api is failing; diagnosis: deadlock")]
RENEWED = [done("payments.charge", customer="cus_2", amount_cents=900, currency="usd")]

# (agent, input, proposal, history, a fragment of the refusal or None if allowed)
TABLE: list[tuple[str, dict[str, Any], dict[str, Any], list[dict[str, Any]], str | None]] = [
    # allowlist
    ("checkout", ORDER, call("payments.refund_everything", customer="cus_1"), [],
     "is not allowed"),
    ("checkout", ORDER, call("ops.restart", service="checkout"), [], "is not allowed"),
    ("subscription-renewal", SUB, call("inventory.reserve", order_id="o", sku="s",
                                       quantity=1), [], "is not allowed"),
    # schemas
    ("checkout", ORDER, charge(amount_cents=-5), [], "bad arguments for payments.charge"),
    ("checkout", ORDER, charge(currency="USD"), [], "currency"),
    ("checkout", ORDER, charge(refund=True), [], "refund"),
    ("checkout", ORDER, call("payments.charge", customer="cus_1", currency="usd"), [],
     "amount_cents"),
    # checkout limits
    ("checkout", ORDER, charge(), [], None),
    ("checkout", ORDER, charge(amount_cents=430_000), [], "the order total is 4300"),
    ("checkout", ORDER, charge(customer="cus_unknown"), [], "not the order's customer"),
    ("checkout", ORDER, charge(currency="eur"), [], "is not the order's"),
    ("checkout", ORDER, charge(), CHARGED, "already charged"),
    ("checkout", ORDER, charge(), [{**CHARGED[0], "ok": False}], None),  # declined before
    ("checkout", ORDER, call("inventory.reserve", order_id="order-1", sku="sku-mug",
                             quantity=2), [], None),
    ("checkout", ORDER, call("inventory.reserve", order_id="order-1", sku="sku-mug",
                             quantity=3), [], "is not on the order"),
    ("checkout", ORDER, call("inventory.reserve", order_id="order-2", sku="sku-mug",
                             quantity=2), [], "not 'order-1'"),
    ("checkout", ORDER, call("email.send", to="eve@example.com", subject="s", body="b"), [],
     "not the customer's"),
    # sre: restart only the diagnosed service whose logs were examined
    ("sre-incident", INCIDENT, call("ops.restart", service="inventory-api"), POSTED, None),
    ("sre-incident", INCIDENT, call("ops.restart", service="payments-db"), POSTED,
     "not a service of this incident"),
    ("sre-incident", INCIDENT, call("ops.restart", service="inventory-api"), [],
     "before examining its logs"),
    ("sre-incident", INCIDENT, call("ops.restart", service="inventory-api"), EXAMINED,
     "must be posted before"),
    ("sre-incident", INCIDENT, call("ops.restart", service="checkout"),
     [*POSTED, done("logs.search", service="checkout", query="error")],
     "not the diagnosed service"),
    ("sre-incident", INCIDENT, call("pager.page", service="inventory-api", summary="s",
                                    dedup_key="INC-1"), POSTED, None),
    ("sre-incident", INCIDENT, call("pager.page", service="inventory-api", summary="s",
                                    dedup_key="other"), POSTED, "dedup key"),
    ("sre-incident", INCIDENT, call("chat.post", channel="#random", text="hi"), EXAMINED,
     "not the incident channel"),
    ("sre-incident", INCIDENT, call("chat.post", channel="#incidents", text="again"), POSTED,
     "already posted"),
    ("sre-incident", INCIDENT, call("metrics.query", service="frontend", metric="cpu"), [],
     None),
    ("sre-incident", INCIDENT, call("ops.delete_cluster", cluster="prod"), POSTED,
     "is not allowed"),
    # renewal: at most `months` charges
    ("subscription-renewal", SUB, call("payments.charge", customer="cus_2", amount_cents=900,
                                       currency="usd"), RENEWED * 2, None),
    ("subscription-renewal", SUB, call("payments.charge", customer="cus_2", amount_cents=900,
                                       currency="usd"), RENEWED * 3, "all 3 months"),
    ("subscription-renewal", SUB, call("payments.charge", customer="cus_2",
                                       amount_cents=10_800, currency="usd"), [],
     "the plan costs 900"),
    # waits
    ("subscription-renewal", SUB, {"action": "wait", "seconds": 30 * 86_400.0}, [], None),
    ("subscription-renewal", SUB, {"action": "wait", "seconds": 32 * 86_400.0}, [],
     "exceeds the limit"),
    ("checkout", ORDER, {"action": "wait", "seconds": 1.0}, [], "exceeds the limit"),
    # finishing is always allowed (the outcome is the workflow's own business)
    ("checkout", ORDER, {"action": "finish", "outcome": {"status": "paid"}}, [], None),
]


@pytest.mark.parametrize(("agent", "inp", "proposal", "history", "refusal"), TABLE)
def test_policy_gate(agent: str, inp: dict[str, Any], proposal: dict[str, Any],
                     history: list[dict[str, Any]], refusal: str | None) -> None:
    reason = review(AGENTS[agent], inp, proposal_from_dict(proposal), history)
    if refusal is None:
        assert reason is None
    else:
        assert reason is not None and refusal in reason


@pytest.mark.parametrize("seed", range(25))
def test_every_hallucination_of_the_fake_models_is_refused(seed: int) -> None:
    rng = random.Random(seed)
    cases = [
        ("checkout", CheckoutPolicy(), ORDER, []),
        ("sre-incident", IncidentPolicy("deadlock", "inventory-api"), INCIDENT, POSTED),
        ("subscription-renewal", RenewalPolicy(), SUB, []),
    ]
    for agent, policy, inp, history in cases:
        request = {"input": inp, "history": history}
        action = policy.propose(request, rng)
        assert review(AGENTS[agent], inp, proposal_from_dict(action), history) is None
        wrong = policy.hallucinate(request, action, rng)
        reason = review(AGENTS[agent], inp, parse_proposal(json.dumps(wrong)), history)
        assert reason is not None, (agent, wrong)

