"""``unfenced-2w``: two workers share the work by leases, without fencing.

A worker claims a workflow for 30 s and renews the claim as it goes, but never checks
that the claim is still its own before it writes or acts. Frozen past its lease (a GC
pause, a stopped VM), it wakes up and carries on beside the worker that took over.
"""

from __future__ import annotations

from ._protocol import ProtocolWorker

LEASE_S = 30.0


class UnfencedWorker(ProtocolWorker):
    async def claim(self, wid: str) -> float | None:
        env, me = self.env, self.env.process_name
        async with env.store.transaction() as tx:
            row = tx.get("claims", wid)
            if row is not None and row["worker"] != me and row["until"] > env.clock.now():
                return float(row["until"])
            tx.put("claims", wid, {"worker": me, "until": env.clock.now() + LEASE_S})
        return None

    async def release(self, wid: str) -> None:
        async with self.env.store.transaction() as tx:
            row = tx.get("claims", wid)
            if row is not None and row["worker"] == self.env.process_name:
                tx.delete("claims", wid)

    async def save_step(self, wid: str, step: int, record: dict) -> None:  # type: ignore[type-arg]
        await super().save_step(wid, step, record)
        await self.claim(wid)  # the flaw: renews (or takes back) without a fence


UNFENCED = UnfencedWorker.design(
    "unfenced-2w", "two workers with leases but no fencing token", workers=2)
