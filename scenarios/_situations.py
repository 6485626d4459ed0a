"""Interesting situations a run reached, counted from its trace and services.

Fault coverage says which faults *fired*; situations say whether they *mattered*: a lost
response only tests idempotency if the provider had acted before it was lost.
"""

from __future__ import annotations

from simulator import World

SITUATIONS: dict[str, str] = {
    "charge-response-lost-after-commit": "a charge response was lost after the provider "
                                         "had charged",
    "stored-response-replayed": "a retry got the provider's stored response (no new effect)",
    "idempotency-conflict-409": "a retry met its first request still in flight (409)",
    "expired-key-reused": "a key was reused after the provider's 24 h expiry",
    "crash-with-request-in-flight": "a process died while one of its requests was on the wire",
    "response-to-dead-process": "a response arrived for a process incarnation that had died",
    "lease-fenced": "a stale worker was stopped by the fencing token",
    "model-answer-refused": "a malformed or hallucinated model answer was refused",
    "process-restarted": "a process was restarted after a crash",
}


def situations(world: World) -> dict[str, int]:
    counts = dict.fromkeys(SITUATIONS, 0)
    in_flight: dict[str, int] = {}
    for _t, component, kind, data in world.kernel.trace.raw():
        if kind == "response.lost":
            if data.get("tool") == "payments.charge" and data.get("status") == 200:
                counts["charge-response-lost-after-commit"] += 1
        elif kind == "tool.request":
            in_flight[component] = in_flight.get(component, 0) + 1
        elif kind in ("tool.response", "tool.timeout"):
            in_flight[component] = max(0, in_flight.get(component, 0) - 1)
        elif kind == "crash":
            if in_flight.get(component):
                counts["crash-with-request-in-flight"] += 1
            in_flight[component] = 0
        elif kind == "fenced":
            counts["response-to-dead-process"] += 1
        elif kind == "store.conflict":
            counts["lease-fenced"] += 1
        elif kind == "model.answer" and data.get("fault") in ("malformed", "hallucinated"):
            counts["model-answer-refused"] += 1
        elif kind == "process.start" and data.get("incarnation", 1) > 1:
            counts["process-restarted"] += 1
    for service in world.services.values():
        stats = getattr(service, "stats", None) or getattr(
            getattr(service, "inner", None), "stats", None) or {}
        counts["stored-response-replayed"] += stats.get("replayed", 0)
        counts["idempotency-conflict-409"] += stats.get("conflict_409", 0)
        counts["expired-key-reused"] += stats.get("expired_key_reused", 0)
    return counts
