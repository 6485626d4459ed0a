"""``fresh-uuid-keys``: a durable log, but a new UUID as idempotency key on every attempt.

The key changes between a request whose response was lost and its retry, so the
provider cannot tell them apart and charges twice.
"""

from __future__ import annotations

import uuid
from typing import Any

from simulator import Design, Env, ToolError, ToolTimeout

from .._executor import RETRYABLE, TOOL_TIMEOUT_S, Executor
from .._proposals import CallAction
from .._worker import Worker


class FreshUuidExecutor(Executor):
    async def _keyed(self, step: int, call: CallAction,
                     attempts: list[dict[str, Any]]) -> dict[str, Any]:
        args = self._args(step, call)
        retry = 0
        while True:
            key = str(uuid.uuid4())  # the flaw: a key that is not derived from durable facts
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
            await self._pause(key, retry)


class FreshUuidWorker(Worker):
    def executor(self, workflow_id: str, fence: int) -> Executor:
        return FreshUuidExecutor(self.env, self.log, workflow_id, fence)


async def fresh_uuid_main(env: Env) -> None:
    await FreshUuidWorker(env).main()


FRESH_UUID_KEYS = Design(
    name="fresh-uuid-keys",
    main=fresh_uuid_main,
    description="durable log, but uuid4() as the idempotency key of every attempt",
)
