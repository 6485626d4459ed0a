"""Parallel sweeps: results do not depend on the number of worker processes or on how
the seeds are cut into batches; each worker loads the harness once; Ctrl-C stops them."""

from __future__ import annotations

import json
import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

import pytest

from ninelives._explore import explore
from ninelives._sweep import Job, PoolStats, _stop_workers, run_jobs
from ninelives.cli import build_parser, default_workers, main


@pytest.fixture(autouse=True)
def _pipe_width(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)


def run_json(capsys: pytest.CaptureFixture[str], path: Path, *argv: str) -> dict[str, Any]:
    rc = main(["run", *argv, "--json", str(path)])
    capsys.readouterr()
    assert rc == 1  # every sweep here includes a flawed design that fails
    doc = json.loads(path.read_text())
    for result in doc["results"]:
        assert result["runs_per_s"] > 0
        del result["runs_per_s"]  # the one figure allowed to differ
    return doc


def test_one_and_two_workers_give_the_same_json(capsys: pytest.CaptureFixture[str],
                                                tmp_path: Path) -> None:
    argv = ("--design", "fresh-uuid-keys", "--design", "naive-loop", "--seeds", "10")
    one = run_json(capsys, tmp_path / "w1.json", *argv, "--workers", "1")
    two = run_json(capsys, tmp_path / "w2.json", *argv, "--workers", "2")
    assert one == two
    # Every scenario x design was swept, and failures were found to compare.
    assert len(one["results"]) == 6
    assert sum(r["failing_runs"] for r in one["results"]) > 0
    for result in one["results"]:
        seeds = [v["seed"] for v in result["violations"]]
        assert seeds == sorted(seeds)


def outcomes_key(outcomes: list[Any]) -> list[tuple[Any, ...]]:
    return [(o.index, o.seed, o.plan_size, [v.model_dump() for v in o.violations], o.fired,
             o.planned, o.reached) for o in outcomes]


def test_batching_does_not_change_outcomes() -> None:
    jobs = [Job(index=i, seed=100 + i) for i in range(12)]
    here = run_jobs("subscription-renewal", "fresh-uuid-keys", jobs, workers=1)
    assert any(o.violations for o in here)
    for size in (1, 5, 12):
        stats = PoolStats()
        there = run_jobs("subscription-renewal", "fresh-uuid-keys", jobs, workers=2,
                         batch_size=size, stats=stats)
        assert outcomes_key(there) == outcomes_key(here), f"batch size {size}"
        assert stats.batches == -(-12 // size)


def test_each_worker_loads_the_harness_once() -> None:
    stats = PoolStats()
    jobs = [Job(index=i, seed=i) for i in range(16)]
    run_jobs("checkout", "reference", jobs, workers=2, batch_size=1, stats=stats)
    assert stats.batches == 16
    assert sum(stats.batches_by_pid.values()) == 16
    assert 1 <= len(stats.batches_by_pid) <= 2
    assert os.getpid() not in stats.batches_by_pid
    # The pool initializer loaded the scenario and design; later batches reused them.
    assert stats.served_by_pid == stats.batches_by_pid
    assert max(stats.batches_by_pid.values()) > 1


def test_explore_with_workers_matches_one_worker() -> None:
    one = explore("checkout", "fresh-uuid-keys", 0, 1, workers=1)
    two = explore("checkout", "fresh-uuid-keys", 0, 1, workers=2)
    assert one.points == two.points > 0
    assert outcomes_key(one.sweep.outcomes) == outcomes_key(two.sweep.outcomes)
    assert one.sweep.failing()


def test_workers_default_to_the_cores() -> None:
    parser = build_parser()
    assert parser.parse_args(["run"]).workers == default_workers()
    assert parser.parse_args(["explore", "--scenario", "checkout"]).workers == default_workers()
    if hasattr(os, "sched_getaffinity"):
        assert default_workers() == len(os.sched_getaffinity(0))


def test_workers_and_dask_are_exclusive(capsys: pytest.CaptureFixture[str]) -> None:
    workers = str(default_workers() + 1)  # argparse ignores a value equal to the default
    rc = main(["run", "--workers", workers, "--dask", "tcp://127.0.0.1:8786", "--seeds", "1"])
    err = capsys.readouterr().err
    assert rc == 2
    assert "not allowed with" in err and len(err.strip().splitlines()) == 1


def test_interrupt_stops_the_workers() -> None:
    def interrupted(n: int) -> None:
        raise KeyboardInterrupt

    jobs = [Job(index=i, seed=i) for i in range(200)]
    with pytest.raises(KeyboardInterrupt):
        run_jobs("checkout", "reference", jobs, workers=2, batch_size=1, progress=interrupted)
    deadline = time.monotonic() + 30
    while multiprocessing.active_children() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert multiprocessing.active_children() == []


def test_stopping_kills_running_batches() -> None:
    # Queued batches are cancelled and running ones killed, not waited for: a sleep of
    # 10 minutes ends at once, its future broken.
    pool = ProcessPoolExecutor(max_workers=2)
    futures = [pool.submit(time.sleep, 600) for _ in range(3)]
    deadline = time.monotonic() + 30
    while sum(f.running() for f in futures) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    _stop_workers(pool)
    done, not_done = wait(futures, timeout=60)
    assert not not_done
    for future in done:
        assert future.cancelled() or isinstance(future.exception(), BrokenProcessPool)
