"""Designs for tests/simulator/test_isolation.py, at module level: process isolation
imports a design in a fresh interpreter (a zygote), so it must be importable there."""

from __future__ import annotations

import atexit
import os
from time import time as bound_time  # bound at import: the trap of a clock read early

from simulator import Env

#: process-local state: survives an inline restart, not a real one
MEMORY: dict[str, int] = {}


async def idle(env: Env) -> None:
    """Returns at once: the cost of starting an incarnation."""


async def pings(env: Env) -> None:
    """200 zero-length sleeps: the cost of a port operation."""
    for _ in range(200):
        await env.clock.sleep(0)


async def remembers(env: Env) -> None:
    """Records what the module dict held when the incarnation began, then fills it."""
    seen = len(MEMORY)
    async with env.store.transaction() as tx:
        tx.put("seen", f"inc{env.incarnation}", {"memory": seen, "hash": hash("stable?"),
                                                  "clock": bound_time()})
    MEMORY[f"inc{env.incarnation}"] = 1
    await env.clock.sleep(1.0)
    async with env.store.transaction() as tx:
        tx.put("seen", f"done{env.incarnation}", {"memory": len(MEMORY)})


async def leaves_marks(env: Env) -> None:
    """A ``finally`` and an ``atexit`` that write a file: a SIGKILL runs neither."""
    path = os.environ["NINELIVES_TEST_MARKS"]

    def mark(what: str) -> None:
        with open(path, "a") as f:
            f.write(f"{what} {env.incarnation}\n")

    atexit.register(mark, "atexit")
    try:
        mark("start")
        await env.clock.sleep(5.0)
        await env.clock.sleep(5.0)
    finally:
        mark("finally")


async def spins(env: Env) -> None:
    """Never yields after its first port operation."""
    await env.clock.sleep(1.0)
    while True:
        pass


async def aborts(env: Env) -> None:
    await env.clock.sleep(1.0)
    os.abort()


async def segfaults(env: Env) -> None:
    import ctypes

    await env.clock.sleep(1.0)
    ctypes.string_at(0)


async def exits(env: Env) -> None:
    import sys

    await env.clock.sleep(1.0)
    sys.exit(3)


async def raises(env: Env) -> None:
    await env.clock.sleep(1.0)
    raise KeyError("no such order")


async def starts_a_thread(env: Env) -> None:
    import threading

    await env.clock.sleep(1.0)

    def heartbeat() -> None:
        pass

    threading.Thread(target=heartbeat, daemon=True).start()
    await env.clock.sleep(1.0)


async def reads_the_real_clock(env: Env) -> None:
    import time

    await env.clock.sleep(1.0)
    time.clock_gettime(time.CLOCK_MONOTONIC)


async def draws(env: Env) -> None:
    """Randomness through the shims: the same numbers in either mode."""
    import random
    import uuid

    values = [random.random(), random.randint(1, 10**6), str(uuid.uuid4()),
              random.choice("abcdefgh"), os.urandom(4).hex()]
    async with env.store.transaction() as tx:
        tx.put("draws", f"inc{env.incarnation}", values)
    await env.clock.sleep(2.0)


async def sleeps(env: Env) -> None:
    """Sleeps through the fault window (a child that is alive when the harness breaks)."""
    for _ in range(10):
        await env.clock.sleep(1.0)


async def asyncio_workload(env: Env) -> None:
    """Ordinary asyncio code whose tasks interleave with port operations on virtual
    time: each finding of its ``log`` (kept in the store) is exactly what a loop not on
    the harness's clock, or an order by identity, would change."""
    import asyncio

    log: list[list[object]] = []

    async def note(*item: object) -> None:
        log.append([round(env.clock.now(), 6), *item])
        async with env.store.transaction() as tx:
            tx.put("log", f"{env.incarnation}:{len(log):03d}", log[-1])

    async def worker(name: str, delay: float) -> str:
        await asyncio.sleep(delay)
        await env.clock.sleep(delay)  # a port operation while the others run
        return name

    # gather: two tasks sleeping on asyncio and in ports, really interleaved
    got = await asyncio.gather(worker("a", 0.3), worker("b", 0.1), worker("c", 0.2))
    await note("gather", got)
    # as_completed among simultaneous finishers
    order = [await f for f in asyncio.as_completed([worker(f"x{i}", 0.05) for i in range(5)])]
    await note("as_completed", order)
    # wait_for and timeout around a port operation and an asyncio sleep
    try:
        await asyncio.wait_for(env.clock.sleep(5.0), 0.5)
    except TimeoutError:
        await note("wait_for", "timed out")
    try:
        async with asyncio.timeout(0.25):
            await asyncio.sleep(10)
    except TimeoutError:
        await note("timeout", "timed out")
    # Lock and Queue between tasks, each holding the lock across a port operation
    lock = asyncio.Lock()
    queue: asyncio.Queue[int] = asyncio.Queue()
    held: list[str] = []

    async def locked(name: str) -> None:
        async with lock:
            held.append(name)
            await env.clock.sleep(0.01)
            held.append(name)

    async def consumer(c: int) -> None:
        while (item := await queue.get()) >= 0:
            await env.store.get("log", f"{item}")
            await note("queue", c, item)

    async with asyncio.TaskGroup() as group:
        for name in ("l1", "l2", "l3"):
            group.create_task(locked(name))
        consumers = [group.create_task(consumer(c)) for c in range(2)]
        for item in range(5):
            queue.put_nowait(item)
        for _ in consumers:
            queue.put_nowait(-1)
    await note("lock", held)
    # a TaskGroup whose failing task cancels the others mid-port-operation
    cancelled: list[str] = []

    async def victim(i: int) -> None:
        try:
            await env.clock.sleep(1.0)
        except asyncio.CancelledError:
            cancelled.append(f"v{i}")
            raise

    async def failing() -> None:
        await asyncio.sleep(0.05)
        raise ValueError("boom")

    try:
        async with asyncio.TaskGroup() as group:
            for i in range(3):
                group.create_task(victim(i))
            group.create_task(failing())
    except* ValueError:
        pass
    await note("taskgroup.cancelled", cancelled, asyncio.current_task().get_name())  # type: ignore[union-attr]


async def connects_a_socket(env: Env) -> None:
    """A real connection, caught by its own ``except Exception`` and retried."""
    import socket

    await env.clock.sleep(1.0)
    try:
        socket.create_connection(("10.1.2.3", 443), timeout=1)
    except Exception:
        pass
    await env.clock.sleep(1.0)


async def asks_an_unknown_host(env: Env) -> None:
    """httpx to a host no fake serves (here: no HTTP front door at all)."""
    import httpx

    await env.clock.sleep(1.0)
    async with httpx.AsyncClient() as client:
        await client.get("https://api.example.org/v1/things?x=1")


async def asyncio_reference(env: Env) -> None:
    """The reference design as an asyncio task, beside asyncio timers that tick while its
    port operations wait: the child is needed for a callback while a task waits in a
    port operation (SUSPEND, RESUME), throughout a checkout with faults."""
    import asyncio

    from reference_agent import DESIGNS

    work = asyncio.create_task(DESIGNS["reference"].main(env))
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while not work.done():
            await asyncio.sleep(0.37)
            ticks += 1

    await asyncio.gather(work, ticker())


async def returns_with_a_task_left(env: Env) -> None:
    """Main returns while a task sleeps: as ``asyncio.run``, the loop cancels it, and its
    ``finally`` still reaches the store (then the child, idle, exits)."""
    import asyncio

    async def background() -> None:
        try:
            await asyncio.sleep(100)
        finally:
            async with env.store.transaction() as tx:
                tx.put("bg", f"inc{env.incarnation}", "cancelled")

    left = asyncio.create_task(background())
    await env.clock.sleep(1.0)
    assert not left.done()
