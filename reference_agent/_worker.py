"""The reference design's worker: claim a workflow, replay its log, continue it.

The loop is the only place that does I/O on behalf of the orchestrator: it asks the
model (and records the answer before acting on it), puts every proposal through the
policy gate, hands approved calls to the executor, and records each result. On a restart
the log answers everything already decided or done; nothing is asked or sent twice.
"""

from __future__ import annotations

from typing import Any

from simulator import Design, Env, ModelTimeout, StoreConflict

from ._agents import AGENTS
from ._executor import KEYED, Executor, attempt_record
from ._gate import review
from ._log import LeaseLost, WorkflowLog
from ._orchestrator import (
    AskModel,
    Execute,
    Finish,
    Sleep,
    StepState,
    WorkflowState,
    decide,
    fold,
)
from ._proposals import CallAction, ProposalError, WaitAction, parse_proposal

MODEL_TIMEOUT_S = 60.0
POLL_S = 5.0


class Worker:
    """One worker process of the reference design.

    The flawed designs (``reference_agent.flawed``) are this worker with exactly one
    part swapped out, so that each is caught for its own flaw and nothing else.
    """

    #: put proposals through the policy gate (``fused`` turns this off)
    use_gate = True
    #: record model answers in the log before acting (``unrecorded-model`` turns it off)
    record_model = True

    def __init__(self, env: Env) -> None:
        self.env = env
        self.log = WorkflowLog(env, env.process_name)
        # Decisions held only in memory (used when record_model is off).
        self._memory: dict[str, dict[str, Any]] = {}

    @classmethod
    def design(cls, name: str, description: str, workers: int = 1) -> Design:
        """A ``Design`` whose workers run this class (how the flawed designs are made)."""

        async def main(env: Env) -> None:
            await cls(env).main()

        main.__qualname__ = main.__name__ = f"{cls.__name__}.main"
        return Design(name=name, main=main, workers=workers, description=description)

    def executor(self, workflow_id: str, fence: int) -> Executor:
        return Executor(self.env, self.log, workflow_id, fence)

    async def main(self) -> None:
        env, log = self.env, self.log
        while True:
            workflows = await env.tasks.list()
            waiting = False
            wake_at: float | None = None
            #: when the earliest lease another worker holds can have run out
            lease_end: float | None = None
            for workflow in workflows:
                row = await log.row(workflow["id"])
                if row is not None and row["status"] != "running":
                    if not row["reported"]:
                        await env.tasks.complete(workflow["id"], row["outcome"])
                        await log.mark_reported(workflow["id"])
                    continue
                try:
                    fence = await log.claim(workflow)
                except StoreConflict:
                    fence = None
                if fence is None:
                    waiting = True
                    if row is not None:
                        until = row["lease_until"]
                        lease_end = until if lease_end is None else min(lease_end, until)
                    continue
                try:
                    sleeping_until = await self.run_workflow(workflow, fence)
                except (LeaseLost, StoreConflict):
                    waiting = True
                    continue
                if sleeping_until is not None:
                    # A durable timer: serve the other workflows meanwhile.
                    wake_at = sleeping_until if wake_at is None else min(wake_at, sleeping_until)
                    continue
                row = await log.row(workflow["id"])
                assert row is not None
                await env.tasks.complete(workflow["id"], row["outcome"])
                await log.mark_reported(workflow["id"])
            if wake_at is not None:
                await env.clock.sleep(max(0.0, wake_at - env.clock.now()))
            elif waiting:
                # Look again when another worker's lease can have run out, not every
                # POLL_S through a lease held for an hour-long backoff.
                now = env.clock.now()
                await env.clock.sleep(max(POLL_S, (lease_end or now) - now))
            else:
                return

    async def run_workflow(self, workflow: dict[str, Any], fence: int) -> float | None:
        """Drive one workflow under our lease until it ends (None) or waits on a durable
        timer (returns when it wakes). Raises LeaseLost if the lease goes."""
        env, log = self.env, self.log
        wid = workflow["id"]
        spec = AGENTS[workflow["kind"]]
        executor = self.executor(wid, fence)
        while True:
            state = fold(wid, await log.entries(wid, fence))
            step = decide(state, spec)
            if isinstance(step, AskModel) and step.decision_id in self._memory:
                state.steps.append(StepState(step.step, decision=self._memory[step.decision_id]))
                step = decide(state, spec)
            if isinstance(step, AskModel):
                await self.ask_model(workflow, fence, step, state)
            elif isinstance(step, Execute):
                current = state.steps[-1]
                result = await executor.run(step.step, step.call, current.attempts,
                                            current.intents)
                assert current.decision is not None  # decide() executes decided steps only
                result["action"] = current.decision["proposal"]  # the call, as JSON
                await log.append(wid, fence, step.step, "result", result)
            elif isinstance(step, Sleep):
                if step.wake_at > env.clock.now():
                    return step.wake_at
                await log.append(wid, fence, step.step, "result",
                                 {"ok": True, "action": step.action})
            else:
                assert isinstance(step, Finish)
                await log.finish(wid, fence, step.status, step.outcome)
                return None

    async def ask_model(self, workflow: dict[str, Any], fence: int, step: AskModel,
                        state: WorkflowState) -> None:
        """Ask for the next action; record it (or its refusal) before anything acts on it."""
        env, log = self.env, self.log
        wid = workflow["id"]
        spec = AGENTS[workflow["kind"]]
        request = {"decision": step.decision_id, "agent": workflow["kind"], "workflow": wid,
                   "input": workflow["input"], "history": state.history()}
        # Only the lease holder may ask: a worker whose lease lapsed (a model timeout
        # outlasts it) would otherwise ask for a decision another worker is making.
        await log.hold(wid, fence)
        try:
            text = await env.model.complete(request, timeout=MODEL_TIMEOUT_S)
        except ModelTimeout:
            return  # nothing was decided; ask again
        reason: str | None
        try:
            proposal = parse_proposal(text)
            reason = review(spec, workflow["input"], proposal, state.history()) \
                if self.use_gate else None
        except ProposalError as error:
            proposal, reason = None, str(error)
        if reason is not None:
            current = state.steps[-1] if state.steps and state.steps[-1].index == step.step \
                else None
            n = (current.rejections if current else 0) + 1
            await log.append(wid, fence, step.step, f"rejected-{n:03d}",
                             {"reason": reason, "answer": text[:500]})
            return
        assert proposal is not None
        decision: dict[str, Any] = {"proposal": proposal.model_dump(mode="json")}
        if isinstance(proposal, WaitAction):
            decision["wake_at"] = env.clock.now() + proposal.seconds
        if self.record_model:
            also = None
            if isinstance(proposal, CallAction) and proposal.tool in KEYED:
                # The first attempt's key is a durable fact the moment the call is
                # decided: record both in one commit instead of two.
                entry, attempt = attempt_record(wid, step.step, 1, env.clock.now())
                also = {entry: attempt}
            await log.append(wid, fence, step.step, "decision", decision, also)
        else:
            self._memory[step.decision_id] = decision


async def reference_main(env: Env) -> None:
    """One worker process of the reference design."""
    await Worker(env).main()


REFERENCE = Design(
    name="reference",
    main=reference_main,
    workers=1,
    description="decider split from doer, durable log, recorded model, keys from durable facts",
)

REFERENCE_TWO_WORKERS = Design(
    name="reference-2w",
    main=reference_main,
    workers=2,
    description="the reference design with two workers competing for leases (fencing)",
)
