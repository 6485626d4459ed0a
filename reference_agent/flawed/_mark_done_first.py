"""``mark-done-first``: marks a step done before doing it.

The progress mark (table ``progress``) is committed before the call; a crash between
the two leaves the step marked done and never done: the order is reported paid and
was never charged.
"""

from __future__ import annotations

from typing import Any

from ._protocol import ProtocolWorker


class MarkDoneFirstWorker(ProtocolWorker):
    async def load_step(self, wid: str, step: int) -> dict[str, Any] | None:
        record = await super().load_step(wid, step)
        if record is not None and "result" not in record:
            if await self.env.store.get("progress", f"{wid}/{step}") is not None:
                record["result"] = {"ok": True}  # marked done: skip it
        return record

    async def act(self, wid: str, step: int, record: dict[str, Any]) -> None:
        async with self.env.store.transaction() as tx:
            tx.put("progress", f"{wid}/{step}", {"done": True})  # the flaw: too early
        await super().act(wid, step, record)


MARK_DONE_FIRST = MarkDoneFirstWorker.design(
    "mark-done-first", "marks a step done (table progress) before doing it")
