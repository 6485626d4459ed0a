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

from simulator import RawEvent, TraceKind

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


@dataclass
class _Run:
    """What the analyses need from one experiment run (the world is let go)."""

    scenario: str
    plan: Any
    violations: list[Any]
    redone: int
    completed_before_crash: int
    key_changes: list[dict[str, Any]]
    reached: list[dict[str, Any]] = field(default_factory=list)


def _args_key(tool: str, args: Any) -> str:
    # Metadata is the executor's bookkeeping (workflow, step), not the model's proposal.
    if isinstance(args, dict) and "metadata" in args:
        args = {k: v for k, v in args.items() if k != "metadata"}
    return tool + json.dumps(args, sort_keys=True, default=str)


def _analyse(trace: list[RawEvent]) -> tuple[int, int, list[dict[str, Any]], list[dict[str, Any]]]:
    """(calls redone after a restart, calls completed before the first crash,
    key changes on re-sent calls, hallucinated proposals that reached a service)."""
    requests: dict[int, tuple[str, str, Any]] = {}
    completed: dict[str, int] = {}
    keys_before: dict[str, Any] = {}
    crashed = False
    completed_at_crash = 0
    redone = 0
    key_changes: list[dict[str, Any]] = []
    hallucinated: list[tuple[str, str]] = []
    reached: list[dict[str, Any]] = []
    for _t, _component, kind, data in trace:
        if kind == TraceKind.TOOL_REQUEST:
            tool, args = data["tool"], data.get("args")
            k = _args_key(tool, args)
            requests[data["request"]] = (tool, k, data.get("key"))
            for hk, proposal in hallucinated:
                if hk == k:
                    reached.append({"proposal": proposal, "request": data["request"]})
            if crashed and completed.get(k, 0) > 0:
                completed[k] -= 1
                redone += 1
                before = keys_before.get(k)
                if before != data.get("key"):
                    key_changes.append({"tool": tool, "before_crash": before,
                                        "after_restart": data.get("key")})
            if not crashed:
                keys_before.setdefault(k, data.get("key"))
        elif kind == TraceKind.TOOL_RESPONSE and not crashed:
            req = requests.get(data["request"])
            if req is not None:
                completed[req[1]] = completed.get(req[1], 0) + 1
        elif kind == TraceKind.CRASH and not crashed:
            crashed = True
            completed_at_crash = sum(completed.values())
        elif kind == TraceKind.MODEL_ANSWER and data.get("fault") == "hallucinated":
            action = data.get("action") or {}
            if action.get("action") == "call":
                hallucinated.append((_args_key(action["tool"], action.get("args")), action))
    return redone, completed_at_crash, key_changes, reached


class _Lab:
    """Runs experiments for one design and keeps what the answers need."""

    def __init__(self, design_spec: str, seed: int,
                 progress: Callable[[str, int], None] | None = None) -> None:
        from reference_agent import load_design
        from scenarios import Baselines

        self.spec = design_spec
        self.design = load_design(design_spec)
        self.seed = seed
        self.baselines = Baselines()
        self.progress = progress or (lambda what, n: None)

    def run(self, scenario_name: str, plan: Any) -> _Run:
        from scenarios import get_scenario, run_seed

        result = run_seed(get_scenario(scenario_name), self.design, self.seed, plan=plan,
                          keep_world=True, baselines=self.baselines)
        assert result.world is not None
        redone, completed, key_changes, reached = _analyse(result.world.kernel.trace.raw())
        result.world.dispose()
        self.progress("run", 1)
        return _Run(scenario_name, plan, result.violations, redone, completed, key_changes,
                    reached)

    def profile(self, scenario_name: str) -> tuple[Any, dict[str, int], dict[str, int], int]:
        """The fault-free run: (result, ops per process, calls per tool, model calls)."""
        from faults import FaultPlan
        from scenarios import get_scenario, run_seed

        result = run_seed(get_scenario(scenario_name), self.design, self.seed,
                          plan=FaultPlan(faults=[]), keep_world=True,
                          baselines=self.baselines)
        world = result.world
        assert world is not None
        ops = {name: p.ops for name, p in world.processes.items()}
        calls = dict(world.network.calls)
        model_calls = world.model.calls
        world.dispose()
        return result, ops, calls, model_calls


def _fail(qid: str, summary: str, run: _Run, lab: _Lab, **evidence: Any) -> QuestionResult:
    from scenarios import repro_command

    violation = run.violations[0] if run.violations else None
    if violation is not None:
        evidence.setdefault("invariant", violation.invariant)
        evidence.setdefault("violation", violation.message)
        evidence.setdefault("violation_evidence", violation.evidence)
    return QuestionResult(
        id=qid, verdict="fail", summary=summary, evidence=evidence, seed=lab.seed,  # type: ignore[arg-type]
        plan=run.plan.model_dump(mode="json"),
        repro=repro_command(run.scenario, lab.spec, lab.seed, plan=run.plan))


def _state_and_unit(lab: _Lab, runs: list[_Run]) -> tuple[QuestionResult, QuestionResult]:
    worst_redo = max(runs, key=lambda r: r.redone, default=None)
    amnesia = next((r for r in runs if any(v.invariant == "model-once-per-decision"
                                            for v in r.violations)), None)
    lost = next((r for r in runs if any(v.invariant == "liveness" for v in r.violations)),
                None)
    points = len(runs)
    if worst_redo is not None and worst_redo.redone > 1:
        state = _fail("state", f"state lives in memory: after a crash it redid "
                      f"{worst_redo.redone} calls it had already completed",
                      worst_redo, lab, crash_points=points, calls_redone=worst_redo.redone)
    elif amnesia is not None:
        state = _fail("state", "the model's answers live only in memory: after a crash it "
                      "asked again for a decision it had already acted on", amnesia, lab,
                      crash_points=points)
    elif lost is not None:
        state = _fail("state", "a crash lost work: a workflow never finished after restart",
                      lost, lab, crash_points=points)
    else:
        state = QuestionResult(
            id="state", verdict="pass",
            summary=f"state is durable: after each of {points} crash points the design "
                    "resumed where it was", evidence={"crash_points": points})
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


_SIDE_EFFECTS = ("payments.charge", "inventory.reserve", "email.send")


def _retry_plans(calls: dict[str, int]) -> list[tuple[str, Any]]:
    """Each side-effecting call's response lost after the service acted, or late."""
    from faults import Delay, FaultPlan, LoseResponse

    plans = []
    for tool in _SIDE_EFFECTS:
        for n in range(1, calls.get(tool, 0) + 1):
            plans.append(("checkout", FaultPlan(faults=[LoseResponse(tool=tool, call=n)])))
            plans.append(("checkout", FaultPlan(faults=[
                Delay(tool=tool, call=n, delay_ms=60_000, leg="response")])))
    return plans


def _retries(lab: _Lab, runs: list[_Run], crash_runs: list[_Run]) -> QuestionResult:
    for run in runs:
        dup = next((v for v in run.violations if v.invariant in _DUPLICATE_EFFECT), None)
        if dup is not None:
            fault = run.plan.faults[0]
            return _fail("retries", f"the retry repeated the effect ({fault.describe()}): "
                         f"{dup.message}", run, lab, experiments=len(runs))
    for run in runs:
        if run.violations:
            return _fail("retries", f"a retry went wrong: {run.violations[0].message}", run,
                         lab, experiments=len(runs))
    for run in crash_runs:
        changed = [c for c in run.key_changes if c["tool"] in _SIDE_EFFECTS]
        if changed:
            return _fail("retries", f"the idempotency key of {changed[0]['tool']} "
                         "changed across a restart", run, lab, key_change=changed[0])
    return QuestionResult(
        id="retries", verdict="pass",
        summary=f"every retry was safe: {len(runs)} lost or late responses, no effect "
                f"happened twice, keys stable across {len(crash_runs)} restarts",
        evidence={"experiments": len(runs), "restarts": len(crash_runs)})


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


def check_design(design_spec: str, *, seed: int = 1,
                 progress: Callable[[str, int], None] | None = None) -> CheckReport:
    """Answer the four questions for a design (a registered name or ``pkg.mod:attr``).

    ``progress(what, n)`` is told ``("total", experiments)`` once the experiments are
    planned, then ``("run", 1)`` after each."""
    from faults import crash_points
    from scenarios import repro_command

    from ._validate import require_seed

    require_seed(seed, "seed")  # the one validator the command line's --seed uses too
    lab = _Lab(design_spec, seed, progress)
    base, ops, calls, checkout_model_calls = lab.profile("checkout")
    if base.violations:
        v = base.violations[0]
        summary = f"the design fails even without faults: {v.headline()}"
        # The repro replays the fault-free run (the seed alone would bring its swarm
        # plan) and names the design as the user spelt it, not by its Design.name.
        repro = repro_command("checkout", design_spec, seed, plan=base.plan)
        questions = [QuestionResult(id=q, verdict="fail", summary=summary,  # type: ignore[arg-type]
                                    evidence={"invariant": v.invariant, "violation": v.message},
                                    seed=seed, repro=repro) for q in QUESTIONS]
        return CheckReport(design=design_spec, questions=questions)
    _, _, _, sre_model_calls = lab.profile("sre-incident")
    crash_plans = [("checkout", plan) for plan in crash_points(ops)]
    retry_plans = _retry_plans(calls)
    split_plans = _split_plans({"checkout": checkout_model_calls,
                                "sre-incident": sre_model_calls})
    lab.progress("total", len(crash_plans) + len(retry_plans) + len(split_plans))
    crash_runs = [lab.run(scenario, plan) for scenario, plan in crash_plans]
    state, unit = _state_and_unit(lab, crash_runs)
    retries = _retries(lab, [lab.run(sc, plan) for sc, plan in retry_plans], crash_runs)
    split = _split(lab, [lab.run(sc, plan) for sc, plan in split_plans])
    return CheckReport(design=design_spec, questions=[state, retries, split, unit])
