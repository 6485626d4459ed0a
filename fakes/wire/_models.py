"""The model doors' shared begin/finish: faults, the fake model's answer, its latency.

``begin`` answers at once for what never reaches the model (a wrong path, no API key, a
body that is not JSON or not a conversation, an injected 429 or 5xx) and otherwise asks
the fake model (``FakeModel.ask``: the scenario's policy, the seed, the answer count of
the decision, the model fault of the hook) and returns an ``HttpInFlight`` that takes
the answer's latency (a ``slow`` answer is slow). ``finish`` renders the answer in the
API's own shape; the answer counts as given when the response ``arrived()``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from simulator import NS_PER_MS, NS_PER_S, VIRTUAL_EPOCH_S, FakeModel, ModelAnswer

from ._chat import ConversationError, Reply, Step, ToolNames, ask, policy_request, reply_for
from ._http import HttpInFlight, HttpRequest, HttpResponse, WireDoor, json_response


class ModelDoor(WireDoor):
    """Base of ``OpenAIApi`` and ``AnthropicApi``; subclasses speak the wire format."""

    #: the one path served (``/v1/chat/completions``)
    path = ""
    #: the tool name faults use for this API's calls
    tool_name = ""

    def __init__(self, model: FakeModel, *, tool_names: Mapping[str, str] | None = None,
                 retry_after_ms: int = 1_000) -> None:
        self.model = model
        #: scenario tool (or action) → declared tool name, where the defaults do not fit
        self.tool_names = dict(tool_names or {})
        #: what a 429 asks the SDK to wait (``retry-after-ms``; ``retry-after`` rounded up)
        self.retry_after_ms = retry_after_ms
        self._served = 0
        self._seen: dict[str, str] = {}

    def tool(self, request: HttpRequest) -> str:
        ok = request.method == "POST" and request.path.rstrip("/") == self.path
        return self.tool_name if ok else ""

    # -- what subclasses say -------------------------------------------------------------

    def error(self, status: int, kind: str, message: str, rid: str,
              headers: Mapping[str, str] | None = None) -> HttpResponse:
        raise NotImplementedError

    def authorized(self, request: HttpRequest) -> bool:
        raise NotImplementedError

    def read(self, body: dict[str, Any]) -> tuple[list[str], list[Step], list[str], bool]:
        """(user texts, steps, declared tool names, tools allowed) or ConversationError."""
        raise NotImplementedError

    def render(self, answer: ModelAnswer, reply: Reply, body: dict[str, Any], rid: str,
               created: int, prompt_tokens: int) -> dict[str, Any]:
        raise NotImplementedError

    def request_id_header(self) -> str:
        raise NotImplementedError

    # -- begin / finish ------------------------------------------------------------------

    def begin(self, request: HttpRequest, now_ns: int) -> HttpResponse | HttpInFlight:
        self._served += 1
        rid = f"req_{self._served:024x}"
        if not self.tool(request):
            return self.error(404, "not_found", f"Unknown request URL: {request.method} "
                              f"{request.path}", rid)
        if not self.authorized(request):
            return self.error(401, "authentication", "Invalid or missing API key.", rid)
        inject = request.inject_status
        if inject is not None and inject != 429 and not 500 <= inject <= 599:
            raise ValueError(f"unsupported inject_status {inject}: use 429 or 5xx")
        if inject == 429:
            return self.error(429, "rate_limit", "Rate limit reached for requests. Please "
                              "try again later.", rid,
                              {"retry-after": str(-(-self.retry_after_ms // 1000)),
                               "retry-after-ms": str(self.retry_after_ms)})
        if inject is not None:
            return self.error(inject, "overloaded" if inject == 529 else "server",
                              "The server had an error while processing your request.", rid)
        try:
            body = _json_object(request.body)
            if body.get("stream"):
                raise ConversationError("streaming is not modelled by the fake (docs/"
                                        "fakes.md); call without stream=True")
            user_texts, steps, declared, tools_allowed = self.read(body)
            names = ToolNames(declared, self.tool_names, self._seen)
            answer = ask(self.model, request.caller,
                         policy_request(user_texts, steps, names))
        except ConversationError as bad:
            return self.error(400, "invalid_request", str(bad), rid)
        reply = reply_for(answer, names, tools_allowed=tools_allowed)
        return HttpInFlight(request, answer.latency_ns, (answer, reply, body, rid))

    def finish(self, flight: HttpInFlight, now_ns: int) -> HttpResponse:
        answer, reply, body, rid = flight.state
        out = self.render(answer, reply, body, rid, VIRTUAL_EPOCH_S + now_ns // NS_PER_S,
                          max(1, len(flight.request.body) // 4))
        headers = {self.request_id_header(): rid,
                   "processing-ms": str(answer.latency_ns // NS_PER_MS)}
        model = self.model
        return json_response(200, out, headers, on_arrival=lambda: model.answered(answer))


def _json_object(raw: bytes) -> dict[str, Any]:
    import json

    try:
        body = json.loads(raw or b"null")
    except ValueError:
        raise ConversationError("We could not parse the JSON body of your request.") from None
    if not isinstance(body, dict):
        raise ConversationError("The request body must be a JSON object.")
    return body


def text_of(content: Any) -> str:
    """The text of a message content: a string, or the text parts of a list."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(p.get("text", "")) for p in content
                       if isinstance(p, dict) and p.get("type") in ("text", "input_text"))
    return ""
