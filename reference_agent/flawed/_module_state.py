"""``module-state``: step records kept in a module-level dict.

Inside one Python process the dict survives a simulated restart, so the design seems to
resume where it was; a real crash takes the dict with the process, and the restarted
worker asks again and acts again. Inline, ninelives reports the dict changing during a
run (``process-local-state``); with process isolation the restart itself shows it.
"""

from __future__ import annotations

from typing import Any

from ._protocol import ProtocolWorker

#: the flaw: "durable" step records that live as long as the process
STEPS: dict[str, dict[str, Any]] = {}


class ModuleStateWorker(ProtocolWorker):
    async def load_step(self, wid: str, step: int) -> dict[str, Any] | None:
        record = STEPS.get(f"{wid}/{step}")
        return dict(record) if record is not None else None

    async def save_step(self, wid: str, step: int, record: dict[str, Any]) -> None:
        STEPS[f"{wid}/{step}"] = dict(record)


MODULE_STATE = ModuleStateWorker.design(
    "module-state", "step records in a module-level dict: gone with the process")
