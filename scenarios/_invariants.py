"""The shared invariants, one function each, named as reports name them.

Safety is checked before liveness (TigerBeetle's order): a run that charged twice is
reported for that, whatever else went wrong. Each violation carries its evidence.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fakes import PaymentProvider
from simulator import DesignWatch, TraceKind, World

from ._violation import Violation

EXACTLY_ONCE_CHARGE = "exactly-once-charge"
AT_MOST_ONCE_CHAT = "at-most-once-chat"
RESUME_EQUIVALENCE = "resume-equivalence"
LIVENESS = "liveness"
MODEL_ONCE_PER_DECISION = "model-once-per-decision"
NO_EFFECT_OUTSIDE_GATE = "no-effect-outside-gate"
SINGLE_RESULT_PER_STEP = "single-result-per-step"
STAYS_IN_SIMULATION = "stays-in-simulation"
PROCESS_LOCAL_STATE = "process-local-state"
THREAD_STARTED = "thread-started"

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
    STAYS_IN_SIMULATION: "the design reaches the world only through the simulation (no "
                         "real socket, name lookup, subprocess or foreign thread)",
    PROCESS_LOCAL_STATE: "no module-level state of the design changed during an inline "
                         "run (a real crash would lose it; a simulated one does not)",
    THREAD_STARTED: "the design started no thread during an inline run (it would run "
                    "outside the simulation)",
}

#: the advice every inline-mode finding ends with
_ISOLATE = ("run it with process isolation (--isolation process), where a crash is a "
            "real process death")


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


# The kinds model_once_per_decision compares, bound once: it runs on every event of every
# seed, and reading a member off TraceKind costs five times a name
# (simulator/_vocabulary.py).
_MODEL_REQUEST = TraceKind.MODEL_REQUEST
_MODEL_ANSWER = TraceKind.MODEL_ANSWER
_STORE_COMMIT = TraceKind.STORE_COMMIT
_TOOL_REQUEST = TraceKind.TOOL_REQUEST
#: the process died or gave up on what it was about to record
_GAVE_UP = frozenset({TraceKind.CRASH, TraceKind.PROCESS_ERROR, TraceKind.STORE_ROLLBACK,
                      TraceKind.STORE_CONFLICT})


def model_once_per_decision(world: World) -> list[Violation]:
    """From the trace: a decision asked again, and that answer acted on, after its first
    answer was acted on. An answer is acted on when the process that got it commits to
    durable storage before it dies or rolls a transaction back (an answer lost in a
    crash, or given up on, was never acted on).

    Two refinements keep lease-based designs with several workers from being blamed for
    what no design can avoid (``tests/scenarios/test_scenario_invariants.py``):

    - "asked" is when the request went out, not when its answer came back: two workers
      that both believed they held a lease (clock skew) may ask the same decision at
      once; the one that asked before any answer was acted on did nothing wrong;
    - the second answer must itself be acted on: a worker frozen just before it sent the
      request, which wakes to find its lease gone, asks in vain but changes nothing;
      its next transaction is the one that acts, so when that transaction rolls back
      (the fencing check raised) the answer is dropped, and a later commit of the same
      process — claiming another workflow — does not count as acting on it.
    """
    violations: list[Violation] = []
    # process -> decision -> (answer seq, answer time), not yet followed by its commit
    uncommitted: dict[str, dict[str, tuple[int, int]]] = {}
    acted: dict[str, tuple[int, int]] = {}  # decision -> (seq, time) first acted on
    asked: dict[int, tuple[int, int]] = {}  # model call -> (seq, time) of its request
    # process -> decision -> evidence of a re-ask, reported once that process commits
    again: dict[str, dict[str, dict[str, Any]]] = {}
    reported: set[str] = set()
    for seq, (t_ns, component, kind, data) in enumerate(world.kernel.trace.raw()):
        if kind == _MODEL_REQUEST:
            asked[data["call"]] = (seq, t_ns)
        elif kind == _MODEL_ANSWER and data.get("fault") is None:
            decision = data["decision"]
            asked_seq, asked_ns = asked.get(data.get("call", -1), (seq, t_ns))
            first = acted.get(decision)
            if first is not None and first[0] < asked_seq:
                again.setdefault(component, {}).setdefault(decision, {
                    "decision": decision, "first_acted_t_ns": first[1],
                    "asked_again_t_ns": asked_ns, "answered_t_ns": t_ns,
                    "process": component, "answer_index": data.get("index")})
            uncommitted.setdefault(component, {}).setdefault(decision, (seq, t_ns))
        elif kind == _STORE_COMMIT or (kind == _TOOL_REQUEST and _wire_effect(world, data)):
            for decision, evidence in again.pop(component, {}).items():
                if decision in reported:
                    continue
                reported.add(decision)
                violations.append(Violation(
                    invariant=MODEL_ONCE_PER_DECISION,
                    message=f"the model was asked decision {decision} again after "
                            "acting on its first answer",
                    evidence={**evidence, "acted_again_t_ns": t_ns}))
            for decision in uncommitted.pop(component, {}):
                acted.setdefault(decision, (seq, t_ns))
        elif kind in _GAVE_UP:
            # Died, or gave up: a transaction rolled back (the design raised inside it,
            # a fenced worker finding its lease gone) or met a conflict. Answers it had
            # not acted on it never will: its next commit, for another workflow say,
            # is not acting on them.
            uncommitted.pop(component, None)
            again.pop(component, None)
    return violations


def _wire_effect(world: World, data: dict[str, Any]) -> bool:
    """A side-effecting request sent over HTTP (the wire doors trace its URL): for real
    SDK code, whose state may live in SQLite where no commit is traced, sending an effect
    is acting on the answers before it (``fakes.wire.HttpFront`` tells the fake model so
    too). Dialect calls keep their rule: acting is committing."""
    args = data.get("args")
    return isinstance(args, dict) and "url" in args \
        and world.side_effecting(str(data.get("tool", "")))


def process_local_state(watch: DesignWatch) -> list[Violation]:
    """From an inline run's ``DesignWatch``: module globals of the design that changed.

    A violation, not a warning: inline, such state survives every simulated crash, so
    each other verdict of the run may be a false "pass" (issue 16). It names each
    global; the verdict that counts is process isolation's."""
    if not watch.changes:
        return []
    first = watch.changes[0]
    more = f" (and {len(watch.changes) - 1} more)" if len(watch.changes) > 1 else ""
    return [Violation(
        invariant=PROCESS_LOCAL_STATE,
        message=f"module {first.module} changed its global {first.name} during the run "
                f"({first.before} -> {first.after}){more}: in one process it survives a "
                f"simulated crash, a real crash loses it; {_ISOLATE}",
        evidence={"changed": [{"module": c.module, "name": c.name, "before": c.before,
                               "after": c.after} for c in watch.changes]})]


def thread_started(watch: DesignWatch) -> list[Violation]:
    """From an inline run's ``DesignWatch``: threads the design started."""
    if not watch.threads:
        return []
    first = watch.threads[0]
    return [Violation(
        invariant=THREAD_STARTED,
        message=f"the design started {len(watch.threads)} thread(s) during the run, first "
                f"{first.name!r} running {first.target}: a thread runs on real time and "
                f"the OS's schedule, and lives through a simulated crash; {_ISOLATE}",
        evidence={"threads": [{"name": t.name, "target": t.target}
                              for t in watch.threads]})]


def liveness(world: World, finished: bool, hang: str | None = None) -> list[Violation]:
    """Every workflow reported complete; ``hang`` says why a run was abandoned (the
    watchdog stopped a design that never yielded)."""
    if hang is not None:
        return [Violation(invariant=LIVENESS, message=f"the design hung: {hang}",
                          evidence={"virtual_time_s": world.kernel.now_ns / 1e9,
                                    "hung": True})]
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


def stays_in_simulation(world: World) -> list[Violation]:
    """What the design did outside the simulation (``kernel.escapes``: a real socket, a
    name lookup, a subprocess, a foreign thread calling into the loop): untested by the
    run, so never a pass, even when the design swallowed the exception."""
    escapes = world.kernel.escapes
    if not escapes:
        return []
    return [Violation(invariant=STAYS_IN_SIMULATION,
                      message=f"the design reached outside the simulation: {escapes[0]}"
                              + (f" (and {len(escapes) - 1} more)" if len(escapes) > 1
                                 else ""),
                      evidence={"escapes": list(escapes)})]
