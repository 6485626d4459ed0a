"""The worker's log cache: within one lease, the log is read from the store once and
then kept up to date by the worker's own appends; any other fencing token reads the
store again, and a failed append forgets the copy. Likewise ``hold`` renews the lease
only when no commit of ours checked the token a moment ago."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from reference_agent._log import LeaseLost, WorkflowLog
from simulator import Env, World

WORKFLOW = {"id": "wf-1", "kind": "checkout", "input": {"order_id": "o-1"}}


class CountingStore:
    """``env.store`` that counts scans (each one is a port operation and a store read)."""

    def __init__(self, store: Any) -> None:
        self._store = store
        self.scans = 0
        self.transactions = 0

    def transaction(self) -> Any:
        self.transactions += 1
        return self._store.transaction()

    async def get(self, table: str, key: str) -> Any:
        return await self._store.get(table, key)

    async def scan(self, table: str, prefix: str = "") -> Any:
        self.scans += 1
        return await self._store.scan(table, prefix)


def run_in_world(body: Any) -> dict[str, Any]:
    seen: dict[str, Any] = {}

    async def main(env: Env) -> None:
        store = CountingStore(env.store)
        view = SimpleNamespace(store=store, clock=env.clock)
        await body(view, store, seen)

    world = World(0)
    world.add_process("worker", main)
    world.run(1.0, 3_600.0)
    world.dispose()
    assert seen.get("done"), seen  # the body ran to its end
    return seen


def test_within_a_lease_the_log_is_scanned_once_and_matches_the_store() -> None:
    async def body(env: Any, store: CountingStore, seen: dict[str, Any]) -> None:
        log = WorkflowLog(env, "worker")
        fence = await log.claim(WORKFLOW)
        assert fence is not None
        await log.entries("wf-1", fence)
        # Appended out of key order: the copy must come out sorted, as a scan is.
        await log.append("wf-1", fence, 1, "result", {"ok": True})
        decision = {"proposal": {"action": "finish"}}
        await log.append("wf-1", fence, 1, "decision", decision)
        decision["proposal"] = "mutated after the append"  # must not reach the copy
        await log.append("wf-1", fence, 0, "result", {"ok": False})
        # Several entries in one commit (a decision with its first attempt).
        await log.append("wf-1", fence, 2, "decision", {"proposal": {"action": "call"}},
                         also={"attempt-001": {"n": 1, "key": "wf-1/step-2/a1"}})
        seen["cached"] = await log.entries("wf-1", fence)
        seen["scans"] = store.scans
        seen["stored"] = await env.store.scan("steps", "wf-1/")
        seen["done"] = True

    seen = run_in_world(body)
    assert seen["scans"] == 1
    assert seen["cached"] == seen["stored"]
    assert [k for k, _ in seen["cached"]] == ["wf-1/0000/result", "wf-1/0001/decision",
                                             "wf-1/0001/result", "wf-1/0002/attempt-001",
                                             "wf-1/0002/decision"]
    assert seen["cached"][1][1] == {"proposal": {"action": "finish"}}


def test_a_new_fence_reads_the_store_and_a_lost_lease_drops_the_copy() -> None:
    async def body(env: Any, store: CountingStore, seen: dict[str, Any]) -> None:
        mine, theirs = WorkflowLog(env, "worker"), WorkflowLog(env, "other")
        fence = await mine.claim(WORKFLOW)
        assert fence is not None
        await mine.entries("wf-1", fence)
        await mine.append("wf-1", fence, 0, "decision", {"by": "worker"})
        await env.clock.sleep(mine.lease_s + 1)  # our lease runs out...
        their_fence = await theirs.claim(WORKFLOW)  # ...and another worker takes over
        assert their_fence == fence + 1
        await theirs.append("wf-1", their_fence, 0, "result", {"by": "other"})
        assert len(await theirs.entries("wf-1", their_fence)) == 2  # a new fence: scanned
        with pytest.raises(LeaseLost):
            await mine.append("wf-1", fence, 1, "decision", {"by": "worker"})
        before = store.scans
        seen["after_loss"] = await mine.entries("wf-1", fence)
        seen["rescanned"] = store.scans - before
        seen["done"] = True

    seen = run_in_world(body)
    assert seen["rescanned"] == 1
    assert seen["after_loss"] == [("wf-1/0000/decision", {"by": "worker"}),
                                  ("wf-1/0000/result", {"by": "other"})]


def test_hold_renews_only_when_the_last_check_of_the_token_is_not_fresh() -> None:
    async def body(env: Any, store: CountingStore, seen: dict[str, Any]) -> None:
        mine, theirs = WorkflowLog(env, "worker"), WorkflowLog(env, "other")
        fence = await mine.claim(WORKFLOW)
        assert fence is not None
        before = store.transactions
        await mine.hold("wf-1", fence)  # claimed this instant: nothing to do
        seen["fresh"] = store.transactions - before
        await env.clock.sleep(5.0)
        before = store.transactions
        await mine.hold("wf-1", fence)  # 5 s later: renewed (a fencing check)
        seen["stale"] = store.transactions - before
        await env.clock.sleep(mine.lease_s + 1)
        their_fence = await theirs.claim(WORKFLOW)
        assert their_fence == fence + 1
        with pytest.raises(LeaseLost):
            await mine.hold("wf-1", fence)  # taken over: the renewal finds out
        seen["done"] = True

    seen = run_in_world(body)
    assert seen["fresh"] == 0
    assert seen["stale"] == 1
