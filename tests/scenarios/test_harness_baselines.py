"""A run in which no fault fired is its own fault-free baseline (``run_seed`` relies on it
to skip the baseline run), and resume equivalence is still checked when one fired."""

from __future__ import annotations

from typing import Any

import pytest

from faults import Crash, FaultPlan, LoseResponse, ModelFault, Pause
from reference_agent import DESIGNS
from scenarios import SCENARIOS, Baselines, build_world, run_seed
from scenarios._scenario import Scenario
from simulator import Design, World

# Points no run reaches: the hooks are installed and consulted, and never fire.
UNREACHED = FaultPlan(faults=[
    Crash(process="worker", at_op=10_000),
    Pause(process="worker", at_op=10_001),
    LoseResponse(tool="payments.charge", call=999),
    ModelFault(call=999, fault="malformed"),
])


def _finished(scenario: str, seed: int, plan: FaultPlan | None) -> World:
    world, _ = build_world(SCENARIOS[scenario], DESIGNS["reference"], seed, plan)
    sc = SCENARIOS[scenario]
    world.run(sc.fault_window_s, sc.liveness_bound_s)
    return world


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
@pytest.mark.parametrize("seed", [0, 3])
def test_hooks_that_never_fire_change_nothing(scenario: str, seed: int) -> None:
    with_hooks = _finished(scenario, seed, UNREACHED)
    without = _finished(scenario, seed, None)
    assert with_hooks.hooks is not None and not with_hooks.hooks.fired  # type: ignore[attr-defined]
    assert with_hooks.kernel.trace.hash() == without.kernel.trace.hash()
    # Not one draw more from any stream of the world's randomness.
    streams = with_hooks.kernel.rng._streams
    assert sorted(streams) == sorted(without.kernel.rng._streams)
    for name, stream in streams.items():
        assert stream.getstate() == without.kernel.rng._streams[name].getstate(), name


class CountingBaselines(Baselines):
    def __init__(self) -> None:
        super().__init__()
        self.asked = 0

    def get(self, scenario: Scenario, design: Design, seed: int,
            isolation: str = "inline") -> dict[str, Any] | None:
        self.asked += 1
        return super().get(scenario, design, seed, isolation)


def test_an_untouched_run_is_its_own_baseline() -> None:
    sc, design = SCENARIOS["checkout"], DESIGNS["reference"]
    baselines = CountingBaselines()
    result = run_seed(sc, design, 5, UNREACHED, baselines=baselines)
    assert result.ok and not result.fired
    assert baselines.asked == 0  # no fault-free run was needed
    recorded = baselines._states[(sc.name, design.name, 5)]
    assert recorded == result.final_state and recorded is not result.final_state
    assert recorded == Baselines().get(sc, design, 5)


def test_a_late_crash_timer_that_fires_nothing_still_touched_the_run() -> None:
    # Its timer drew from the scheduler's tie stream: not the fault-free run any more.
    sc, design = SCENARIOS["checkout"], DESIGNS["reference"]
    baselines = CountingBaselines()
    late = FaultPlan(faults=[Crash(process="worker", at_op=1, after_ms=10**9)])
    result = run_seed(sc, design, 5, late, baselines=baselines)
    assert not result.fired
    assert baselines.asked == 1


def test_a_fired_fault_is_still_checked_against_the_baseline() -> None:
    # naive-loop keeps its progress in memory: a crash makes it start over and diverge.
    sc, design = SCENARIOS["checkout"], DESIGNS["naive-loop"]
    found = []
    for seed in range(40):
        result = run_seed(sc, design, seed, FaultPlan(faults=[
            Crash(process="worker", at_op=6, restart_after_ms=0)]), baselines=Baselines())
        assert result.fired == [0]
        found += [v.invariant for v in result.violations]
    assert "resume-equivalence" in found


def test_a_bounded_cache_holds_few_states_and_changes_no_result() -> None:
    # A sweep asks for each seed's baseline once, so the cache is bounded
    # (scenarios.BASELINES_KEPT) to keep a long sweep's memory flat; what it let go of is
    # computed again, and the same.
    sc, design = SCENARIOS["checkout"], DESIGNS["reference"]
    small, whole = Baselines(limit=2), Baselines(limit=10**6)
    for seed in [*range(6), 0, 1]:
        a = run_seed(sc, design, seed, baselines=small)
        b = run_seed(sc, design, seed, baselines=whole)
        assert [v.model_dump() for v in a.violations] == [v.model_dump() for v in b.violations]
        assert a.final_state == b.final_state
        assert len(small._states) <= 2
    assert len(whole._states) > 2
