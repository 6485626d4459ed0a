"""ninelives.hypothesis strategies: plans that fit the scenario and design, a planted bug
found and shrunk to the fault that causes it, and check_run's failure report."""

from __future__ import annotations

import json

import pytest
from hypothesis import find, given, settings

from faults import Crash, FaultPlan, Pause
from ninelives.hypothesis import SimulationFailure, check_run, fault_plans, seeds
from reference_agent import load_design
from scenarios import SCENARIOS, run_seed

CHECKOUT_TOOLS = set(SCENARIOS["checkout"].tools)


@settings(max_examples=50, deadline=None, database=None)
@given(plan=fault_plans("checkout", "reference-2w", max_faults=3))
def test_plans_address_the_designs_processes_and_the_scenarios_tools(plan: FaultPlan) -> None:
    assert len(plan.faults) <= 3
    for fault in plan.faults:
        if isinstance(fault, Crash | Pause):
            assert fault.process in {"worker-1", "worker-2"}
        tool = getattr(fault, "tool", None)
        assert tool is None or tool in CHECKOUT_TOOLS


@settings(max_examples=15, deadline=None, database=None, derandomize=True)
@given(plan=fault_plans("checkout"), seed=seeds())
def test_the_reference_design_survives_drawn_plans(plan: FaultPlan, seed: int) -> None:
    assert check_run("checkout", "reference", seed, plan).ok


def test_find_shrinks_a_planted_bug_to_the_fault_that_matters() -> None:
    scenario, design = SCENARIOS["checkout"], load_design("fresh-uuid-keys")

    def charges_twice(plan: FaultPlan) -> bool:
        result = run_seed(scenario, design, 0, plan=plan)
        return any(v.invariant == "exactly-once-charge" for v in result.violations)

    minimal = find(fault_plans("checkout", "fresh-uuid-keys", max_faults=3), charges_twice,
                   settings=settings(max_examples=200, deadline=None, database=None,
                                     derandomize=True))
    # One fault is enough: a retry after it carries a fresh key, and charges again.
    assert len(minimal.faults) == 1
    assert charges_twice(minimal)
    assert not charges_twice(FaultPlan(faults=[]))


def test_seeds_are_32_bit_and_shrink_towards_zero() -> None:
    assert find(seeds(), lambda s: s >= 1000, settings=settings(database=None)) == 1000


def test_check_run_reports_the_invariant_the_plan_and_the_replay_line() -> None:
    failing = next(s for s in range(20)
                   if not run_seed(SCENARIOS["checkout"], load_design("fresh-uuid-keys"), s).ok)
    with pytest.raises(SimulationFailure) as caught:
        check_run("checkout", "fresh-uuid-keys", failing)
    error = caught.value
    text = str(error)
    assert error.seed == failing and error.violations
    assert f"broke {error.violations[0].invariant} at seed {failing}" in text
    plan_json = text.split("  plan: ", 1)[1].split("\n", 1)[0]
    assert FaultPlan.model_validate(json.loads(plan_json)).faults  # the swarm plan, whole
    assert (f"ninelives replay --scenario checkout --design fresh-uuid-keys --seed {failing} "
            "--plan plan.json") in text


def test_check_run_gives_a_process_local_design_real_process_deaths() -> None:
    """As on the command line, a design whose state may live in its process runs in
    process isolation unless told otherwise. ``hash-keys`` builds its idempotency keys
    from ``hash()``: inline, a restart keeps the hash seed and the seed passes; with
    real process deaths the restarted worker sends another key and charges twice."""
    assert check_run("checkout", "hash-keys", 0, isolation="inline").ok
    with pytest.raises(SimulationFailure) as by_default:
        check_run("checkout", "hash-keys", 0)
    assert "exactly-once-charge" in {v.invariant for v in by_default.value.violations}
    assert "--isolation" not in str(by_default.value)  # process: the design's default
