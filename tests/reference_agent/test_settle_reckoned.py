"""``reference-settle-reckoned`` keeps the reference's chat-settle bug from before commits
8177106 and 6b9293a: the wait is reckoned from the post's recorded time, so a forward
clock jump cuts it short and a delayed post lands after the search. It is the rare bug
``make bench``'s ``detect_*_rare`` figures measure the default sweep against."""

from __future__ import annotations

from faults import ClockJump, Delay, FaultPlan
from reference_agent import DESIGNS, FLAWED, RARE_FLAWED
from scenarios import SCENARIOS, run_seed

#: the five seeds of the 20,000-seed sweep that found the bug (architecture.md)
FOUND_BY_THE_SWEEP = (7194, 8013, 15193, 19015, 19680)


def test_it_is_registered_as_a_rare_flaw_apart_from_the_quick_ones() -> None:
    assert RARE_FLAWED == ("reference-settle-reckoned",)
    assert "reference-settle-reckoned" in DESIGNS
    assert "reference-settle-reckoned" not in FLAWED


def test_the_seeds_that_found_it_post_twice_and_the_reference_does_not() -> None:
    scenario = SCENARIOS["sre-incident"]
    for seed in FOUND_BY_THE_SWEEP:
        flawed = run_seed(scenario, DESIGNS["reference-settle-reckoned"], seed)
        assert [v.invariant for v in flawed.violations] == ["at-most-once-chat"], seed
        assert run_seed(scenario, DESIGNS["reference"], seed).ok, seed


def test_a_delay_and_a_forward_jump_inside_its_window_are_enough() -> None:
    # No crash needed: the jump lands right after the post timed out (op 17 here).
    plan = FaultPlan(faults=[Delay(tool="chat.post", call=1, delay_ms=19_132, leg="request"),
                             ClockJump(process="worker", at_op=16, jump_ms=150_470)])
    scenario = SCENARIOS["sre-incident"]
    flawed = run_seed(scenario, DESIGNS["reference-settle-reckoned"], 38, plan)
    assert [v.invariant for v in flawed.violations] == ["at-most-once-chat"]
    assert run_seed(scenario, DESIGNS["reference"], 38, plan).ok
    # Without the jump the wait is long enough, and the flawed design posts once.
    alone = FaultPlan(faults=plan.faults[:1])
    assert run_seed(scenario, DESIGNS["reference-settle-reckoned"], 38, alone).ok


def test_most_seeds_do_not_show_it() -> None:
    scenario = SCENARIOS["sre-incident"]
    assert all(run_seed(scenario, DESIGNS["reference-settle-reckoned"], s).ok
               for s in range(7150, 7194))
