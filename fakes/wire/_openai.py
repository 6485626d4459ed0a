"""OpenAI Chat Completions (``POST https://api.openai.com/v1/chat/completions``) answered
by the fake model, in the shape ``openai.types.chat.ChatCompletion`` parses strictly.

A tool call is ``choices[0].message.tool_calls[0]`` (``type: "function"``,
``function.name``, ``function.arguments`` a JSON string) with ``finish_reason:
"tool_calls"``; a text answer has ``content`` and ``finish_reason: "stop"``. Model
faults in wire form: a *malformed* answer is cut at the length limit (``finish_reason:
"length"``, ``arguments`` cut mid-token: not JSON); a *hallucinated* one calls a wrong
tool or passes wrong arguments; *slow* takes its latency plus the slow delay. Injected
429 (``retry-after``) and 5xx are OpenAI's error JSON ``{"error": {"message", "type",
"param", "code"}}``; the SDK raises ``RateLimitError`` / ``InternalServerError`` and
retries them itself (twice by default; no idempotency key: every retry is a new call).
``usage`` counts about four bytes a token; ``x-request-id`` names each response.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from simulator import ModelAnswer

from ._chat import ConversationError, Reply, Step, arguments_text, tag
from ._http import HttpRequest, HttpResponse, json_response
from ._models import ModelDoor, text_of

_ERROR_TYPES = {"not_found": ("invalid_request_error", "unknown_url"),
                "authentication": ("invalid_request_error", "invalid_api_key"),
                "rate_limit": ("requests", "rate_limit_exceeded"),
                "server": ("server_error", None), "overloaded": ("server_error", None),
                "invalid_request": ("invalid_request_error", None)}


class OpenAIApi(ModelDoor):
    """``api.openai.com``: Chat Completions over ``model`` (module docstring)."""

    hosts = ("api.openai.com",)
    path = "/v1/chat/completions"
    tool_name = "openai.chat.completions"

    def error(self, status: int, kind: str, message: str, rid: str,
              headers: Mapping[str, str] | None = None) -> HttpResponse:
        type_, code = _ERROR_TYPES[kind]
        return json_response(status, {"error": {"message": message, "type": type_,
                                                "param": None, "code": code}},
                             {"x-request-id": rid, **(headers or {})})

    def authorized(self, request: HttpRequest) -> bool:
        auth = request.headers.get("authorization", "")
        return auth.startswith("Bearer ") and bool(auth[7:].strip())

    def request_id_header(self) -> str:
        return "x-request-id"

    def read(self, body: dict[str, Any]) -> tuple[list[str], list[Step], list[str], bool]:
        if not isinstance(body.get("model"), str):
            raise ConversationError("you must provide a model parameter")
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            raise ConversationError("'messages' must be a non-empty array")
        results: dict[str, str] = {}
        for m in messages:
            if isinstance(m, dict) and m.get("role") == "tool":
                results[str(m.get("tool_call_id"))] = text_of(m.get("content"))
        user_texts: list[str] = []
        steps: list[Step] = []
        for m in messages:
            if not isinstance(m, dict):
                raise ConversationError("each message must be an object")
            if m.get("role") == "user":
                user_texts.append(text_of(m.get("content")))
            elif m.get("role") == "assistant":
                for call in m.get("tool_calls") or []:
                    fn = call.get("function") or {}
                    steps.append(Step(str(fn.get("name", "")), fn.get("arguments", ""),
                                      results.get(str(call.get("id"))), False))
        declared = [str((t.get("function") or {}).get("name", ""))
                    for t in body.get("tools") or [] if isinstance(t, dict)]
        return user_texts, steps, declared, body.get("tool_choice") != "none"

    def render(self, answer: ModelAnswer, reply: Reply, body: dict[str, Any], rid: str,
               created: int, prompt_tokens: int) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": None, "refusal": None,
                                   "annotations": []}
        if reply.name is not None:
            arguments = arguments_text(reply.args, reply.cut)
            message["tool_calls"] = [{
                "id": f"call_{tag(answer.call, answer.decision, answer.index, answer.fate)}",
                "type": "function",
                "function": {"name": reply.name, "arguments": arguments},
            }]
            said = len(arguments) + len(reply.name)
            finish = "length" if reply.cut else "tool_calls"
        else:
            message["content"] = reply.text
            said = len(reply.text or "")
            finish = "length" if reply.cut else "stop"
        completion = max(1, said // 4)
        return {
            "id": f"chatcmpl-{tag(answer.call, answer.decision, n=29)}",
            "object": "chat.completion",
            "created": created,
            "model": body["model"],
            "choices": [{"index": 0, "message": message, "logprobs": None,
                         "finish_reason": finish}],
            "usage": {
                "prompt_tokens": prompt_tokens, "completion_tokens": completion,
                "total_tokens": prompt_tokens + completion,
                "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
                "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                                              "accepted_prediction_tokens": 0,
                                              "rejected_prediction_tokens": 0},
            },
            "service_tier": "default",
            "system_fingerprint": "fp_ninelives",
        }
