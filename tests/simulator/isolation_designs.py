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


async def uses_asyncio(env: Env) -> None:
    """An asyncio design: runs inline (simulator/_aio.py), not yet in a child."""
    import asyncio

    await env.clock.sleep(1.0)
    await asyncio.sleep(1.0)
