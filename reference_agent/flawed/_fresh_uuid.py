"""``fresh-uuid-keys``: a durable log, but a new UUID as idempotency key on every attempt.

The key changes between a request whose response was lost and its retry, so the
provider cannot tell them apart and charges twice.
"""

from __future__ import annotations

import uuid

from .._executor import Executor
from .._worker import Worker
from ._retrying import ResendingExecutor


class FreshUuidExecutor(ResendingExecutor):
    def attempt_key(self, step: int) -> str | None:
        return str(uuid.uuid4())  # the flaw: a key that is not derived from durable facts


class FreshUuidWorker(Worker):
    def executor(self, workflow_id: str, fence: int) -> Executor:
        return FreshUuidExecutor(self.env, self.log, workflow_id, fence)


FRESH_UUID_KEYS = FreshUuidWorker.design(
    "fresh-uuid-keys",
    "durable log, but uuid4() as the idempotency key of every attempt",
)
