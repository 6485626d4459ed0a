"""``timeout-as-failure``: a timeout is taken for "it did not happen" and retried keyless.

A timeout means the outcome is unknown. Retrying without an idempotency key turns every
lost response into a second charge.
"""

from __future__ import annotations

from typing import Any

from simulator import Design, Env, ToolError, ToolTimeout

from .._executor import RETRYABLE, TOOL_TIMEOUT_S, Executor
from .._proposals import CallAction
from .._worker import Worker


class TimeoutAsFailureExecutor(Executor):
    async def _keyed(self, step: int, call: CallAction,
                     attempts: list[dict[str, Any]]) -> dict[str, Any]:
        args = self._args(step, call)
        retry = 0
        while True:
            try:
                # the flaw: no key, and a timeout is treated as a failed attempt
                response = await self.env.tools.call(call.tool, args, timeout=TOOL_TIMEOUT_S)
                return {"ok": True, "response": response}
            except ToolTimeout:
                pass
            except ToolError as error:
                if error.status != 500 and error.status not in RETRYABLE:
                    return {"ok": False, "status": error.status, "error": error.body}
            retry += 1
            await self._pause(f"{self.workflow_id}/{step}", retry)


class TimeoutAsFailureWorker(Worker):
    def executor(self, workflow_id: str, fence: int) -> Executor:
        return TimeoutAsFailureExecutor(self.env, self.log, workflow_id, fence)


async def timeout_as_failure_main(env: Env) -> None:
    await TimeoutAsFailureWorker(env).main()


TIMEOUT_AS_FAILURE = Design(
    name="timeout-as-failure",
    main=timeout_as_failure_main,
    description="a timeout is treated as failure and the call retried without a key",
)
