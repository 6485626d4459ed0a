"""Hypothesis strategies and the greedy shrinker."""

from __future__ import annotations

from hypothesis import HealthCheck, find, given, settings
from hypothesis import strategies as st

from faults import (
    ClockJump,
    Crash,
    Delay,
    Duplicate,
    FaultPlan,
    FaultSpace,
    LoseResponse,
    ModelFault,
    Pause,
    ServiceError,
    fault_plans,
    seeds,
    shrink,
    shrink_candidates,
)
from faults._shrink import MAX_SHIFT

SPACE = FaultSpace(
    processes=["worker", "orchestrator"],
    tools=["payments.charge", "chat.post"],
    keyed_tools=["payments.charge"],
    max_ops_per_process=30,
    max_calls_per_tool=4,
    max_model_calls=5,
)


@settings(max_examples=100, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(fault_plans(SPACE))
def test_strategy_generates_valid_plans(plan: FaultPlan) -> None:
    assert len(plan) <= 6
    assert FaultPlan.model_validate_json(plan.model_dump_json()) == plan
    for f in plan.faults:
        if isinstance(f, Duplicate):
            assert f.tool in SPACE.keyed_tools
        if isinstance(f, Crash | Pause | ClockJump):
            assert f.process in SPACE.processes
            assert 1 <= f.at_op <= SPACE.max_ops_per_process
        if isinstance(f, ModelFault):
            assert 1 <= f.call <= SPACE.max_model_calls
        if isinstance(f, ClockJump):
            assert f.jump_ms != 0


@settings(max_examples=50, database=None)
@given(fault_plans(SPACE, max_faults=2), seeds())
def test_max_faults_and_seeds(plan: FaultPlan, seed: int) -> None:
    assert len(plan) <= 2
    assert 0 <= seed < 2**32


def test_strategy_reaches_every_kind() -> None:
    kinds: set[str] = set()

    @settings(max_examples=150, database=None)
    @given(fault_plans(SPACE))
    def collect(plan: FaultPlan) -> None:
        kinds.update(f.kind for f in plan.faults)

    collect()
    assert len(kinds) == 9


@settings(max_examples=30, database=None)
@given(fault_plans(FaultSpace(processes=["w"], max_ops_per_process=3)),
       fault_plans(FaultSpace()))
def test_strategy_respects_the_space(only_processes: FaultPlan, nothing: FaultPlan) -> None:
    assert {f.kind for f in only_processes.faults} <= {"crash", "pause", "clock_jump"}
    assert nothing == FaultPlan()


def test_hypothesis_shrinks_to_a_single_small_crash() -> None:
    plan = find(fault_plans(SPACE), lambda p: any(isinstance(f, Crash) for f in p.faults),
                settings=settings(database=None, max_examples=500))
    assert len(plan) == 1
    crash = plan.faults[0]
    assert isinstance(crash, Crash)
    assert crash.at_op == 1
    assert crash.restart_after_ms == 0
    assert crash.process == SPACE.processes[0]


SIX = FaultPlan(faults=[
    LoseResponse(tool="payments.charge", call=2),
    Delay(tool="chat.post", call=1, delay_ms=25_000),
    ModelFault(call=3, fault="slow"),
    Crash(process="worker", at_op=7, restart_after_ms=3_456),
    Pause(process="orchestrator", at_op=4, duration_ms=90_000),
    ServiceError(tool="payments.charge", call=1, status=429),
], note="seed 99")


def test_shrink_candidates_drop_then_simplify() -> None:
    candidates = list(shrink_candidates(SIX))
    # halves first, then each fault dropped
    assert candidates[0].faults == SIX.faults[3:]
    assert candidates[1].faults == SIX.faults[:3]
    for i in range(6):
        assert candidates[2 + i] == SIX.without(i)
    simplified = [c for c in candidates[8:] if len(c) == 6]
    assert simplified and candidates[8:8 + len(simplified)] == simplified
    # last, each fault alone, at its own point and then ever earlier
    alone = candidates[8 + len(simplified):]
    assert all(len(c) == 1 for c in alone)
    assert alone[0].faults == SIX.faults[:1]
    crashes = [c.faults[0] for c in alone if isinstance(c.faults[0], Crash)]  # SIX has one
    assert [c.at_op for c in crashes] == [7, 6, 5, 4, 3, 2, 1]  # MAX_SHIFT caps longer runs
    assert all(c.restart_after_ms == 3_456 for c in crashes)
    assert MAX_SHIFT >= 6
    # logical points are kept; only intensities move towards their minimum
    for c in simplified:
        for before, after in zip(SIX.faults, c.faults, strict=True):
            assert type(before) is type(after)
            assert getattr(before, "at_op", None) == getattr(after, "at_op", None)
            assert getattr(before, "call", None) == getattr(after, "call", None)
    delays = [c.faults[1].delay_ms for c in simplified if c.faults[1] != SIX.faults[1]]
    assert delays[0] == 1 and all(1 <= d < 25_000 for d in delays)
    restarts = [c.faults[3].restart_after_ms for c in simplified
                if c.faults[3] != SIX.faults[3]]
    assert restarts == [1000]
    assert list(shrink_candidates(FaultPlan())) == []


def test_shrink_to_the_one_fault_that_matters() -> None:
    calls = 0

    def still_fails(plan: FaultPlan) -> bool:
        nonlocal calls
        calls += 1
        return any(isinstance(f, Crash) and f.process == "worker" and f.at_op == 7
                   for f in plan.faults)

    smallest = shrink(SIX, still_fails)
    assert smallest.faults == [Crash(process="worker", at_op=7)]  # restart back to default
    assert calls < 30


def test_a_fault_that_only_landed_thanks_to_the_others_is_moved_and_kept_alone() -> None:
    # The failure needs the crash to land at the 40th operation. In the original plan
    # three refused model answers each add an operation before it, so it is addressed
    # as op 43; dropping any one of them moves the crash off the spot, so removing
    # faults one by one gets nowhere. Alone, three operations earlier, it fails.
    crash = Crash(process="worker", at_op=43)
    plan = FaultPlan(faults=[ModelFault(call=1, fault="malformed"), crash,
                             ModelFault(call=2, fault="malformed"),
                             ModelFault(call=3, fault="hallucinated")])

    def still_fails(p: FaultPlan) -> bool:
        extra_ops = sum(isinstance(f, ModelFault) for f in p.faults)
        return any(isinstance(f, Crash) and f.at_op - extra_ops == 40 for f in p.faults)

    assert still_fails(plan)
    assert shrink(plan, still_fails).faults == [Crash(process="worker", at_op=40)]


def test_shrink_finds_a_threshold() -> None:
    def still_fails(plan: FaultPlan) -> bool:
        return any(isinstance(f, Delay) and f.delay_ms >= 10_000 for f in plan.faults) and \
            any(isinstance(f, Pause) for f in plan.faults)

    smallest = shrink(SIX, still_fails)
    assert len(smallest) == 2
    delay, pause = smallest.faults
    assert isinstance(delay, Delay) and delay.delay_ms == 10_000
    assert isinstance(pause, Pause) and pause.duration_ms == 1


def test_shrink_respects_max_attempts_and_keeps_a_failing_plan() -> None:
    calls = 0

    def still_fails(plan: FaultPlan) -> bool:
        nonlocal calls
        calls += 1
        return len(plan) >= 5

    result = shrink(SIX, still_fails, max_attempts=3)
    assert calls <= 3
    assert len(result) >= 5
    assert shrink(SIX, lambda p: False) == SIX


@settings(max_examples=30, database=None)
@given(fault_plans(SPACE), st.integers(0, 5))
def test_shrink_result_always_still_fails(plan: FaultPlan, keep: int) -> None:
    wanted = plan.faults[:keep]

    def still_fails(p: FaultPlan) -> bool:
        return all(any(type(f) is type(w) and getattr(f, "process", None) ==
                       getattr(w, "process", None) for f in p.faults) for w in wanted)

    result = shrink(plan, still_fails)
    assert still_fails(result)
    assert len(result) <= len({(type(w), getattr(w, "process", None)) for w in wanted})
