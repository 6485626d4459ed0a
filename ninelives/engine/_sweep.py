"""The seed-sweep engine behind ``ninelives run`` and ``ninelives explore``.

A sweep runs many (seed, plan) jobs of one scenario x design and keeps, per run, only
what a report needs (a ``RunOutcome``: violations, fault kinds planned and fired,
situations reached), so a thousand runs hold no worlds in memory. Jobs run in this
process, in a ``ProcessPoolExecutor`` over contiguous batches (``workers`` > 1), or on a
Dask cluster (``dask=``, ``ninelives.engine._dask``); in every case each run is a pure function
of (scenario, design, seed, plan), and outcomes are sorted by job index, so the result
does not depend on the number of workers, on the batches, or on where they ran
(``tests/ninelives/test_sweep_workers.py``, ``tests/ninelives/test_dask_sweep.py``).
docs/scale.md says how to choose.
"""

from __future__ import annotations

import math
import os
import signal
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from faults import FaultPlan, Feedback, feedback_of, kind_names
from reference_agent import load_design
from scenarios import (
    Baselines,
    RunResult,
    Scenario,
    Violation,
    applicable_situations,
    get_scenario,
    repro_command,
    run_seed,
)
from simulator import Design

from . import _reproduce
from ._interrupt import sigint_ignored
from ._schema import SweepResult, ViolationReport

if TYPE_CHECKING:
    from distributed import Client

#: called with how many more runs finished
Progress = Callable[[int], None]
#: called with each generation's outcomes, in index order, once they all finished;
#: returns the outcomes to keep and the next generation's jobs (none: the sweep is
#: done). How a coverage-guided sweep (``_guided``) plans its runs from earlier ones.
NextJobs = Callable[[list["RunOutcome"]], tuple[list["RunOutcome"], list["Job"]]]


@dataclass(frozen=True)
class Job:
    """One run to make: a seed and, unless it is the seed's own swarm plan, a plan."""

    index: int
    seed: int
    plan: FaultPlan | None = None
    #: also send back what a coverage-guided sweep learns from the run (``Feedback``)
    feedback: bool = False


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
    #: trace events and virtual end time: what another run of the job must match
    events: int = 0
    virtual_ns: int = 0
    #: what the guide learns from the run, when the job asked (``Job.feedback``)
    feedback: Feedback | None = None

    @property
    def ok(self) -> bool:
        return not self.violations


def fix_repro(violations: list[Violation], scenario: str, design_spec: str, seed: int,
              plan_path: str | None) -> None:
    """Make each repro name the design as the user spelt it (a ``package.module:attr``
    design's ``Design.name`` may differ from what ``--design`` accepts)."""
    for v in violations:
        v.repro = repro_command(scenario, design_spec, seed, plan_path)


def _outcome(job: Job, result: RunResult) -> RunOutcome:
    feedback = None
    if result.world is not None:  # the job asked for feedback: read the trace, then let go
        reached = [name for name, n in result.situations.items() if n]
        feedback = feedback_of(result.world.kernel.trace.raw(), reached,
                               result.world.hooks)  # type: ignore[arg-type]
        result.world.dispose()
    return RunOutcome(
        index=job.index, seed=job.seed, plan_size=len(result.plan.faults),
        violations=tuple(result.violations),
        fired=tuple(result.fired_kinds()),
        planned=tuple(sorted({f.kind for f in result.plan.faults})),
        reached=tuple(name for name, n in result.situations.items() if n),
        plan=job.plan, events=result.events, virtual_ns=result.virtual_ns,
        feedback=feedback,
    )


def run_jobs_here(scenario: Scenario, design: Design, scenario_name: str, design_spec: str,
                   jobs: Sequence[Job], baselines: Baselines,
                   progress: Progress | None = None) -> list[RunOutcome]:
    out = []
    for job in jobs:
        result = run_seed(scenario, design, job.seed, job.plan, baselines=baselines,
                          keep_world=job.feedback)
        if design.name != design_spec:
            fix_repro(result.violations, scenario_name, design_spec, job.seed, None)
        out.append(_outcome(job, result))
        if progress is not None:
            progress(1)
    return out


# -- worker processes -------------------------------------------------------------------
#
# A worker process (a ProcessPoolExecutor child here, or the child ``_dask`` starts beside
# each Dask worker) loads the harness once, in ``_init_worker``, and keeps it, with one
# ``Baselines`` cache, for every batch of the same sweep it runs: batches only carry
# seeds. Baselines are per process, never shared between processes, and a run's result
# does not depend on what the cache held (a baseline is a pure function of scenario,
# design and seed), so outcomes do not depend on how jobs were cut into batches or which
# process ran them (tests/ninelives/test_sweep_workers.py).


@dataclass
class _WorkerState:
    key: tuple[str, str, str]
    scenario: Scenario
    design: Design
    baselines: Baselines
    #: batches this load has served
    batches: int = 0


_STATE: _WorkerState | None = None


def _load(scenario_name: str, design_spec: str, token: str) -> _WorkerState:
    """This process's harness for sweep ``token``, loaded on first use."""
    global _STATE
    key = (scenario_name, design_spec, token)
    if _STATE is None or _STATE.key != key:
        _STATE = _WorkerState(key, get_scenario(scenario_name), load_design(design_spec),
                              Baselines())
    return _STATE


def _init_worker(scenario_name: str, design_spec: str, token: str) -> None:
    """Pool initializer: load the harness (scenario, design, their imports) once per
    process, and leave Ctrl-C to the parent, which stops the pool."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _load(scenario_name, design_spec, token)


@dataclass(frozen=True)
class BatchResult:
    """What a worker sends back for one batch: outcomes and who ran them."""

    outcomes: list[RunOutcome]
    pid: int
    #: batches that process has run on one load of the sweep's harness, this one
    #: included (all of its batches when it loaded the harness once, as it should)
    served: int


def _run_batch(scenario_name: str, design_spec: str, token: str,
               jobs: list[Job]) -> BatchResult:
    """Worker entry point (module level so it pickles by reference)."""
    state = _load(scenario_name, design_spec, token)
    outcomes = run_jobs_here(state.scenario, state.design, scenario_name, design_spec, jobs,
                              state.baselines)
    state.batches += 1
    return BatchResult(outcomes, os.getpid(), state.batches)


@dataclass
class PoolStats:
    """How a parallel ``run_jobs`` spread its work (docs/scale.md; the tests read it)."""

    batch_size: int = 0
    batches: int = 0
    #: worker pid -> batches it ran
    batches_by_pid: dict[int, int] = field(default_factory=dict)
    #: worker pid -> most batches one load of the harness served there (equal to
    #: ``batches_by_pid`` when every process loaded it once)
    served_by_pid: dict[int, int] = field(default_factory=dict)

    def add(self, batch: BatchResult) -> None:
        self.batches_by_pid[batch.pid] = self.batches_by_pid.get(batch.pid, 0) + 1
        self.served_by_pid[batch.pid] = max(batch.served, self.served_by_pid.get(batch.pid, 0))


def batch_size_for(jobs: int, slots: int) -> int:
    """Several batches per worker, so that a slow batch does not leave the others idle at
    the end, and not too small, so that pickling and messages stay cheap."""
    return max(1, min(64, math.ceil(jobs / (slots * 8))))


def batches_of(jobs: Sequence[Job], size: int) -> list[list[Job]]:
    """Contiguous batches of ``size`` jobs (the last may be shorter)."""
    return [list(jobs[i:i + size]) for i in range(0, len(jobs), size)]


def _stop_workers(pool: ProcessPoolExecutor) -> None:
    """Stop the pool now: queued batches cancelled, running ones killed (their outcomes
    are not wanted any more)."""
    terminate = getattr(pool, "terminate_workers", None)  # Python >= 3.14
    if terminate is not None:
        terminate()
        return
    # Before 3.14: the processes, taken before shutdown forgets them.
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.terminate()


def run_jobs(scenario_name: str, design_spec: str, jobs: Sequence[Job], *, workers: int = 1,
             progress: Progress | None = None, baselines: Baselines | None = None,
             dask: str | Client | None = None, batch_size: int | None = None,
             stats: PoolStats | None = None,
             next_jobs: NextJobs | None = None) -> list[RunOutcome]:
    """Run every job; outcomes sorted by ``Job.index`` whatever ``workers``, ``dask`` or
    ``batch_size`` are.

    ``workers`` > 1 runs contiguous batches in that many processes; ``dask`` (a scheduler
    address or a ``distributed.Client``) runs them on a Dask cluster instead
    (``ninelives.engine._dask``). ``progress`` is told how many runs finished, after each run
    here and after each batch elsewhere. ``stats``, if given, is filled in.
    ``next_jobs``, if given, is called after ``jobs`` (a generation) and each later
    generation it returned, on the same workers, until it returns no job.
    """
    if dask is not None:
        from ._dask import run_jobs_dask

        return run_jobs_dask(dask, scenario_name, design_spec, jobs, progress=progress,
                             batch_size=batch_size, stats=stats, next_jobs=next_jobs)
    if workers <= 1 or (len(jobs) <= 1 and next_jobs is None):
        here = (get_scenario(scenario_name), load_design(design_spec))
        baselines = baselines or Baselines()
        kept: list[RunOutcome] = []
        while jobs:
            generation = run_jobs_here(*here, scenario_name, design_spec, jobs, baselines,
                                       progress)
            if next_jobs is None:
                return generation
            generation, jobs = next_jobs(generation)
            kept.extend(generation)
        return kept
    size = batch_size or batch_size_for(len(jobs), workers)
    batches = batches_of(jobs, size)
    if stats is not None:
        stats.batch_size, stats.batches = size, len(batches)
    token = uuid.uuid4().hex  # names this sweep in the workers' state
    outcomes: list[RunOutcome] = []
    pool = ProcessPoolExecutor(max_workers=min(workers, len(batches)),
                               initializer=_init_worker,
                               initargs=(scenario_name, design_spec, token))
    try:
        while batches:
            generation: list[RunOutcome] = []
            pending = {pool.submit(_run_batch, scenario_name, design_spec, token, b)
                       for b in batches}
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    batch = future.result()
                    generation.extend(batch.outcomes)
                    if stats is not None:
                        stats.add(batch)
                    if progress is not None:
                        progress(len(batch.outcomes))
            batches = []
            if next_jobs is not None:
                generation.sort(key=lambda o: o.index)
                generation, more = next_jobs(generation)
                batches = batches_of(more, size)
            outcomes.extend(generation)
    except BaseException:
        with sigint_ignored():  # a second Ctrl-C must not cut the stopping short
            _stop_workers(pool)
        raise
    pool.shutdown(wait=True)
    outcomes.sort(key=lambda o: o.index)
    return outcomes


@dataclass
class Sweep:
    """The outcome of one scenario x design sweep, and its aggregates."""

    scenario: str
    #: the design's name, as reports show it (a ``Design.name``)
    design: str
    first_seed: int
    seeds: int
    elapsed_s: float
    outcomes: list[RunOutcome] = field(default_factory=list)
    #: the fault kinds coverage is reported for (default: every kind); ``explore``
    #: plans only crashes, so only crashes can be missing there
    kinds: tuple[str, ...] | None = None
    #: whether a situation no run reached is a coverage gap: in a sampled sweep, yes; in
    #: ``explore``'s exhaustive crash plans, most situations need faults it never plans
    #: (a lost response, a model fault), so reaching them is not its job
    situation_gaps: bool = True
    #: why one of its seeds, run again, did not give the same run (``_reproduce``);
    #: None when it did or was not checked
    nondeterminism: str | None = None
    #: what ``load_design`` takes (``--design`` as given) when it is not ``design``: a
    #: ``package.module:attr`` design's ``Design.name`` is no registered name
    design_spec: str | None = None

    @property
    def runs(self) -> int:
        return len(self.outcomes)

    @property
    def runs_per_s(self) -> float:
        return self.runs / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def failed(self) -> bool:
        """A run broke an invariant, or a seed did not reproduce."""
        return bool(self.failing()) or self.nondeterminism is not None

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
        """situation -> runs that reached it, zeros included; situations that cannot
        arise in this scenario with this design are left out (not a coverage gap)."""
        names = applicable_situations(get_scenario(self.scenario),
                                      load_design(self.design_spec or self.design).workers)
        counts = dict.fromkeys(names, 0)
        for o in self.outcomes:
            for name in o.reached:
                if name in counts:
                    counts[name] += 1
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
            situations=self.situations(), nondeterminism=self.nondeterminism,
        )


def violation_report(v: Violation, outcome: RunOutcome | None = None) -> ViolationReport:
    plan = outcome.plan.model_dump(mode="json") if outcome and outcome.plan else None
    return ViolationReport(seed=v.seed if v.seed is not None else -1, invariant=v.invariant,
                           message=v.message, repro=v.repro, plan_size=v.plan_size,
                           evidence=v.evidence, plan=plan)


def sweep(scenario: str, design: str, seeds: int, first_seed: int = 0, *, workers: int = 1,
          progress: Progress | None = None, dask: str | Client | None = None,
          check_reproducible: bool = True, guided: bool = False) -> Sweep:
    """Run ``scenario`` x ``design`` (a name or ``package.module:attr``) ``seeds`` times
    from seed ``first_seed``, in this process (``workers=1``), in ``workers`` processes,
    or on the Dask cluster ``dask`` (a scheduler address such as ``tcp://10.0.0.5:8786``
    or a ``distributed.Client``). ``guided`` (``ninelives run --guided``): coverage-guided
    (``_guided``): the first generation, and half of every later one, are seeds
    ``first_seed + i`` with their swarm plans; the others are plans the guide derived
    from earlier runs, each on the seed of the run it came from, recorded in the
    outcome and in its repro line. Not ``guided`` (the default): seeds ``first_seed .. first_seed +
    seeds - 1``, each with its swarm plan (uniform swarm sampling).
    Then, unless ``check_reproducible`` is False, one of its runs is made twice more
    here: a seed that does not give the same run sets ``Sweep.nondeterminism``.

    Raises ``ScenarioError`` / ``DesignError`` for unknown names, before running anything;
    ``DaskUnavailable`` if ``dask`` is given and dask is not installed or the scheduler
    cannot be reached.
    """
    get_scenario(scenario)
    design_name = load_design(design).name
    jobs = [Job(index=i, seed=first_seed + i) for i in range(seeds)]
    next_jobs = None
    if guided:
        from ._guided import GuidedJobs

        plans = GuidedJobs(scenario, design, seeds, first_seed)
        jobs, next_jobs = plans.first(), plans.next
    start = time.perf_counter()
    outcomes = run_jobs(scenario, design, jobs, workers=workers, progress=progress, dask=dask,
                        next_jobs=next_jobs)
    elapsed = time.perf_counter() - start
    nondeterminism = None
    if check_reproducible and (again := _reproduce.pick(outcomes)) is not None:
        nondeterminism = _reproduce.check_seed(scenario, design, again.seed, again.plan,
                                               _reproduce.fingerprint(again))
    return Sweep(scenario=scenario, design=design_name, first_seed=first_seed, seeds=seeds,
                 elapsed_s=elapsed, outcomes=outcomes, design_spec=design,
                 nondeterminism=nondeterminism)
