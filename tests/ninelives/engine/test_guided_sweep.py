"""``ninelives run --guided`` is coverage-guided (ninelives/engine/_guided.py): the same
result whatever the workers, every guided run's repro line carries its plan and replays
the very run; without it a sweep is uniform swarm sampling."""

from __future__ import annotations

import json
import shlex

import pytest

from faults import FaultPlan
from ninelives.engine import RunOutcome, Tally, sweep
from reference_agent import DESIGNS
from scenarios import SCENARIOS, run_seed

SCENARIO, DESIGN, RUNS = "subscription-renewal", "timeout-as-failure", 110


def _key(outcomes):  # what a sweep decided and found, run by run
    return [(o.index, o.seed, o.plan, [v.model_dump() for v in o.violations])
            for o in outcomes]


@pytest.fixture
def runs(monkeypatch: pytest.MonkeyPatch) -> list[list[RunOutcome]]:
    """Every outcome each sweep folded into its tally, one list per sweep (a sweep keeps
    only counters and failing runs: the test needs them all)."""
    seen: list[list[RunOutcome]] = []
    add = Tally.add

    def recording(self: Tally, outcome: RunOutcome) -> None:
        if self.runs == 0:
            seen.append([])
        seen[-1].append(outcome)
        add(self, outcome)

    monkeypatch.setattr(Tally, "add", recording)
    return seen


def test_the_guided_sweep_does_not_depend_on_the_workers(
        runs: list[list[RunOutcome]]) -> None:
    first = sweep(SCENARIO, DESIGN, RUNS, 3, workers=1, check_reproducible=False, guided=True)
    second = sweep(SCENARIO, DESIGN, RUNS, 3, workers=2, check_reproducible=False, guided=True)
    one, two = runs
    assert _key(one) == _key(two)
    assert first.tally == second.tally
    assert [o.index for o in one] == list(range(RUNS))
    # The first generation is seeds 3.. with their swarm plans; later ones hold guided
    # runs (a plan recorded), on the seed of the run they came from, and no feedback.
    assert all(o.plan is None and o.seed == 3 + o.index for o in one[:50])
    guided = [o for o in one if o.plan is not None]
    assert guided and all(o.seed < 3 + o.index for o in guided)
    assert all(o.feedback is None for o in one)


def test_a_guided_failure_replays_from_its_repro_line() -> None:
    result = sweep(SCENARIO, DESIGN, RUNS, 0, workers=1, check_reproducible=False, guided=True)
    failing = [o for o in result.failing() if o.plan is not None]
    assert failing
    outcome = failing[0]
    repro = outcome.violations[0].repro
    words = shlex.split(repro)
    assert words[:2] == ["printf", "%s\\n"]
    assert f"--seed {outcome.seed} --plan plan.json" in repro
    plan = FaultPlan.model_validate(json.loads(words[2]))
    assert plan == outcome.plan
    again = run_seed(SCENARIOS[SCENARIO], DESIGNS[DESIGN], outcome.seed, plan)
    assert [v.invariant for v in again.violations] == [
        v.invariant for v in outcome.violations]


def test_uniform_is_every_seed_with_its_swarm_plan(runs: list[list[RunOutcome]]) -> None:
    result = sweep(SCENARIO, DESIGN, 60, 5, workers=1, check_reproducible=False)
    [outcomes] = runs
    assert [(o.seed, o.plan) for o in outcomes] == [(5 + i, None) for i in range(60)]
    for o in result.failing():
        assert o.violations[0].repro.startswith("ninelives replay ")


def test_a_dask_cluster_gives_the_same_guided_sweep(runs: list[list[RunOutcome]]) -> None:
    # Several generations on one client: the guide's plans must not depend on where
    # the runs were made either.
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        on_dask = sweep(SCENARIO, DESIGN, RUNS, 3, dask=client, check_reproducible=False,
                        guided=True)
    here = sweep(SCENARIO, DESIGN, RUNS, 3, workers=1, check_reproducible=False, guided=True)
    assert _key(runs[0]) == _key(runs[1])
    assert on_dask.tally == here.tally
    assert any(o.plan is not None for o in runs[1])
