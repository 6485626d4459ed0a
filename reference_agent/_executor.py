"""The executor (the doer): runs one approved step against the world, safely.

- The idempotency key is derived from durable facts only — workflow id, step index and a
  durably recorded attempt number — never a fresh UUID or a timestamp. Attempt 1 is
  recorded with the decision itself (``attempt_record``, called by the worker); the
  executor records the later ones.
- A timeout means *outcome unknown*: retry with the same key, capped exponential backoff
  with seeded jitter, on the (virtual) clock.
- A stored 500 is replayed by the provider for as long as the key lives, so after one the
  executor reconciles (looks the charge up by its metadata) and only then moves to a new,
  recorded attempt key.
- Keys expire after 24 h: before retrying that late it reconciles instead of re-sending.
- Chat has no idempotency key: before re-posting after an unknown outcome it waits out
  the network's worst delay and searches the channel for the step's marker.
"""

from __future__ import annotations

import random
from typing import Any

from simulator import Env, ToolError, ToolTimeout, derive_seed

from ._log import WorkflowLog
from ._proposals import CallAction

KEYED = frozenset({"payments.charge", "inventory.reserve", "email.send", "ops.restart"})
UNKEYED_EFFECTS = frozenset({"chat.post"})

TOOL_TIMEOUT_S = 10.0
BACKOFF_BASE_S = 1.0
BACKOFF_CAP_S = 3_600.0
#: the provider prunes keys after 24 h; reconcile before retrying past this age (the
#: margin covers a process clock that jumped back by up to an hour or more)
KEY_SAFE_AGE_S = 20 * 3_600.0
#: longer than any delay the network can add to a request (faults included)
SETTLE_S = 120.0
RETRYABLE = frozenset({409, 429, 502, 503, 504})


def backoff_s(key: str, retry: int) -> float:
    """Capped exponential backoff with jitter seeded by the key: deterministic per step."""
    ceiling = min(BACKOFF_CAP_S, BACKOFF_BASE_S * (2 ** min(retry, 20)))
    jitter = random.Random(derive_seed(retry, key)).random()
    return ceiling / 2 + jitter * ceiling / 2


def attempt_record(workflow_id: str, step: int, n: int, now: float) -> tuple[str, dict[str, Any]]:
    """The log entry for attempt ``n`` of a keyed step: its idempotency key, derived from
    durable facts only, and when it was (about to be) first sent."""
    return (f"attempt-{n:03d}",
            {"n": n, "key": f"{workflow_id}/step-{step}/a{n}", "first_sent_at": now})


class Executor:
    """Executes approved calls for one workflow under one fencing token."""

    def __init__(self, env: Env, log: WorkflowLog, workflow_id: str, fence: int) -> None:
        self.env = env
        self.log = log
        self.workflow_id = workflow_id
        self.fence = fence

    async def run(self, step: int, call: CallAction, attempts: list[dict[str, Any]],
                  intents: list[dict[str, Any]]) -> dict[str, Any]:
        """Run the step to a definite result (ok or a business error) and return it."""
        if call.tool in KEYED:
            return await self._keyed(step, call, attempts)
        if call.tool in UNKEYED_EFFECTS:
            return await self._unkeyed(step, call, intents)
        return await self._read(step, call)

    def _args(self, step: int, call: CallAction) -> dict[str, Any]:
        args = dict(call.args)
        if call.tool == "payments.charge":
            # Durable facts the charge can be found by (reconciliation).
            args["metadata"] = {"workflow": self.workflow_id, "step": str(step)}
        return args

    async def _new_attempt(self, step: int, n: int) -> dict[str, Any]:
        entry, attempt = attempt_record(self.workflow_id, step, n, self.env.clock.now())
        await self.log.append(self.workflow_id, self.fence, step, entry, attempt)
        return attempt

    async def _reconcile(self, step: int, call: CallAction) -> dict[str, Any] | None:
        if call.tool != "payments.charge":
            return None
        found = await self.env.tools.call(
            "payments.search",
            {"metadata": {"workflow": self.workflow_id, "step": str(step)}},
            timeout=TOOL_TIMEOUT_S,
        )
        for charge in found.get("data", []):
            if charge.get("status") == "succeeded":
                return charge
        return None

    async def _pause(self, key: str, retry: int) -> None:
        # Hold the lease through the backoff: otherwise another worker takes the
        # workflow over mid-sleep and starts its own backoff from the first retry, and
        # two workers hammer a provider that is down with thousands of requests
        # (tests/reference_agent/test_agent_executor.py::test_two_workers_back_off).
        await self._hold_and_sleep(backoff_s(key, retry))

    async def _hold_and_sleep(self, seconds: float) -> None:
        """Sleep, holding the lease throughout: a wait another worker could take over
        midway would start again from nothing in that worker, and again in the next
        (two workers never finished an incident while each slept out the chat's settle
        time in turn: tests/reference_agent/test_settle_clock_jump.py)."""
        await self.log.renew(self.workflow_id, self.fence, hold_s=seconds)
        await self.env.clock.sleep(seconds)
        await self.log.renew(self.workflow_id, self.fence)

    async def _settle(self, intent: dict[str, Any]) -> bool:
        """Wait until a post made at ``intent`` that may still be on the wire has landed;
        True if that wait is over for this incarnation (it need not be waited again).
        ``reference-settle-reckoned`` overrides it with the wait it replaced."""
        await self._hold_and_sleep(SETTLE_S)
        return True

    async def _keyed(self, step: int, call: CallAction,
                     attempts: list[dict[str, Any]]) -> dict[str, Any]:
        attempt = attempts[-1] if attempts else await self._new_attempt(step, 1)
        args = self._args(step, call)
        retry = 0
        while True:
            try:
                if self.env.clock.now() - attempt["first_sent_at"] > KEY_SAFE_AGE_S:
                    found = await self._reconcile(step, call)
                    if found is not None:
                        return {"ok": True, "response": found, "reconciled": True}
                    attempt = await self._new_attempt(step, attempt["n"] + 1)
                response = await self.env.tools.call(
                    call.tool, args, idempotency_key=attempt["key"], timeout=TOOL_TIMEOUT_S)
                return {"ok": True, "response": response}
            except ToolTimeout:
                pass  # outcome unknown: same key again
            except ToolError as error:
                if error.status == 500:
                    # The provider stored this 500 against the key: the same key would
                    # only replay it. Find out whether it charged, then use a new key.
                    try:
                        found = await self._reconcile(step, call)
                    except (ToolTimeout, ToolError):
                        found = None
                        retry += 1
                        await self._pause(attempt["key"], retry)
                        continue
                    if found is not None:
                        return {"ok": True, "response": found, "reconciled": True}
                    attempt = await self._new_attempt(step, attempt["n"] + 1)
                elif error.status not in RETRYABLE:
                    return {"ok": False, "status": error.status, "error": error.body}
            retry += 1
            await self._pause(attempt["key"], retry)

    async def _unkeyed(self, step: int, call: CallAction,
                       intents: list[dict[str, Any]]) -> dict[str, Any]:
        marker = f"[{self.workflow_id}/step-{step}]"
        args = dict(call.args)
        args["text"] = f"{args.get('text', '')} {marker}"
        retry = 0
        settled: dict[str, Any] | None = None  # the last intent this incarnation waited out
        while True:
            if intents:
                # We may have posted before (crash or timeout): wait until any request
                # still on the wire has landed, then look before posting again. The wait
                # is slept from now, not reckoned from the intent's recorded time: a clock
                # that jumped forward cut it short, and a delayed post landed after the
                # search (tests/reference_agent/test_settle_clock_jump.py).
                if settled is not intents[-1] and await self._settle(intents[-1]):
                    settled = intents[-1]
                try:
                    found = await self.env.tools.call(
                        "chat.search", {"channel": args["channel"], "contains": marker},
                        timeout=TOOL_TIMEOUT_S)
                except (ToolTimeout, ToolError):
                    retry += 1
                    await self._pause(marker, retry)
                    continue
                messages = found.get("messages", [])
                if messages:
                    return {"ok": True, "response": messages[0], "reconciled": True}
            intent = {"at": self.env.clock.now()}
            await self.log.append(self.workflow_id, self.fence, step,
                                  f"intent-{len(intents) + 1:03d}", intent)
            intents = [*intents, intent]
            try:
                response = await self.env.tools.call(call.tool, args, timeout=TOOL_TIMEOUT_S)
                return {"ok": True, "response": response}
            except ToolTimeout:
                pass
            except ToolError as error:
                if error.status == 429:
                    intents = intents[:-1]  # rejected before executing: nothing was posted
                elif error.status < 500:
                    return {"ok": False, "status": error.status, "error": error.body}
            retry += 1
            await self._pause(marker, retry)

    async def _read(self, step: int, call: CallAction) -> dict[str, Any]:
        retry = 0
        while True:
            try:
                response = await self.env.tools.call(call.tool, call.args,
                                                     timeout=TOOL_TIMEOUT_S)
                return {"ok": True, "response": response}
            except ToolTimeout:
                pass
            except ToolError as error:
                if error.status < 500 and error.status not in RETRYABLE:
                    return {"ok": False, "status": error.status, "error": error.body}
            retry += 1
            await self._pause(f"{self.workflow_id}/step-{step}", retry)
