"""A crash with ``after_ms`` lands while its operation is under way (a request in flight)."""

from __future__ import annotations

from faults import Crash, FaultPlan, SwarmConfig, swarm_plan
from reference_agent import DESIGNS
from scenarios import fault_space, get_scenario, run_seed


def test_crash_after_ms_lands_with_a_request_in_flight_and_reference_survives() -> None:
    scenario, design = get_scenario("checkout"), DESIGNS["reference"]
    base = run_seed(scenario, design, 3, plan=FaultPlan(faults=[]), keep_world=True)
    assert base.world is not None
    ops = base.world.processes["worker"].ops
    in_flight = 0
    for op in range(1, ops + 1):
        plan = FaultPlan(faults=[Crash(process="worker", at_op=op, after_ms=5)])
        result = run_seed(scenario, design, 3, plan=plan)
        assert result.ok, (op, [v.headline() for v in result.violations])
        in_flight += result.situations["crash-with-request-in-flight"]
    # Some operations are tool calls: 5 ms after they begin the request is on the wire.
    assert in_flight > 0


def test_crash_in_flight_knob_does_not_shift_other_draws() -> None:
    space = fault_space(get_scenario("checkout"), DESIGNS["reference"])
    for seed in range(50):
        with_knob = swarm_plan(seed, space)
        without = swarm_plan(seed, space, SwarmConfig(crash_in_flight_probability=0))
        assert len(with_knob.faults) == len(without.faults)
        for a, b in zip(with_knob.faults, without.faults, strict=True):
            if isinstance(a, Crash):
                assert a.model_copy(update={"after_ms": 0}) == b
            else:
                assert a == b
