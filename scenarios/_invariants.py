"""The shared invariants, one function each, named as reports name them.

Safety is checked before liveness (TigerBeetle's order): a run that charged twice is
reported for that, whatever else went wrong. Each violation carries its evidence.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from simulator import World
from simulator.services import PaymentProvider

from ._violation import Violation

EXACTLY_ONCE_CHARGE = "exactly-once-charge"
AT_MOST_ONCE_CHAT = "at-most-once-chat"
RESUME_EQUIVALENCE = "resume-equivalence"
LIVENESS = "liveness"
MODEL_ONCE_PER_DECISION = "model-once-per-decision"
NO_EFFECT_OUTSIDE_GATE = "no-effect-outside-gate"
SINGLE_RESULT_PER_STEP = "single-result-per-step"

INVARIANTS: dict[str, str] = {
    EXACTLY_ONCE_CHARGE: "every intended charge appears in the provider's ledger once, "
                         "never twice",
    AT_MOST_ONCE_CHAT: "each incident's message is posted to chat at most once",
    NO_EFFECT_OUTSIDE_GATE: "no side effect reached a service that the policy gate "
                            "would have refused",
    SINGLE_RESULT_PER_STEP: "a recorded step result is never replaced by a different one",
    MODEL_ONCE_PER_DECISION: "once a model answer was acted on, the model is not asked "
                             "that decision again",
    LIVENESS: "every workflow finishes within the bound once faults stop",
    RESUME_EQUIVALENCE: "the final state equals that of the same seed run without faults",
}


def charge_entry(charge: Any) -> dict[str, Any]:
    return {"id": charge.id, "amount_cents": charge.amount_cents, "customer": charge.customer,
            "idempotency_key": charge.idempotency_key, "t_ns": charge.t_ns,
            "metadata": dict(charge.metadata)}


def charges_by_customer(provider: PaymentProvider) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for charge in provider.ledger:
        out.setdefault(charge.customer, []).append(charge)
    return out


def exactly_once_charges(
    provider: PaymentProvider, allowed: dict[str, int], what: Callable[[str], str]
) -> list[Violation]:
    """No customer is charged more often than ``allowed[customer]``."""
    violations = []
    for customer, charges in charges_by_customer(provider).items():
        limit = allowed.get(customer, 0)
        if len(charges) > limit:
            violations.append(Violation(
                invariant=EXACTLY_ONCE_CHARGE,
                message=f"{what(customer)} was charged {len(charges)} times "
                        f"(at most {limit} intended)",
                evidence={"ledger": [charge_entry(c) for c in charges]},
            ))
    return violations


def _extends(old: Any, new: Any) -> bool:
    """``new`` only adds to ``old`` (a result appended to a recorded decision)."""
    if isinstance(old, dict) and isinstance(new, dict):
        return all(k in new and new[k] == v for k, v in old.items())
    return False


def single_result_per_step(world: World) -> list[Violation]:
    """From the store: a row of table ``steps`` rewritten with a value that changes (not
    merely extends) what was recorded — e.g. a second, different result."""
    return [
        Violation(invariant=SINGLE_RESULT_PER_STEP,
                  message=f"step entry {key} was recorded twice with different values",
                  evidence={"key": key, "first": old, "second": new, "t_ns": t_ns})
        for key, old, new, t_ns in world.store.overwrites("steps")
        if not _extends(old, new)
    ]


def model_once_per_decision(world: World) -> list[Violation]:
    """From the trace: a decision answered again after its first answer was followed by a
    durable commit of the same process (so it was acted on, not lost in a crash)."""
    violations: list[Violation] = []
    uncommitted: dict[str, dict[str, int]] = {}  # process -> decision -> answer time
    acted: dict[str, int] = {}
    reported: set[str] = set()
    for t_ns, component, kind, data in world.kernel.trace.raw():
        if kind == "model.answer" and data.get("fault") is None:
            decision = data["decision"]
            if decision in acted and decision not in reported:
                reported.add(decision)
                violations.append(Violation(
                    invariant=MODEL_ONCE_PER_DECISION,
                    message=f"the model was asked decision {decision} again after "
                            "acting on its first answer",
                    evidence={"decision": decision, "first_acted_t_ns": acted[decision],
                              "asked_again_t_ns": t_ns, "process": component,
                              "answer_index": data.get("index")},
                ))
            uncommitted.setdefault(component, {})[decision] = t_ns
        elif kind == "store.commit":
            pending = uncommitted.pop(component, None)
            if pending:
                for decision in pending:
                    acted.setdefault(decision, t_ns)
        elif kind in ("crash", "process.error"):
            uncommitted.pop(component, None)
    return violations


def liveness(world: World, finished: bool) -> list[Violation]:
    pending = world.workflows.pending()
    if not pending:
        return []
    failures = {name: p.failures for name, p in world.processes.items() if p.failures}
    if failures:
        first = next(iter(failures.values()))[-1]
        message = (f"{len(pending)} workflow(s) never finished: the design raised "
                   f"{first}")
    elif not finished:
        message = (f"{len(pending)} workflow(s) still unfinished when the liveness bound "
                   "ran out")
    else:
        message = f"{len(pending)} workflow(s) never reported complete (the design stopped)"
    return [Violation(invariant=LIVENESS, message=message,
                      evidence={"pending": pending, "process_errors": failures,
                                "virtual_time_s": world.kernel.now_ns / 1e9})]


def resume_equivalence(actual: dict[str, Any], expected: dict[str, Any]) -> list[Violation]:
    if actual == expected:
        return []
    diff = {k: {"with_faults": actual.get(k), "without_faults": expected.get(k)}
            for k in sorted(set(actual) | set(expected)) if actual.get(k) != expected.get(k)}
    first = next(iter(diff))
    return [Violation(invariant=RESUME_EQUIVALENCE,
                      message=f"final state differs from the fault-free run "
                              f"({len(diff)} item(s), first: {first})",
                      evidence={"diff": diff})]
