"""Anthropic Messages (``POST https://api.anthropic.com/v1/messages``) answered by the
fake model, in the shape ``anthropic.types.Message`` parses strictly.

A tool call is a ``content`` block ``{"type": "tool_use", "id", "name", "input"}`` with
``stop_reason: "tool_use"``; a text answer a ``text`` block with ``"end_turn"``. Model
faults in wire form: a *malformed* answer is cut at the token limit (``stop_reason:
"max_tokens"``: the tool_use ``input`` lacks the arguments after the cut, a text is cut
mid-token); *hallucinated* calls a wrong tool or passes wrong arguments; *slow* is slow.
Injected 429 (``retry-after``), 500 and 529 (``overloaded_error``) are Anthropic's error
JSON ``{"type": "error", "error": {"type", "message"}, "request_id"}``; the SDK raises
``RateLimitError`` / ``InternalServerError`` / ``OverloadedError`` and retries them
itself. The API key is the ``x-api-key`` header (or ``Authorization: Bearer``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from simulator import ModelAnswer

from ._chat import ConversationError, Reply, Step, tag
from ._http import HttpRequest, HttpResponse, json_response
from ._models import ModelDoor, text_of

_ERROR_TYPES = {"not_found": "not_found_error", "authentication": "authentication_error",
                "rate_limit": "rate_limit_error", "server": "api_error",
                "overloaded": "overloaded_error", "invalid_request": "invalid_request_error"}


class AnthropicApi(ModelDoor):
    """``api.anthropic.com``: Messages over ``model`` (module docstring)."""

    hosts = ("api.anthropic.com",)
    path = "/v1/messages"
    tool_name = "anthropic.messages"

    def error(self, status: int, kind: str, message: str, rid: str,
              headers: Mapping[str, str] | None = None) -> HttpResponse:
        return json_response(status, {"type": "error",
                                      "error": {"type": _ERROR_TYPES[kind], "message": message},
                                      "request_id": rid},
                             {"request-id": rid, **(headers or {})})

    def authorized(self, request: HttpRequest) -> bool:
        auth = request.headers.get("authorization", "")
        return bool(request.headers.get("x-api-key", "").strip()) or (
            auth.startswith("Bearer ") and bool(auth[7:].strip()))

    def request_id_header(self) -> str:
        return "request-id"

    def read(self, body: dict[str, Any]) -> tuple[list[str], list[Step], list[str], bool]:
        if not isinstance(body.get("model"), str):
            raise ConversationError("model: Field required")
        max_tokens = body.get("max_tokens")
        if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 1:
            raise ConversationError("max_tokens: Field required (an integer >= 1)")
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            raise ConversationError("messages: at least one message is required")
        results: dict[str, tuple[str, bool]] = {}
        for m in messages:
            for block in _blocks(m):
                if block.get("type") == "tool_result":
                    results[str(block.get("tool_use_id"))] = (
                        text_of(block.get("content")), bool(block.get("is_error")))
        user_texts: list[str] = []
        steps: list[Step] = []
        for m in messages:
            role = m.get("role") if isinstance(m, dict) else None
            if role not in ("user", "assistant"):
                raise ConversationError("messages: each role must be user or assistant")
            if role == "user":
                text = m["content"] if isinstance(m.get("content"), str) else "".join(
                    str(b.get("text", "")) for b in _blocks(m) if b.get("type") == "text")
                if text:
                    user_texts.append(text)
            else:
                for block in _blocks(m):
                    if block.get("type") == "tool_use":
                        result, is_error = results.get(str(block.get("id")), (None, False))
                        steps.append(Step(str(block.get("name", "")), block.get("input"),
                                          result, is_error))
        declared = [str(t.get("name", "")) for t in body.get("tools") or []
                    if isinstance(t, dict)]
        choice = body.get("tool_choice")
        allowed = not (isinstance(choice, dict) and choice.get("type") == "none")
        return user_texts, steps, declared, allowed

    def render(self, answer: ModelAnswer, reply: Reply, body: dict[str, Any], rid: str,
               created: int, prompt_tokens: int) -> dict[str, Any]:
        if reply.name is not None:
            args = reply.args
            if reply.cut:  # cut off: the arguments after the cut never came
                args = dict(list(args.items())[: len(args) // 2])
            use_id = f"toolu_{tag(answer.call, answer.decision, answer.index, answer.fate)}"
            content: list[dict[str, Any]] = [{"type": "tool_use", "id": use_id,
                                              "name": reply.name, "input": args}]
            stop = "max_tokens" if reply.cut else "tool_use"
            said = len(reply.name) + len(str(args))
        else:
            content = [{"type": "text", "text": reply.text or ""}]
            stop = "max_tokens" if reply.cut else "end_turn"
            said = len(reply.text or "")
        return {
            "id": f"msg_{tag(answer.call, answer.decision)}",
            "type": "message",
            "role": "assistant",
            "model": body["model"],
            "content": content,
            "stop_reason": stop,
            "stop_sequence": None,
            "usage": {"input_tokens": prompt_tokens, "output_tokens": max(1, said // 4),
                      "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0,
                      "service_tier": "standard"},
        }


def _blocks(message: Any) -> list[dict[str, Any]]:
    content = message.get("content") if isinstance(message, dict) else None
    return [b for b in content if isinstance(b, dict)] if isinstance(content, list) else []
