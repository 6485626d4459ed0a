"""The reference waits for a chat post that may still be on the wire before it looks
for it, and it sleeps that wait from now: reckoned from the post's recorded time, a
clock that jumped forward cut it short, the search missed the delayed post, and the
incident was posted twice (found by a 20,000-seed sweep: sre-incident seed 8013)."""

from __future__ import annotations

from faults import ClockJump, Crash, Delay, FaultPlan
from reference_agent import DESIGNS
from scenarios import SCENARIOS, run_seed

# What `ninelives shrink` cut seed 8013's swarm plan down to.
PLAN = FaultPlan(faults=[
    Delay(tool="chat.post", call=1, delay_ms=11_279, leg="request"),
    Crash(process="worker", at_op=1, restart_after_ms=1000, after_ms=6),
    ClockJump(process="worker", at_op=22, jump_ms=108_701),
])


def test_a_forward_clock_jump_does_not_cut_the_wait_for_a_delayed_post_short() -> None:
    result = run_seed(SCENARIOS["sre-incident"], DESIGNS["reference"], 8013, PLAN,
                      keep_world=True)
    assert result.world is not None
    assert sorted(result.fired) == [0, 1, 2]  # the post delayed past its timeout, the jump
    assert [f"{c}.{k}" for _, c, k, _ in result.world.kernel.trace.of_kind("tool.timeout")
            ] == ["worker.tool.timeout"]
    assert result.violations == []
    chat = result.world.services["chat"]
    assert len(chat.messages) == 1  # type: ignore[attr-defined]


def test_the_sweep_that_found_it_holds() -> None:
    for seed in (7194, 8013, 15193, 19015, 19680):
        result = run_seed(SCENARIOS["sre-incident"], DESIGNS["reference"], seed)
        assert result.violations == [], seed


def test_two_workers_finish_while_one_sleeps_out_the_settle_time() -> None:
    # Slept without holding the lease, the wait was taken over midway by the other
    # worker, which started a whole wait of its own, and so on: in 9% of sre-incident
    # seeds with two workers the incident never finished (these three among them).
    for seed in (9, 31, 38):
        result = run_seed(SCENARIOS["sre-incident"], DESIGNS["reference-2w"], seed)
        assert result.violations == [], seed
