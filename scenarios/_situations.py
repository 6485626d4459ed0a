"""Interesting situations a run reached, counted from its trace and services.

Fault coverage says which faults *fired*; situations say whether they *mattered*: a lost
response only tests idempotency if the provider had acted before it was lost.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fakes import KEY_TTL_NS, PaymentProvider
from simulator import TraceKind, World

if TYPE_CHECKING:
    from ._scenario import Scenario

SITUATIONS: dict[str, str] = {
    "charge-response-lost-after-commit": "a charge response was lost after the provider "
                                         "had charged",
    "stored-response-replayed": "a retry got the provider's stored response (no new effect)",
    "idempotency-conflict-409": "a retry met its first request still in flight (409)",
    "outage-outlasted-key-lifetime": "a provider outage longer than the 24 h key lifetime "
                                     "met a retrying charge",
    "crash-with-request-in-flight": "a process died while one of its requests was on the wire",
    "response-to-dead-process": "a response arrived for a process incarnation that had died",
    "lease-fenced": "a stale worker was stopped by the fencing token",
    "model-answer-refused": "a malformed or hallucinated model answer was refused",
    "process-restarted": "a process was restarted after a crash",
}


def applicable_situations(scenario: Scenario, workers: int) -> list[str]:
    """The situations that can arise for this scenario with this many workers: a sweep
    that never reaches one of *these* has a coverage gap; the others are not applicable
    (no charges in an incident, no lease to fence with one worker)."""
    names = [n for n in SITUATIONS if not scenario.situations or n in scenario.situations]
    if workers < 2:
        names = [n for n in names if n != "lease-fenced"]
    return names


# The kinds compared below, bound once: this runs on every event of every seed, and
# reading a member off TraceKind costs five times a name (simulator/_vocabulary.py).
_RESPONSE_LOST = TraceKind.RESPONSE_LOST
_TOOL_REQUEST = TraceKind.TOOL_REQUEST
_CALL_ENDED = frozenset({TraceKind.TOOL_RESPONSE, TraceKind.TOOL_TIMEOUT})
_CRASH = TraceKind.CRASH
_FENCED = TraceKind.FENCED
_STORE_CONFLICT = TraceKind.STORE_CONFLICT
_MODEL_ANSWER = TraceKind.MODEL_ANSWER
_PROCESS_START = TraceKind.PROCESS_START


def _is_charge(world: World, tool: Any) -> bool:
    """A side-effecting call of the payment provider: the dialect's ``payments.charge``,
    or the wire's ``payments.payment_intents.create`` (and ``confirm``, ``refunds.create``)."""
    tool = str(tool)
    service = world.services.get(tool.partition(".")[0])
    return isinstance(getattr(service, "inner", service), PaymentProvider) \
        and world.side_effecting(tool)


def situations(world: World) -> dict[str, int]:
    counts = dict.fromkeys(SITUATIONS, 0)
    in_flight: dict[str, int] = {}
    for _t, component, kind, data in world.kernel.trace.raw():
        if kind == _RESPONSE_LOST:
            if data.get("status") == 200 and _is_charge(world, data.get("tool")):
                counts["charge-response-lost-after-commit"] += 1
        elif kind == _TOOL_REQUEST:
            in_flight[component] = in_flight.get(component, 0) + 1
        elif kind in _CALL_ENDED:
            in_flight[component] = max(0, in_flight.get(component, 0) - 1)
        elif kind == _CRASH:
            if in_flight.get(component):
                counts["crash-with-request-in-flight"] += 1
            in_flight[component] = 0
        elif kind == _FENCED:
            counts["response-to-dead-process"] += 1
        elif kind == _STORE_CONFLICT:
            counts["lease-fenced"] += 1
        elif kind == _MODEL_ANSWER and data.get("fault") in ("malformed", "hallucinated"):
            counts["model-answer-refused"] += 1
        elif kind == _PROCESS_START and data.get("incarnation", 1) > 1:
            counts["process-restarted"] += 1
    for service in world.services.values():
        stats = getattr(service, "stats", None) or getattr(
            getattr(service, "inner", None), "stats", None) or {}
        counts["stored-response-replayed"] += stats.get("replayed", 0)
        counts["idempotency-conflict-409"] += stats.get("conflict_409", 0)
        outage_ns = getattr(service, "end_ns", 0) - getattr(service, "start_ns", 0)
        if getattr(service, "rejected", 0) and outage_ns > KEY_TTL_NS:
            counts["outage-outlasted-key-lifetime"] += 1
    return counts
