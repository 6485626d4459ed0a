"""A sweep folds its runs into a ``Tally`` as they come instead of keeping them all.

What the tally says must be what the runs say: here the same seeds are run once through
``sweep`` and once kept whole (``run_jobs``), and every count of the report is computed
again, plainly, from the whole list. The failing runs kept are the first ``keep`` of each
invariant, with the rest counted, and neither that choice nor an early stop depends on
the number of workers.
"""

from __future__ import annotations

from collections import Counter

import pytest

from faults import kind_names
from ninelives.engine import _reproduce
from ninelives.engine._sweep import Job, RunOutcome, Tally, run_jobs, sweep

SCENARIO, DESIGN, SEEDS = "checkout", "fresh-uuid-keys", 240
#: small, so that several invariants overflow it within SEEDS
KEEP = 4


@pytest.fixture(scope="module")
def every_outcome() -> list[RunOutcome]:
    return run_jobs(SCENARIO, DESIGN, [Job(index=i, seed=i) for i in range(SEEDS)])


def expected_kept(outcomes: list[RunOutcome], keep: int) -> list[RunOutcome]:
    """The first ``keep`` failing runs of each invariant, in seed order."""
    seen: Counter[str] = Counter()
    kept = []
    for o in outcomes:
        broken = {v.invariant for v in o.violations}
        if broken and any(seen[name] < keep for name in broken):
            kept.append(o)
        seen.update(broken)
    return kept


@pytest.mark.parametrize("workers", [1, 2])
def test_the_tally_of_a_sweep_is_what_every_run_kept_whole_says(
        every_outcome: list[RunOutcome], workers: int) -> None:
    done = sweep(SCENARIO, DESIGN, SEEDS, workers=workers, keep=KEEP,
                 check_reproducible=False)
    outcomes = every_outcome
    failing = [o for o in outcomes if o.violations]
    assert failing, "the flawed design must fail somewhere in the sweep"
    by_invariant = Counter(name for o in failing
                           for name in {v.invariant for v in o.violations})
    assert len(by_invariant) >= 2 and max(by_invariant.values()) > KEEP  # the cap bites

    assert done.runs == SEEDS and done.failing_runs == len(failing)
    assert done.by_invariant() == dict(by_invariant)
    assert done.fault_coverage() == {k: sum(k in o.fired for o in outcomes)
                                     for k in kind_names()}
    assert done.fault_planned() == {k: sum(k in o.planned for o in outcomes)
                                    for k in kind_names()}
    assert {k: n for k, n in done.situations().items() if n} == dict(
        Counter(name for o in outcomes for name in o.reached))
    assert done.tally.events == sum(o.events for o in outcomes)
    assert done.tally.virtual_ns == sum(o.virtual_ns for o in outcomes)
    assert done.tally.faults_fired == sum(o.faults_fired for o in outcomes)
    assert done.exercised_nothing() is False

    # The failing runs kept: the first KEEP of each invariant, the rest only counted.
    kept = expected_kept(outcomes, KEEP)
    assert done.failing() == kept
    assert len(kept) < len(failing)
    for name in by_invariant:
        assert sum(name in {v.invariant for v in o.violations} for o in kept) >= min(
            KEEP, by_invariant[name])
    assert len(kept) <= KEEP * len(by_invariant)
    report = done.result()
    listed = sum(len(o.violations) for o in kept)
    assert len(report.violations) == listed
    assert report.violations_omitted == sum(len(o.violations) for o in failing) - listed > 0
    assert report.failing_runs == len(failing)
    # The run the reproducibility check makes again is the one it picks from all runs.
    assert done.tally.pick() == _reproduce.pick(outcomes)


def test_a_sweep_that_keeps_everything_lists_everything(
        every_outcome: list[RunOutcome]) -> None:
    tally = Tally.of(every_outcome)  # the default cap is far above SEEDS
    failing = [o for o in every_outcome if o.violations]
    assert tally.kept == failing and tally.violations_omitted == 0


@pytest.mark.parametrize("workers", [1, 2])
def test_stop_after_ends_at_the_same_seed_whatever_the_workers(
        every_outcome: list[RunOutcome], workers: int) -> None:
    failing = [o.index for o in every_outcome if o.violations]
    done = sweep(SCENARIO, DESIGN, SEEDS, workers=workers, stop_after=3,
                 check_reproducible=False)
    assert done.stopped_early
    assert done.runs == failing[2] + 1
    assert [o.seed for o in done.failing()] == failing[:3]


def test_on_result_needs_the_runs_made_here() -> None:
    with pytest.raises(ValueError, match="workers=1"):
        sweep(SCENARIO, DESIGN, 4, workers=2, on_result=lambda result: None)
