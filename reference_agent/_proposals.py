"""What a model may propose, as data: parse, never trust.

The model answers with JSON text. ``parse_proposal`` turns it into one of three actions
or raises ``ProposalError``; nothing the model says reaches a tool before the policy gate
(``_gate.py``) has approved it.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError


class CallAction(BaseModel):
    """Call one tool with these arguments."""

    model_config = ConfigDict(extra="forbid")
    action: Literal["call"]
    tool: str
    args: dict[str, Any]


class WaitAction(BaseModel):
    """Sleep on the (durable) timer before the next step."""

    model_config = ConfigDict(extra="forbid")
    action: Literal["wait"]
    seconds: float = Field(gt=0)


class FinishAction(BaseModel):
    """The workflow is done, with this outcome."""

    model_config = ConfigDict(extra="forbid")
    action: Literal["finish"]
    outcome: dict[str, Any]


Proposal = Annotated[CallAction | WaitAction | FinishAction, Field(discriminator="action")]
_ADAPTER: TypeAdapter[CallAction | WaitAction | FinishAction] = TypeAdapter(Proposal)


class ProposalError(ValueError):
    """The model's answer is not a well-formed proposal.

    The reference design's own exception, not ninelives': outside its error tree."""

    __module__ = "reference_agent"


def parse_proposal(text: str) -> CallAction | WaitAction | FinishAction:
    """Parse the model's JSON answer into an action (raises ProposalError)."""
    try:
        return _ADAPTER.validate_json(text)
    except ValidationError as error:
        first = error.errors()[0]
        raise ProposalError(f"malformed proposal: {first['msg']}") from None


def proposal_from_dict(data: dict[str, Any]) -> CallAction | WaitAction | FinishAction:
    return _ADAPTER.validate_python(data)
