"""The same seed gives the same trace hash in another Python process under another
``PYTHONHASHSEED``; another seed gives another hash (``docs/facts/pitfalls.md``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import determinism_workload  # tests/simulator is on sys.path (pytest's rootdir import)

WORKLOAD = Path(determinism_workload.__file__).resolve()
REPO_ROOT = WORKLOAD.parents[2]


def run_in_subprocess(seed: int, hash_seed: str) -> dict[str, Any]:
    env = dict(os.environ)
    env["PYTHONHASHSEED"] = hash_seed
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(REPO_ROOT), env.get("PYTHONPATH", "")) if p
    )
    proc = subprocess.run(
        [sys.executable, str(WORKLOAD), str(seed)],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


def test_same_seed_same_hash_across_processes_and_hash_seeds() -> None:
    a = run_in_subprocess(7, "0")
    b = run_in_subprocess(7, "1")
    other = run_in_subprocess(8, "0")
    assert a["seed"] == b["seed"] == 7
    assert a["hash"] == b["hash"]
    assert a["events"] == b["events"] and a["events_run"] == b["events_run"]
    assert other["hash"] != a["hash"]
    # And this (pytest) process, whatever its own hash seed, agrees with both.
    assert determinism_workload.run(7) == a


def test_different_seeds_explore_different_interleavings() -> None:
    hashes = {determinism_workload.run(seed)["hash"] for seed in range(8)}
    assert len(hashes) == 8


def test_the_workload_exercises_ties_crashes_and_fencing() -> None:
    k = determinism_workload.build(3)
    k.run()
    raw = k.trace.raw()
    kinds = {(component, kind) for (_, component, kind, _) in raw}
    for expected in [
        ("worker", "crash"),
        ("sidecar", "crash"),
        ("worker", "fenced"),
        ("sidecar", "fenced"),
        ("workload", "timeout"),
        ("workload", "consume"),
    ]:
        assert expected in kinds
    starts = [c for (_, c, kind, _) in raw if kind == "process.start"]
    assert starts.count("worker") == 2 and starts.count("sidecar") == 2
    # Many events share an instant: the order among them is the scheduler's choice.
    times = [t for (t, _, kind, _) in raw if kind == "tick"]
    assert len(times) - len(set(times)) >= 150
    # The dead sidecar never received the late mailbox value.
    assert ("sidecar", "got") not in kinds
