"""``ninelives run --guided`` is coverage-guided (ninelives/engine/_guided.py): the same
result whatever the workers, every guided run's repro line carries its plan and replays
the very run; without it a sweep is uniform swarm sampling."""

from __future__ import annotations

import json
import shlex

import pytest

from faults import FaultPlan
from ninelives.engine import sweep
from reference_agent import DESIGNS
from scenarios import SCENARIOS, run_seed

SCENARIO, DESIGN, RUNS = "subscription-renewal", "timeout-as-failure", 110


def _key(s):  # what a sweep decided and found, run by run
    return [(o.index, o.seed, o.plan, [v.model_dump() for v in o.violations])
            for o in s.outcomes]


def test_the_guided_sweep_does_not_depend_on_the_workers() -> None:
    one = sweep(SCENARIO, DESIGN, RUNS, 3, workers=1, check_reproducible=False, guided=True)
    two = sweep(SCENARIO, DESIGN, RUNS, 3, workers=2, check_reproducible=False, guided=True)
    assert _key(one) == _key(two)
    assert [o.index for o in one.outcomes] == list(range(RUNS))
    # The first generation is seeds 3.. with their swarm plans; later ones hold guided
    # runs (a plan recorded), on the seed of the run they came from, and no feedback.
    assert all(o.plan is None and o.seed == 3 + o.index for o in one.outcomes[:50])
    guided = [o for o in one.outcomes if o.plan is not None]
    assert guided and all(o.seed < 3 + o.index for o in guided)
    assert all(o.feedback is None for o in one.outcomes)


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


def test_uniform_is_every_seed_with_its_swarm_plan() -> None:
    result = sweep(SCENARIO, DESIGN, 60, 5, workers=1, guided=False,
                   check_reproducible=False)
    assert [(o.seed, o.plan) for o in result.outcomes] == [(5 + i, None) for i in range(60)]
    for o in result.failing():
        assert o.violations[0].repro.startswith("ninelives replay ")


def test_a_dask_cluster_gives_the_same_guided_sweep() -> None:
    # Several generations on one client: the guide's plans must not depend on where
    # the runs were made either.
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        on_dask = sweep(SCENARIO, DESIGN, RUNS, 3, dask=client, check_reproducible=False,
                        guided=True)
    here = sweep(SCENARIO, DESIGN, RUNS, 3, workers=1, check_reproducible=False, guided=True)
    assert _key(on_dask) == _key(here)
    assert any(o.plan is not None for o in here.outcomes)
