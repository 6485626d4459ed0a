"""``ninelives check``: the four questions about a design, answered by experiment.

1. **state** — where does state live? Crash the design's worker at every port operation
   of a fault-free run and restart it: does it continue where it was, or start over,
   forget what it decided, or lose work?
2. **retries** — what happens when a side-effecting step retries? Lose each
   side-effecting call's response after the service acted, or delay it past the
   caller's timeout: does the effect happen twice? Are keys stable across retries and
   restarts?
3. **split** — can model output cause a side effect with no executor in between? Make
   each model answer a hallucination the policy must refuse: does any reach a service?
4. **resumable_unit** — what is the resumable unit? From the same crash runs, count the
   completed calls each restart redid: one call, N steps, or the whole task.

Every "fail" comes with its evidence, the seed, the minimal plan that shows it, and a
one-line command that replays it. The experiments are small and exhaustive over their
points (FoundationDB-style: each a setup, a run, a check).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, Field

from simulator import PortOp, RawEvent, TraceKind

from ..errors import InputError

QUESTIONS: dict[str, str] = {
    "state": "where does state live?",
    "retries": "what happens when a side-effecting step retries?",
    "split": "can model output cause a side effect with no executor in between?",
    "resumable_unit": "what is the resumable unit?",
}

#: invariants that mean an effect happened twice
_DUPLICATE_EFFECT = ("exactly-once-charge", "at-most-once-chat")


class QuestionResult(BaseModel):
    """The answer to one question, with evidence."""

    id: Literal["state", "retries", "split", "resumable_unit"]
    verdict: Literal["pass", "fail"]
    summary: str
    evidence: dict[str, Any] = Field(default_factory=dict)
    repro: str | None = None
    seed: int | None = None
    plan: dict[str, Any] | None = None


class CheckReport(BaseModel):
    """``ninelives check``'s JSON: ``{"design", "questions": [...]}``."""

    design: str
    questions: list[QuestionResult]

    @property
    def ok(self) -> bool:
        return all(q.verdict == "pass" for q in self.questions)


def _plan_repro(scenario: str, design: str, seed: int, plan: Any,
               isolation: str = "process") -> str:
    """The shell-safe line that replays this experiment (``scenarios.repro_command``),
    in the isolation mode it ran in."""
    from scenarios import repro_command

    return repro_command(scenario, design, seed, plan=plan, isolation=isolation)


#: invariants that mean an effect happened twice
_DUPLICATE = _DUPLICATE_EFFECT
#: what an inline run reports about the process itself (``scenarios.process_local_state``,
#: ``thread_started``): the state question's findings, never a scenario's failure
_INLINE = ("process-local-state", "thread-started")

#: the experiment families ``check_design(experiments=...)`` can run (default: all)
EXPERIMENTS = ("crash", "lease", "retry", "late-retry", "key-lifetime", "in-flight-409",
               "hash-seed", "split")
#: a late retry: long enough that a key stamped by the minute ages (the retry is sent
#: in another minute), short enough to stay inside checkout's fault window (600 s)
LATE_RETRY_MS = 90_000
#: past the provider's 24 h key lifetime (fakes.KEY_TTL_NS), with an hour to spare
PAST_KEY_LIFETIME_MS = 25 * 3_600_000
#: past any lease a design is likely to take (the reference's is 30 s); the pause ends
#: well inside checkout's fault window
PAST_LEASE_MS = 60_000
#: a first request held on the wire for the 409 experiment's measuring run
_HOLD_MS = 3_600_000
#: how long before the retry arrives the held first request starts executing (the
#: fake services execute for 30 ms, fakes.DEFAULT_PROCESSING_NS)
_AHEAD_MS = 10


@dataclass
class _Run:
    """What the analyses need from one experiment run (the world is let go)."""

    scenario: str
    plan: Any
    violations: list[Any]  # the scenario's findings (safety, liveness, equivalence)
    findings: list[Any]  # what inline mode says about the process (_INLINE)
    redone: int
    completed_before_crash: int
    key_changes: list[dict[str, Any]]
    reached: list[dict[str, Any]] = field(default_factory=list)
    #: the model was asked again, after a restart, for a decision answered before it
    reasked: bool = False
    #: a call redone after a restart without any idempotency key
    keyless_redo: bool = False
    #: a tool answered 409 (its key still in flight) during the run
    saw_409: bool = False


def _args_key(tool: str, args: Any) -> str:
    # Metadata is the executor's bookkeeping (workflow, step), not the model's proposal.
    if isinstance(args, dict) and "metadata" in args:
        args = {k: v for k, v in args.items() if k != "metadata"}
    return tool + json.dumps(args, sort_keys=True, default=str)


@dataclass
class _Analysis:
    redone: int = 0
    completed_at_crash: int = 0
    key_changes: list[dict[str, Any]] = field(default_factory=list)
    reached: list[dict[str, Any]] = field(default_factory=list)
    reasked: bool = False
    keyless_redo: bool = False
    saw_409: bool = False


def _analyse(trace: list[RawEvent]) -> _Analysis:
    """Read one run's trace: calls redone after a restart, calls completed before the
    first crash, key changes on re-sent calls (each marked ``after_reask`` when the model
    had been asked again, after the restart, for a decision it answered before: then the
    key changed because the *step* changed, which is the state question's finding),
    hallucinated proposals that reached a service, and 409s."""
    out = _Analysis()
    requests: dict[int, tuple[str, str, Any]] = {}
    completed: dict[str, int] = {}
    keys_before: dict[str, Any] = {}
    answered: set[str] = set()
    crashed = False
    hallucinated: list[tuple[str, dict[str, Any]]] = []
    for _t, _component, kind, data in trace:
        if kind == TraceKind.TOOL_REQUEST:
            tool, args = data["tool"], data.get("args")
            k = _args_key(tool, args)
            requests[data["request"]] = (tool, k, data.get("key"))
            for hk, proposal in hallucinated:
                if hk == k:
                    out.reached.append({"proposal": proposal, "request": data["request"]})
            if crashed and completed.get(k, 0) > 0:
                completed[k] -= 1
                out.redone += 1
                before = keys_before.get(k)
                if before is None and data.get("key") is None:
                    out.keyless_redo = True
                if before != data.get("key"):
                    out.key_changes.append({"tool": tool, "before_crash": before,
                                            "after_restart": data.get("key"),
                                            "after_reask": out.reasked})
            if not crashed:
                keys_before.setdefault(k, data.get("key"))
        elif kind == TraceKind.TOOL_RESPONSE:
            if data.get("status") == 409:
                out.saw_409 = True
            if not crashed:
                req = requests.get(data["request"])
                if req is not None:
                    completed[req[1]] = completed.get(req[1], 0) + 1
        elif kind == TraceKind.CRASH and not crashed:
            crashed = True
            out.completed_at_crash = sum(completed.values())
        elif kind == TraceKind.MODEL_ANSWER:
            if data.get("fault") == "hallucinated":
                action = data.get("action") or {}
                if action.get("action") == "call":
                    hallucinated.append((_args_key(action["tool"], action.get("args")),
                                         action))
            elif data.get("fault") is None:
                decision = data.get("decision")
                if not crashed:
                    answered.add(decision)
                elif decision in answered:
                    out.reasked = True
    return out


@dataclass
class _Profile:
    """A scenario's fault-free run, as the experiments need it."""

    result: Any
    ops: dict[str, int]
    calls: dict[str, int]
    model_calls: int
    #: (process, op index, tool, call number) of every tool call, in order
    tool_ops: list[tuple[str, int, str, int]]
    #: (tool, call identity, idempotency key) of every request, in order
    keys: list[tuple[str, str, Any]]
    #: the tools (``service.endpoint``) that change the world: every service's
    #: ``side_effecting`` endpoints, the dialect's and the wire's alike
    #: (``payments.charge``, ``payments.payment_intents.create``)
    effects: frozenset[str] = frozenset()

    def effect_calls(self) -> list[tuple[str, int, str, int]]:
        """The ``tool_ops`` of side-effecting tools (``effects``), in order."""
        return [call for call in self.tool_ops if call[2] in self.effects]


class _OpRecorder:
    """Fault hooks with an empty plan that remember the op index of each tool call.

    An empty plan fires nothing and draws nothing, so the run is the fault-free run."""

    def __init__(self) -> None:
        from faults import FaultPlan, PlanHooks

        self._hooks = PlanHooks(FaultPlan(faults=[]))
        self.tool_ops: list[tuple[str, int, str, int]] = []
        self._calls: dict[str, int] = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._hooks, name)

    def on_op(self, process: Any, op_index: int, kind: str, detail: dict[str, Any]) -> None:
        if kind == PortOp.TOOL_CALL:
            tool = detail.get("tool", "")
            n = self._calls[tool] = self._calls.get(tool, 0) + 1
            self.tool_ops.append((process.name, op_index, tool, n))
        self._hooks.on_op(process, op_index, kind, detail)


def _sent_keys(trace: list[RawEvent]) -> list[tuple[str, str, Any]]:
    return [(d["tool"], _args_key(d["tool"], d.get("args")), d.get("key"))
            for _t, _c, kind, d in trace if kind == TraceKind.TOOL_REQUEST]


class _Lab:
    """Runs experiments for one design and keeps what the answers need."""

    def __init__(self, design_spec: str, seed: int,
                 progress: Callable[[str, int], None] | None = None,
                 isolation: str = "process") -> None:
        from reference_agent import load_design
        from scenarios import Baselines

        self.spec = design_spec
        self.design = load_design(design_spec)
        self.seed = seed
        self.isolation = isolation
        self.baselines = Baselines()
        self.progress = progress or (lambda what, n: None)

    def _run_seed(self, scenario_name: str, plan: Any) -> Any:
        # The one place an experiment runs, in the lab's isolation mode (process by default).
        from scenarios import get_scenario, run_seed

        return run_seed(get_scenario(scenario_name), self.design, self.seed, plan=plan,
                        keep_world=True, baselines=self.baselines,
                        isolation=self.isolation)

    def run(self, scenario_name: str, plan: Any) -> _Run:
        return self.trace_of(scenario_name, plan)[0]

    def trace_of(self, scenario_name: str, plan: Any) -> tuple[_Run, list[RawEvent]]:
        """One run, and its trace (for experiments that measure a run to aim the next)."""
        result = self._run_seed(scenario_name, plan)
        assert result.world is not None
        trace = list(result.world.kernel.trace.raw())  # dispose() empties the world's own
        found = _analyse(trace)
        result.world.dispose()
        self.progress("run", 1)
        return _Run(scenario_name, plan,
                    [v for v in result.violations if v.invariant not in _INLINE],
                    [v for v in result.violations if v.invariant in _INLINE],
                    found.redone, found.completed_at_crash, found.key_changes, found.reached,
                    found.reasked, found.keyless_redo, found.saw_409), trace

    def profile(self, scenario_name: str) -> _Profile:
        """The fault-free run of a scenario: its result (checked, and recorded as the
        scenario's baseline) and the keys it sent. ``tool_ops`` comes later, from
        ``where_calls_happen``, once the run is known to pass."""
        from faults import FaultPlan

        result = self._run_seed(scenario_name, FaultPlan(faults=[]))
        world = result.world
        assert world is not None
        ops = {name: p.ops for name, p in world.processes.items()}
        calls = dict(world.network.calls)
        model_calls = world.model.calls
        keys = _sent_keys(world.kernel.trace.raw())
        effects = frozenset(f"{name}.{endpoint}" for name, service in world.services.items()
                            for endpoint in service.side_effecting)
        world.dispose()
        return _Profile(result, ops, calls, model_calls, [], keys, effects)

    def where_calls_happen(self, scenario_name: str, profile: _Profile) -> None:
        """The fault-free run again with an op recorder (an empty plan: it changes
        nothing), to learn the port operation at which each tool call was made."""
        from scenarios import get_scenario, populate, watch_design
        from simulator import World

        scenario = get_scenario(scenario_name)
        recorder = _OpRecorder()
        with watch_design(self.design):  # keeps the watch's view of the modules current
            world = World(self.seed, hooks=recorder)  # type: ignore[arg-type]
            populate(world, scenario, self.design)
            world.run(scenario.fault_window_s, scenario.liveness_bound_s)
        world.dispose()
        profile.tool_ops = recorder.tool_ops


def _fail(qid: str, summary: str, run: _Run, lab: _Lab, *, findings: bool = False,
          **evidence: Any) -> QuestionResult:
    source = run.findings if findings else run.violations
    violation = source[0] if source else None
    if violation is not None:
        evidence.setdefault("invariant", violation.invariant)
        evidence.setdefault("violation", violation.message)
        evidence.setdefault("violation_evidence", violation.evidence)
    return QuestionResult(
        id=qid, verdict="fail", summary=summary, evidence=evidence, seed=lab.seed,  # type: ignore[arg-type]
        plan=run.plan.model_dump(mode="json"),
        repro=_plan_repro(run.scenario, lab.spec, lab.seed, run.plan, lab.isolation))


def _describe_diff(violation: Any) -> str:
    """What differs from the fault-free final state, in a line: the first item's fields
    that differ, with and without faults (e.g. an order paid and never charged)."""
    diff = (violation.evidence or {}).get("diff") or {}
    if not diff:
        return violation.message
    item = next(iter(diff))
    got, want = diff[item].get("with_faults"), diff[item].get("without_faults")
    if isinstance(got, dict) and isinstance(want, dict):
        fields = [f"{k} {json.dumps(got.get(k))} (fault-free: {json.dumps(want.get(k))})"
                  for k in sorted(set(got) | set(want)) if got.get(k) != want.get(k)]
        outcome = got.get("outcome")
        tail = f"; its outcome {json.dumps(outcome)}" if outcome is not None and \
            "outcome" not in {k for k in got if got.get(k) != want.get(k)} else ""
        return f"{item}: " + ", ".join(fields) + tail
    return f"{item}: {json.dumps(got)} (fault-free: {json.dumps(want)})"


def _silent(violation: Any) -> bool:
    """A final state that differs from the fault-free one while its item's outcome is
    the same: the design reported success for work that did not happen as reported."""
    if violation.invariant != "resume-equivalence":
        return False
    for item in ((violation.evidence or {}).get("diff") or {}).values():
        got, want = item.get("with_faults"), item.get("without_faults")
        if isinstance(got, dict) and isinstance(want, dict) and "outcome" in got \
                and got.get("outcome") == want.get("outcome"):
            return True
    return False


def _dup_is_a_retry(run: _Run) -> bool:
    """A duplicate effect in a crash run is the retries question's when the redone call
    carried no key or another key, and not because the model was asked again."""
    if run.reasked:
        return False
    return run.keyless_redo or any(not c["after_reask"] for c in run.key_changes)


def _state_and_unit(lab: _Lab, runs: list[_Run], lease_runs: list[_Run],
                    inline: list[_Run]) -> tuple[QuestionResult, QuestionResult]:
    worst_redo = max(runs, key=lambda r: r.redone, default=None)
    amnesia = next((r for r in runs if r.reasked and (
        any(v.invariant == "model-once-per-decision" for v in r.violations)
        or r.key_changes or r.violations)), None)
    lost = next((r for r in runs if any(v.invariant == "liveness" for v in r.violations)),
                None)
    # A run whose redone call went out without its key, or under another (and not
    # because the model was asked again), repeated an effect: the retries question's.
    changed = [r for r in runs if r.violations and not _dup_is_a_retry(r)]
    # The worst first: a run whose outcome claims what the fault-free run's did while
    # the world differs (a step skipped: "paid", never charged) is a silent loss.
    differs = next((r for r in changed if _silent(r.violations[0])), None) or \
        next(iter(changed), None)
    zombie = next((r for r in lease_runs if r.violations), None)
    points = len(runs)
    if inline:
        # First: while the design keeps state in its process, an in-process restart
        # keeps it too, and every experiment below may have passed (or failed) for it.
        run = inline[0]
        v = run.findings[0]
        state = _fail("state", f"state lives in the process ({v.invariant}): {v.message}",
                      run, lab, findings=True, crash_points=points,
                      experiments_failed=sum(1 for r in runs + lease_runs if r.violations))
    elif worst_redo is not None and worst_redo.redone > 1:
        state = _fail("state", f"state lives in memory: after a crash it redid "
                      f"{worst_redo.redone} calls it had already completed",
                      worst_redo, lab, crash_points=points, calls_redone=worst_redo.redone)
    elif amnesia is not None:
        changed = [c for c in amnesia.key_changes if c["after_reask"]]
        also = (f", and sent {changed[0]['tool']} again under another key"
                if changed else "")
        state = _fail("state", "the model's answers live only in memory: after a crash it "
                      f"asked again for a decision it had already acted on{also}", amnesia,
                      lab, crash_points=points,
                      **({"key_change": changed[0]} if changed else {}))
    elif lost is not None:
        state = _fail("state", "a crash lost work: a workflow never finished after restart",
                      lost, lab, crash_points=points)
    elif differs is not None:
        v = differs.violations[0]
        what = _describe_diff(v) if v.invariant == "resume-equivalence" else v.message
        fault = differs.plan.faults[0].describe()
        state = _fail("state", f"a crash changed the outcome ({fault}): {what}", differs,
                      lab, crash_points=points, crash_points_changed=len(changed))
    elif zombie is not None:
        v = zombie.violations[0]
        state = _fail("state", f"a worker frozen past its lease acted on what it held in "
                      f"memory ({zombie.plan.faults[0].describe()}): {v.message}", zombie,
                      lab, pauses=len(lease_runs))
    else:
        lease = f" and {len(lease_runs)} pauses past a lease" if lease_runs else ""
        state = QuestionResult(
            id="state", verdict="pass",
            summary=f"state is durable: after each of {points} crash points{lease} the "
                    "design resumed where it was, to the fault-free final state",
            evidence={"crash_points": points, "lease_pauses": len(lease_runs)})
    redos = [r.redone for r in runs]
    max_redo = max(redos, default=0)
    mean_redo = sum(redos) / len(redos) if redos else 0.0
    whole = [r for r in runs if r.completed_before_crash >= 2]
    if max_redo <= 1:
        unit = "one call"
    elif whole and all(r.redone >= r.completed_before_crash for r in whole):
        unit = "the whole task"
    else:
        unit = f"{max_redo} steps"
    evidence = {"unit": unit, "max_calls_redone": max_redo,
                "mean_calls_redone": round(mean_redo, 2), "crash_points": points}
    if max_redo <= 1:
        unit_q = QuestionResult(id="resumable_unit", verdict="pass",
                                summary=f"the resumable unit is one call (max {max_redo}, "
                                        f"mean {mean_redo:.2f} calls redone per restart)",
                                evidence=evidence)
    else:
        assert worst_redo is not None
        unit_q = _fail("resumable_unit", f"the resumable unit is {unit}: a restart redid up "
                       f"to {max_redo} completed calls (mean {mean_redo:.2f})", worst_redo,
                       lab, **evidence)
    return state, unit_q


def _retry_plans(profile: _Profile, late: bool) -> list[tuple[str, Any]]:
    """Each side-effecting call of checkout's fault-free run with its response lost
    after the service acted, or late past the caller's timeout; with ``late``, also lost
    and then retried only after the caller was frozen for LATE_RETRY_MS (a key that
    ages with the clock is then another key). And each lost with the caller killed
    before its retry (the deploy that lands between a timeout and the retry): the
    restarted process retries the effect, under the key it had if it kept it or made
    it from the step, under a new one (a second effect) if the key lived in its memory,
    as the SDKs' automatic keys do."""
    from faults import Crash, Delay, FaultPlan, LoseResponse, Pause

    plans = []
    for process, op, tool, n in profile.effect_calls():
        plans.append(("checkout", FaultPlan(faults=[LoseResponse(tool=tool, call=n)],
                                            note=f"lose {tool} #{n}")))
        plans.append(("checkout", FaultPlan(faults=[
            LoseResponse(tool=tool, call=n), Crash(process=process, at_op=op + 1)],
            note=f"lose {tool} #{n}, crash before the retry")))
        plans.append(("checkout", FaultPlan(faults=[
            Delay(tool=tool, call=n, delay_ms=60_000, leg="response")],
            note=f"late response {tool} #{n}")))
        if late:
            plans.append(("checkout", FaultPlan(faults=[
                LoseResponse(tool=tool, call=n),
                Pause(process=process, at_op=op + 1, duration_ms=LATE_RETRY_MS)],
                note=f"late retry {tool} #{n}")))
    return plans


def _lifetime_plans(profile: _Profile) -> list[tuple[str, Any]]:
    """Each charge of subscription-renewal's fault-free run (its fault window is 100
    days) lost after the provider charged, and its caller frozen past the key's 24 h
    lifetime before it can retry: the retry with the same key charges anew, unless the
    design looks the charge up first."""
    from faults import FaultPlan, LoseResponse, Pause

    return [("subscription-renewal", FaultPlan(faults=[
        LoseResponse(tool=tool, call=n),
        Pause(process=process, at_op=op + 1, duration_ms=PAST_KEY_LIFETIME_MS)],
        note=f"retry past the key's lifetime {tool} #{n}"))
        for process, op, tool, n in profile.effect_calls()]


def _in_flight_runs(lab: _Lab, profile: _Profile) -> tuple[list[_Run], int]:
    """Each keyed side-effecting call of checkout, its first request held on the wire
    until just before the caller's retry (same key) arrives: the retry meets its first
    request still executing and gets a 409 (``idempotency_key_in_use``).

    Aimed by measurement: a first run holds the request an hour and reads when the
    retry arrived; the second holds it so that it starts executing ``_AHEAD_MS`` before
    (the two runs are the same until then). Returns the runs that saw their 409, and
    how many calls were tried."""
    from faults import Delay, FaultPlan

    runs: list[_Run] = []
    tried = 0
    for _process, _op, tool, n in profile.effect_calls():
        tried += 1
        hold = FaultPlan(faults=[Delay(tool=tool, call=n, delay_ms=_HOLD_MS,
                                       leg="request")], note=f"hold {tool} #{n}")
        _, trace = lab.trace_of("checkout", hold)
        aim = _aim_409(trace, tool, n)
        if aim is None:
            continue  # no retry with the same key: nothing to meet
        plan = FaultPlan(faults=[Delay(tool=tool, call=n, delay_ms=aim, leg="request")],
                         note=f"retry meets {tool} #{n} in flight (409)")
        run = lab.run("checkout", plan)
        if run.saw_409:
            runs.append(run)
    return runs, tried


def _aim_409(trace: list[RawEvent], tool: str, n: int) -> int | None:
    """From a run with call ``n`` of ``tool`` held ``_HOLD_MS`` on the way: the delay
    that makes it start executing ``_AHEAD_MS`` before its first same-key retry arrives."""
    sent = rid = key = None
    begins: dict[int, int] = {}
    retry: int | None = None
    for t, _c, kind, d in trace:
        if kind == TraceKind.TOOL_REQUEST and d["tool"] == tool:
            if d.get("call") == n:
                sent, rid, key = t, d["request"], d.get("key")
            elif rid is not None and retry is None and key is not None \
                    and d.get("key") == key:
                retry = d["request"]
        elif kind == TraceKind.SERVICE_BEGIN and not d.get("duplicate"):
            begins.setdefault(d["request"], t)
    if sent is None or rid is None or retry is None or rid not in begins \
            or retry not in begins:
        return None
    latency = begins[rid] - sent - _HOLD_MS * 1_000_000
    delay_ms = (begins[retry] - sent - latency) // 1_000_000 - _AHEAD_MS
    return delay_ms if delay_ms >= 1 else None


def _lease_plans(profile: _Profile) -> list[tuple[str, Any]]:
    """For a design of two or more workers: each worker frozen at each of its port
    operations for PAST_LEASE_MS, long enough for another to take its work over."""
    from faults import FaultPlan, Pause

    return [("checkout", FaultPlan(faults=[Pause(process=p, at_op=op,
                                                 duration_ms=PAST_LEASE_MS)],
                                   note=f"pause {p}@{op} past its lease"))
            for p, count in profile.ops.items() for op in range(1, count + 1)]


def _hash_seed_changes(lab: _Lab, profile: _Profile) -> dict[str, Any] | None:
    """The fault-free run of checkout again, in a fresh interpreter with another hash
    seed: a call whose key differs there is keyed by ``hash()``, ``id()`` or other
    process-local values, and a restarted process sends another key (the inline
    stand-in for process isolation's restarts, which get another hash seed each).
    ``None`` when every key agreed (or the other interpreter could not run the design)."""
    import os
    import subprocess
    import sys

    from simulator import derive_seed

    current = os.environ.get("PYTHONHASHSEED")
    hash_seed = derive_seed(lab.seed, "check.hash-seed") % 4_294_967_295 + 1
    if current is not None and current == str(hash_seed):
        hash_seed = hash_seed % 4_294_967_295 + 1
    env = {**os.environ, "PYTHONHASHSEED": str(hash_seed)}
    code = "from ninelives.engine._check import _keys_main; _keys_main()"
    try:
        proc = subprocess.run([sys.executable, "-c", code], input=json.dumps(
            [lab.spec, lab.seed]), capture_output=True, text=True, env=env, timeout=300,
            check=False)
        theirs = [tuple(k) for k in json.loads(proc.stdout.strip().splitlines()[-1])]
    except (subprocess.SubprocessError, ValueError, IndexError, OSError):
        return None
    lab.progress("run", 1)
    ours: dict[str, list[Any]] = {}
    for _tool, identity, key in profile.keys:
        ours.setdefault(identity, []).append(key)
    seen: dict[str, int] = {}
    for tool, identity, key in theirs:
        i = seen[identity] = seen.get(identity, 0) + 1
        mine = ours.get(identity, [])
        if tool in profile.effects and i <= len(mine) and mine[i - 1] != key:
            return {"tool": tool, "key_here": mine[i - 1], "key_there": key,
                    "hash_seed_there": hash_seed,
                    "hash_seed_here": current if current is not None else "random"}
    return None


def _keys_main() -> None:
    """In the other interpreter: print the keys of checkout's fault-free run as JSON."""
    import sys

    spec, seed = json.loads(sys.stdin.read())
    lab = _Lab(spec, seed)
    keys = lab.profile("checkout").keys
    sys.stdout.write("\n" + json.dumps(keys) + "\n")


def _retries(lab: _Lab, runs: list[_Run], lifetime_runs: list[_Run], crash_runs: list[_Run],
             in_flight: tuple[list[_Run], int], hashed: dict[str, Any] | None,
             base: _Run | None, effects: frozenset[str]) -> QuestionResult:
    landed, tried = in_flight
    soon = runs + landed
    everything = soon + lifetime_runs
    # Keys that are not stable are named before a retry past the key's lifetime, which
    # even a stable key does not survive without a reconciliation: the first is the
    # more basic flaw, and the design that has both is told both in turn.
    for run in soon:
        dup = next((v for v in run.violations if v.invariant in _DUPLICATE), None)
        if dup is not None:
            return _fail("retries", f"the retry repeated the effect "
                         f"({_plan_words(run.plan)}): {dup.message}", run, lab,
                         experiments=len(everything))
    for run in soon:
        if run.violations:
            return _fail("retries", f"a retry went wrong ({_plan_words(run.plan)}): "
                         f"{run.violations[0].message}", run, lab,
                         experiments=len(everything))
    for run in crash_runs:
        changed = [c for c in run.key_changes if c["tool"] in effects
                   and not c["after_reask"] and not run.reasked]
        if changed:
            return _fail("retries", f"the idempotency key of {changed[0]['tool']} "
                         "changed across a restart", run, lab, key_change=changed[0])
    if hashed is not None and base is not None:
        return _fail("retries", f"the idempotency key of {hashed['tool']} depends on the "
                     "process: the fault-free run sends another key under another hash "
                     f"seed ({hashed['key_here']!r} here, {hashed['key_there']!r} with "
                     f"PYTHONHASHSEED={hashed['hash_seed_there']}), so a restarted "
                     "process retries under a new key", base, lab, key_change=hashed)
    for run in lifetime_runs:
        if run.violations:
            return _fail("retries", "a retry that outlived the provider's 24 h key "
                         f"lifetime went wrong ({_plan_words(run.plan)}): "
                         f"{run.violations[0].message}; look the effect up before "
                         "retrying that late", run, lab, experiments=len(everything))
    return QuestionResult(
        id="retries", verdict="pass",
        summary=f"every retry was safe: {len(everything)} lost, late or in-flight "
                f"(409) responses and retries past the key's lifetime, no effect "
                f"happened twice, keys stable across {len(crash_runs)} restarts"
                + (" and another hash seed" if base is not None else ""),
        evidence={"experiments": len(everything), "restarts": len(crash_runs),
                  "in_flight_409": f"{len(landed)} of {tried}"})


def _plan_words(plan: Any) -> str:
    return " and ".join(f.describe() for f in plan.faults)


def _split_plans(model_calls: dict[str, int]) -> list[tuple[str, Any]]:
    """Each model answer of each scenario's fault-free run, made a hallucination."""
    from faults import FaultPlan, ModelFault

    return [(scenario, FaultPlan(faults=[ModelFault(call=call, fault="hallucinated")]))
            for scenario, n in model_calls.items() for call in range(1, n + 1)]


def _split(lab: _Lab, runs: list[_Run]) -> QuestionResult:
    for run in runs:
        if run.reached:
            proposal = run.reached[0]["proposal"]
            return _fail("split", f"model output reached a service unchecked: the "
                         f"hallucinated {proposal['tool']}({json.dumps(proposal['args'])}) "
                         "was sent", run, lab, proposal=proposal, experiments=len(runs))
        gate = next((v for v in run.violations if v.invariant == "no-effect-outside-gate"),
                    None)
        if gate is not None:
            return _fail("split", f"model output caused an effect the policy refuses: "
                         f"{gate.message}", run, lab, experiments=len(runs))
    return QuestionResult(
        id="split", verdict="pass",
        summary=f"no model output reached a service unchecked: {len(runs)} hallucinated "
                "proposals, all stopped before any tool", evidence={"experiments": len(runs)})


_SCENARIOS = ("checkout", "sre-incident", "subscription-renewal")


def _served(design: Any) -> list[str]:
    """The built-in scenarios ``check`` runs ``design`` on: those it declares it is
    written for (``Design.scenarios``; none declared: all). An SDK agent written for
    checkout alone is not failed for not handling incidents; the experiments that need
    another scenario (the key-lifetime retry, incident hallucinations) are then not run,
    and the answers say how many experiments they rest on."""
    declared = tuple(getattr(design, "scenarios", ()) or ())
    if not declared:
        return list(_SCENARIOS)
    if "checkout" not in declared:
        raise InputError(f"check runs its experiments on checkout; design {design.name!r} "
                         f"declares only {', '.join(declared)}")
    return [name for name in _SCENARIOS if name in declared]
#: the questions whose experiments need each scenario's fault-free run to pass: a
#: design failing one without faults gets that failure as their answer
_NEEDS = {"checkout": tuple(QUESTIONS), "sre-incident": ("split",),
          "subscription-renewal": ("retries",)}


def check_design(design_spec: str, *, seed: int = 1,
                 progress: Callable[[str, int], None] | None = None,
                 experiments: tuple[str, ...] | None = None,
                 isolation: str = "process") -> CheckReport:
    """Answer the four questions for a design (a registered name or ``pkg.mod:attr``).

    Every experiment runs in process isolation unless ``isolation="inline"``: a crash
    is then a real process death, so state kept in the process is lost as in
    production (docs/architecture.md, "Process isolation").

    ``experiments`` picks families of ``EXPERIMENTS`` (default all; tests run subsets).
    ``progress(what, n)`` is told ``("total", experiments)`` once the experiments are
    planned, then ``("run", 1)`` after each."""
    from faults import FaultPlan, crash_points

    from ._validate import require_seed

    require_seed(seed, "seed")  # the one validator the command line's --seed uses too
    chosen = set(EXPERIMENTS if experiments is None else experiments)
    unknown = chosen - set(EXPERIMENTS)
    if unknown:
        raise InputError(f"unknown experiments {sorted(unknown)}: use {list(EXPERIMENTS)}")
    lab = _Lab(design_spec, seed, progress, isolation)
    served = _served(lab.design)
    profiles = {name: lab.profile(name) for name in served}
    broken: dict[str, QuestionResult] = {}  # question -> its fault-free failure
    for name in served:
        base = profiles[name].result
        failing = [v for v in base.violations if v.invariant not in _INLINE]
        if not failing:
            continue
        v = failing[0]
        summary = f"the design fails even without faults, in {name}: {v.headline()}"
        # The repro replays the fault-free run (the seed alone would bring its swarm
        # plan) and names the design as the user spelt it, not by its Design.name.
        repro = _plan_repro(name, design_spec, seed, base.plan, isolation)
        for q in _NEEDS[name]:
            broken.setdefault(q, QuestionResult(
                id=q, verdict="fail", summary=summary,  # type: ignore[arg-type]
                evidence={"scenario": name, "invariant": v.invariant,
                          "violation": v.message},
                seed=seed, plan=base.plan.model_dump(mode="json"), repro=repro))
    if len(broken) == len(QUESTIONS):
        return CheckReport(design=design_spec, questions=[broken[q] for q in QUESTIONS])
    if "split" in broken:
        chosen.discard("split")
    if "retries" in broken:
        chosen.discard("key-lifetime")
    checkout = profiles["checkout"]
    lab.where_calls_happen("checkout", checkout)
    renewal = profiles.get("subscription-renewal")
    if "retries" not in broken and renewal is not None:
        lab.where_calls_happen("subscription-renewal", renewal)
    inline_base = [
        _Run(name, profiles[name].result.plan, [],
             [v for v in profiles[name].result.violations if v.invariant in _INLINE],
             0, 0, [])
        for name in served]
    inline_base = [r for r in inline_base if r.findings]
    crash_plans = [("checkout", plan) for plan in crash_points(checkout.ops)] \
        if "crash" in chosen else []
    lease_plans = _lease_plans(checkout) if "lease" in chosen and lab.design.workers >= 2 \
        else []
    retry_plans = _retry_plans(checkout, "late-retry" in chosen) if "retry" in chosen \
        else []
    lifetime_plans = _lifetime_plans(renewal) \
        if "key-lifetime" in chosen and "retries" not in broken and renewal is not None \
        else []
    split_plans = _split_plans({name: profiles[name].model_calls
                                for name in ("checkout", "sre-incident") if name in profiles}) \
        if "split" in chosen else []
    in_flight_calls = len(checkout.effect_calls())
    lab.progress("total", len(crash_plans) + len(lease_plans) + len(retry_plans)
                 + len(lifetime_plans) + len(split_plans) + ("hash-seed" in chosen)
                 + (2 * in_flight_calls if "in-flight-409" in chosen else 0))
    crash_runs = [lab.run(scenario, plan) for scenario, plan in crash_plans]
    lease_runs = [lab.run(scenario, plan) for scenario, plan in lease_plans]
    retry_runs = [lab.run(sc, plan) for sc, plan in retry_plans]
    lifetime_runs = [lab.run(sc, plan) for sc, plan in lifetime_plans]
    in_flight = _in_flight_runs(lab, checkout) if "in-flight-409" in chosen else ([], 0)
    split_runs = [lab.run(sc, plan) for sc, plan in split_plans]
    hashed = _hash_seed_changes(lab, checkout) if "hash-seed" in chosen else None
    inline = inline_base + [r for r in crash_runs + lease_runs + retry_runs
                            + lifetime_runs + in_flight[0] + split_runs if r.findings]
    state, unit = _state_and_unit(lab, crash_runs, lease_runs, inline)
    base_run = _Run("checkout", FaultPlan(faults=[], note="fault-free"), [], [], 0, 0, []) \
        if "hash-seed" in chosen else None
    retries = _retries(lab, retry_runs, lifetime_runs, crash_runs, in_flight, hashed,
                       base_run, checkout.effects)
    split = _split(lab, split_runs)
    answers = {"state": state, "retries": retries, "split": split, "resumable_unit": unit}
    return CheckReport(design=design_spec,
                       questions=[broken.get(q, answers[q]) for q in QUESTIONS])
