"""``ninelives shrink``: from a failing seed to the smallest plan that still fails the
same way.

"The same way" means the same invariant as the seed's first violation: a smaller plan
that breaks something else (say, liveness instead of exactly-once) would teach the wrong
lesson. Every candidate runs with the original seed, so the shrunk plan file plus the
seed reproduce the failure with ``ninelives replay --plan``
(``tests/ninelives/test_cli_shrink.py::test_shrunk_plan_replays_the_same_invariant``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from faults import FaultPlan, shrink
from reference_agent import load_design
from scenarios import Baselines, Violation, get_scenario, repro_command, run_seed

from ..errors import OutputError
from ._schema import ShrinkReport
from ._sweep import fix_repro, violation_report
from ._validate import require_count, require_seed


@dataclass
class ShrinkOutcome:
    scenario: str
    design: str
    seed: int
    #: the seed's first violation; ``None`` when the seed held every invariant
    original: Violation | None = None
    invariant: str | None = None
    size_before: int = 0
    #: the shrunk plan (the original plan when nothing smaller fails)
    plan: FaultPlan = field(default_factory=FaultPlan)
    plan_path: str | None = None
    attempts: int = 0
    #: the shrunk plan's violations, with repro lines naming ``plan_path``
    violations: list[Violation] = field(default_factory=list)

    @property
    def size_after(self) -> int:
        return len(self.plan.faults)

    @property
    def repro(self) -> str:
        return repro_command(self.scenario, self.design, self.seed, self.plan_path)

    def report(self) -> ShrinkReport:
        failed = self.original is not None
        return ShrinkReport(
            scenario=self.scenario, design=self.design, seed=self.seed,
            invariant=self.invariant, size_before=self.size_before,
            size_after=self.size_after if failed else self.size_before,
            plan=self.plan.model_dump(mode="json") if failed else None,
            plan_path=self.plan_path if failed else None, attempts=self.attempts,
            violations=[violation_report(v) for v in self.violations])


def shrink_seed(scenario_name: str, design_spec: str, seed: int, out: str, *,
                max_attempts: int = 500,
                on_attempt: Callable[[int], None] | None = None) -> ShrinkOutcome:
    """Shrink ``seed``'s swarm plan; write the result to ``out`` if the seed fails."""
    require_seed(seed, "seed")
    require_count(max_attempts, "max_attempts")
    scenario = get_scenario(scenario_name)
    design = load_design(design_spec)
    baselines = Baselines()
    outcome = ShrinkOutcome(scenario=scenario_name, design=design_spec, seed=seed)
    first = run_seed(scenario, design, seed, baselines=baselines)
    fix_repro(first.violations, scenario_name, design_spec, seed, None)
    outcome.size_before = len(first.plan.faults)
    if first.ok:
        outcome.plan = first.plan
        return outcome
    original = first.violations[0]
    outcome.original, outcome.invariant = original, original.invariant

    def still_fails(plan: FaultPlan) -> bool:
        outcome.attempts += 1
        if on_attempt is not None:
            on_attempt(outcome.attempts)
        result = run_seed(scenario, design, seed, plan, baselines=baselines)
        return any(v.invariant == original.invariant for v in result.violations)

    smaller = shrink(first.plan, still_fails, max_attempts=max_attempts)
    outcome.plan = smaller.model_copy(update={
        "note": f"shrunk from swarm seed {seed} of {scenario_name} x {design_spec} "
                f"({len(first.plan.faults)} -> {len(smaller.faults)} faults): "
                f"violates {original.invariant}"})
    try:
        outcome.plan.to_file(out)
    except OSError as exc:
        raise OutputError(f"cannot write {out}: {exc.strerror or exc}") from None
    outcome.plan_path = out
    # Re-run from the file exactly as `replay --plan` will, so what we print is what
    # the user will see.
    final = run_seed(scenario, design, seed, FaultPlan.from_file(out), baselines=baselines,
                     plan_path=out)
    fix_repro(final.violations, scenario_name, design_spec, seed, out)
    outcome.violations = final.violations
    return outcome
