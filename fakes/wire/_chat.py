"""What the OpenAI and Anthropic doors share: a conversation read as the scenario's policy
reads a request, a decision named by its conversation, and the policy's proposal turned
into a tool call against the tools the request declares.

**The conversation as a policy request.** The workflow's input is the first JSON object
in the first user turn (the whole text, or embedded in prose). Each tool call the
assistant made and the result the agent sent back is one history entry
``{"tool", "args", "ok", "response"}`` (or ``"error"``), as the dialect's history is:
``ok`` is false for a result the agent marked as an error (Anthropic ``is_error``) or a
JSON object with a truthy ``error`` (or ``"ok": false``).

**A decision is its conversation.** ``decision`` is a digest of the user turns and of
every (tool, arguments, result) so far — not of the system prompt, ids or wording — so a
retry of the same request (the SDK's own, or the agent's after a crash) asks the same
decision, and the fake model's per-decision answer counting (``model-once-per-decision``,
resume equivalence) holds for SDK code as for the dialect.

**Tool names.** A scenario tool (``payments.charge``) is called by the declared tool
named, in this order: as the door's ``tool_names`` says; exactly ``payments.charge``;
``payments_charge``, ``payments__charge`` or ``payments-charge``; or ``charge`` when only
one declared tool is so named. A proposal no declared tool matches (a hallucinated
``payments.refund_everything``) is called as ``payments_refund_everything``: the unknown
tool a real model sometimes names. An action that is not a call (``finish``, ``wait``)
is a call of the declared tool of that name if any, its fields as arguments, and
otherwise a text answer: the proposal's JSON, as the dialect model says it. Arguments
are the scenario's, unchanged.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from simulator import FakeModel, ModelAnswer, canonical_json


class ConversationError(ValueError):
    """A request the fake model cannot read as a workflow's conversation (a 400)."""


@dataclass(frozen=True, slots=True)
class Step:
    """One tool call of the conversation and the result the agent sent back."""

    name: str  # the declared tool name the assistant called
    arguments: Any  # as sent: a JSON string (OpenAI) or an object (Anthropic)
    result: str | None  # the result's text; None if the agent sent none
    is_error: bool


def first_json_object(text: str) -> dict[str, Any] | None:
    """The first JSON object in ``text`` (all of it, or embedded in prose)."""
    decoder = json.JSONDecoder()
    start = text.find("{")
    while start != -1:
        try:
            value, _ = decoder.raw_decode(text, start)
        except ValueError:
            value = None
        if isinstance(value, dict):
            return value
        start = text.find("{", start + 1)
    return None


def _parsed(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def _ok(result: Any, is_error: bool) -> bool:
    if is_error:
        return False
    if isinstance(result, dict):
        return not result.get("error") and result.get("ok", True) is not False
    return True


class ToolNames:
    """Scenario tools ↔ the tool names one request declares (module docstring)."""

    def __init__(self, declared: Sequence[str], explicit: Mapping[str, str],
                 seen: dict[str, str]) -> None:
        self.declared = list(declared)
        self._declared = set(declared)
        self.explicit = explicit
        self._seen = seen  # declared name → scenario tool, over the door's life

    def to_wire(self, tool: str) -> str:
        for name in self._candidates(tool):
            if name in self._declared:
                self._seen[name] = tool
                return name
        endpoint = tool.partition(".")[2]
        if endpoint:
            same = [d for d in self.declared if d == endpoint]
            if len(same) == 1:
                self._seen[same[0]] = tool
                return same[0]
        return tool.replace(".", "_")

    def _candidates(self, tool: str) -> list[str]:
        out = [self.explicit[tool]] if tool in self.explicit else []
        return [*out, tool, tool.replace(".", "_"), tool.replace(".", "__"),
                tool.replace(".", "-")]

    def from_wire(self, name: str) -> str:
        inverse = {v: k for k, v in self.explicit.items()}
        if name in inverse:
            return inverse[name]
        if name in self._seen:
            return self._seen[name]
        for sep in ("__", "_", "-"):
            service, found, endpoint = name.partition(sep)
            if found and service and endpoint:
                return f"{service}.{endpoint}"
        return name


def policy_request(user_texts: list[str], steps: list[Step],
                   names: ToolNames) -> dict[str, Any]:
    """``{"decision", "input", "history"}`` for the policy, from one conversation."""
    if not user_texts:
        raise ConversationError("the conversation has no user turn")
    found = first_json_object(user_texts[0])
    if found is None:
        raise ConversationError(
            "the fake model reads the workflow's input as a JSON object in the first "
            "user message; none found (docs/fakes.md)")
    history: list[dict[str, Any]] = []
    for step in steps:
        if step.result is None:
            continue
        args = _parsed(step.arguments) if isinstance(step.arguments, str) else step.arguments
        result = _parsed(step.result)
        ok = _ok(result, step.is_error)
        entry: dict[str, Any] = {"step": len(history), "tool": names.from_wire(step.name),
                                 "args": args if isinstance(args, dict) else {}, "ok": ok}
        entry["response" if ok else "error"] = result
        history.append(entry)
    digest = hashlib.sha256(canonical_json({
        "user": user_texts,
        "steps": [[s.name, s.arguments, s.result, s.is_error] for s in steps],
    }).encode()).hexdigest()
    return {"decision": f"conv-{digest[:16]}", "input": found, "history": history}


@dataclass(frozen=True, slots=True)
class Reply:
    """What the answer says on the wire: a tool call (``name``, ``args``) or a text.
    ``cut``: the answer was cut off (malformed): stop at the length limit."""

    text: str | None
    name: str | None
    args: dict[str, Any]
    cut: bool


def reply_for(answer: ModelAnswer, names: ToolNames, *, tools_allowed: bool) -> Reply:
    """The wire form of a model answer (module docstring)."""
    action = answer.action
    cut = answer.fate == "malformed"
    if tools_allowed and names.declared:
        if action.get("action") == "call":
            return Reply(None, names.to_wire(str(action.get("tool", ""))),
                         dict(action.get("args") or {}), cut)
        kind = str(action.get("action", ""))
        if kind in names.declared or kind in names.explicit:
            fields = {k: v for k, v in action.items() if k != "action"}
            return Reply(None, names.to_wire(kind), fields, cut)
    return Reply(answer.text, None, {}, cut)


def arguments_text(args: dict[str, Any], cut: bool) -> str:
    """A tool call's arguments as a JSON string; cut mid-token if the answer was."""
    text = json.dumps(args, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    return text[: max(1, len(text) // 2)] if cut else text


def tag(*parts: object, n: int = 24) -> str:
    """A stable id fragment from its parts (ids the same for the same answer).

    A tool call's id includes the model call's number: the real APIs give every
    completion fresh ids, so a design that keys an effect by the tool call's id is
    safe only while the model's message is kept, never when the model is asked again
    (tests/examples/test_langgraph_agent.py: LangGraph's ``durability="exit"``)."""
    return hashlib.sha256(":".join(map(str, parts)).encode()).hexdigest()[:n]


def ask(model: FakeModel, caller: str, request: dict[str, Any]) -> ModelAnswer:
    """The fake model's answer, or ``ConversationError`` if its policy cannot read the
    request (a scenario policy indexes the input it expects)."""
    try:
        return model.ask(caller, request)
    except (KeyError, TypeError, AttributeError, IndexError) as bad:
        raise ConversationError(
            f"the scenario's model policy cannot read this conversation's input "
            f"({type(bad).__name__}: {bad}); send the workflow input as JSON in the "
            "first user message") from None
