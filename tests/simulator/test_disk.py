"""Durable files (simulator/_disk.py): each machine's ``env.data_dir`` keeps its files
across crashes within a run; SQLite there keeps what was committed and loses what was
not, inline (the dead incarnation's connections closed without a commit) and under
process isolation (a real SIGKILL); nothing is left on disk; aiosqlite runs without its
thread. The designs live in ``disk_designs.py``: a zygote imports them."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path
from typing import Any

import disk_designs as designs  # tests/simulator is on sys.path (rootdir import)
import pytest

from faults import Crash, FaultPlan, PlanHooks
from scenarios import SCENARIOS, run_seed
from simulator import VIRTUAL_EPOCH_S, RunAborted, World
from simulator._disk import ROOT_PREFIX, _remove_stale_roots, harness_root

REPO = Path(__file__).resolve().parents[2]
CRASH_AT_SLEEP = FaultPlan(faults=[Crash(process="worker", at_op=2)])


def run_world(main: Any, isolation: str, plan: FaultPlan | None = CRASH_AT_SLEEP,
              processes: tuple[str, ...] = ("worker",), seed: int = 1) -> World:
    world = World(seed, hooks=PlanHooks(plan) if plan else None, isolation=isolation)
    for name in processes:
        world.add_process(name, main)
    world.run(5.0, 30.0)
    return world


def leftovers() -> list[str]:
    """The run directories still on disk under this process's root."""
    return sorted(p.name for p in harness_root().iterdir())


# --- what a crash keeps -----------------------------------------------------------------
@pytest.mark.timeout(60)
@pytest.mark.parametrize("isolation", ["inline", "process"])
@pytest.mark.parametrize("main", [designs.commit_then_crash, designs.commit_then_crash_wal],
                         ids=["rollback-journal", "wal"])
def test_committed_row_survives_a_crash_and_uncommitted_is_lost(main: Any,
                                                                isolation: str) -> None:
    world = run_world(main, isolation)
    seen = world.store.dump()["seen"]
    assert world.processes["worker"].crashes == 1
    assert seen["inc1"] == []
    # The restarted worker saw the committed row and not the open transaction's, and
    # could write (a lock kept by the dead connection fails that: "database is locked").
    assert seen["inc2"] == ["committed", "started-1"]
    assert world.processes["worker"].failures == []


@pytest.mark.timeout(60)
@pytest.mark.parametrize("isolation", ["inline", "process"])
def test_aiosqlite_keeps_what_was_committed(isolation: str) -> None:
    # Process isolation runs asyncio designs (the child's loop is SimLoop, branch iso),
    # so aiosqlite, without its thread, keeps what was committed there too.
    world = run_world(designs.aio_commit_then_crash, isolation)
    assert world.store.dump()["seen"]["inc2"] == ["committed", "started-1"]
    assert world.processes["worker"].failures == []


# --- one directory per machine and per run ------------------------------------------------
@pytest.mark.timeout(60)
@pytest.mark.parametrize("isolation", ["inline", "process"])
def test_each_machine_has_its_own_data_dir_that_outlives_its_crashes(isolation: str) -> None:
    plan = FaultPlan(faults=[Crash(process="worker-1", at_op=1)])
    world = run_world(designs.names_its_dir, isolation, plan, ("worker-1", "worker-2"))
    dirs = world.store.dump()["dirs"]
    assert dirs == {
        # worker-1 was killed as it committed: its second life found its first's file
        "worker-1/2": {"before": ["me"], "me": "worker-1"},
        "worker-2/1": {"before": [], "me": "worker-2"},
    }


def test_two_worlds_of_one_seed_never_share_a_directory() -> None:
    # A faulted run and its fault-free baseline are two worlds of one seed.
    a, b = World(3), World(3)
    try:
        assert a.disk.path("worker") != b.disk.path("worker")
        assert a.disk.path("worker").parent != b.disk.path("worker").parent
    finally:
        a.disk.remove()
        b.disk.remove()


# --- nothing left behind ------------------------------------------------------------------
@pytest.mark.timeout(60)
@pytest.mark.parametrize("isolation", ["inline", "process"])
def test_nothing_is_left_on_disk_after_runs(isolation: str) -> None:
    for main in (designs.commit_then_crash_wal, designs.fails_with_a_file):
        world = run_world(main, isolation)
        assert world.disk.run_dir is None
    assert leftovers() == []


class _Abort(RunAborted):
    pass


class _AbortAtOp:
    """Fault hooks that abort the whole run at a port operation (as the watchdog does)."""

    def install(self, world: World) -> None: ...
    def quiet(self, world: World) -> None: ...
    def call_fate(self, *args: Any) -> None: ...
    def model_fate(self, *args: Any) -> None: ...

    def on_op(self, process: Any, op_index: int, kind: str, detail: Any) -> None:
        if op_index == 2:
            raise _Abort("stop")


@pytest.mark.timeout(60)
@pytest.mark.parametrize("isolation", ["inline", "process"])
def test_nothing_is_left_on_disk_when_a_run_aborts(isolation: str) -> None:
    world = World(1, hooks=_AbortAtOp(), isolation=isolation)  # type: ignore[arg-type]
    world.add_process("worker", designs.commit_then_crash)
    with pytest.raises(_Abort):
        world.run(5.0, 30.0)
    assert leftovers() == []


@pytest.mark.timeout(60)
def test_a_killed_harness_root_is_removed_by_the_next(tmp_path: Path) -> None:
    script = tmp_path / "killed.py"
    script.write_text(textwrap.dedent("""
        import os, signal, sys
        from simulator import World
        world = World(1)
        path = world.disk.path("worker")
        (path / "x").write_text("x")
        print(path.parent.parent, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
    """))
    done = subprocess.run([sys.executable, str(script)], cwd=REPO, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == -signal.SIGKILL
    root = Path(done.stdout.strip())
    assert root.name.startswith(ROOT_PREFIX) and root.is_dir()  # SIGKILL removes nothing
    _remove_stale_roots(Path(tempfile.gettempdir()))
    assert not root.exists()
    assert harness_root().is_dir()  # ours is alive: kept


# --- determinism --------------------------------------------------------------------------
def test_same_seed_same_trace_hash_across_hash_seeds_with_sqlite(tmp_path: Path) -> None:
    # sqlite3 and aiosqlite designs under swarm plans (crashes among them), inline and
    # in process isolation: one seed, one trace, in two interpreters that hash strings
    # differently; the run's temporary paths never reach the trace.
    script = tmp_path / "hash.py"
    script.write_text(textwrap.dedent("""
        import sys
        sys.path.insert(0, "tests/simulator")
        import disk_designs as d
        from faults import swarm_plan
        from scenarios import SCENARIOS, execute, fault_space
        sc = SCENARIOS["checkout"]
        for design, isolation in ((d.DURABLE_LOG, "inline"), (d.DURABLE_LOG, "process"),
                                  (d.AIO_DURABLE_LOG, "inline")):
            for seed in (0, 1, 2):
                plan = swarm_plan(seed, fault_space(sc, design))
                world, _, _, _ = execute(sc, design, seed, plan, isolation=isolation)
                trace = world.kernel.trace
                assert "ninelives-data-" not in repr(trace.raw()), "a path in the trace"
                print(design.name, isolation, seed, trace.hash(), len(trace.raw()))
    """))
    outputs = []
    for hash_seed in ("1", "2"):
        env = dict(os.environ, PYTHONHASHSEED=hash_seed)
        outputs.append(subprocess.run([sys.executable, str(script)], env=env, cwd=REPO,
                                      capture_output=True, text=True, check=True,
                                      timeout=240).stdout)
    assert outputs[0] == outputs[1]
    lines = outputs[0].split("\n")[:-1]
    assert len(lines) == 9
    # inline and process isolation run the sqlite3 design event for event alike
    inline = [line.split()[2:] for line in lines[0:3]]
    process = [line.split()[2:] for line in lines[3:6]]
    assert inline == process


@pytest.mark.timeout(60)
def test_sql_now_and_random_are_the_runs() -> None:
    # SQLite reads the OS clock and its own randomness, not Python's: in a run its
    # 'now' is the virtual clock and its random() the run's stream, in both modes.
    got = {}
    for isolation in ("inline", "process", "inline"):
        world = run_world(designs.sql_clock, isolation, plan=None, seed=5)
        got.setdefault(isolation, []).append(world.store.dump()["sql"]["now"])
    inline_a, inline_b = got["inline"]
    assert inline_a == inline_b == got["process"][0]
    assert inline_a[:4] == ["2026-01-01 00:00:00", "2026-01-01 00:00:00", VIRTUAL_EPOCH_S,
                            str(VIRTUAL_EPOCH_S)]
    assert inline_a[6:] == ["2026-01-02 00:00:00", "2026-01-01", "2026-01-01 00:00:20",
                            VIRTUAL_EPOCH_S + 20]
    assert run_world(designs.sql_clock, "inline", plan=None, seed=6).store.dump()[
        "sql"]["now"][4:6] != inline_a[4:6]  # another seed, other random numbers
    # outside a run SQLite is left alone
    assert sqlite3.connect(":memory:").execute("SELECT unixepoch()").fetchone()[0] > (
        VIRTUAL_EPOCH_S + 10**7)


def test_aiosqlite_outside_a_run_is_aiosqlite() -> None:
    # The thread-free connection is for simulated runs only: elsewhere (real mode, a
    # user's own code) aiosqlite keeps its worker thread.
    import asyncio

    import aiosqlite

    async def use() -> tuple[bool, Any]:
        async with aiosqlite.connect(":memory:") as db:
            alive = db._thread.is_alive()
            return alive, await db.execute_fetchall("SELECT 1")

    alive, rows = asyncio.run(use())
    assert alive and list(rows) == [(1,)]


# --- a durable step log in SQLite ------------------------------------------------------------
@pytest.mark.timeout(180)
@pytest.mark.parametrize("design,isolation", [
    (designs.DURABLE_LOG, "inline"), (designs.DURABLE_LOG, "process"),
    (designs.AIO_DURABLE_LOG, "inline"),
], ids=["sqlite3-inline", "sqlite3-process", "aiosqlite-inline"])
def test_a_step_log_in_sqlite_resumes_to_the_fault_free_state(design: Any,
                                                               isolation: str) -> None:
    sc = SCENARIOS["checkout"]
    crashed = 0
    for seed in (*range(6), 20, 25, 28, 31):  # 20-31: seeds whose swarm plan crashes
        result = run_seed(sc, design, seed, isolation=isolation)
        assert result.violations == [], (seed, [v.invariant for v in result.violations])
        kinds = result.fired_kinds()
        crashed += "crash" in kinds
    assert crashed >= 3  # resume equivalence was checked after real crashes
    assert leftovers() == []


@pytest.mark.timeout(120)
def test_a_crash_at_any_point_of_the_log_resumes() -> None:
    # A crash at every third of the first port operations: the log is cut everywhere.
    sc = SCENARIOS["checkout"]
    for op in range(1, 25, 3):
        plan = FaultPlan(faults=[Crash(process="worker", at_op=op)])
        result = run_seed(sc, designs.DURABLE_LOG, 0, plan)
        assert result.violations == [], (op, [v.invariant for v in result.violations])
        assert result.fired == [0]
