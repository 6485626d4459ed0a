"""Run one scenario x design x seed (x plan) and check it: the harness engine.

``run_seed`` builds a fresh world, applies the fault plan (by default the seed's swarm
plan), runs the fault phase and the quiet phase, and checks the invariants — safety
first, then liveness, then resume equivalence against the same seed without faults.
Everything the CLI, the pytest plugin and ``check`` report comes from here.
"""

from __future__ import annotations

import copy
import gc
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from fakes.wire import attach_http
from faults import FaultPlan, FaultSpace, PlanHooks, swarm_plan
from simulator import (
    ChildHang,
    Design,
    DesignWatch,
    RunAborted,
    TraceKind,
    World,
    design_modules,
)

from ._invariants import (
    liveness,
    model_once_per_decision,
    process_local_state,
    resume_equivalence,
    single_result_per_step,
    stays_in_simulation,
    thread_started,
)
from ._isolation import check_isolation
from ._repro import repro_command
from ._scenario import Scenario
from ._situations import situations
from ._violation import Violation

#: wall-clock seconds one run may take before the design is declared hung (read at each
#: run, so a test can shorten it)
HANG_WALL_S = 20.0


class DesignHang(RunAborted):
    """The design kept the CPU without ever awaiting a port (a busy loop).

    A ``RunAborted``: the kernel lets it through instead of taking it for the task's
    failure, which would restart the process into the same loop with the alarm spent
    (tests/scenarios/test_harness_hang.py)."""


@contextmanager
def _watchdog(seconds: float) -> Iterator[None]:
    # Only wall-clock use in a run: a watchdog that never changes a run's outcome unless
    # the design spins forever without yielding (which no virtual clock can interrupt).
    if seconds <= 0 or threading.current_thread() is not threading.main_thread():
        yield
        return

    def _fire(signum: int, frame: Any) -> None:
        raise DesignHang(f"no progress for {seconds:g} s of wall time")

    previous = signal.signal(signal.SIGALRM, _fire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


#: objects a run may allocate between two young-generation collections (CPython: 700)
GC_YOUNG_THRESHOLD = 50_000


@contextmanager
def _fewer_collections() -> Iterator[None]:
    # A run allocates some 10^4 objects, most of them short-lived. At CPython's default
    # threshold the collector runs a dozen times per run, promotes the live world into the
    # older generations, and their collections then walk the whole heap (faker's and
    # pydantic's data included): a fifth of a sweep's time. The collector stays on (a
    # design that leaks cycles still has them collected), it just runs less often; the
    # threshold is restored when the run ends. Nothing in a run depends on when it runs:
    # dead tasks are kept referenced (simulator/_process.py), so it closes no coroutine.
    old = gc.get_threshold()
    if old[0] == 0 or old[0] >= GC_YOUNG_THRESHOLD:  # 0: the caller turned collection off
        yield
        return
    gc.set_threshold(GC_YOUNG_THRESHOLD, *old[1:])
    try:
        yield
    finally:
        gc.set_threshold(*old)


def fault_space(scenario: Scenario, design: Design) -> FaultSpace:
    """What swarm plans aim at for ``scenario`` x ``design``: the scenario's tools, then
    the tools the design was seen to call that the scenario does not list (``observed_tools``:
    real agent code calls ``payments.payment_intents.create`` over Stripe's API where a
    dialect design calls ``payments.charge``)."""
    extra, extra_keyed = observed_tools(scenario, design)
    return FaultSpace(
        processes=design.worker_names(),
        tools=list(scenario.tools) + extra,
        keyed_tools=list(scenario.keyed_tools) + extra_keyed,
        max_ops_per_process=scenario.max_ops_per_process,
        max_calls_per_tool=scenario.max_calls_per_tool,
        max_model_calls=scenario.max_model_calls,
    )


_OBSERVED: dict[tuple[str, Any], tuple[list[str], list[str]]] = {}


def observed_tools(scenario: Scenario, design: Design) -> tuple[list[str], list[str]]:
    """The tools (and, of those, the keyed ones) ``design`` calls in the fault-free run of
    seed 0 that ``scenario.tools`` does not list, in the order first called.

    Learnt once per scenario and design in a process, from one run in process isolation
    whatever mode the sweep uses: a separate OS process, so the extra run changes
    nothing a later run of the design could see (an inline run would, for a design that
    keeps state across runs). A registered design is the dialect's and calls only listed
    tools, and a design process isolation cannot import (or that fails here, which its
    own runs report) has nothing to teach: both get ``([], [])``, so their plans are
    unchanged (``tests/test_pinned_behaviour.py``)."""
    key = (scenario.name, design.main)
    known = _OBSERVED.get(key)
    if known is None:
        known = _OBSERVED[key] = _observe(scenario, design)
    return known


def _observe(scenario: Scenario, design: Design) -> tuple[list[str], list[str]]:
    from reference_agent import DESIGNS  # a layer below: cheap here

    if DESIGNS.get(design.name) is design:
        return [], []
    try:
        world, _hooks, _finished, _hang = execute(scenario, design, 0, None,
                                                  isolation="process")
    except Exception:  # IsolationError (not importable by path), or the design failed
        return [], []
    listed = set(scenario.tools)
    extra: list[str] = []
    try:
        for _t, _c, kind, data in world.kernel.trace.raw():
            if kind == TraceKind.TOOL_REQUEST:
                tool = str(data.get("tool", ""))
                if tool and tool not in listed and tool not in extra:
                    extra.append(tool)
        return extra, [t for t in extra if world.keyed(t)]
    finally:
        world.dispose()


def fault_targets(scenario: Scenario, design: Design) -> tuple[list[str], list[str]]:
    """Every process and every tool (``service.endpoint``) a fault can name in a run of
    ``scenario`` x ``design``: a superset of ``fault_space``'s, which lists only what
    swarm plans aim at (a hand-written plan may fault ``payments.search`` too)."""
    world, _ = build_world(scenario, design, 0, None)
    try:
        tools = [f"{name}.{endpoint}" for name, service in world.services.items()
                 for endpoint in service.endpoints]
        # the model's wire doors are tools too (``openai.chat.completions``): a plan may
        # lose, delay or fail their requests as any other
        tools += [door.tool_name for door in scenario.http_doors(world)
                  if isinstance(getattr(door, "tool_name", None), str)]
        return list(design.worker_names()), tools
    finally:
        world.dispose()


@dataclass
class RunResult:
    """What one run did and which invariants it broke."""

    scenario: str
    design: str
    seed: int
    plan: FaultPlan
    violations: list[Violation]
    fired: list[int]
    situations: dict[str, int]
    final_state: dict[str, Any]
    finished: bool
    virtual_ns: int
    events: int
    world: World | None = field(default=None, repr=False)

    @property
    def ok(self) -> bool:
        return not self.violations

    def fired_kinds(self) -> list[str]:
        return sorted({self.plan.faults[i].kind for i in self.fired})


def _live(world: World, hang: str | None) -> bool:
    """Whether a run's final state can serve as a baseline: it ended, nothing pending."""
    return hang is None and not world.workflows.pending()


def build_world(scenario: Scenario, design: Design, seed: int,
                plan: FaultPlan | None, isolation: str = "inline",
                ) -> tuple[World, PlanHooks | None]:
    """A fresh world for one run. ``isolation="process"`` runs each incarnation of the
    design's processes in a real OS process (``simulator/_isolation.py``)."""
    hooks = PlanHooks(plan) if plan is not None and len(plan.faults) else None
    world = World(seed, hooks=hooks, isolation=check_isolation(isolation))
    populate(world, scenario, design)
    return world, hooks


def populate(world: World, scenario: Scenario, design: Design) -> None:
    """Build ``scenario``'s workload in ``world``, open its HTTP doors (real agent code
    reaches the same fakes over HTTP: ``Scenario.http_doors``) and add the design's
    processes."""
    scenario.build(world)
    attach_http(world, scenario.http_doors(world))
    for name in design.worker_names():
        world.add_process(name, design.main)


def execute(scenario: Scenario, design: Design, seed: int, plan: FaultPlan | None,
            hang_wall_s: float | None = None, isolation: str = "inline",
            ) -> tuple[World, PlanHooks | None, bool, str | None]:
    """Build and run a world. Returns (world, hooks, finished, hang message or None).
    ``hang_wall_s``: the watchdog's limit (default ``HANG_WALL_S``; 0 turns it off)."""
    with _fewer_collections():
        world, hooks = build_world(scenario, design, seed, plan, isolation)
        hang = None
        limit = HANG_WALL_S if hang_wall_s is None else hang_wall_s
        if world.isolated is not None and limit > 0:
            world.isolated.wait_s = limit  # the watchdog where SIGALRM cannot reach
        try:
            with _watchdog(limit):
                finished = world.run(scenario.fault_window_s, scenario.liveness_bound_s)
        except (DesignHang, ChildHang) as error:
            # In process isolation the spinning child is killed as the run ends
            # (World.run), before this finding is made.
            finished, hang = False, str(error)
    return world, hooks, finished, hang


_MODULES: dict[Any, list[Any]] = {}


def watch_design(design: Design) -> DesignWatch:
    """A watch over an inline run of ``design`` (its modules found once per entry
    point): what the run did that an in-process simulation cannot simulate."""
    modules = _MODULES.get(design.main)
    if modules is None:
        modules = _MODULES[design.main] = design_modules(design.main)
    return DesignWatch(modules)


#: fault-free states a ``Baselines`` holds at most: a sweep asks for each seed's once (and
#: shrink, explore and the reproducibility check for one seed's many times), so a few
#: hundred cover every reuse while a million-seed sweep's memory stays flat
#: (docs/scale.md, tests/scenarios/test_harness_baselines.py)
BASELINES_KEPT = 256


class Baselines:
    """Fault-free final states per (scenario, design, seed), computed once.

    A cache, bounded to the ``limit`` most recently added states: a state let go of is
    computed again if asked for, and is the same (a pure function of scenario, design and
    seed), so what the cache holds never changes a result."""

    def __init__(self, limit: int = BASELINES_KEPT) -> None:
        self._states: dict[tuple[str, str, int], dict[str, Any] | None] = {}
        self._limit = max(1, limit)

    def _keep(self, key: tuple[str, str, int], state: dict[str, Any] | None) -> None:
        self._states[key] = state
        while len(self._states) > self._limit:  # the oldest first: insertion order
            del self._states[next(iter(self._states))]

    def get(self, scenario: Scenario, design: Design, seed: int,
            isolation: str = "inline") -> dict[str, Any] | None:
        key = self._key(scenario, design, seed, isolation)
        if key not in self._states:
            with watch_design(design):  # its findings are the faulted run's to report
                world, _, _, hang = execute(scenario, design, seed, None,
                                           isolation=isolation)
            self._keep(key, scenario.final_state(world) if _live(world, hang) else None)
            world.dispose()
        return self._states[key]

    def record(self, scenario: Scenario, design: Design, seed: int,
               state: dict[str, Any] | None, isolation: str = "inline") -> None:
        """Remember the fault-free state of a run that was fault-free (keeps the first)."""
        key = self._key(scenario, design, seed, isolation)
        if key not in self._states:
            self._keep(key, copy.deepcopy(state))

    @staticmethod
    def _key(scenario: Scenario, design: Design, seed: int,
             isolation: str) -> tuple[Any, ...]:
        # A design with process-local state ends differently in the two modes, so each
        # mode has its own baseline (inline keeps the key it always had).
        if isolation == "inline":
            return (scenario.name, design.name, seed)
        return (scenario.name, design.name, seed, isolation)

    def clear(self) -> None:
        self._states.clear()


def run_seed(
    scenario: Scenario,
    design: Design,
    seed: int,
    plan: FaultPlan | None = None,
    *,
    keep_world: bool = False,
    baselines: Baselines | None = None,
    plan_path: str | None = None,
    isolation: str = "inline",
) -> RunResult:
    """Run ``seed`` (with its swarm plan unless ``plan`` is given) and check invariants.

    ``isolation``: ``"inline"`` runs the design's code as coroutines in this process
    (fastest; a restart keeps module globals); ``"process"`` runs each incarnation in a
    real OS process, so a crash is a SIGKILL (docs/architecture.md, "Process
    isolation"). The fault-free baseline of resume equivalence runs in the same mode."""
    check_isolation(isolation)
    # The world is let go of (``_run_seed`` returned) before the threshold comes back
    # down, so the collection that follows finds it already freed instead of walking it.
    with _fewer_collections():
        return _run_seed(scenario, design, seed, plan, keep_world, baselines, plan_path,
                         isolation)


def _run_seed(scenario: Scenario, design: Design, seed: int, plan: FaultPlan | None,
              keep_world: bool, baselines: Baselines | None,
              plan_path: str | None, isolation: str) -> RunResult:
    if plan is None:
        plan = swarm_plan(seed, fault_space(scenario, design))
    with watch_design(design) as watched:
        world, hooks, finished, hang = execute(scenario, design, seed, plan,
                                                       isolation=isolation)
    violations: list[Violation] = []
    # Safety first.
    violations += scenario.check_safety(world)
    violations += single_result_per_step(world)
    violations += stays_in_simulation(world)
    violations += model_once_per_decision(world)
    # Then what an inline run cannot simulate (process-local state, threads).
    violations += process_local_state(watched)
    violations += thread_started(watched)
    # Then liveness.
    violations += liveness(world, finished, hang)
    final = scenario.final_state(world)
    # Then resume equivalence, only for a live run that the plan touched. A run it never
    # touched (no fault fired, no late-crash timer set) *is* the fault-free run: hooks
    # draw nothing from the world's random streams and change nothing until then
    # (tests/scenarios/test_harness_baselines.py), so it is its own baseline —
    # remembered for later runs of the seed (shrinking replays it).
    if hooks is None or not hooks.touched:
        if baselines is not None:
            baselines.record(scenario, design, seed, final if _live(world, hang) else None,
                             isolation)
    elif not violations:
        expected = (baselines or Baselines()).get(scenario, design, seed, isolation)
        if expected is not None:
            violations += resume_equivalence(final, expected)
    repro = repro_command(scenario.name, design.name, seed, plan_path, isolation=isolation)
    for v in violations:
        v.scenario, v.design, v.seed = scenario.name, design.name, seed
        v.plan_size, v.repro = len(plan.faults), repro
    result = RunResult(
        scenario=scenario.name, design=design.name, seed=seed, plan=plan,
        violations=violations, fired=list(hooks.fired) if hooks else [],
        situations=situations(world), final_state=final, finished=finished,
        virtual_ns=world.kernel.now_ns, events=world.kernel.scheduler.events_run,
        world=world if keep_world else None,
    )
    if not keep_world:
        world.dispose()
    return result
