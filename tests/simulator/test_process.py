"""Processes: SIGKILL crashes, restarts, fencing, pause/resume, port-operation counting."""

from __future__ import annotations

import gc
from typing import Any

import pytest

from simulator import NS_PER_S, Kernel, Process, graveyard_size


def kinds(k: Kernel, component: str | None = None) -> list[str]:
    return [kind for (_, comp, kind, _) in k.trace.raw() if component in (None, comp)]


class CrashAt:
    """An op hook that kills the process as its ``at_op``-th port operation begins."""

    def __init__(self, at_op: int) -> None:
        self.at_op = at_op
        self.seen: list[tuple[int, str, dict[str, Any]]] = []

    def on_op(self, process: Process, op_index: int, kind: str, detail: dict[str, Any]) -> None:
        self.seen.append((op_index, kind, detail))
        if op_index == self.at_op:
            process.crash("fault")


# --- crash: SIGKILL semantics -----------------------------------------------------------


def test_crash_runs_no_finally_and_no_except() -> None:
    k = Kernel(0)
    log: list[str] = []

    async def main(p: Process) -> None:
        try:
            log.append("started")
            await k.sleep(10)
            log.append("after sleep")
        except BaseException:
            log.append("except")
            raise
        finally:
            log.append("finally")

    p = Process(k, "worker", main)
    p.start()
    k.run(until=1)
    before = graveyard_size()
    p.crash()
    assert not p.alive
    assert p.crashes == 1
    assert graveyard_size() == before + 1
    k.run()
    assert log == ["started"]
    assert kinds(k, "worker") == ["process.start", "crash", "fenced"]


def test_crash_runs_no_finally_even_after_gc() -> None:
    k = Kernel(0)
    log: list[str] = []
    fut = k.future()

    async def helper() -> None:
        try:
            await fut
        except BaseException:
            log.append("helper except")
        finally:
            log.append("helper finally")

    async def main(p: Process) -> None:
        p.spawn(helper(), name="helper")
        try:
            await k.sleep(5)
        except BaseException:
            log.append("main except")
        finally:
            log.append("main finally")

    p = Process(k, "worker", main)
    p.start()
    k.run(until=1)
    p.crash()
    k.run()
    p.dispose()
    for _ in range(3):
        gc.collect()
    assert log == []
    # A future resolved after dispose still never resumes the dead task.
    fut.set_result("late")
    k.run()
    gc.collect()
    assert log == []


def test_code_after_a_crash_point_never_runs_when_the_hook_crashes() -> None:
    k = Kernel(0)
    log: list[Any] = []

    async def main(p: Process) -> None:
        try:
            for i in range(1, 6):
                await p.port_op("store.write", {"i": i})
                log.append(("wrote", i))
        finally:
            log.append("finally")

    p = Process(k, "worker", main, op_hook=CrashAt(3))
    p.start()
    k.run()
    gc.collect()
    assert log == [("wrote", 1), ("wrote", 2)]
    assert not p.alive
    crash = [d for (_, _, kind, d) in k.trace.raw() if kind == "crash"]
    assert crash == [{"incarnation": 1, "reason": "fault", "op": 3}]


# --- restart ----------------------------------------------------------------------------


def test_restart_builds_a_fresh_incarnation_from_the_entry_point() -> None:
    k = Kernel(0)
    memories: list[dict[str, int]] = []
    log: list[Any] = []

    async def main(p: Process) -> None:
        memory: dict[str, int] = {}  # in-process memory: lost with the incarnation
        memories.append(memory)
        inc = p.incarnation
        assert inc is not None
        log.append(("start", inc.number, dict(memory)))
        for i in range(100):
            memory["progress"] = i
            await k.sleep(1)

    p = Process(k, "worker", main)
    first = p.start()
    k.run(until=3.5)
    second = p.restart()
    k.run(until=5)
    assert first is not second
    assert not first.alive and second.alive
    assert (first.number, second.number) == (1, 2)
    assert p.incarnations == 2 and p.crashes == 1
    # The new incarnation starts from the top with empty memory, not where the old
    # one was; the old one's memory object is not shared.
    assert log == [("start", 1, {}), ("start", 2, {})]
    assert memories[0] is not memories[1]
    assert memories[0]["progress"] == 3
    assert memories[1]["progress"] == 1
    assert kinds(k, "worker")[:3] == ["process.start", "crash", "process.start"]


def test_start_twice_is_an_error_and_spawn_needs_a_live_process() -> None:
    k = Kernel(0)

    async def main(p: Process) -> None:
        await k.sleep(1)

    async def extra() -> None:
        pass

    p = Process(k, "worker", main)
    p.start()
    with pytest.raises(RuntimeError):
        p.start()
    p.crash()
    p.crash()  # crashing a dead process is a no-op
    assert p.crashes == 1
    coro = extra()
    with pytest.raises(RuntimeError):
        p.spawn(coro)
    assert coro.cr_frame is None  # closed, so no "never awaited" warning


def test_restart_after_a_delay() -> None:
    k = Kernel(0)
    starts: list[int] = []

    async def main(p: Process) -> None:
        starts.append(k.now_ns)
        await k.sleep(100)

    p = Process(k, "worker", main)
    p.start()
    k.run(until=1)
    p.crash()
    p.restart_after_ns(2 * NS_PER_S)
    k.run(until=10)
    assert starts == [0, 3 * NS_PER_S]
    assert p.alive and p.incarnations == 2


def test_a_process_whose_tasks_all_finish_has_exited() -> None:
    k = Kernel(0)

    async def main(p: Process) -> None:
        await k.sleep(1)

    p = Process(k, "worker", main)
    p.start()
    k.run()
    assert p.exited is True
    assert kinds(k, "worker") == ["process.start", "process.exit"]


# --- fencing ----------------------------------------------------------------------------


def test_dead_incarnation_callbacks_are_fenced() -> None:
    k = Kernel(0)
    log: list[Any] = []

    async def main(p: Process) -> None:
        inc = p.incarnation
        assert inc is not None
        await k.sleep(2)
        log.append(("woke", inc.number, k.now_ns))

    p = Process(k, "worker", main)
    p.start()
    k.run(until=1)
    p.restart()
    k.run()
    # Only the second incarnation woke; the first one's timer (due at 2 s) was fenced.
    assert log == [("woke", 2, 3 * NS_PER_S)]
    # (The clock does not advance for a dropped callback, so the event carries the
    # time of the last callback that ran, not the 2 s the timer was due at.)
    fenced = [d for (_, _, kind, d) in k.trace.raw() if kind == "fenced"]
    assert fenced == [{"incarnation": 1, "what": "_step"}]


def test_future_resolved_after_the_crash_never_resumes_the_dead_task() -> None:
    k = Kernel(0)
    fut = k.future()
    log: list[Any] = []

    async def main(p: Process) -> None:
        log.append(("got", await fut))

    p = Process(k, "worker", main)
    p.start()
    k.run(until=1)
    p.crash()

    async def resolver() -> None:
        await k.sleep(1)
        fut.set_result("late")

    k.spawn(resolver())
    k.run()
    assert log == []
    assert [d for (_, _, kind, d) in k.trace.raw() if kind == "fenced"] == [
        {"incarnation": 1, "what": "_step"}
    ]


def test_queue_item_put_after_a_crash_goes_to_the_next_incarnation() -> None:
    k = Kernel(0)
    q = k.queue()
    got: list[tuple[int, Any]] = []

    async def main(p: Process) -> None:
        inc = p.incarnation
        assert inc is not None
        got.append((inc.number, await q.get()))

    p = Process(k, "worker", main)
    p.start()
    k.run(until=1)
    p.crash()
    q.put("job")  # the dead getter must not swallow it
    assert len(q) == 1
    p.start()
    k.run()
    assert got == [(2, "job")]


# --- pause / resume ---------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(10))
def test_pause_parks_wakeups_and_resume_requeues_them_in_order(seed: int) -> None:
    k = Kernel(seed)
    order: list[tuple[int, int]] = []

    async def worker(i: int) -> None:
        await k.sleep_ns(10 + i)
        order.append((i, k.now_ns))

    async def main(p: Process) -> None:
        for i in range(6):
            p.spawn(worker(i), name=f"w{i}")

    other: list[int] = []

    async def bystander() -> None:
        for _ in range(5):
            await k.sleep_ns(20)
            other.append(k.now_ns)

    p = Process(k, "worker", main)
    p.start()
    k.spawn(bystander())
    k.run_ns(5)
    p.pause()
    k.run_ns(100)
    # Nothing of the paused process ran, but time and other tasks went on.
    assert order == []
    assert other == [20, 40, 60, 80, 100]
    p.resume()
    k.run()
    # Resumed at 100 ns, in the order the wakeups came due.
    assert order == [(i, 100) for i in range(6)]
    assert [kind for kind in kinds(k, "worker") if kind in ("pause", "resume")] == [
        "pause",
        "resume",
    ]


def test_hook_pausing_the_process_parks_the_port_operation() -> None:
    k = Kernel(0)
    log: list[Any] = []

    class PauseAt2:
        def on_op(self, process: Process, op_index: int, kind: str, detail: Any) -> None:
            if op_index == 2:
                process.pause()

    async def main(p: Process) -> None:
        for i in range(1, 4):
            await p.port_op("tool.call")
            log.append((i, k.now_ns))
            await k.sleep(1)

    p = Process(k, "worker", main, op_hook=PauseAt2())
    p.start()
    k.spawn(k.sleep(100))  # keeps the world busy while the process is paused
    k.run(until=30)
    assert log == [(1, 0)]
    p.resume()
    k.run()
    assert log == [(1, 0), (2, 30 * NS_PER_S), (3, 31 * NS_PER_S)]


# --- port operations --------------------------------------------------------------------


def test_port_ops_are_counted_across_incarnations() -> None:
    k = Kernel(0)
    hook = CrashAt(3)

    async def main(p: Process) -> None:
        for i in range(4):
            await p.port_op("store.write", {"i": i})

    p = Process(k, "worker", main, op_hook=hook)
    p.start()
    k.run()
    # The crash froze the task as its 3rd operation began: no 4th was counted.
    assert p.ops == 3
    assert not p.alive
    p.start()
    k.run()
    assert p.ops == 7
    assert [i for (i, _, _) in hook.seen] == [1, 2, 3, 4, 5, 6, 7]
    assert [d["i"] for (_, _, d) in hook.seen] == [0, 1, 2, 0, 1, 2, 3]
    assert all(kind == "store.write" for (_, kind, _) in hook.seen)
    assert p.exited is True


def test_port_op_returns_the_live_incarnation() -> None:
    k = Kernel(0)
    got: list[Any] = []

    async def main(p: Process) -> None:
        got.append(await p.port_op("model.complete"))

    p = Process(k, "worker", main)
    inc = p.start()
    k.run()
    assert got == [inc]
    assert p.ops == 1
