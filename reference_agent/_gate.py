"""The policy gate: the only road from a model's proposal to the executor.

Checks, in order: the tool is on the agent's allowlist, the arguments fit the tool's
schema, and the agent's limits hold. A refused proposal never runs; the orchestrator
records the refusal and asks again (or fails the workflow after too many).
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from ._agents import AgentSpec
from ._proposals import CallAction, FinishAction, WaitAction
from ._tool_args import TOOL_ARGS


def review(
    spec: AgentSpec,
    workflow_input: dict[str, Any],
    proposal: CallAction | WaitAction | FinishAction,
    history: list[dict[str, Any]],
) -> str | None:
    """None if the proposal may run; otherwise the reason it is refused."""
    if isinstance(proposal, FinishAction):
        return None
    if isinstance(proposal, WaitAction):
        if proposal.seconds > spec.max_wait_s:
            return f"wait of {proposal.seconds:g} s exceeds the limit of {spec.max_wait_s:g} s"
        return None
    if proposal.tool not in spec.tools:
        return f"tool {proposal.tool!r} is not allowed for {spec.kind}"
    schema = TOOL_ARGS.get(proposal.tool)
    if schema is None:
        return f"tool {proposal.tool!r} has no argument schema"
    try:
        schema.model_validate(proposal.args)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        return f"bad arguments for {proposal.tool}: {where}: {first['msg']}"
    limit = spec.limits.get(proposal.tool)
    if limit is not None:
        return limit(workflow_input, proposal, history)
    return None
