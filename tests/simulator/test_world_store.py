"""Durable storage under SIGKILL, through a real ``World`` and a fault plan: what was
committed before a crash survives in ``world.store.dump()``; a transaction interrupted
by the crash - in its body or at its commit - leaves nothing; and the design's
``except``/``finally`` blocks never run (a killed process runs no handlers)."""

from __future__ import annotations

from typing import Any

import pytest

from faults import Crash, FaultPlan, PlanHooks
from simulator import Env, World


def run(crash_at: int | None) -> tuple[World, list[str]]:
    handlers: list[str] = []

    async def main(env: Env) -> None:
        if env.incarnation > 1:
            async with env.store.transaction() as tx:
                tx.put("t", "restarted", env.incarnation)
            return
        async with env.store.transaction() as tx:  # op 1: its commit
            tx.put("t", "before", 1)
        try:
            async with env.store.transaction() as tx:
                tx.put("t", "doomed", 2)
                await env.clock.sleep(1.0)  # op 2: inside the transaction
                tx.put("t", "doomed-too", 3)
            # op 3 was this transaction's commit
            handlers.append("committed")
        except BaseException:
            handlers.append("except")
            raise
        finally:
            handlers.append("finally")

    faults: list[Any] = [] if crash_at is None else [Crash(process="worker", at_op=crash_at)]
    hooks = PlanHooks(FaultPlan(faults=faults)) if faults else None
    world = World(0, hooks=hooks)
    world.add_process("worker", main)
    assert world.run(fault_window_s=60.0, liveness_bound_s=60.0)
    return world, handlers


@pytest.mark.parametrize(("crash_at", "where"), [
    (2, "in the transaction body"),
    (3, "at the transaction's commit"),
])
def test_crash_keeps_committed_writes_and_loses_the_open_transaction(crash_at: int,
                                                                     where: str) -> None:
    world, handlers = run(crash_at)
    assert world.processes["worker"].crashes == 1, where
    assert world.store.dump() == {"t": {"before": 1, "restarted": 2}}, where
    # Killed, not unwound: neither the except nor the finally block ran.
    assert handlers == [], where
    crash = world.kernel.trace.of_kind("crash")
    assert len(crash) == 1 and crash[0][3]["op"] == crash_at


def test_without_a_crash_the_transaction_commits_and_handlers_run() -> None:
    # The control: the same design does write both rows and runs its finally.
    world, handlers = run(None)
    assert world.store.dump() == {"t": {"before": 1, "doomed": 2, "doomed-too": 3}}
    assert handlers == ["committed", "finally"]


def test_crash_before_the_first_commit_leaves_the_store_without_its_rows() -> None:
    world, handlers = run(1)
    assert world.store.dump() == {"t": {"restarted": 2}}
    assert handlers == []


def test_committed_state_cannot_be_changed_through_objects_written_or_read() -> None:
    # The store keeps its own copy of what was written and gives every read a fresh one
    # (simulator/_store.py), as a real database does: a design that mutates a value it
    # wrote, or one it read (get, scan, inside or outside a transaction), changes
    # nothing committed until it writes it again.
    seen: list[Any] = []

    async def main(env: Env) -> None:
        row = {"items": [1], "meta": {"n": 1}}
        async with env.store.transaction() as tx:
            tx.put("t", "row", row)
            row["items"].append("after put")  # before the commit, after the put
        row["meta"]["n"] = 99
        got = await env.store.get("t", "row")
        got["items"].append("via get")
        for _, value in await env.store.scan("t"):
            value["meta"]["n"] = -1
        async with env.store.transaction() as tx:
            mine = tx.get("t", "row")
            mine["items"].clear()
            for _, value in tx.scan("t"):
                value["meta"].clear()
            seen.append(tx.get("t", "row"))  # read again in the same transaction
        seen.append(await env.store.get("t", "row"))

    world = World(0)
    world.add_process("worker", main)
    assert world.run(fault_window_s=10.0, liveness_bound_s=10.0)
    expected = {"items": [1], "meta": {"n": 1}}
    assert seen == [expected, expected]
    assert world.store.dump()["t"] == {"row": expected}
