"""The retry loop two flawed designs share: resend until an answer, with a bad key.

Each subclass says only what its key is; everything else is the same careless loop, so
the two designs differ exactly in their flaw.
"""

from __future__ import annotations

from typing import Any

from simulator import ToolError, ToolTimeout

from .._executor import RETRYABLE, TOOL_TIMEOUT_S, Executor
from .._proposals import CallAction


class ResendingExecutor(Executor):
    """Retries a side-effecting call on timeouts and 5xx, keyed by ``attempt_key``."""

    def attempt_key(self, step: int) -> str | None:
        raise NotImplementedError

    async def _keyed(self, step: int, call: CallAction,
                     attempts: list[dict[str, Any]]) -> dict[str, Any]:
        args = self._args(step, call)
        retry = 0
        while True:
            key = self.attempt_key(step)
            try:
                response = await self.env.tools.call(call.tool, args, idempotency_key=key,
                                                     timeout=TOOL_TIMEOUT_S)
                return {"ok": True, "response": response}
            except ToolTimeout:
                pass
            except ToolError as error:
                if error.status != 500 and error.status not in RETRYABLE:
                    return {"ok": False, "status": error.status, "error": error.body}
            retry += 1
            await self._pause(f"{self.workflow_id}/{step}", retry)
