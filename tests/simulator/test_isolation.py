"""Process isolation: each incarnation in a real OS process, a crash a real SIGKILL
(simulator/_isolation.py, simulator/_child.py). The designs live in
``isolation_designs.py``: a zygote imports them in a fresh interpreter."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import isolation_designs as designs  # tests/simulator is on sys.path (rootdir import)
import pytest

from faults import Crash, FaultPlan, PlanHooks, swarm_plan
from reference_agent import DESIGNS, PROCESS_LOCAL
from scenarios import SCENARIOS, execute, fault_space, run_seed
from scenarios._invariants import liveness
from simulator import (
    HASH_SEED_PALETTE,
    VIRTUAL_EPOCH_S,
    Design,
    IsolationError,
    World,
    incarnation_hash_seed,
    live_children,
    zygote_pids,
)

REPO = Path(__file__).resolve().parents[2]


def run_world(main: Any, isolation: str, plan: FaultPlan | None = None, *,
              seed: int = 1, bound_s: float = 30.0) -> World:
    world = World(seed, hooks=PlanHooks(plan) if plan else None, isolation=isolation)
    world.add_process("worker", main)
    world.run(5.0, bound_s)
    return world


def crash_at(op: int) -> FaultPlan:
    return FaultPlan(faults=[Crash(process="worker", at_op=op)])


def no_child_left(timeout_s: float = 5.0) -> bool:
    """Whether every incarnation process is gone (a SIGKILL is delivered promptly, but
    not synchronously: poll briefly)."""
    deadline = time.monotonic() + timeout_s
    while live_children():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rpartition(")")[2].split()[0] in ("Z", "X")
    except OSError:
        return True


# --- what a real restart loses -------------------------------------------------------------
def test_module_state_is_gone_after_a_crash_in_process_mode_only() -> None:
    designs.MEMORY.clear()
    # op 1 is the first commit, op 2 the sleep: the crash lands after MEMORY was filled.
    inline = run_world(designs.remembers, "inline", crash_at(2)).store.dump()["seen"]
    process = run_world(designs.remembers, "process", crash_at(2)).store.dump()["seen"]
    assert inline["inc2"]["memory"] == 1  # the in-process "restart" kept the dict
    assert process["inc2"]["memory"] == 0  # a real one did not
    assert process["done2"]["memory"] == 1


def test_hash_of_a_string_differs_across_a_restart() -> None:
    seen = run_world(designs.remembers, "process", crash_at(2)).store.dump()["seen"]
    assert seen["inc1"]["hash"] != seen["inc2"]["hash"]
    inline = run_world(designs.remembers, "inline", crash_at(2)).store.dump()["seen"]
    assert inline["inc1"]["hash"] == inline["inc2"]["hash"] == hash("stable?")


def test_incarnations_never_reuse_the_previous_hash_seed() -> None:
    for seed in range(50):
        chosen = [incarnation_hash_seed(seed, "worker", n) for n in range(1, 6)]
        assert all(h in HASH_SEED_PALETTE for h in chosen)
        assert all(a != b for a, b in itertools.pairwise(chosen))
        assert chosen == [incarnation_hash_seed(seed, "worker", n) for n in range(1, 6)]
    firsts = {incarnation_hash_seed(seed, "worker", 1) for seed in range(50)}
    assert len(firsts) == len(HASH_SEED_PALETTE)  # the seed picks among all of them


def test_a_clock_bound_at_import_reads_virtual_time() -> None:
    seen = run_world(designs.remembers, "process", crash_at(2)).store.dump()["seen"]
    assert seen["inc1"]["clock"] == VIRTUAL_EPOCH_S  # t = 0
    # inc1 died at its sleep (t = 0); the restart came 1 s later (Crash.restart_after_ms)
    assert seen["inc2"]["clock"] == VIRTUAL_EPOCH_S + 1.0
    # Inline, the name was bound to the real time.time before any run: not virtual.
    inline = run_world(designs.remembers, "inline", crash_at(2)).store.dump()["seen"]
    assert abs(inline["inc1"]["clock"] - time.time()) < 3600


def test_sigkill_runs_no_finally_or_atexit(tmp_path: Path, monkeypatch: Any) -> None:
    marks = tmp_path / "marks"
    monkeypatch.setenv("NINELIVES_TEST_MARKS", str(marks))
    from simulator import close_zygotes

    close_zygotes()  # zygotes read the environment when they start
    try:
        run_world(designs.leaves_marks, "process", crash_at(2))  # op 2: the second sleep
    finally:
        monkeypatch.delenv("NINELIVES_TEST_MARKS")
        close_zygotes()
    # The killed incarnation ran neither; the one that returned ran both, as an
    # interpreter that exits on its own does.
    assert marks.read_text().splitlines() == ["start 1", "start 2", "finally 2", "atexit 2"]


# --- deaths, hangs, findings -------------------------------------------------------------------
@pytest.mark.parametrize(("main", "expected"), [
    (designs.aborts, "ProcessDied: the process was killed by SIGABRT"),
    (designs.segfaults, "ProcessDied: the process was killed by SIGSEGV"),
    (designs.exits, "ProcessDied: the process exited with status 3 (sys.exit) before its "
                    "main returned"),
])
def test_a_child_that_dies_is_a_process_death(main: Any, expected: str) -> None:
    world = run_world(main, "process")
    process = world.processes["worker"]
    # Supervised as any death, exactly as an inline design that raises at the same
    # point: restarted, then left dead (a liveness finding).
    inline = run_world(designs.raises, "inline").processes["worker"]
    assert len(inline.failures) > 3
    assert process.failures == [expected] * len(inline.failures)
    assert process.incarnations == inline.incarnations
    assert no_child_left()


def test_design_exception_is_a_death_with_its_message() -> None:
    inline = run_world(designs.raises, "inline").processes["worker"].failures
    process = run_world(designs.raises, "process").processes["worker"].failures
    assert process == inline
    assert len(process) > 3 and set(process) == {"KeyError: 'no such order'"}


@pytest.mark.parametrize(("main", "what"), [
    (designs.starts_a_thread, "started a thread (starts_a_thread.<locals>.heartbeat)"),
    (designs.reads_the_real_clock, "read time.clock_gettime(), which the simulation does "
                                   "not control"),
])
def test_a_thread_or_an_uncontrolled_clock_is_a_finding_naming_it(main: Any, what: str) -> None:
    failures = run_world(main, "process").processes["worker"].failures
    assert len(failures) > 3
    assert failures[0].startswith(f"IsolationViolation: the design {what} at ")
    assert "isolation_designs.py" in failures[0]


def test_asyncio_runs_in_a_child_on_virtual_time() -> None:
    # The child's loop is SimLoop on the harness's core: tasks interleave on virtual
    # time, a port operation in one task leaves the others running (gather's three
    # workers take the longest one's 0.6 s, not the sum), and the log is the inline one.
    logs = {}
    for isolation in ("inline", "process"):
        world = run_world(designs.asyncio_workload, isolation)
        assert not world.processes["worker"].failures, isolation
        logs[isolation] = world.store.dump()["log"]
    assert logs["process"] == logs["inline"]
    entries = list(logs["process"].values())
    assert [e[1] for e in entries][:4] == ["gather", "as_completed", "wait_for", "timeout"]
    assert entries[0] == [0.6, "gather", ["a", "b", "c"]]  # 0.3 + 0.3, run side by side
    assert entries[2][0] < 2.0  # wait_for gave up on the 5 s port sleep after 0.5 s
    assert entries[-1][1:] == ["taskgroup.cancelled", ["v0", "v1", "v2"], "Task-1"]


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_asyncio_designs_have_the_same_trace_hash_as_inline(seed: int) -> None:
    # Every callback of the child's loop is one core event in the harness, in the
    # inline order; with crashes at ops that fall inside gather, a TaskGroup, a Lock.
    crashed = 0
    for at in (None, 4, 9, 17, 26):
        hashes = []
        for isolation in ("inline", "process", "process"):
            world = run_world(designs.asyncio_workload, isolation,
                              crash_at(at) if at else None, seed=seed)
            worker = world.processes["worker"]
            assert not worker.failures
            crashed += worker.incarnations > 1
            hashes.append((world.kernel.trace.hash(), world.store.dump()))
            world.dispose()
        assert hashes[0] == hashes[1] == hashes[2], (seed, at)
    assert crashed >= 3
    assert no_child_left()


def _spin_design() -> Design:
    return Design(name="spins", main=designs.spins)


def test_a_spinning_child_is_killed_and_is_a_liveness_finding() -> None:
    scenario = SCENARIOS["checkout"]
    world, _, finished, hang = execute(scenario, _spin_design(), 1, None, hang_wall_s=1.0,
                                       isolation="process")
    assert not finished and hang is not None
    [violation] = liveness(world, finished, hang)
    assert violation.evidence["hung"] is True
    assert no_child_left()
    world.dispose()


def test_a_spinning_child_off_the_main_thread_is_stopped_too() -> None:
    # No SIGALRM reaches another thread: the proxy's own wait limit stops the child.
    out: dict[str, Any] = {}

    def run() -> None:
        world, _, finished, hang = execute(SCENARIOS["checkout"], _spin_design(), 1, None,
                                           hang_wall_s=1.0, isolation="process")
        out.update(finished=finished, hang=hang)
        world.dispose()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(30)
    assert out == {"finished": False, "hang": "no progress for 1 s of wall time"}
    assert no_child_left()


# --- no process left behind -------------------------------------------------------------------
@pytest.mark.parametrize("error", [RuntimeError("the harness broke"), KeyboardInterrupt()])
def test_no_process_left_behind_when_the_harness_raises_mid_run(error: BaseException) -> None:
    world = World(1, isolation="process")
    world.add_process("worker", designs.sleeps)
    seen: list[list[int]] = []

    def boom() -> None:
        seen.append(live_children())
        raise error

    world.kernel.scheduler.call_at(2_000_000_000, boom)
    with pytest.raises(type(error)):
        world.run(5.0, 30.0)
    assert len(seen) == 1 and len(seen[0]) == 1  # the child was running when it broke
    assert no_child_left()
    assert gone(seen[0][0])


def test_no_process_left_behind_after_runs() -> None:
    for seed in range(3):
        run_seed(SCENARIOS["checkout"], DESIGNS["reference"], seed, isolation="process")
    assert no_child_left()


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT], ids=["SIGKILL", "Ctrl-C"])
def test_no_process_left_behind_when_the_harness_is_killed(tmp_path: Path, sig: int) -> None:
    # A harness that runs a design spinning forever (no watchdog), SIGKILLed: its zygote
    # sees its control socket close and kills the child; nothing of it survives. With
    # Ctrl-C (SIGINT to the harness alone: zygotes have their own session), the run's
    # KeyboardInterrupt kills the child and the exit closes the zygote.
    script = tmp_path / "harness.py"
    script.write_text(textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        import isolation_designs as designs
        from simulator import World, live_children, zygote_pids
        world = World(1, isolation="process")
        world.add_process("worker", designs.spins)
        def report():
            print(*zygote_pids(), "/", *live_children(), flush=True)
        world.kernel.scheduler.call_at(500_000_000, report)
        world.run(5.0, 30.0)
    """))
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True,
                            stderr=subprocess.DEVNULL, cwd=REPO)
    try:
        line = proc.stdout.readline()  # type: ignore[union-attr]
        zygotes, _, children = line.partition("/")
        pids = [int(p) for p in (zygotes + children).split()]
        assert len(pids) == 2, line
        time.sleep(0.2)  # the child is spinning now
        assert not any(gone(pid) for pid in pids)
    finally:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise
    deadline = time.monotonic() + 10
    while not all(gone(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert all(gone(pid) for pid in pids)


# --- determinism ------------------------------------------------------------------------------
SEEDS = (0, 1, 2, 3)


@pytest.mark.parametrize("design", sorted(set(DESIGNS) - set(PROCESS_LOCAL)))
def test_same_trace_hash_as_inline(design: str) -> None:
    # A registered design that keeps its state in the store (all but the traps whose
    # flaw lives in their process) sees nothing process isolation changes: the same seed
    # is the same run, event for event, in both modes (and twice in process mode).
    # Swarm plans: crashes, restarts, faults of every kind.
    d = DESIGNS[design]
    crashed = 0
    for name, scenario in sorted(SCENARIOS.items()):
        for seed in SEEDS:
            plan = swarm_plan(seed, fault_space(scenario, d))
            hashes = []
            for isolation in ("inline", "process", "process"):
                world, _, _, hang = execute(scenario, d, seed, plan, isolation=isolation)
                assert hang is None
                hashes.append(world.kernel.trace.hash())
                crashed += sum(p.incarnations > 1 for p in world.processes.values())
                world.dispose()
            assert hashes[0] == hashes[1] == hashes[2], (name, seed)
    assert crashed > 0  # the seeds did restart processes
    assert no_child_left()


@pytest.mark.parametrize("design", PROCESS_LOCAL)
def test_the_process_local_traps_do_run_differently(design: str) -> None:
    # Why they are left out above, and run in process isolation by default: a crash
    # there is not what it is inline (and each is reproducible in its own mode).
    d, scenario = DESIGNS[design], SCENARIOS["checkout"]
    differ = False
    for seed in (0, 1):
        plan = swarm_plan(seed, fault_space(scenario, d))
        hashes = {}
        for isolation in ("inline", "process", "process"):
            world, _, _, _ = execute(scenario, d, seed, plan, isolation=isolation)
            hashes.setdefault(isolation, set()).add(world.kernel.trace.hash())
            world.dispose()
        assert len(hashes["process"]) == 1
        differ |= hashes["inline"] != hashes["process"]
    assert differ


def test_randomness_is_the_inline_runs_across_processes_and_incarnations() -> None:
    inline = run_world(designs.draws, "inline", crash_at(2))
    process = run_world(designs.draws, "process", crash_at(2))
    assert process.store.dump() == inline.store.dump()
    assert len(process.store.dump()["draws"]) == 2
    assert process.kernel.trace.hash() == inline.kernel.trace.hash()


def test_two_harnesses_with_different_hash_seeds_give_the_same_trace_hash(tmp_path: Path
                                                                          ) -> None:
    script = tmp_path / "hash.py"
    script.write_text(textwrap.dedent("""
        from faults import swarm_plan
        from reference_agent import DESIGNS
        from scenarios import SCENARIOS, execute, fault_space
        sc, d = SCENARIOS["checkout"], DESIGNS["reference-2w"]
        for seed in (0, 1):
            world, _, _, _ = execute(sc, d, seed, swarm_plan(seed, fault_space(sc, d)),
                                     isolation="process")
            print(world.kernel.trace.hash())
        import sys
        sys.path.insert(0, "tests/simulator")
        import isolation_designs
        from faults import Crash, FaultPlan, PlanHooks
        from simulator import World
        for seed in (0, 1):
            plan = FaultPlan(faults=[Crash(process="worker", at_op=9)])
            world = World(seed, hooks=PlanHooks(plan), isolation="process")
            world.add_process("worker", isolation_designs.asyncio_workload)
            world.run(5.0, 30.0)
            print(world.kernel.trace.hash())
    """))
    outputs = []
    for hash_seed in ("1", "2"):
        env = dict(os.environ, PYTHONHASHSEED=hash_seed)
        outputs.append(subprocess.run([sys.executable, str(script)], env=env, cwd=REPO,
                                      capture_output=True, text=True, check=True,
                                      timeout=120).stdout)
    assert outputs[0] == outputs[1]
    assert len(outputs[0].split()) == 4  # two checkout seeds, two of asyncio code


# --- what process isolation needs of a design ----------------------------------------------------
def test_a_design_no_module_holds_is_refused_with_the_reason() -> None:
    async def local(env: Any) -> None:
        pass

    with pytest.raises(IsolationError, match="define the design"):
        World(1, isolation="process").add_process("worker", local)


def test_a_design_that_fails_to_import_in_a_zygote_says_why(monkeypatch: Any) -> None:
    # The import runs under the determinism shims and the guards: a thread started at
    # import fails it, and the run ends with the reason (not a process death).
    from simulator import _isolation

    monkeypatch.setitem(_isolation._LOCATORS, designs.idle, "no_such_module_xyz:main")
    world = World(1, isolation="process")
    world.add_process("worker", designs.idle)
    with pytest.raises(IsolationError, match="No module named 'no_such_module_xyz'"):
        world.run(1.0, 1.0)
    assert zygote_pids() is not None and no_child_left()


# --- escapes are findings, named, in both modes ---------------------------------------------
@pytest.mark.parametrize("isolation", ["inline", "process"])
@pytest.mark.parametrize(("main", "says"), [
    (designs.starts_a_thread, "heartbeat"),
    (designs.reads_the_real_clock, "time.clock_gettime()"),
    (designs.connects_a_socket, "10.1.2.3"),
    # httpx to a host no fake serves: every scenario's world has an HTTP front door
    # (main), which names the request inline and, asked by the child, in a child
    (designs.asks_an_unknown_host, ("HTTP GET https://api.example.org/v1/things?x=1",
                                    "HTTP GET https://api.example.org/v1/things?x=1")),
], ids=["thread", "clock", "socket", "unknown-host"])
def test_escapes_are_named_findings_in_both_modes(main: Any, says: Any, isolation: str) -> None:
    # A design that leaves the simulation is a finding about the design that names what
    # it did (and, for threads and clocks, where), never a harness crash; inline a
    # thread is the watch's thread-started, in a child the guard's stays-in-simulation.
    design = Design(name=main.__name__, main=main)
    result = run_seed(SCENARIOS["checkout"], design, 1, FaultPlan(faults=[]),
                      isolation=isolation)
    named = {v.invariant: v.message for v in result.violations}
    name = "thread-started" if isolation == "inline" and says == "heartbeat" else (
        "stays-in-simulation")
    assert name in named, named
    if isinstance(says, tuple):
        says = says[isolation == "process"]
    assert says in named[name]
    if says in ("heartbeat", "time.clock_gettime()") and name == "stays-in-simulation":
        assert "isolation_designs.py:" in named[name]
    assert no_child_left()


def test_a_dialect_design_under_asyncio_has_the_inline_trace_in_checkout() -> None:
    # The reference design as a (non-main) asyncio task beside asyncio timers, in the
    # checkout scenario with swarm plans: crashes mid-operation, lost responses,
    # timeouts, pauses, clock jumps; the child is released and resumed throughout.
    design = Design(name="aio-reference", main=designs.asyncio_reference)
    scenario = SCENARIOS["checkout"]
    crashed = 0
    for seed in range(6):
        plan = swarm_plan(seed, fault_space(scenario, DESIGNS["reference"]))
        hashes = []
        for isolation in ("inline", "process"):
            world, _, _, hang = execute(scenario, design, seed, plan, isolation=isolation)
            assert hang is None
            hashes.append(world.kernel.trace.hash())
            crashed += sum(p.incarnations > 1 for p in world.processes.values())
            world.dispose()
        assert hashes[0] == hashes[1], seed
    assert crashed > 0
    assert no_child_left()


def test_a_main_that_returns_cancels_its_tasks_as_inline() -> None:
    worlds = [run_world(designs.returns_with_a_task_left, isolation)
              for isolation in ("inline", "process")]
    assert worlds[0].store.dump()["bg"] == {"inc1": "cancelled"}
    assert worlds[1].store.dump() == worlds[0].store.dump()
    assert worlds[1].kernel.trace.hash() == worlds[0].kernel.trace.hash()
    assert no_child_left()
