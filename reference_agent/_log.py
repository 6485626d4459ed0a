"""The durable log: a workflow table and a step table, on any ``env.store``.

``workflows/<id>`` holds the workflow's status, its lease (owner, expiry) and its fencing
token; ``steps/<id>/<step>/<entry>`` holds what happened, append-only: the recorded model
decision, refused proposals, attempt facts (idempotency keys), intents, and the result.

Every append checks the fencing token in the same transaction: a worker that was paused
past its lease (another worker claimed the workflow and bumped the token) cannot record
anything more — in particular not a second, different result for a step
(``tests/reference_agent/test_fencing.py``). The same code runs on the simulated store
and on SQLite (``SqliteStore``), which is why it only uses the ``Store`` port.

Within one lease the worker keeps the log it read and what it appended since (a sticky
cache, as Temporal workers keep a workflow's history between tasks): while our fencing
token is current nobody else can append, so the copy is the log. The cache is keyed by
the token, so a new claim (after a restart, or taking over from another worker) reads
the store again, and any failed append drops it. A crash loses it, which costs nothing
but a scan (``tests/reference_agent/test_log_cache.py``).
"""

from __future__ import annotations

from bisect import insort
from typing import Any

from simulator import Env

WORKFLOWS = "workflows"
STEPS = "steps"


class LeaseLost(Exception):
    """Another worker holds this workflow now (our fencing token is stale).

    The reference design's own exception, not ninelives': outside its error tree."""

    __module__ = "reference_agent"


def step_key(workflow_id: str, step: int, entry: str) -> str:
    return f"{workflow_id}/{step:04d}/{entry}"


def _entry_key(entry: tuple[str, Any]) -> str:
    return entry[0]


class WorkflowLog:
    """One worker's view of the durable log."""

    def __init__(self, env: Env, worker: str, lease_s: float = 30.0) -> None:
        self.env = env
        self.worker = worker
        self.lease_s = lease_s
        # workflow id -> (fencing token, its entries in key order, as stored)
        self._cache: dict[str, tuple[int, list[tuple[str, Any]]]] = {}
        # workflow id -> (fencing token, our clock when a commit last checked that token
        # and extended the lease by lease_s)
        self._held_at: dict[str, tuple[int, float]] = {}

    async def row(self, workflow_id: str) -> dict[str, Any] | None:
        return await self.env.store.get(WORKFLOWS, workflow_id)

    async def claim(self, workflow: dict[str, Any]) -> int | None:
        """Take the workflow's lease; returns the new fencing token, or None if another
        worker's lease is still running or the workflow is finished."""
        now = self.env.clock.now()
        async with self.env.store.transaction() as tx:
            row = tx.get(WORKFLOWS, workflow["id"])
            if row is None:
                # Not the input: the task queue hands it out with the workflow, and this
                # row is read and rewritten on every append and lease renewal.
                row = {"id": workflow["id"], "kind": workflow["kind"], "status": "running",
                       "fence": 0, "owner": None, "lease_until": 0.0, "outcome": None,
                       "reported": False}
            if row["status"] != "running":
                return None
            if row["owner"] not in (None, self.worker) and row["lease_until"] > now:
                return None
            row["owner"] = self.worker
            row["fence"] += 1
            row["lease_until"] = now + self.lease_s
            tx.put(WORKFLOWS, workflow["id"], row)
        self._held_at[workflow["id"]] = (row["fence"], now)
        return row["fence"]

    async def entries(self, workflow_id: str, fence: int | None = None) -> list[tuple[str, Any]]:
        """Every step entry of the workflow, in key order. With the ``fence`` we hold,
        from the cache once it has been read under that token (do not mutate them)."""
        cached = self._cache.get(workflow_id)
        if fence is not None and cached is not None and cached[0] == fence:
            return list(cached[1])
        rows = await self.env.store.scan(STEPS, workflow_id + "/")
        if fence is not None:
            self._cache[workflow_id] = (fence, list(rows))
        return rows

    def _check(self, row: dict[str, Any] | None, workflow_id: str, fence: int) -> dict[str, Any]:
        if row is None or row["fence"] != fence or row["status"] != "running":
            raise LeaseLost(workflow_id)
        return row

    async def append(self, workflow_id: str, fence: int, step: int, entry: str,
                     value: dict[str, Any], also: dict[str, dict[str, Any]] | None = None
                     ) -> None:
        """Record one entry (and renew the lease), if we still hold the workflow; with
        ``also``, more entries of the same step in the same transaction. An entry that is
        already there is left as it is (entries are written once)."""
        now = self.env.clock.now()
        cached = self._cache.pop(workflow_id, None)  # back only if the append commits
        entries = {entry: value, **(also or {})}
        stored: list[tuple[str, Any]] = []
        async with self.env.store.transaction() as tx:
            row = self._check(tx.get(WORKFLOWS, workflow_id), workflow_id, fence)
            for name, item in entries.items():
                key = step_key(workflow_id, step, name)
                if tx.get(STEPS, key) is None:
                    tx.put(STEPS, key, item)
                    stored.append((key, tx.get(STEPS, key)))  # a copy, as a scan returns
            row["lease_until"] = now + self.lease_s
            tx.put(WORKFLOWS, workflow_id, row)
        self._held_at[workflow_id] = (fence, now)
        if cached is not None and cached[0] == fence and len(stored) == len(entries):
            for written in stored:
                insort(cached[1], written, key=_entry_key)
            self._cache[workflow_id] = cached

    async def renew(self, workflow_id: str, fence: int, hold_s: float = 0.0) -> None:
        """Extend the lease (by ``hold_s`` more, for a sleep that outlasts it), if we
        still hold the workflow; raises LeaseLost otherwise."""
        now = self.env.clock.now()
        async with self.env.store.transaction() as tx:
            row = self._check(tx.get(WORKFLOWS, workflow_id), workflow_id, fence)
            row["lease_until"] = now + hold_s + self.lease_s
            tx.put(WORKFLOWS, workflow_id, row)
        self._held_at[workflow_id] = (fence, now)

    async def hold(self, workflow_id: str, fence: int, fresh_s: float = 1.0) -> None:
        """Make sure we hold the lease before doing something only the holder may do:
        renew it, unless a commit of ours checked the fencing token and extended the
        lease less than ``fresh_s`` ago by our clock (the lease then has ``lease_s -
        fresh_s`` left). Raises LeaseLost if another worker holds the workflow."""
        held = self._held_at.get(workflow_id)
        if held is not None and held[0] == fence and \
                0.0 <= self.env.clock.now() - held[1] < fresh_s:
            return
        await self.renew(workflow_id, fence)

    async def finish(self, workflow_id: str, fence: int, status: str,
                     outcome: dict[str, Any]) -> None:
        async with self.env.store.transaction() as tx:
            row = self._check(tx.get(WORKFLOWS, workflow_id), workflow_id, fence)
            row["status"] = status
            row["outcome"] = outcome
            row["owner"] = None
            tx.put(WORKFLOWS, workflow_id, row)

    async def mark_reported(self, workflow_id: str) -> None:
        async with self.env.store.transaction() as tx:
            row = tx.get(WORKFLOWS, workflow_id)
            if row is not None:
                row["reported"] = True
                tx.put(WORKFLOWS, workflow_id, row)
