"""ninelives.hypothesis.simulation_machine: a Hypothesis state machine that steps one
simulated run. Its rules act when they say; against a flawed design it shrinks to a
sequence of a few steps; the reference design passes."""

from __future__ import annotations

import pytest
from hypothesis.stateful import run_state_machine_as_test

from ninelives.hypothesis import SimulationFailure, machine_settings, simulation_machine

END = "(end: faults stop, dead processes restart)"


def search(design: str, max_examples: int) -> None:
    machine = simulation_machine(
        "checkout", design,
        settings=machine_settings(max_examples=max_examples, stateful_step_count=10,
                                  database=None, derandomize=True,
                                  report_multiple_bugs=False))
    run_state_machine_as_test(machine)


def steps_of(failure: SimulationFailure) -> list[str]:
    return [s for s in failure.steps if s != END]


def test_naive_loop_shrinks_to_a_crash_after_the_first_charge() -> None:
    with pytest.raises(SimulationFailure) as caught:
        search("naive-loop", max_examples=50)
    failure = caught.value
    assert failure.violations[0].invariant == "exactly-once-charge"
    steps = steps_of(failure)
    assert len(steps) <= 3, steps
    assert any(s.startswith(("crash(", "restart(")) for s in steps), steps


def test_timeout_as_failure_shrinks_to_a_lost_charge_response() -> None:
    with pytest.raises(SimulationFailure) as caught:
        search("timeout-as-failure", max_examples=50)
    failure = caught.value
    assert failure.violations[0].invariant == "exactly-once-charge"
    steps = steps_of(failure)
    assert len(steps) <= 3, steps
    assert "lose_next_response('payments.charge')" in steps


def test_the_reference_design_passes() -> None:
    search("reference", max_examples=30)


def test_rules_act_when_they_say() -> None:
    # Checkout's first charge lands at about 1.16 s of virtual time, so a worker killed
    # at 1.119 s has its charge request on the wire; the naive loop, restarted with its
    # memory gone, charges again. The reference design reads its log and does not.
    for design, fails in (("naive-loop", True), ("reference", False)):
        machine = simulation_machine("checkout", design, seed=0)()
        machine.start(seed=0)
        machine.advance_time(ms=1119)
        machine.safety_so_far()
        machine.crash(process="worker")
        machine.safety_so_far()
        if fails:
            with pytest.raises(SimulationFailure) as caught:
                machine.teardown()
            assert caught.value.steps == ["advance_time(1.119)", "crash('worker')", END]
            assert "broke exactly-once-charge by the end of the run" in str(caught.value)
        else:
            machine.teardown()


def test_the_invariant_is_checked_after_each_step_not_only_at_the_end() -> None:
    machine = simulation_machine("checkout", "timeout-as-failure", seed=0)()
    machine.start(seed=0)
    machine.lose_next_response(tool="payments.charge")
    machine.advance_time(ms=30_000)  # the keyless retry charges again within this step
    with pytest.raises(SimulationFailure) as caught:
        machine.safety_so_far()
    assert "broke exactly-once-charge after 2 step(s)" in str(caught.value)
    machine.teardown()  # already failed: cleans up without raising again
