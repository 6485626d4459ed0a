"""The ratio and rare-bug figures of ``make bench`` (ninelives/bench/_ratios.py): the
bare run they divide by does the same work as the simulated run, and each figure is
registered with its target. No timing is asserted here: speed lives in the bench."""

from __future__ import annotations

import pytest

from faults import FaultPlan
from ninelives.bench import FIGURES
from ninelives.bench._bare import run_bare
from ninelives.bench._ratios import rare_detect
from reference_agent import DESIGNS
from scenarios import SCENARIOS, run_seed


@pytest.mark.parametrize("scenario", ["checkout", "sre-incident"])
def test_a_bare_run_reaches_the_outcomes_of_the_simulated_run(scenario: str) -> None:
    for seed in range(3):
        simulated = run_seed(SCENARIOS[scenario], DESIGNS["reference"], seed,
                             FaultPlan(faults=[]), keep_world=True)
        assert simulated.world is not None
        expected = dict(simulated.world.workflows.outcomes)  # dispose() clears it
        simulated.world.dispose()
        assert run_bare(SCENARIOS[scenario], DESIGNS["reference"], seed) == expected


def test_a_bare_run_drives_one_worker_only() -> None:
    with pytest.raises(ValueError, match="one worker"):
        run_bare(SCENARIOS["checkout"], DESIGNS["reference-2w"], 0)


def test_the_figures_are_registered_with_their_targets() -> None:
    figures = {f.name: f for f in FIGURES}
    assert figures["overhead_ratio_checkout"].ok(2.5)
    assert not figures["overhead_ratio_checkout"].ok(2.6)
    assert figures["sim_vs_real_speedup_checkout"].ok(1_000)
    assert not figures["sim_vs_real_speedup_checkout"].ok(999)
    assert figures["runs_per_s_checkout"].ok(300)
    assert not figures["runs_per_s_checkout"].ok(299)
    assert figures["sweep_speedup_dask_2_workers"].ok(1.8)
    assert figures["detect_seeds_rare_guided"].ok(400)
    assert not figures["detect_seeds_rare_guided"].ok(401)
    assert figures["detect_seconds_rare_guided"].ok(3.0)
    assert figures["detect_seeds_rare_uniform"].target is None
    assert "detect_seconds_rare_uniform" in figures


def test_rare_detection_counts_runs_up_to_the_first_violation() -> None:
    # From base 7150 uniform sampling meets the bug at seed 7194 (the 45th run).
    found = rare_detect("uniform", 7150)
    assert found["seeds"] == 45 and "missed" not in found
