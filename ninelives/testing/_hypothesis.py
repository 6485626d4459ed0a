"""Hypothesis integration: strategies for fault plans and seeds, and a stateful machine
that steps a simulation and shrinks a failure to the few steps that cause it.

Property-based, with the scenario's own fault space::

    from hypothesis import given
    from ninelives.testing._hypothesis import check_run, fault_plans, seeds

    @given(plan=fault_plans("checkout"), seed=seeds())
    def test_checkout_survives_any_plan(plan, seed):
        check_run("checkout", "myapp.agent:design", seed, plan)

Stateful, where Hypothesis chooses *when* things go wrong as well as what::

    from ninelives.testing._hypothesis import simulation_machine

    TestCheckoutMachine = simulation_machine("checkout", "myapp.agent:design").TestCase

The machine's rules are ``advance_time(ms)``, ``crash(process)``,
``restart(process)``, ``lose_next_response(tool)`` and
``corrupt_next_model_answer(fault)``; after every step it checks the
safety invariants that can be checked mid-run (no customer charged twice, nothing
outside the policy gate, no step result replaced), and its teardown runs the rest of the
run the way ``World.run`` runs the quiet phase (faults stop, dead processes restart) and
then checks every invariant, resume equivalence included. Against ``naive-loop`` it
shrinks to ``advance_time`` past the first charge, then ``crash('worker')``
(``tests/ninelives/testing/test_hypothesis_machine.py``).

This module imports Hypothesis and the harness when imported; the pytest plugin does
not import it.
"""

from __future__ import annotations

import inspect
from typing import Any

import hypothesis
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

import faults
from faults import FaultPlan
from reference_agent import load_design
from scenarios import (
    EVIDENCE_CHARS,
    INLINE_PLAN_FILE,
    Baselines,
    RunResult,
    Violation,
    default_isolation,
    fault_space,
    get_scenario,
    liveness,
    model_once_per_decision,
    one_line,
    repro_command,
    resume_equivalence,
    run_seed,
    single_result_per_step,
)
from simulator import NS_PER_S, CallFate, Shims, TraceKind, World

from ..errors import NineLivesError

__all__ = ["SimulationFailure", "check_run", "fault_plans", "machine_settings", "seeds",
           "simulation_machine"]

#: at most this many kernel events per machine step (a design in an endless retry loop
#: at one virtual instant ends the step instead of hanging the test)
MAX_EVENTS_PER_STEP = 1_000_000


class SimulationFailure(NineLivesError, AssertionError):
    """A run broke an invariant. ``violations`` says which; for a machine, ``steps`` is
    the sequence of rules that led there (the minimal one once Hypothesis has shrunk).

    An ``AssertionError``, so pytest and Hypothesis report it as a failed test."""

    __module__ = "ninelives.hypothesis"

    def __init__(self, message: str, violations: list[Violation],
                 steps: list[str] | None = None, seed: int | None = None) -> None:
        super().__init__(message)
        self.violations = violations
        self.steps = list(steps or [])
        self.seed = seed


def fault_plans(scenario: str, design: str = "reference",
                max_faults: int = 6) -> st.SearchStrategy[FaultPlan]:
    """Fault plans of up to ``max_faults`` faults that can act on ``scenario`` run by
    ``design`` (its processes, the scenario's tools). They shrink towards fewer faults,
    earlier points and smaller numbers, crashes first."""
    space = fault_space(get_scenario(scenario), load_design(design))
    return faults.fault_plans(space, max_faults=max_faults)


def seeds() -> st.SearchStrategy[int]:
    """Run seeds (any unsigned 32-bit integer; shrinks towards 0)."""
    return faults.seeds()


def _violation_text(violations: list[Violation]) -> str:
    lines = []
    for v in violations:
        lines += [f"  {v.headline()}", f"    evidence: {one_line(v.evidence, EVIDENCE_CHARS)}"]
    return "\n".join(lines)


def check_run(scenario: str, design: str, seed: int,
              plan: FaultPlan | None = None, *, isolation: str | None = None) -> RunResult:
    """Run ``seed`` with ``plan`` (its swarm plan if None); raise ``SimulationFailure``
    naming the broken invariants, the plan (as JSON, for ``ninelives replay --plan``)
    and the seed, or return the ``RunResult``.

    ``isolation`` (``"inline"`` or ``"process"``) defaults as on the command line
    (``scenarios.default_isolation``): a user's design runs in process isolation, where
    a crash is a real process death, so a verdict never rests on state that only
    survived because the "crash" happened inside one Python process."""
    __tracebackhide__ = True  # pytest shows the message, not this frame
    mode = default_isolation(design, isolation)
    result = run_seed(get_scenario(scenario), load_design(design), seed, plan=plan,
                      isolation=mode)
    if not result.ok:
        raise SimulationFailure(
            f"{scenario} x {design} broke {result.violations[0].invariant} at seed {seed}\n"
            f"{_violation_text(result.violations)}\n"
            f"  plan: {result.plan.model_dump_json()}\n"
            f"  reproduce: save the plan as {INLINE_PLAN_FILE}, then: "
            f"{repro_command(scenario, design, seed, INLINE_PLAN_FILE, isolation=mode)}",
            result.violations, seed=seed)
    return result


def _close(tasks: Any) -> None:
    """Close the coroutines of ``tasks``, once the run is over and checked.

    Left alone, killed tasks stay frozen in the simulator's graveyard (and keep their
    world reachable) until interpreter exit, when closing them runs their ``except``
    clauses against module globals already torn down: noise on stderr. Closing them
    after the checks may run their ``finally`` blocks; nothing observes the run any more.
    A coroutine killed before its first step runs no code at all when closed.
    """
    for task in list(tasks):
        coro = task.coro
        if inspect.getcoroutinestate(coro) == inspect.CORO_CLOSED:
            continue
        try:
            coro.close()
        except BaseException:  # design code misbehaving while it is closed
            pass


def _live_tasks(world: World) -> list[Any]:
    return [task for process in world.processes.values()
            if process.incarnation is not None and process.incarnation.alive
            for task in process.incarnation.tasks]


def machine_settings(**changes: Any) -> hypothesis.settings:
    """Settings suited to ``simulation_machine``: no deadline (an example is a whole
    simulated run, tens of milliseconds, more on a loaded CI machine), 20 steps per
    example, and no "explain" phase (it reruns a shrunk failure hundreds of times to say
    which steps could vary; the ``SimulationFailure`` already lists the steps).
    ``changes`` override any of these or add others (``max_examples=500``)."""
    phases = [p for p in hypothesis.Phase if p.name != "explain"]
    options: dict[str, Any] = {"deadline": None, "stateful_step_count": 20,
                               "phases": phases}
    options.update(changes)
    return hypothesis.settings(**options)


class _StepHooks:
    """The machine's faults, armed by rules: the world's ``WorldHooks``."""

    def __init__(self) -> None:
        self.lose_response: dict[str, int] = {}
        #: faults for the next model answers, in order (``malformed``/``hallucinated``)
        self.model_faults: list[str] = []
        self.quieted = False
        self.world: World | None = None
        self.fired = 0

    def install(self, world: World) -> None:
        self.world = world

    def quiet(self, world: World) -> None:
        self.quieted = True

    def on_op(self, process: Any, op_index: int, kind: str, detail: dict[str, Any]) -> None:
        return None  # crashes come from rules, between steps, not at port operations

    def _fired(self, fault: dict[str, Any]) -> None:
        if self.world is not None:
            self.world.kernel.trace.record("faults", TraceKind.FAULT_FIRED, index=self.fired,
                                           fault=fault)
        self.fired += 1

    def call_fate(self, tool: str, call: int, caller: str, key: str | None) -> CallFate | None:
        if self.quieted or not self.lose_response.get(tool):
            return None
        self.lose_response[tool] -= 1
        self._fired({"kind": "lose_response", "tool": tool, "call": call})
        return CallFate(lose_response=True)

    def model_fate(self, call: int, decision: str, caller: str) -> str | None:
        if self.quieted or not self.model_faults:
            return None
        fault = self.model_faults.pop(0)
        self._fired({"kind": "model_fault", "call": call, "fault": fault})
        return fault


def simulation_machine(scenario: str = "checkout", design: str = "reference", *,
                       seed: int | None = None, max_advance_s: float = 30.0,
                       settings: hypothesis.settings | None = None,
                       ) -> type[RuleBasedStateMachine]:
    """A ``RuleBasedStateMachine`` class that steps one run of ``scenario`` x ``design``.

    ``seed`` fixes the run's seed (workload, latencies, model choices); None lets
    Hypothesis draw it. ``advance_time`` moves virtual time by up to ``max_advance_s``
    seconds per step, in milliseconds (a fault-free checkout run lasts about 11 s).
    Run it as a test with ``simulation_machine(...).TestCase`` or
    ``hypothesis.stateful.run_state_machine_as_test``. A failure raises
    ``SimulationFailure`` whose ``steps`` are the rules that led to it.

    ``settings`` (for ``.TestCase`` and ``run_state_machine_as_test`` without its own)
    default to ``machine_settings()``.
    """
    the_scenario = get_scenario(scenario)
    the_design = load_design(design)
    processes = the_design.worker_names()
    tools = list(the_scenario.tools)
    baselines = Baselines()  # fault-free final states, shared by every example
    max_ms = max(1, int(max_advance_s * 1000))
    seed_strategy = st.just(seed) if seed is not None else seeds()

    class SimulationMachine(RuleBasedStateMachine):
        """Steps a simulated run; Hypothesis picks the steps and shrinks failures."""

        def __init__(self) -> None:
            super().__init__()
            self.world: World | None = None
            self.hooks = _StepHooks()
            self.steps: list[str] = []
            self.seed: int | None = None
            self.failed = False
            self.disturbed = False
            #: tasks of incarnations the rules killed (closed after the checks)
            self.killed: list[Any] = []

        # --- helpers -------------------------------------------------------------------
        def _run_until_ns(self, until_ns: int) -> bool:
            assert self.world is not None
            with Shims(self.world.kernel):
                return self.world.kernel.run_ns(until_ns, max_events=MAX_EVENTS_PER_STEP)

        def _fail(self, violations: list[Violation], when: str) -> None:
            __tracebackhide__ = True  # pytest shows the message, not this frame
            self.failed = True
            raise SimulationFailure(
                f"{scenario} x {design} (seed {self.seed}) broke "
                f"{violations[0].invariant} {when}\n{_violation_text(violations)}\n"
                f"  steps: {', '.join(self.steps) or '(none)'}",
                violations, self.steps, self.seed)

        # --- rules ---------------------------------------------------------------------
        @initialize(seed=seed_strategy)
        def start(self, seed: int) -> None:
            self.seed = seed
            world = World(seed, hooks=self.hooks)
            the_scenario.build(world)
            for name in processes:
                world.add_process(name, the_design.main)
            with Shims(world.kernel):
                for process in world.processes.values():
                    process.start()
                self.hooks.install(world)
            self.world = world

        @rule(ms=st.integers(1, max_ms))
        def advance_time(self, ms: int) -> None:
            """Run the simulation ``ms`` milliseconds of virtual time further."""
            assert self.world is not None
            self.steps.append(f"advance_time({ms / 1000:g})")
            self._run_until_ns(self.world.kernel.now_ns + ms * NS_PER_S // 1000)

        @rule(process=st.sampled_from(processes))
        def crash(self, process: str) -> None:
            """SIGKILL ``process`` now; it stays dead until ``restart`` or the end."""
            assert self.world is not None
            self.steps.append(f"crash({process!r})")
            target = self.world.processes[process]
            if target.alive:
                assert target.incarnation is not None
                self.killed += target.incarnation.tasks
                target.crash("killed by the state machine")
                self.disturbed = True

        @rule(process=st.sampled_from(processes))
        def restart(self, process: str) -> None:
            """Start ``process`` again: after a crash, or (if it runs) kill it first,
            as a redeploy would. A process that finished its work is left alone."""
            assert self.world is not None
            self.steps.append(f"restart({process!r})")
            target = self.world.processes[process]
            if target.exited:
                return
            with Shims(self.world.kernel):
                if target.alive:
                    assert target.incarnation is not None
                    self.killed += target.incarnation.tasks
                    target.restart()
                else:
                    target.start()
            self.disturbed = True

        @rule(tool=st.sampled_from(tools))
        def lose_next_response(self, tool: str) -> None:
            """The next call of ``tool`` acts, but its response never comes back."""
            self.steps.append(f"lose_next_response({tool!r})")
            self.hooks.lose_response[tool] = self.hooks.lose_response.get(tool, 0) + 1
            self.disturbed = True

        @rule(fault=st.sampled_from(["malformed", "hallucinated"]))
        def corrupt_next_model_answer(self, fault: str) -> None:
            """The next model answer is malformed, or proposes a call the workflow must
            not make (a wrong amount, another customer, an unknown tool)."""
            self.steps.append(f"corrupt_next_model_answer({fault!r})")
            self.hooks.model_faults.append(fault)
            self.disturbed = True

        # --- checks --------------------------------------------------------------------
        @invariant()
        def safety_so_far(self) -> None:
            """What can be checked mid-run: the scenario's safety invariants (ledgers,
            the gate) and that no recorded step result was replaced."""
            world = self.world
            if world is None or self.failed:
                return
            violations = the_scenario.check_safety(world) + single_result_per_step(world)
            if violations:
                self._fail(violations, f"after {len(self.steps)} step(s)")

        def teardown(self) -> None:
            """Finish the run as ``World.run``'s quiet phase does, then check it all."""
            world, self.world = self.world, None
            if world is None:
                return
            try:
                if self.failed:
                    return
                kernel = world.kernel
                with Shims(kernel):
                    world.begin_quiet_phase()
                    bound_ns = kernel.now_ns + int(the_scenario.liveness_bound_s * NS_PER_S)
                    finished = kernel.run_ns(bound_ns, max_events=MAX_EVENTS_PER_STEP)
                violations = (the_scenario.check_safety(world) + single_result_per_step(world)
                              + model_once_per_decision(world))
                violations += liveness(world, finished)
                if not violations and self.disturbed:
                    assert self.seed is not None
                    expected = baselines.get(the_scenario, the_design, self.seed)
                    if expected is not None:
                        violations += resume_equivalence(the_scenario.final_state(world),
                                                         expected)
                if violations:
                    self.steps.append("(end: faults stop, dead processes restart)")
                    self._fail(violations, "by the end of the run")
            finally:
                world.dispose()
                _close(self.killed + _live_tasks(world))
                self.killed = []
                self.hooks.world = None

    (settings or machine_settings())(SimulationMachine)
    SimulationMachine.__name__ = SimulationMachine.__qualname__ = (
        "SimulationMachine_" + "".join(c if c.isalnum() else "_" for c in
                                       f"{scenario}_{design}"))
    return SimulationMachine
