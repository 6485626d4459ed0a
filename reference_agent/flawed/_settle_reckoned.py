"""``reference-settle-reckoned``: the reference as it was before it slept the chat's settle
wait (commits 8177106 and 6b9293a), kept as a *rare* bug for the search to find.

Before re-posting to chat after an unknown outcome, it waits until "the post's recorded
time + 120 s", reckoned from its own clock, instead of sleeping 120 s from now. A clock
that jumps forward makes that moment already past: the search runs while a delayed post
is still on the wire, finds nothing, and the incident is posted twice. Uniform swarm
sampling needed about 4,000 sre-incident seeds to meet the delay, the crash and the jump
together (``tests/reference_agent/test_settle_reckoned.py``).

It is the reference worker with one method of its executor swapped, not a copy: every
other port operation is the reference's.
"""

from __future__ import annotations

from typing import Any

from .._executor import SETTLE_S, Executor
from .._worker import Worker


class SettleReckonedExecutor(Executor):
    async def _settle(self, intent: dict[str, Any]) -> bool:
        # The flaw: the wait is reckoned from the intent's recorded time on this
        # process's clock (and slept without holding the lease), so a forward jump cuts
        # it short. As before the fix, it is reckoned again on every pass.
        now = self.env.clock.now()
        if now < intent["at"] + SETTLE_S:
            await self.env.clock.sleep(intent["at"] + SETTLE_S - now)
        return False


class SettleReckonedWorker(Worker):
    def executor(self, workflow_id: str, fence: int) -> Executor:
        return SettleReckonedExecutor(self.env, self.log, workflow_id, fence)


SETTLE_RECKONED = SettleReckonedWorker.design(
    "reference-settle-reckoned",
    "the reference, but the chat's settle wait is reckoned from the post's recorded "
    "time (a rare bug: a delayed post, a crash and a forward clock jump)",
)
