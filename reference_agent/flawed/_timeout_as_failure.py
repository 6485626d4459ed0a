"""``timeout-as-failure``: a timeout is taken for "it did not happen" and retried keyless.

A timeout means the outcome is unknown. Retrying without an idempotency key turns every
lost response into a second charge.
"""

from __future__ import annotations

from simulator import Design, Env

from .._executor import Executor
from .._worker import Worker
from ._retrying import ResendingExecutor


class TimeoutAsFailureExecutor(ResendingExecutor):
    def attempt_key(self, step: int) -> str | None:
        return None  # the flaw: no key, and a timeout is treated as a failed attempt


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
