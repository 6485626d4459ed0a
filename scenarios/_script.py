"""The model's script for a scenario: from the conversation so far to the next turn.

A scenario whose design asks a model sets ``world.model.policy``. The fake model asks
that policy once per answer with the workflow's conversation so far, whichever API the
design speaks: the dialect's ``env.model``, or OpenAI Chat Completions and Anthropic
Messages over HTTP, whose doors (``fakes.wire``) read the conversation back into the
same form and render the turn in the API's own shape (an OpenAI ``tool_calls`` entry,
an Anthropic ``tool_use`` block, or a text answer). So one script serves every design.

``ModelScript`` is that policy written the way a person reads a transcript:
``next_turn(conversation, rng)`` sees a ``Conversation`` (the workflow's input and each
tool call made so far with its result) and returns the next turn, built with ``call``
and ``finish``, or a list of turns that are all valid next steps, of which the fake
model picks one with the run's seeded stream. A model that may take another valid
step when asked again is what makes a design that re-asks after a crash diverge, so
offering several is how a scenario tests "what is the resumable unit".
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


def call(tool: str, **args: Any) -> dict[str, Any]:
    """A turn that calls ``tool`` (``service.endpoint``, as the scenario's ``tools``
    name it) with ``args``. Over OpenAI or Anthropic it is a tool call of the declared
    tool of that name (``orders_refund``, ``orders.refund``, ``refund``: docs/fakes.md)."""
    return {"action": "call", "tool": tool, "args": dict(args)}


def finish(**outcome: Any) -> dict[str, Any]:
    """A turn that ends the workflow with ``outcome`` (a text answer over the HTTP APIs:
    the outcome's JSON, or a call of a declared ``finish`` tool)."""
    return {"action": "finish", "outcome": dict(outcome)}


@dataclass(frozen=True, slots=True)
class ToolResult:
    """One tool call of the conversation and what the agent sent back for it."""

    tool: str
    args: Mapping[str, Any]
    ok: bool  # false for a result the agent marked as an error
    result: Any  # the response (ok) or the error the agent reported


@dataclass(frozen=True, slots=True)
class Conversation:
    """A workflow's conversation as the model sees it when asked."""

    input: Mapping[str, Any]  # the workflow's input (the first JSON in the first user turn)
    results: tuple[ToolResult, ...]  # the tool calls so far, in order, with their results
    decision: str  # names this point of the conversation (the same on a retry)

    @classmethod
    def of(cls, request: Mapping[str, Any]) -> Conversation:
        """From the fake model's request ``{"decision", "input", "history"}``."""
        results = tuple(
            ToolResult(tool=str(h.get("tool", "")), args=dict(h.get("args") or {}),
                       ok=bool(h.get("ok")),
                       result=h.get("response") if h.get("ok") else h.get("error"))
            for h in request.get("history", ()))
        return cls(input=dict(request.get("input") or {}), results=results,
                   decision=str(request.get("decision", "")))

    def succeeded(self, tool: str, **args: Any) -> bool:
        """Whether a call of ``tool`` whose arguments include ``args`` succeeded."""
        return any(r.ok for r in self._matching(tool, args))

    def failed(self, tool: str, **args: Any) -> bool:
        """Whether a call of ``tool`` whose arguments include ``args`` failed."""
        return any(not r.ok for r in self._matching(tool, args))

    def last(self, tool: str) -> ToolResult | None:
        """The latest call of ``tool``, or None."""
        found = [r for r in self.results if r.tool == tool]
        return found[-1] if found else None

    def _matching(self, tool: str, args: Mapping[str, Any]) -> list[ToolResult]:
        return [r for r in self.results if r.tool == tool
                and all(r.args.get(k) == v for k, v in args.items())]


Turn = dict[str, Any]


class ModelScript:
    """Base of a scenario's model script (module docstring). Subclass it and write
    ``next_turn``; ``wrong_turn`` is what a *hallucinated* answer says instead (by
    default a call of a tool the scenario never offered, on the same service, with the
    same arguments: well-formed, and one an executor must refuse)."""

    def next_turn(self, conversation: Conversation,
                  rng: random.Random) -> Turn | Sequence[Turn]:
        """The next turn, or several valid next turns (the model picks one)."""
        raise NotImplementedError(f"{type(self).__name__} does not define next_turn")

    def wrong_turn(self, conversation: Conversation, proposed: Turn,
                   rng: random.Random) -> Turn:
        """A well-formed but wrong turn in place of ``proposed``."""
        tool = str(proposed.get("tool") or "")
        service = tool.partition(".")[0] if "." in tool else "admin"
        return call(f"{service}.delete_everything", **dict(proposed.get("args") or {}))

    # -- the fake model's policy protocol (simulator.ModelPolicy) ------------------------

    def propose(self, request: dict[str, Any], rng: random.Random) -> dict[str, Any]:
        turn = self.next_turn(Conversation.of(request), rng)
        if isinstance(turn, Mapping):
            return dict(turn)
        options = list(turn)
        if not options:
            raise ValueError(f"{type(self).__name__}.next_turn offered no turn")
        return dict(rng.choice(options))

    def hallucinate(self, request: dict[str, Any], action: dict[str, Any],
                    rng: random.Random) -> dict[str, Any]:
        return dict(self.wrong_turn(Conversation.of(request), action, rng))
