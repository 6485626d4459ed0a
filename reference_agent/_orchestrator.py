"""The orchestrator (the decider): folds a workflow's log into state, decides the next step.

Pure by construction: no I/O, no clock, no randomness, no tool client. Given the same
log it always decides the same thing, which is what makes resuming after a crash safe
(``tests/reference_agent/test_orchestrator.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ._agents import AgentSpec
from ._proposals import CallAction, FinishAction, WaitAction, proposal_from_dict


@dataclass
class StepState:
    index: int
    decision: dict[str, Any] | None = None
    rejections: int = 0
    attempts: list[dict[str, Any]] = field(default_factory=list)
    intents: list[dict[str, Any]] = field(default_factory=list)
    result: dict[str, Any] | None = None


@dataclass
class WorkflowState:
    workflow_id: str
    steps: list[StepState]

    def history(self) -> list[dict[str, Any]]:
        """Completed steps as the model and the gate see them."""
        out: list[dict[str, Any]] = []
        for s in self.steps:
            if s.result is None:
                continue
            if s.decision is not None:
                action = s.decision["proposal"]
            elif "action" in s.result:  # a design that does not record decisions
                action = s.result["action"]
            else:
                continue
            if action["action"] == "call":
                item = {"step": s.index, "tool": action["tool"], "args": action["args"],
                        "ok": s.result.get("ok", False)}
                if "response" in s.result:
                    item["response"] = s.result["response"]
                if "error" in s.result:
                    item["error"] = s.result["error"]
                out.append(item)
            elif action["action"] == "wait":
                out.append({"step": s.index, "wait": action["seconds"], "ok": True})
        return out


def fold(workflow_id: str, entries: list[tuple[str, Any]]) -> WorkflowState:
    """Rebuild the workflow's state from its log entries (``<id>/<step>/<entry>`` keys)."""
    steps: dict[int, StepState] = {}
    start = len(workflow_id) + 1
    for key, value in entries:
        slash = key.index("/", start)
        index = int(key[start:slash])
        entry = key[slash + 1:]
        step = steps.get(index)
        if step is None:
            step = steps[index] = StepState(index)
        if entry == "decision":
            step.decision = value
        elif entry == "result":
            step.result = value
        elif entry.startswith("attempt"):
            step.attempts.append(value)
        elif entry.startswith("rejected"):
            step.rejections += 1
        elif entry.startswith("intent"):
            step.intents.append(value)
    return WorkflowState(workflow_id, [steps[i] for i in sorted(steps)])


@dataclass(frozen=True)
class AskModel:
    step: int
    decision_id: str


@dataclass(frozen=True)
class Execute:
    step: int
    call: CallAction


@dataclass(frozen=True)
class Sleep:
    step: int
    wake_at: float
    action: dict[str, Any]


@dataclass(frozen=True)
class Finish:
    step: int
    status: str
    outcome: dict[str, Any]


Decision = AskModel | Execute | Sleep | Finish


def decide(state: WorkflowState, spec: AgentSpec) -> Decision:
    """The next thing to do for this workflow."""
    steps = state.steps
    if steps and steps[-1].result is None:
        current = steps[-1]
        if current.decision is None:
            if current.rejections >= spec.max_rejections:
                return Finish(current.index, "failed",
                              {"status": "failed", "reason": "the model kept proposing "
                               "actions the policy refused"})
            return AskModel(current.index, f"{state.workflow_id}/step-{current.index}")
        action = proposal_from_dict(current.decision["proposal"])
        if isinstance(action, CallAction):
            return Execute(current.index, action)
        if isinstance(action, WaitAction):
            return Sleep(current.index, current.decision["wake_at"],
                         current.decision["proposal"])
        assert isinstance(action, FinishAction)
        return Finish(current.index, "done", action.outcome)
    index = steps[-1].index + 1 if steps else 0
    return AskModel(index, f"{state.workflow_id}/step-{index}")
