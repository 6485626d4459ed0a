"""Parallel sweeps: results do not depend on the number of worker processes or on how
the seeds are cut into batches; each worker loads the harness once; Ctrl-C stops them."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

import pytest

from ninelives.cli import build_parser, default_workers, main
from ninelives.engine._explore import explore
from ninelives.engine._sweep import Job, PoolStats, _stop_workers, run_jobs


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
    assert one.sweep.tally == two.sweep.tally  # every counter and every failing run kept
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


@pytest.mark.parametrize("workers", ["1", "2"])
def test_ctrl_c_twice_ends_with_one_line_and_no_worker_left(workers: str,
                                                            tmp_path: Path) -> None:
    # Impatient users press Ctrl-C twice; the second press must not land in the
    # cleanup as a traceback, or leave a worker process running.
    out_path, err_path = tmp_path / "out", tmp_path / "err"
    # Files, not pipes: a pipe's end inherited by a worker would hold up reading it.
    with out_path.open("w") as out, err_path.open("w") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "ninelives.cli", "run", "--scenario", "checkout",
             "--seeds", "100000", "--workers", workers, "--no-progress"],
            stdout=out, stderr=err,
            start_new_session=True)  # its own process group: the signals reach it alone
    try:
        deadline = time.monotonic() + 60
        while "ninelives run:" not in out_path.read_text() and time.monotonic() < deadline:
            time.sleep(0.05)  # the header: the sweep has begun
        time.sleep(1.0)
        os.kill(proc.pid, signal.SIGINT)
        time.sleep(0.01)
        os.kill(proc.pid, signal.SIGINT)
        returncode = proc.wait(timeout=60)
        deadline = time.monotonic() + 10  # killed workers may take a moment to go
        while (left := _group(proc.pid)) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    stderr = err_path.read_text()
    assert returncode == 130, stderr
    assert stderr.strip() == "ninelives: error: interrupted"
    assert left == []  # no process of its group outlived it


def _group(pgid: int) -> list[str]:
    """The processes still in process group ``pgid``."""
    return subprocess.run(["pgrep", "-g", str(pgid)], capture_output=True,
                          text=True).stdout.split()


def test_worker_processes_are_renewed_and_outcomes_do_not_change(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # A process keeps the dead tasks of every simulated crash it ran (so that no
    # ``finally`` of theirs ever runs): the pool is renewed every BATCHES_PER_PROCESS
    # batches so that a long sweep's workers stay small (docs/scale.md).
    from ninelives.engine import _sweep

    monkeypatch.setattr(_sweep, "BATCHES_PER_PROCESS", 2)
    jobs = [Job(index=i, seed=i) for i in range(12)]
    here = run_jobs("checkout", "fresh-uuid-keys", jobs, workers=1)
    stats = PoolStats()
    there = run_jobs("checkout", "fresh-uuid-keys", jobs, workers=2, batch_size=1,
                     stats=stats)
    assert outcomes_key(there) == outcomes_key(here)
    assert len(stats.batches_by_pid) >= 3  # 12 batches, at most 4 per pool of two
    assert max(stats.batches_by_pid.values()) <= 4
    assert stats.served_by_pid == stats.batches_by_pid  # each loaded the harness once


def test_a_long_one_worker_sweep_runs_in_a_renewed_child(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from ninelives.engine import _sweep

    monkeypatch.setattr(_sweep, "SEEDS_HERE", 4)
    monkeypatch.setattr(_sweep, "BATCHES_PER_PROCESS", 1)
    jobs = [Job(index=i, seed=i) for i in range(6)]
    stats = PoolStats()
    there = run_jobs("checkout", "fresh-uuid-keys", jobs, workers=1, batch_size=2,
                     stats=stats)
    assert os.getpid() not in stats.batches_by_pid and len(stats.batches_by_pid) == 3
    monkeypatch.setattr(_sweep, "SEEDS_HERE", 6)
    assert outcomes_key(there) == outcomes_key(run_jobs("checkout", "fresh-uuid-keys", jobs))


def test_the_dask_child_is_renewed_too(monkeypatch: pytest.MonkeyPatch) -> None:
    # The child beside each Dask worker runs its batches as a pool process does, so it
    # is renewed after as many (ninelives/engine/_dask.py, _Child.run).
    from ninelives.engine import _dask

    monkeypatch.setattr(_dask, "BATCHES_PER_PROCESS", 2)
    child = _dask._Child()
    replies = [child.run(("checkout", "reference", "t", [Job(index=i, seed=i)]))
               for i in range(3)]
    pids = [reply.pid for reply in replies]
    assert pids[0] == pids[1] != pids[2] and os.getpid() not in pids
    assert [reply.served for reply in replies] == [1, 2, 1]
    assert child._proc is not None
    child._proc.stdin.close()  # end of input: the child returns
    assert child._proc.wait(timeout=30) == 0
    child._proc.stdout.close()
