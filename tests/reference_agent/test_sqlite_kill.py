"""SIGKILL a process in the middle of writing to a SqliteStore: nothing torn survives.

This is the real-mode counterpart of the simulator's crash semantics (what was committed
survives, nothing else does). A child process commits transaction after transaction,
each writing keys ``<i>-a`` and ``<i>-b`` together (values of seeded, varying size, some
spanning several pages), and is killed at a seeded random moment. Reopened, the file must
be sound, every row complete JSON, and the rows exactly transactions ``0..n-1``, each
whole: a prefix of what the child meant to write.
"""

from __future__ import annotations

import json
import os
import random
import select
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import trio

from reference_agent._sqlite_store import SqliteStore
from simulator import canonical_json

REPO = Path(__file__).resolve().parents[2]

# The writer: commits forever; prints "started" once its first transaction is durable.
WRITER = """
import random, sys
import trio
from reference_agent._sqlite_store import SqliteStore

async def main(path, seed):
    rng = random.Random(seed)
    store = SqliteStore(path)
    i = 0
    while True:
        size = rng.choice([10, 100, 1000, 20000])
        async with store.transaction() as tx:
            for part in ("a", "b"):
                tx.put("log", f"{i:08d}-{part}", {"i": i, "part": part, "pad": "x" * size})
            tx.put("meta", "last", i)
        if i == 0:
            print("started", flush=True)
        i += 1

trio.run(main, sys.argv[1], int(sys.argv[2]))
"""


def _wait_for_line(proc: subprocess.Popen[str], timeout_s: float) -> str:
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], timeout_s)
    if not ready:
        raise AssertionError(f"the writer printed nothing within {timeout_s} s")
    return proc.stdout.readline().strip()


@pytest.mark.parametrize("seed", range(6))
def test_sigkill_mid_write_leaves_a_whole_prefix(tmp_path: Path, seed: int) -> None:
    path = tmp_path / "log.db"
    delay_s = random.Random(seed).uniform(0.02, 0.3)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)}
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path), str(seed)],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = _wait_for_line(proc, timeout_s=60)
        if line != "started":
            proc.kill()
            _, err = proc.communicate(timeout=10)
            raise AssertionError(f"writer failed to start: {line!r}\n{err}")
        try:
            proc.wait(timeout=delay_s)
        except subprocess.TimeoutExpired:
            pass
        assert proc.poll() is None, f"the writer exited early: {proc.communicate()[1]}"
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=10) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()

    with SqliteStore(path) as store:  # opening recovers the WAL
        assert store.integrity_check() == ["ok"]
        dump = store.dump()
        # Still usable for writing after the crash.
        async def append() -> None:
            async with store.transaction() as tx:
                tx.put("meta", "reopened", True)
        trio.run(append)

    raw = sqlite3.connect(path)
    try:
        rows = raw.execute('SELECT key, version, value FROM "t_log" ORDER BY key').fetchall()
    finally:
        raw.close()
    assert rows, "the first transaction was reported durable but is missing"
    for key, version, text in rows:
        value = json.loads(text)  # complete JSON, never a torn row
        assert canonical_json(value) == text
        assert version == 1
        assert key == f"{value['i']:08d}-{value['part']}"
    n = len(rows) // 2
    expected = [f"{i:08d}-{part}" for i in range(n) for part in ("a", "b")]
    assert [key for key, _, _ in rows] == expected  # whole transactions, a prefix
    assert dump["meta"]["last"] == n - 1  # written in the same transactions
