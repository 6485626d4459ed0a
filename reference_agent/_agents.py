"""The agents the reference design runs, as policy: which tools, which limits.

An ``AgentSpec`` is everything the policy gate needs to know about one kind of workflow:
the tools it may call, and the limits that tie a proposal to the workflow's own facts
(a checkout charges exactly the order's total, to the order's customer).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ._proposals import CallAction

# A limit returns a reason to refuse, or None. It sees the workflow input, the call and
# the workflow's history so far (completed steps).
Input = dict[str, Any]
History = list[dict[str, Any]]
Limit = Callable[[Input, CallAction, History], str | None]


@dataclass(frozen=True)
class AgentSpec:
    kind: str
    tools: frozenset[str]
    limits: dict[str, Limit] = field(default_factory=dict)
    max_wait_s: float = 0.0
    #: after this many refused proposals in a row the workflow fails (more than a fault
    #: plan injects: a model that misbehaves that long is broken, not unlucky)
    max_rejections: int = 10


def _successful(history: list[dict[str, Any]], tool: str) -> int:
    return sum(1 for h in history if h.get("tool") == tool and h.get("ok"))


def _checkout_charge(inp: Input, call: CallAction, hist: History) -> str | None:
    a = call.args
    if a.get("customer") != inp["customer"]:
        return f"charge to {a.get('customer')!r}, not the order's customer {inp['customer']!r}"
    if a.get("amount_cents") != inp["total_cents"]:
        return f"charge of {a.get('amount_cents')} cents, the order total is {inp['total_cents']}"
    if a.get("currency") != inp["currency"]:
        return f"currency {a.get('currency')!r} is not the order's {inp['currency']!r}"
    if _successful(hist, "payments.charge"):
        return "the order is already charged"
    return None


def _checkout_reserve(inp: Input, call: CallAction, hist: History) -> str | None:
    a = call.args
    if a.get("order_id") != inp["order_id"]:
        return f"reservation for order {a.get('order_id')!r}, not {inp['order_id']!r}"
    wanted = {item["sku"]: item["quantity"] for item in inp["items"]}
    if wanted.get(a.get("sku")) != a.get("quantity"):
        return f"reservation of {a.get('quantity')} x {a.get('sku')!r} is not on the order"
    return None


def _checkout_email(inp: Input, call: CallAction, hist: History) -> str | None:
    if call.args.get("to") != inp["email"]:
        return f"receipt to {call.args.get('to')!r}, not the customer's {inp['email']!r}"
    return None


def _sre_service(inp: Input, call: CallAction, hist: History) -> str | None:
    if call.args.get("service") not in inp["services"]:
        return f"{call.tool} on {call.args.get('service')!r}, not a service of this incident"
    return None


def _sre_remedy(inp: Input, call: CallAction, hist: History) -> str | None:
    reason = _sre_service(inp, call, hist)
    if reason:
        return reason
    examined = {h["args"].get("service") for h in hist
                if h.get("tool") == "logs.search" and h.get("ok")}
    if call.args.get("service") not in examined:
        return f"{call.tool} on {call.args.get('service')!r} before examining its logs"
    posted = [h for h in hist if h.get("tool") == "chat.post" and h.get("ok")]
    if not posted:
        return "the diagnosis must be posted before acting on it"
    if f"{call.args.get('service')} is failing" not in posted[0]["args"].get("text", ""):
        return f"{call.tool} on {call.args.get('service')!r}, not the diagnosed service"
    return None


def _sre_chat(inp: Input, call: CallAction, hist: History) -> str | None:
    if call.args.get("channel") != inp["channel"]:
        return f"post to {call.args.get('channel')!r}, not the incident channel {inp['channel']!r}"
    if _successful(hist, "chat.post"):
        return "the incident message is already posted"
    return None


def _sre_page(inp: Input, call: CallAction, hist: History) -> str | None:
    reason = _sre_remedy(inp, call, hist)
    if reason:
        return reason
    if call.args.get("dedup_key") != inp["incident_id"]:
        return "the page's dedup key must be the incident id"
    return None


def _renewal_charge(inp: Input, call: CallAction, hist: History) -> str | None:
    a = call.args
    if a.get("customer") != inp["customer"]:
        return f"charge to {a.get('customer')!r}, not the subscriber {inp['customer']!r}"
    if a.get("amount_cents") != inp["amount_cents"]:
        return f"charge of {a.get('amount_cents')} cents, the plan costs {inp['amount_cents']}"
    if a.get("currency") != inp["currency"]:
        return f"currency {a.get('currency')!r} is not the plan's {inp['currency']!r}"
    if _successful(hist, "payments.charge") >= inp["months"]:
        return f"all {inp['months']} months are already charged"
    return None


AGENTS: dict[str, AgentSpec] = {
    "checkout": AgentSpec(
        kind="checkout",
        tools=frozenset({"payments.charge", "inventory.reserve", "email.send"}),
        limits={
            "payments.charge": _checkout_charge,
            "inventory.reserve": _checkout_reserve,
            "email.send": _checkout_email,
        },
    ),
    "sre-incident": AgentSpec(
        kind="sre-incident",
        tools=frozenset({"metrics.query", "logs.search", "chat.post", "ops.restart",
                         "pager.page"}),
        limits={
            "metrics.query": _sre_service,
            "logs.search": _sre_service,
            "chat.post": _sre_chat,
            "ops.restart": _sre_remedy,
            "pager.page": _sre_page,
        },
    ),
    "subscription-renewal": AgentSpec(
        kind="subscription-renewal",
        tools=frozenset({"payments.charge"}),
        limits={"payments.charge": _renewal_charge},
        max_wait_s=31 * 86_400,
    ),
}
