"""An asyncio program full of same-instant ties, for the replay checks of the asyncio loop.

Its output is exactly what identity order would scramble: the iteration order of
``asyncio.wait``'s ``done`` set, ``as_completed``'s order among tasks that finish at one
instant, the order in which a failing ``TaskGroup`` cancels its other tasks, and which of
several consumers gets which queue item. Two processes wake each other through ports.

``python tests/simulator/aio_workload.py SEED`` prints one JSON line: ``{"seed", "hash",
"log"}``. ``tests/simulator/test_aio.py`` runs it under two ``PYTHONHASHSEED`` values.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

from simulator import Kernel, Process, Shims

TICK = 0.01


def build(seed: int) -> tuple[Kernel, list[Any]]:
    """A kernel with two processes running the asyncio program (not run yet)."""
    kernel = Kernel(seed)
    log: list[Any] = []

    def note(*item: Any) -> None:
        log.append(list(item))
        kernel.trace.record("workload", "note", item=list(item))

    async def same_instant(name: str) -> str:
        await asyncio.sleep(TICK)
        return name

    async def program(process: Process) -> None:
        me = process.name
        tasks = [asyncio.create_task(same_instant(f"{me}-w{i}")) for i in range(12)]
        done, _ = await asyncio.wait(tasks)
        note(me, "wait.done", [t.result() for t in done])
        order = [await f for f in asyncio.as_completed(
            [same_instant(f"{me}-c{i}") for i in range(8)])]
        note(me, "as_completed", order)

        cancelled: list[str] = []

        async def victim(i: int) -> None:
            try:
                await asyncio.sleep(1)
            except asyncio.CancelledError:
                cancelled.append(f"v{i}")
                raise

        async def failing() -> None:
            await asyncio.sleep(TICK)
            raise ValueError("boom")

        try:
            async with asyncio.TaskGroup() as group:
                for i in range(6):
                    group.create_task(victim(i))
                group.create_task(failing())
        except* ValueError:
            pass
        note(me, "taskgroup.cancelled", cancelled)

        queue: asyncio.Queue[int] = asyncio.Queue()
        got: list[tuple[int, int]] = []

        async def consumer(c: int) -> None:
            while (item := await queue.get()) >= 0:
                got.append((c, item))
                await asyncio.sleep(TICK)

        consumers = [asyncio.create_task(consumer(c)) for c in range(3)]
        for item in range(9):
            queue.put_nowait(item)
        for _ in consumers:
            queue.put_nowait(-1)
        await asyncio.gather(*consumers)
        note(me, "queue", got)
        # A dialect trap from asyncio code: the kernel sleeps this task.
        await process.kernel.sleep(TICK)
        note(me, "kernel.sleep", asyncio.current_task().get_name())  # type: ignore[union-attr]

    for name in ("a", "b"):
        Process(kernel, name, program).start()
    return kernel, log


def run(seed: int) -> dict[str, Any]:
    kernel, log = build(seed)
    with Shims(kernel):
        kernel.run()
    return {"seed": seed, "hash": kernel.trace.hash(), "log": log}


if __name__ == "__main__":
    print(json.dumps(run(int(sys.argv[1]))))
