"""``ninelives explore``: every crash point (or every pair) of one seed, exhaustively.

Run the scenario once without faults, count each process's port operations, and run one
plan per crash point (``faults.crash_points``) or per pair (``faults.crash_pairs``).
A seed alone does not reproduce these runs (its swarm plan is not the crash plan), so
each failing run's repro line carries its plan: written under ``--plans-dir`` and named
with ``--plan FILE``, or inlined in the line itself as
``printf '%s\n' '<plan JSON>' > plan.json && ninelives replay ... --plan plan.json``
(``scenarios.repro_command``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from faults import FaultPlan, crash_pairs, crash_points
from reference_agent import load_design
from scenarios import default_isolation, get_scenario, repro_command, run_seed

from ..errors import OutputError
from ._schema import ExploreReport
from ._sweep import Job, Progress, RunOutcome, Sweep, Tally, iter_jobs
from ._validate import require_count, require_one_of, require_seed


@dataclass
class Exploration:
    sweep: Sweep
    crashes: int
    op_counts: dict[str, int]
    #: how many crash plans were run (the sweep may hold one more outcome: a failing
    #: fault-free run)
    points: int

    def report(self) -> ExploreReport:
        base = self.sweep.result().model_dump()
        return ExploreReport(**base, crashes=self.crashes, points=self.points,
                             op_counts=self.op_counts)


def _set_repro(outcome: RunOutcome, scenario: str, design: str, seed: int,
               plans_dir: str | None, isolation: str = "inline") -> None:
    if not outcome.violations or outcome.plan is None:
        return
    if plans_dir:
        crashes = "-".join(f"{f.process}@{f.at_op}" for f in outcome.plan.faults
                           if hasattr(f, "at_op"))
        safe = "".join(c if c.isalnum() or c in "-_.@" else "_" for c in
                       f"explore-{scenario}-{design}-{seed}-{crashes}")
        path = str(Path(plans_dir) / f"{safe}.plan.json")
        try:
            outcome.plan.to_file(path)
        except OSError as exc:
            raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None
        repro = repro_command(scenario, design, seed, path, isolation=isolation)
    else:
        repro = repro_command(scenario, design, seed, plan=outcome.plan, isolation=isolation)
    for v in outcome.violations:
        v.repro = repro


def explore(scenario: str, design: str, seed: int = 0, crashes: int = 1, *,
            workers: int = 1, plans_dir: str | None = None,
            on_total: Callable[[int], None] | None = None,
            progress: Progress | None = None, isolation: str | None = None) -> Exploration:
    """Enumerate and run every crash plan of ``seed``; failing runs carry repro lines
    that include their plan. ``isolation``: where the design's code runs (None: the
    design's default, ``scenarios.default_isolation``)."""
    require_seed(seed, "seed")
    require_one_of(crashes, (1, 2), "crashes")
    require_count(workers, "workers")
    isolation = default_isolation(design, isolation)
    fault_free = run_seed(get_scenario(scenario), load_design(design), seed,
                          FaultPlan(faults=[]), keep_world=True, isolation=isolation)
    assert fault_free.world is not None
    op_counts = {name: p.ops for name, p in fault_free.world.processes.items()}
    fault_free.world.dispose()
    # A design that fails without any fault is reported too (as the plan with no
    # faults), rather than hidden behind the crash plans' own failures.
    failing_baseline = None
    if fault_free.violations:
        failing_baseline = RunOutcome(
            index=-1, seed=seed, plan_size=0, violations=tuple(fault_free.violations),
            fired=(), planned=(), reached=tuple(k for k, n in fault_free.situations.items()
                                                if n), plan=FaultPlan(faults=[]))
    plans = crash_points(op_counts) if crashes == 1 else crash_pairs(op_counts)
    if on_total is not None:
        on_total(len(plans))
    if plans_dir:
        Path(plans_dir).mkdir(parents=True, exist_ok=True)
    jobs = (Job(index=i, seed=seed, plan=plan, isolation=isolation) for i, plan in enumerate(plans))
    tally = Tally()
    if failing_baseline is not None:
        tally.add(failing_baseline)
    start = time.perf_counter()
    with closing(iter_jobs(scenario, design, jobs, total=len(plans), workers=workers,
                           progress=progress)) as outcomes:
        for outcome in outcomes:
            tally.add(outcome)
    elapsed = time.perf_counter() - start
    for outcome in tally.kept:  # the runs the report lists
        _set_repro(outcome, scenario, design, seed, plans_dir, isolation)
    sweep = Sweep(scenario=scenario, design=design, first_seed=seed, seeds=1,
                  elapsed_s=elapsed, tally=tally, kinds=("crash",), situation_gaps=False)
    return Exploration(sweep=sweep, crashes=crashes, op_counts=op_counts, points=len(plans))
