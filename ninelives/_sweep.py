"""The seed-sweep engine behind ``ninelives run`` and ``ninelives explore``.

A sweep runs many (seed, plan) jobs of one scenario x design and keeps, per run, only
what a report needs (a ``RunOutcome``: violations, fault kinds planned and fired,
situations reached), so a thousand runs hold no worlds in memory. Jobs run in this
process, or in a ``ProcessPoolExecutor`` over contiguous batches; either way each run is
a pure function of (scenario, design, seed, plan), and outcomes are sorted by job index,
so the result does not depend on the number of workers
(``tests/ninelives/test_cli_run.py::test_workers_do_not_change_results``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, field

from faults import FaultPlan, kind_names
from reference_agent import load_design
from scenarios import SITUATIONS, Baselines, Violation, get_scenario, repro_command, run_seed

from ._models import SweepResult, ViolationReport

#: called with how many more runs finished
Progress = Callable[[int], None]


@dataclass(frozen=True)
class Job:
    """One run to make: a seed and, unless it is the seed's own swarm plan, a plan."""

    index: int
    seed: int
    plan: FaultPlan | None = None


@dataclass(frozen=True)
class RunOutcome:
    """What a report keeps of one run (small and picklable: no world)."""

    index: int
    seed: int
    plan_size: int
    violations: tuple[Violation, ...]
    #: fault kinds that fired at least once, sorted
    fired: tuple[str, ...]
    #: fault kinds the plan contained, sorted
    planned: tuple[str, ...]
    #: situations reached at least once, in ``SITUATIONS`` order
    reached: tuple[str, ...]
    #: the plan, only when the job gave one (a seed reproduces its own swarm plan)
    plan: FaultPlan | None = None

    @property
    def ok(self) -> bool:
        return not self.violations


def fix_repro(violations: list[Violation], scenario: str, design_spec: str, seed: int,
              plan_path: str | None) -> None:
    """Make each repro name the design as the user spelt it (a ``package.module:attr``
    design's ``Design.name`` may differ from what ``--design`` accepts)."""
    for v in violations:
        v.repro = repro_command(scenario, design_spec, seed, plan_path)


def _run_jobs_here(scenario_name: str, design_spec: str, jobs: Sequence[Job],
                   baselines: Baselines, progress: Progress | None = None) -> list[RunOutcome]:
    scenario = get_scenario(scenario_name)
    design = load_design(design_spec)
    out = []
    for job in jobs:
        result = run_seed(scenario, design, job.seed, job.plan, baselines=baselines)
        if design.name != design_spec:
            fix_repro(result.violations, scenario_name, design_spec, job.seed, None)
        out.append(RunOutcome(
            index=job.index, seed=job.seed, plan_size=len(result.plan.faults),
            violations=tuple(result.violations),
            fired=tuple(result.fired_kinds()),
            planned=tuple(sorted({f.kind for f in result.plan.faults})),
            reached=tuple(name for name, n in result.situations.items() if n),
            plan=job.plan,
        ))
        if progress is not None:
            progress(1)
    return out


def _run_batch(scenario_name: str, design_spec: str, jobs: list[Job]) -> list[RunOutcome]:
    """Worker-process entry point (module level so it pickles)."""
    return _run_jobs_here(scenario_name, design_spec, jobs, Baselines())


def run_jobs(scenario_name: str, design_spec: str, jobs: Sequence[Job], *, workers: int = 1,
             progress: Progress | None = None,
             baselines: Baselines | None = None) -> list[RunOutcome]:
    """Run every job; outcomes sorted by ``Job.index`` whatever ``workers`` is."""
    if workers <= 1 or len(jobs) <= 1:
        return _run_jobs_here(scenario_name, design_spec, jobs, baselines or Baselines(),
                              progress)
    # Several batches per worker so that a slow batch does not leave the others idle,
    # and not too small, so the per-batch Baselines and pickling stay cheap.
    size = max(1, min(64, math.ceil(len(jobs) / (workers * 8))))
    batches = [list(jobs[i:i + size]) for i in range(0, len(jobs), size)]
    outcomes: list[RunOutcome] = []
    with ProcessPoolExecutor(max_workers=min(workers, len(batches))) as pool:
        pending = {pool.submit(_run_batch, scenario_name, design_spec, b) for b in batches}
        try:
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    batch = future.result()
                    outcomes.extend(batch)
                    if progress is not None:
                        progress(len(batch))
        except BaseException:
            for future in pending:
                future.cancel()
            raise
    outcomes.sort(key=lambda o: o.index)
    return outcomes


@dataclass
class Sweep:
    """The outcome of one scenario x design sweep, and its aggregates."""

    scenario: str
    design: str
    first_seed: int
    seeds: int
    elapsed_s: float
    outcomes: list[RunOutcome] = field(default_factory=list)
    #: the fault kinds coverage is reported for (default: every kind); ``explore``
    #: plans only crashes, so only crashes can be missing there
    kinds: tuple[str, ...] | None = None

    @property
    def runs(self) -> int:
        return len(self.outcomes)

    @property
    def runs_per_s(self) -> float:
        return self.runs / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def failing(self) -> list[RunOutcome]:
        return [o for o in self.outcomes if o.violations]

    def violations(self) -> list[Violation]:
        return [v for o in self.outcomes for v in o.violations]

    def by_invariant(self) -> dict[str, int]:
        """invariant -> runs that broke it (a run counts once per invariant)."""
        counts: dict[str, int] = {}
        for o in self.outcomes:
            for name in dict.fromkeys(v.invariant for v in o.violations):
                counts[name] = counts.get(name, 0) + 1
        return counts

    def fault_coverage(self) -> dict[str, int]:
        """fault kind -> runs it fired in; every kind, zeros included."""
        counts = dict.fromkeys(self.kinds or kind_names(), 0)
        for o in self.outcomes:
            for kind in o.fired:
                if kind in counts:
                    counts[kind] += 1
        return counts

    def fault_planned(self) -> dict[str, int]:
        """fault kind -> runs whose plan contained it; every kind, zeros included."""
        counts = dict.fromkeys(self.kinds or kind_names(), 0)
        for o in self.outcomes:
            for kind in o.planned:
                if kind in counts:
                    counts[kind] += 1
        return counts

    def situations(self) -> dict[str, int]:
        """situation -> runs that reached it; every situation, zeros included."""
        counts = dict.fromkeys(SITUATIONS, 0)
        for o in self.outcomes:
            for name in o.reached:
                counts[name] = counts.get(name, 0) + 1
        return counts

    def exercised_nothing(self) -> bool:
        """No fault fired in any run: a green result here proves nothing."""
        return not any(o.fired for o in self.outcomes)

    def result(self) -> SweepResult:
        return SweepResult(
            scenario=self.scenario, design=self.design, seeds=self.seeds,
            first_seed=self.first_seed, runs_per_s=round(self.runs_per_s, 2),
            failing_runs=len(self.failing()),
            violations=[violation_report(v, o) for o in self.outcomes for v in o.violations],
            violations_by_invariant=self.by_invariant(),
            fault_coverage=self.fault_coverage(), fault_planned=self.fault_planned(),
            situations=self.situations(),
        )


def violation_report(v: Violation, outcome: RunOutcome | None = None) -> ViolationReport:
    plan = outcome.plan.model_dump(mode="json") if outcome and outcome.plan else None
    return ViolationReport(seed=v.seed if v.seed is not None else -1, invariant=v.invariant,
                           message=v.message, repro=v.repro, plan_size=v.plan_size,
                           evidence=v.evidence, plan=plan)


def sweep(scenario: str, design: str, seeds: int, first_seed: int = 0, *, workers: int = 1,
          progress: Progress | None = None) -> Sweep:
    """Run ``scenario`` x ``design`` (a name or ``package.module:attr``) on seeds
    ``first_seed .. first_seed + seeds - 1``, each with its swarm plan.

    Raises ``ScenarioError`` / ``DesignError`` for unknown names, before running anything.
    """
    get_scenario(scenario)
    design_name = load_design(design).name
    jobs = [Job(index=i, seed=first_seed + i) for i in range(seeds)]
    start = time.perf_counter()
    outcomes = run_jobs(scenario, design, jobs, workers=workers, progress=progress)
    elapsed = time.perf_counter() - start
    return Sweep(scenario=scenario, design=design_name, first_seed=first_seed, seeds=seeds,
                 elapsed_s=elapsed, outcomes=outcomes)
