"""``timeout-as-failure``: a timeout is taken for "it did not happen" and retried keyless.

A timeout means the outcome is unknown. Retrying without an idempotency key turns every
lost response into a second charge.
"""

from __future__ import annotations

from .._executor import Executor
from .._worker import Worker
from ._retrying import ResendingExecutor


class TimeoutAsFailureExecutor(ResendingExecutor):
    def attempt_key(self, step: int) -> str | None:
        return None  # the flaw: no key, and a timeout is treated as a failed attempt


class TimeoutAsFailureWorker(Worker):
    def executor(self, workflow_id: str, fence: int) -> Executor:
        return TimeoutAsFailureExecutor(self.env, self.log, workflow_id, fence)


TIMEOUT_AS_FAILURE = TimeoutAsFailureWorker.design(
    "timeout-as-failure",
    "a timeout is treated as failure and the call retried without a key",
)
