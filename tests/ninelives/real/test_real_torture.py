"""Real mode: SIGKILLed worker processes leave no duplicate effect and no lost workflow.

Short torture runs (a few kills, answers dropped and delayed past the client's timeout)
on both real-mode scenarios; the checks read the services' SQLite ledger. Every process
a run starts must be stopped by the run itself, also when the test fails.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ninelives.real._torture import Torture, TortureConfig

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def torture_runs() -> Iterator[list[Torture]]:
    """Torture runs made by the test; after it, none of their processes may be alive."""
    runs: list[Torture] = []
    try:
        yield runs
    finally:
        left = [p for run in runs for p in run.processes if p.poll() is None]
        for proc in left:  # clean up before failing, so nothing outlives the test
            proc.kill()
            proc.wait()
        assert not left, f"{len(left)} process(es) were still running after the run"


@pytest.mark.parametrize("scenario, kills, seed", [("checkout", 4, 5), ("sre-incident", 3, 2)])
def test_kills_leave_no_duplicate_and_no_lost_workflow(
        torture_runs: list[Torture], tmp_path: Path, scenario: str, kills: int,
        seed: int) -> None:
    run = Torture(TortureConfig(scenario=scenario, kills=kills, seed=seed, time_scale=20.0,
                                drop_response=0.15, late_response=0.1, timeout_s=120.0,
                                workdir=str(tmp_path), quiet=True))
    torture_runs.append(run)
    result = run.run()
    assert result.kills >= 1, "no worker was killed: the run tested nothing"
    assert result.timed_out is False
    assert result.worker_errors == []
    assert result.duplicate_effects == 0, result.duplicates
    assert result.lost_workflows == 0, result.lost
    assert result.mismatched_final_states == 0, result.mismatches
    assert result.safety_violations == []
    assert result.completed == result.workflows
    assert result.ok
    assert all(p.poll() is not None for p in run.processes)
    path = tmp_path / "result.json"
    result.write_json(path)
    data = json.loads(path.read_text())
    assert {"scenario", "kills", "workflows", "completed", "duplicate_effects",
            "lost_workflows", "mismatched_final_states"} <= set(data)
    assert data["kills"] == len(data["kill_log"]) == result.kills


def test_kills_beyond_one_seeds_work_go_on_over_the_next_seeds(
        torture_runs: list[Torture], tmp_path: Path) -> None:
    # One kill per round: the kills asked for are delivered over two rounds or more
    # (seeds 2, 3, ...), each round checked against its own ledger and simulation.
    run = Torture(TortureConfig(scenario="sre-incident", kills=2, seed=2, time_scale=20.0,
                                timeout_s=120.0, workdir=str(tmp_path), quiet=True,
                                kills_per_round=1))
    torture_runs.append(run)
    result = run.run()
    assert result.kills == 2 == len(result.kill_log)
    seeds = [r["seed"] for r in result.rounds]
    assert len(seeds) >= 2 and seeds == list(range(2, 2 + len(seeds)))
    assert all(r["kills"] <= 1 for r in result.rounds)
    assert {k.seed for k in result.kill_log} <= set(seeds)
    assert result.workflows == sum(r["workflows"] for r in result.rounds) >= 2
    assert result.completed == result.workflows
    assert result.lost_workflows == result.duplicate_effects == 0
    assert result.mismatched_final_states == 0 and result.safety_violations == []
    assert result.ok, result.to_json()
    for n in range(1, len(seeds) + 1):  # each round kept its own ledger
        assert (tmp_path / f"round-{n}" / "services-ledger.sqlite").exists()


def test_subscription_renewal_is_refused_with_a_reason() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "ninelives.real", "torture", "--scenario",
         "subscription-renewal", "--kills", "1"],
        capture_output=True, text=True, cwd=REPO, timeout=60,
        env={**os.environ, "PYTHONPATH": str(REPO)})
    assert proc.returncode == 2
    assert "30 days" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(("design", "needle"), [
    ("no_such_module_xyz:design", "failed to import"),
    ("no-such-design", "unknown design"),
])
def test_a_bad_design_is_refused_before_any_process_starts(design: str, needle: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "ninelives.real", "torture", "--scenario", "checkout",
         "--kills", "1", "--design", design],
        capture_output=True, text=True, cwd=REPO, timeout=60,
        env={**os.environ, "PYTHONPATH": str(REPO)})
    assert proc.returncode == 2
    [line] = proc.stderr.strip().splitlines()
    assert needle in line
    assert proc.stdout == ""  # no torture table: nothing was started
