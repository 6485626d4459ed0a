"""A sweep in process isolation over pool workers (ninelives/engine/_sweep.py): each
worker, a fork of a harness that already has zygotes, starts its own and leaves the
parent's alone, and the outcomes are those of one worker, and of inline."""

from __future__ import annotations

import time

from ninelives.engine import sweep
from reference_agent import DESIGNS
from scenarios import SCENARIOS, run_seed
from simulator import live_children, zygote_pids


def _no_child_left(timeout_s: float = 5.0) -> bool:
    # A child exits (or dies of its SIGKILL) just after the run: poll briefly.
    deadline = time.monotonic() + timeout_s
    while live_children():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def _digest(result):  # type: ignore[no-untyped-def]
    # A sweep keeps no per-run outcomes (flat memory): its tally's sums are what a
    # different run anywhere would change.
    t = result.tally
    return (t.runs, t.failing_runs, t.events, t.virtual_ns, t.faults_fired)


def test_pool_workers_in_process_isolation_give_the_same_outcomes() -> None:
    # Zygotes in this process first: the forked workers inherit their sockets.
    run_seed(SCENARIOS["checkout"], DESIGNS["reference-2w"], 99, isolation="process")
    before = zygote_pids()
    assert before
    one = sweep("checkout", "reference-2w", 4, isolation="process", check_reproducible=False)
    two = sweep("checkout", "reference-2w", 4, workers=2, isolation="process",
                check_reproducible=False)
    inline = sweep("checkout", "reference-2w", 4, isolation="inline",
                   check_reproducible=False)
    assert _digest(one) == _digest(two) == _digest(inline)
    assert _no_child_left()
    # Our zygotes still serve us: the workers closed only their copies of the sockets.
    assert run_seed(SCENARIOS["checkout"], DESIGNS["reference-2w"], 99,
                    isolation="process").ok
    assert _no_child_left()
