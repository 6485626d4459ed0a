"""Fault hooks that also record every port operation, for tests that need op indexes."""

from __future__ import annotations

from typing import Any

from faults import FaultPlan, PlanHooks
from simulator import Process


class OpRecorder(PlanHooks):
    """PlanHooks that also remembers every port operation: (process, op, kind, detail)."""

    def __init__(self, plan: FaultPlan) -> None:
        super().__init__(plan)
        self.ops: list[tuple[str, int, str, dict[str, Any]]] = []

    def on_op(self, process: Process, op_index: int, kind: str,
              detail: dict[str, Any]) -> None:
        self.ops.append((process.name, op_index, kind, dict(detail)))
        super().on_op(process, op_index, kind, detail)
