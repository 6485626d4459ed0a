"""``ninelives run --dask``: a sweep on a local Dask cluster gives the same results as a
local sweep; a missing dask, a malformed address and an unreachable scheduler are
one-line errors (exit 2)."""

from __future__ import annotations

import json
import socket
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ninelives.cli import main
from ninelives.engine import _dask
from ninelives.engine._sweep import Job, PoolStats, run_jobs

distributed = pytest.importorskip("distributed")


@pytest.fixture(autouse=True)
def _pipe_width(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)


@pytest.fixture(scope="module")
def scheduler() -> Iterator[str]:
    cluster = distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                                       dashboard_address=":0")
    try:
        yield cluster.scheduler_address
    finally:
        cluster.close()


def run_json(capsys: pytest.CaptureFixture[str], path: Path, *argv: str) -> tuple[int, Any]:
    rc = main(["run", *argv, "--json", str(path)])
    out = capsys.readouterr().out
    doc = json.loads(path.read_text())
    for result in doc["results"]:
        del result["runs_per_s"]
    return rc, (doc, out)


def test_dask_sweep_equals_local_sweep(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                       scheduler: str) -> None:
    argv = ("--scenario", "checkout", "--scenario", "subscription-renewal",
            "--design", "fresh-uuid-keys", "--seeds", "12")
    rc_local, (local, _) = run_json(capsys, tmp_path / "local.json", *argv, "--workers", "1")
    rc_dask, (remote, out) = run_json(capsys, tmp_path / "dask.json", *argv,
                                      "--dask", scheduler)
    assert rc_local == rc_dask == 1
    assert f"on Dask {scheduler}" in out
    assert remote == local
    assert sum(r["failing_runs"] for r in local["results"]) > 0


def test_batches_run_in_one_loaded_child_per_worker(scheduler: str) -> None:
    jobs = [Job(index=i, seed=i) for i in range(8)]
    stats = PoolStats()
    here = run_jobs("checkout", "naive-loop", jobs)
    there = run_jobs("checkout", "naive-loop", jobs, dask=scheduler, batch_size=1, stats=stats)
    assert [(o.seed, o.violations, o.fired, o.reached) for o in there] == [
        (o.seed, o.violations, o.fired, o.reached) for o in here]
    assert stats.batches == 8 == sum(stats.batches_by_pid.values())
    assert 1 <= len(stats.batches_by_pid) <= 2
    # Each child loaded the sweep's scenario and design once, for all its batches.
    assert stats.served_by_pid == stats.batches_by_pid


def one_line_error(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    rc = main(["run", "--scenario", "checkout", "--seeds", "2", *argv])
    captured = capsys.readouterr()
    assert rc == 2
    assert "Sweep" not in captured.out  # nothing ran
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("ninelives: error: ")
    return lines[0]


def test_unreachable_scheduler(capsys: pytest.CaptureFixture[str],
                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_dask, "CONNECT_TIMEOUT_S", 0.5)
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    line = one_line_error(capsys, "--dask", f"tcp://127.0.0.1:{port}")
    assert "cannot reach the Dask scheduler" in line


def test_malformed_address(capsys: pytest.CaptureFixture[str]) -> None:
    assert "not a scheduler address" in one_line_error(capsys, "--dask", "localhost")


def test_without_dask_installed(capsys: pytest.CaptureFixture[str],
                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed fails
    line = one_line_error(capsys, "--dask", "tcp://127.0.0.1:8786")
    assert "pip install 'ninelives[dask]'" in line
