"""The seed-sweep engine behind ``ninelives run``, ``ninelives explore``, the pytest plugin
and the bench.

A sweep runs many (seed, plan) jobs of one scenario x design. Each run is cut down to
what a report needs (a ``RunOutcome``: violations, fault kinds planned and fired,
situations reached), and the outcomes are folded, in job order, into a ``Tally`` as they
arrive: counters, the first failing runs of each invariant (at most ``KEEP_PER_INVARIANT``)
and the runs the reproducibility check may pick. So a sweep's memory does not grow with
its seeds (docs/scale.md; ``tests/ninelives/engine/test_sweep_tally.py``). Jobs run in this
process, in a ``ProcessPoolExecutor`` over contiguous batches (``workers`` > 1), or on a
Dask cluster (``dask=``, ``ninelives.engine._dask``); in every case each run is a pure
function of (scenario, design, seed, plan), and outcomes reach the tally in job order,
so the result does not depend on the number of workers, on the batches, or on where they
ran (``tests/ninelives/engine/test_sweep_workers.py``,
``tests/ninelives/engine/test_dask_sweep.py``).
docs/scale.md says how to choose.
"""

from __future__ import annotations

import itertools
import math
import os
import signal
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from contextlib import closing
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
    default_isolation,
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


@dataclass(frozen=True)
class Job:
    """One run to make: a seed and, unless it is the seed's own swarm plan, a plan."""

    index: int
    seed: int
    plan: FaultPlan | None = None
    #: where the design's code runs: "inline" or "process" (``scenarios.run_seed``)
    isolation: str = "inline"
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
    #: how often each situation of ``reached`` was reached, in the same order
    hits: tuple[int, ...] = ()
    #: faults of the plan that fired (``reached``-style kinds are in ``fired``)
    faults_fired: int = 0
    #: what the guide learns from the run, when the job asked (``Job.feedback``); dropped
    #: by ``_guided`` once read, so a sweep keeps no trace-sized data per run
    feedback: Feedback | None = None

    @property
    def ok(self) -> bool:
        return not self.violations


def fix_repro(violations: list[Violation], scenario: str, design_spec: str, seed: int,
              plan_path: str | None, isolation: str = "inline") -> None:
    """Make each repro name the design as the user spelt it (a ``package.module:attr``
    design's ``Design.name`` may differ from what ``--design`` accepts)."""
    for v in violations:
        v.repro = repro_command(scenario, design_spec, seed, plan_path, isolation=isolation)


def _outcome(job: Job, result: RunResult) -> RunOutcome:
    feedback = None
    if job.feedback and result.world is not None:  # read the trace, then let go
        reached = [name for name, n in result.situations.items() if n]
        feedback = feedback_of(result.world.kernel.trace.raw(), reached,
                               result.world.hooks)  # type: ignore[arg-type]
        result.world.dispose()
        result.world = None
    return RunOutcome(
        index=job.index, seed=job.seed, plan_size=len(result.plan.faults),
        violations=tuple(result.violations),
        fired=tuple(result.fired_kinds()),
        planned=tuple(sorted({f.kind for f in result.plan.faults})),
        reached=tuple(name for name, n in result.situations.items() if n),
        plan=job.plan, events=result.events, virtual_ns=result.virtual_ns,
        hits=tuple(n for n in result.situations.values() if n),
        faults_fired=len(result.fired), feedback=feedback,
    )


#: called, in this process, with each run's whole result (world let go of)
OnResult = Callable[[RunResult], None]


def _iter_here(scenario: Scenario, design: Design, scenario_name: str, design_spec: str,
               jobs: Iterable[Job], baselines: Baselines, progress: Progress | None = None,
               on_result: OnResult | None = None) -> Iterator[RunOutcome]:
    for job in jobs:
        result = run_seed(scenario, design, job.seed, job.plan, baselines=baselines,
                          keep_world=job.feedback, isolation=job.isolation)
        outcome = _outcome(job, result)  # lets go of a world kept for feedback
        if design.name != design_spec:
            fix_repro(result.violations, scenario_name, design_spec, job.seed, None,
                      job.isolation)
        if on_result is not None:
            on_result(result)
        if progress is not None:
            progress(1)
        yield outcome


def run_jobs_here(scenario: Scenario, design: Design, scenario_name: str, design_spec: str,
                   jobs: Iterable[Job], baselines: Baselines,
                   progress: Progress | None = None) -> list[RunOutcome]:
    """Run ``jobs`` here, in order; their outcomes."""
    return list(_iter_here(scenario, design, scenario_name, design_spec, jobs, baselines,
                           progress))


# -- worker processes -------------------------------------------------------------------
#
# A worker process (a ProcessPoolExecutor child here, or the child ``_dask`` starts beside
# each Dask worker) loads the harness once, in ``_init_worker``, and keeps it, with one
# ``Baselines`` cache, for every batch of the same sweep it runs: batches only carry
# seeds. Baselines are per process, never shared between processes, and a run's result
# does not depend on what the cache held (a baseline is a pure function of scenario,
# design and seed), so outcomes do not depend on how jobs were cut into batches or which
# process ran them (tests/ninelives/engine/test_sweep_workers.py).


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


def batches_of(jobs: Iterable[Job], size: int) -> Iterator[list[Job]]:
    """Contiguous batches of ``size`` jobs (the last may be shorter), made as they are
    asked for: a million-seed sweep never holds its million jobs."""
    it = iter(jobs)
    while batch := list(itertools.islice(it, size)):
        yield batch


#: batches one pool of worker processes runs, per process, before a fresh pool takes
#: over (<= 2,048 seeds a process). A simulated SIGKILL keeps the dead tasks of the run
#: referenced for the life of the process, so that no ``finally`` of theirs ever runs
#: (``simulator._process``); a process's memory therefore grows with the crashes it ran,
#: and is given back only when the process exits (docs/scale.md,
#: ``tests/ninelives/engine/test_sweep_workers.py``). Not ``max_tasks_per_child``: it deadlocks on
#: Python 3.11 to 3.13 (CPython gh-115634).
BATCHES_PER_PROCESS = 32
#: jobs a one-worker sweep runs in this process (more go to one worker process, renewed
#: as above, so that this process's memory stays flat too; ``on_result`` keeps them here)
SEEDS_HERE = 2048
#: batches handed out ahead of the one whose outcomes are due next, per worker slot:
#: enough that no worker waits for work, few enough that the outcomes which arrived
#: early and wait for their turn stay a handful of batches (docs/scale.md)
AHEAD_PER_SLOT = 4


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


def iter_jobs(scenario_name: str, design_spec: str, jobs: Iterable[Job], *, total: int,
              workers: int = 1, progress: Progress | None = None,
              baselines: Baselines | None = None, dask: str | Client | None = None,
              batch_size: int | None = None, stats: PoolStats | None = None,
              on_result: OnResult | None = None) -> Iterator[RunOutcome]:
    """Run ``jobs`` (``total`` of them, in ``Job.index`` order) and yield their outcomes
    in that order, whatever ``workers``, ``dask`` or ``batch_size`` are.

    ``workers`` > 1 runs contiguous batches in that many processes (as does a one-worker
    sweep of more than ``SEEDS_HERE`` jobs, in one), each process renewed after
    ``BATCHES_PER_PROCESS`` batches; ``dask`` (a scheduler address or a
    ``distributed.Client``) runs them on a Dask cluster instead (``ninelives.engine._dask``).
    Batches are made and handed out only a few ahead of the outcomes yielded
    (``AHEAD_PER_SLOT``), so neither the jobs nor the outcomes pile up.
    ``progress`` is told how many runs finished, after each run here and after each batch
    elsewhere. ``stats``, if given, is filled in. ``on_result`` sees each run's whole
    ``RunResult``, which exists only where the run was made: here, so it needs
    ``workers=1`` and no ``dask``. Closing the iterator early stops the workers.
    """
    if on_result is not None and (dask is not None or (workers > 1 and total > 1)):
        raise ValueError("on_result needs the runs made here: workers=1 and no dask")
    if dask is not None:
        from ._dask import iter_jobs_dask

        yield from iter_jobs_dask(dask, scenario_name, design_spec, jobs, total=total,
                                  progress=progress, batch_size=batch_size, stats=stats)
        return
    if total <= 1 or (workers <= 1 and (total <= SEEDS_HERE or on_result is not None)):
        yield from _iter_here(get_scenario(scenario_name), load_design(design_spec),
                              scenario_name, design_spec, jobs, baselines or Baselines(),
                              progress, on_result)
        return
    size = batch_size or batch_size_for(total, workers)
    if stats is not None:
        stats.batch_size, stats.batches = size, math.ceil(total / size)
    token = uuid.uuid4().hex  # names this sweep in the workers' state
    slots = min(workers, math.ceil(total / size))
    batches = enumerate(batches_of(jobs, size))
    pools: list[ProcessPoolExecutor] = []  # the current one last; older ones draining
    given = 0  # batches handed to the current pool
    pending: dict[Future[BatchResult], tuple[int, ProcessPoolExecutor]] = {}
    arrived: dict[int, BatchResult] = {}  # batches done before their turn
    due = 0  # the batch whose outcomes are yielded next
    try:
        while True:
            # Hand out batches up to a few ahead of the one due next.
            room = max(0, slots * AHEAD_PER_SLOT - len(pending) - len(arrived))
            for number, batch in itertools.islice(batches, room):
                if not pools or given >= slots * BATCHES_PER_PROCESS:
                    if pools:  # it finishes what it was given, then its processes exit
                        pools[-1].shutdown(wait=False)
                    busy = {pool for _, pool in pending.values()}
                    pools = [pool for pool in pools if pool in busy]
                    pools.append(ProcessPoolExecutor(
                        max_workers=slots, initializer=_init_worker,
                        initargs=(scenario_name, design_spec, token)))
                    given = 0
                pending[pools[-1].submit(_run_batch, scenario_name, design_spec, token,
                                         batch)] = number, pools[-1]
                given += 1
            if due in arrived:
                yield from arrived.pop(due).outcomes
                due += 1
                continue
            if not pending:
                break
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                result = future.result()
                arrived[pending.pop(future)[0]] = result
                if stats is not None:
                    stats.add(result)
                if progress is not None:
                    progress(len(result.outcomes))
    except BaseException:  # an error, Ctrl-C, or the consumer stopped early
        with sigint_ignored():  # a second Ctrl-C must not cut the stopping short
            for pool in pools:
                _stop_workers(pool)
        raise
    for pool in pools:
        pool.shutdown(wait=True)


def run_jobs(scenario_name: str, design_spec: str, jobs: Sequence[Job], *, workers: int = 1,
             progress: Progress | None = None, baselines: Baselines | None = None,
             dask: str | Client | None = None, batch_size: int | None = None,
             stats: PoolStats | None = None) -> list[RunOutcome]:
    """Every job's outcome, sorted by ``Job.index`` (``iter_jobs``, kept whole: for a few
    jobs, and for tests that compare outcomes one by one)."""
    jobs = sorted(jobs, key=lambda j: j.index)
    return list(iter_jobs(scenario_name, design_spec, jobs, total=len(jobs), workers=workers,
                          progress=progress, baselines=baselines, dask=dask,
                          batch_size=batch_size, stats=stats))


#: failing runs a sweep keeps for its report, per invariant they broke (the first ones,
#: in job order); the others are counted. A default-length sweep (1,000 seeds) keeps every
#: one; a million-seed sweep of a design that fails every run keeps a few thousand.
KEEP_PER_INVARIANT = 1000


@dataclass
class Tally:
    """A sweep's outcomes folded into what its report needs, one outcome at a time and
    in job order: counters, the failing runs kept (the first ``keep`` per invariant) and
    the two runs the reproducibility check may pick. Memory does not grow with runs
    beyond the failing runs kept (``tests/ninelives/engine/test_sweep_tally.py``)."""

    keep: int = KEEP_PER_INVARIANT
    runs: int = 0
    #: runs that broke at least one invariant
    failing_runs: int = 0
    #: violations of every run
    violations: int = 0
    #: invariant -> runs that broke it (a run counts once per invariant), first seen first
    by_invariant: dict[str, int] = field(default_factory=dict)
    #: fault kind -> runs it fired in / runs whose plan had it
    fired: dict[str, int] = field(default_factory=dict)
    planned: dict[str, int] = field(default_factory=dict)
    #: situation -> runs that reached it / times it was reached, summed over runs
    reached: dict[str, int] = field(default_factory=dict)
    hits: dict[str, int] = field(default_factory=dict)
    #: runs in which some fault fired; runs whose plan had faults and none fired
    runs_fired: int = 0
    unfired_plans: int = 0
    #: faults fired, kernel events run and virtual ns simulated, summed over runs
    faults_fired: int = 0
    events: int = 0
    virtual_ns: int = 0
    #: the failing runs kept, in job order
    kept: list[RunOutcome] = field(default_factory=list)
    #: invariant -> kept runs that broke it
    kept_by_invariant: dict[str, int] = field(default_factory=dict)
    #: the first run, and the first failing run the watchdog did not stop (``pick``)
    first: RunOutcome | None = None
    first_failure: RunOutcome | None = None

    @classmethod
    def of(cls, outcomes: Iterable[RunOutcome], keep: int = KEEP_PER_INVARIANT) -> Tally:
        """The tally of ``outcomes`` (in job order)."""
        tally = cls(keep=keep)
        for outcome in outcomes:
            tally.add(outcome)
        return tally

    def add(self, o: RunOutcome) -> None:
        """Fold in the next run (runs must come in job order: which failing runs are kept
        and which run ``pick`` names depend on it)."""
        self.runs += 1
        if self.first is None:
            self.first = o
        for kind in o.fired:
            self.fired[kind] = self.fired.get(kind, 0) + 1
        for kind in o.planned:
            self.planned[kind] = self.planned.get(kind, 0) + 1
        for name, n in itertools.zip_longest(o.reached, o.hits, fillvalue=1):
            self.reached[name] = self.reached.get(name, 0) + 1
            self.hits[name] = self.hits.get(name, 0) + n
        self.runs_fired += bool(o.fired)
        self.unfired_plans += bool(o.planned) and not o.fired
        self.faults_fired += o.faults_fired
        self.events += o.events
        self.virtual_ns += o.virtual_ns
        if not o.violations:
            return
        self.failing_runs += 1
        self.violations += len(o.violations)
        broken = list(dict.fromkeys(v.invariant for v in o.violations))
        for name in broken:
            self.by_invariant[name] = self.by_invariant.get(name, 0) + 1
        if self.first_failure is None and not _reproduce.hung(o.violations):
            self.first_failure = o
        if any(self.kept_by_invariant.get(name, 0) < self.keep for name in broken):
            self.kept.append(o)
            for name in broken:
                self.kept_by_invariant[name] = self.kept_by_invariant.get(name, 0) + 1

    @property
    def violations_omitted(self) -> int:
        """Violations of the failing runs not kept."""
        return self.violations - sum(len(o.violations) for o in self.kept)

    def pick(self) -> RunOutcome | None:
        """The run the reproducibility check makes again: ``_reproduce.pick`` over every
        run folded in (the first failing one, else the first; never a hang)."""
        if self.failing_runs:
            return self.first_failure
        return self.first


@dataclass
class Sweep:
    """The outcome of one scenario x design sweep: its ``Tally`` and what it was."""

    scenario: str
    #: the design's name, as reports show it (a ``Design.name``)
    design: str
    first_seed: int
    #: how many seeds the sweep was asked to run
    seeds: int
    elapsed_s: float
    tally: Tally = field(default_factory=Tally)
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
    #: True when the sweep stopped at ``stop_after`` failing runs before its last seed
    stopped_early: bool = False

    @property
    def runs(self) -> int:
        return self.tally.runs

    @property
    def runs_per_s(self) -> float:
        return self.runs / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def failing_runs(self) -> int:
        """Every run that broke an invariant (``failing()`` lists the ones kept)."""
        return self.tally.failing_runs

    def failed(self) -> bool:
        """A run broke an invariant, or a seed did not reproduce."""
        return bool(self.tally.failing_runs) or self.nondeterminism is not None

    def failing(self) -> list[RunOutcome]:
        """The failing runs kept, in seed order: the first ``Tally.keep`` of each
        invariant (every one, unless more runs than that broke one invariant)."""
        return list(self.tally.kept)

    def violations(self) -> list[Violation]:
        """The violations of the failing runs kept."""
        return [v for o in self.tally.kept for v in o.violations]

    def by_invariant(self) -> dict[str, int]:
        """invariant -> runs that broke it (a run counts once per invariant)."""
        return dict(self.tally.by_invariant)

    def _by_kind(self, counts: dict[str, int]) -> dict[str, int]:
        return {kind: counts.get(kind, 0) for kind in self.kinds or kind_names()}

    def fault_coverage(self) -> dict[str, int]:
        """fault kind -> runs it fired in; every kind, zeros included."""
        return self._by_kind(self.tally.fired)

    def fault_planned(self) -> dict[str, int]:
        """fault kind -> runs whose plan contained it; every kind, zeros included."""
        return self._by_kind(self.tally.planned)

    def situations(self) -> dict[str, int]:
        """situation -> runs that reached it, zeros included; situations that cannot
        arise in this scenario with this design are left out (not a coverage gap)."""
        names = applicable_situations(get_scenario(self.scenario),
                                      load_design(self.design_spec or self.design).workers)
        return {name: self.tally.reached.get(name, 0) for name in names}

    def exercised_nothing(self) -> bool:
        """No fault fired in any run: a green result here proves nothing."""
        return not self.tally.runs_fired

    def result(self) -> SweepResult:
        return SweepResult(
            scenario=self.scenario, design=self.design, seeds=self.seeds,
            first_seed=self.first_seed, runs_per_s=round(self.runs_per_s, 2),
            failing_runs=self.tally.failing_runs,
            violations=[violation_report(v, o) for o in self.tally.kept
                        for v in o.violations],
            violations_omitted=self.tally.violations_omitted,
            violations_by_invariant=self.by_invariant(),
            fault_coverage=self.fault_coverage(), fault_planned=self.fault_planned(),
            situations=self.situations(), nondeterminism=self.nondeterminism,
        )


def violation_report(v: Violation, outcome: RunOutcome | None = None) -> ViolationReport:
    plan = outcome.plan.model_dump(mode="json") if outcome and outcome.plan else None
    return ViolationReport(seed=v.seed if v.seed is not None else -1, invariant=v.invariant,
                           message=v.message, repro=v.repro, plan_size=v.plan_size,
                           evidence=v.evidence, plan=plan)


def sweep(scenario: str, design: str, seeds: int | Iterable[int], first_seed: int = 0, *,
          workers: int = 1, progress: Progress | None = None,
          dask: str | Client | None = None, check_reproducible: bool = True,
          stop_after: int | None = None, keep: int = KEEP_PER_INVARIANT,
          on_result: OnResult | None = None, guided: bool = False,
          isolation: str | None = None) -> Sweep:
    """Run ``scenario`` x ``design`` (a name or ``package.module:attr``) on seeds
    ``first_seed .. first_seed + seeds - 1`` (or, if ``seeds`` is an iterable, on exactly
    those seeds, in that order), each with its swarm plan, in this process
    (``workers=1``), in ``workers`` processes, or on the Dask cluster ``dask`` (a
    scheduler address such as ``tcp://10.0.0.5:8786`` or a ``distributed.Client``).

    The outcomes are folded into the sweep's ``Tally`` as they come, which keeps the
    first ``keep`` failing runs of each invariant. ``stop_after`` failing runs (None:
    never) end the sweep early (``Sweep.stopped_early``), at the same seed whatever the
    workers. ``on_result`` (``workers=1`` only) sees each run's whole ``RunResult``.
    ``guided`` (``ninelives run --guided``): coverage-guided (``_guided``): ``seeds``
    runs in generations; the first, and half of every later one, are seeds
    ``first_seed + i`` with their swarm plans; the others are plans the guide derived
    from earlier generations, each on the seed of the run it came from, recorded in the
    outcome and in its repro line. A generation is planned from the earlier ones only,
    so the result does not depend on ``workers`` or ``dask``.
    Then, unless ``check_reproducible`` is False, one of its runs is made twice more
    here (``Tally.pick``): a seed that does not give the same run sets
    ``Sweep.nondeterminism``.

    Raises ``ScenarioError`` / ``DesignError`` for unknown names, before running anything;
    ``DaskUnavailable`` (an ``InputError``) if ``dask`` is given and dask is not installed
    or the scheduler cannot be reached. ``isolation``: where the design's code runs
    ("inline" or "process", ``scenarios.run_seed``; None: ``scenarios.default_isolation``).
    """
    isolation = default_isolation(design, isolation)
    get_scenario(scenario)
    design_name = load_design(design).name
    if isinstance(seeds, int):
        total = seeds
        jobs: Iterable[Job] = (Job(index=i, seed=first_seed + i, isolation=isolation)
                               for i in range(seeds))
    else:
        chosen = list(seeds)
        total, first_seed = len(chosen), chosen[0] if chosen else first_seed
        jobs = (Job(index=i, seed=seed, isolation=isolation) for i, seed in enumerate(chosen))
    tally = Tally(keep=keep)
    stopped = False
    start = time.perf_counter()
    if guided:
        from ._guided import GuidedJobs

        if not isinstance(seeds, int):
            raise ValueError("a guided sweep takes a number of runs, not a list of seeds")
        plans = GuidedJobs(scenario, design, total, first_seed, isolation=isolation)
        generation = plans.first()
        while generation and not stopped:
            with closing(iter_jobs(scenario, design, generation, total=len(generation),
                                   workers=workers, progress=progress, dask=dask,
                                   on_result=on_result)) as outcomes:
                kept, generation = plans.next(list(outcomes))
            for outcome in kept:
                tally.add(outcome)
                if stop_after is not None and tally.failing_runs >= stop_after:
                    stopped = tally.runs < total
                    break
    else:
        with closing(iter_jobs(scenario, design, jobs, total=total, workers=workers,
                               progress=progress, dask=dask, on_result=on_result)) as outcomes:
            for outcome in outcomes:
                tally.add(outcome)
                if stop_after is not None and tally.failing_runs >= stop_after:
                    stopped = tally.runs < total
                    break
    elapsed = time.perf_counter() - start
    nondeterminism = None
    if check_reproducible and (again := tally.pick()) is not None:
        nondeterminism = _reproduce.check_seed(scenario, design, again.seed, again.plan,
                                               _reproduce.fingerprint(again), isolation)
    return Sweep(scenario=scenario, design=design_name, first_seed=first_seed, seeds=total,
                 elapsed_s=elapsed, tally=tally, design_spec=design,
                 nondeterminism=nondeterminism, stopped_early=stopped)
