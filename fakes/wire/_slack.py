"""Slack's Web API (``https://slack.com/api/...``) in front of the SRE world's ``Chat``:
``chat.postMessage`` and ``conversations.history``, over the one message ledger.

As the real one, ``chat.postMessage`` takes **no** idempotency key: a retried post posts
twice (``at-most-once-chat`` reads the same ``Chat.messages``). Bodies may be JSON or
form-encoded; the token is ``Authorization: Bearer xoxb-...`` (or a ``token`` field).
Answers are Slack's envelope: HTTP 200 ``{"ok": true, ...}``, or 200 ``{"ok": false,
"error": "channel_not_found" | "no_text" | "not_authed" | "invalid_arguments"}``;
injected faults are HTTP 429 ``ratelimited`` with ``Retry-After`` (nothing posted) and
HTTP 500 ``fatal_error`` (nothing posted). Message ``ts`` are Slack's strings
(``"1767225601.000123"``: seconds.microseconds on the virtual clock, increasing within a
channel); ``conversations.history`` lists newest first with ``limit``, ``oldest``,
``latest``, ``inclusive`` and a ``cursor``. Channels are named (``#incidents``) or by an
id (``C…``, derived from the name); ``blocks``, threads and formatting are not modelled
(``text`` is required, other fields are ignored).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Iterable
from typing import Any

from simulator import VIRTUAL_EPOCH_S, InFlight, Request, Response

from .._sre import Chat
from ._http import (
    FormError,
    HttpInFlight,
    HttpRequest,
    HttpResponse,
    WireDoor,
    decode_form,
    json_response,
)

_ID = re.compile(r"^[CGD][A-Z0-9]{8,}$")
BOT_USER = "U0NINELIVES"
BOT_ID = "B0NINELIVES"
TEAM = "T0NINELIVES"


def channel_id(name: str) -> str:
    """The Slack id of channel ``name`` (an id is its own id)."""
    if _ID.match(name):
        return name
    digest = base64.b32encode(hashlib.sha256(name.encode()).digest()).decode()
    return "C" + digest[:10]


class SlackApi(WireDoor):
    """``slack.com``: posts and history over ``chat`` (module docstring). ``channels``:
    channel names known before any post (so that their ids resolve)."""

    hosts = ("slack.com",)

    def __init__(self, chat: Chat, *, channels: Iterable[str] = (), service: str = "chat",
                 retry_after_s: int = 1) -> None:
        self.chat = chat
        self.service = service
        self.retry_after_s = retry_after_s
        self._names: dict[str, str] = {channel_id(n): n for n in channels}
        self._served = 0

    def _method(self, request: HttpRequest) -> str:
        path = request.path.rstrip("/")
        if path == "/api/chat.postMessage" and request.method == "POST":
            return "post"
        if path == "/api/conversations.history" and request.method in ("GET", "POST"):
            return "search"
        return ""

    def tool(self, request: HttpRequest) -> str:
        endpoint = self._method(request)
        return f"{self.service}.{endpoint}" if endpoint else ""

    def _name(self, channel: str) -> str | None:
        """The chat channel a Slack ``channel`` argument names (None: unknown id)."""
        if not _ID.match(channel):
            self._names.setdefault(channel_id(channel), channel)
            return channel
        if channel not in self._names:
            for m in self.chat.messages:
                self._names.setdefault(channel_id(m.channel), m.channel)
        return self._names.get(channel)

    def timestamps(self) -> dict[str, str]:
        """Message id → its ``ts``, a pure function of the ledger (unique per channel)."""
        last: dict[str, int] = {}
        out: dict[str, str] = {}
        for m in self.chat.messages:
            us = max(m.t_ns // 1_000, last.get(m.channel, -1) + 1)
            last[m.channel] = us
            total = VIRTUAL_EPOCH_S * 1_000_000 + us
            out[m.id] = f"{total // 1_000_000}.{total % 1_000_000:06d}"
        return out

    def _answer(self, status: int, body: dict[str, Any], rid: str,
                headers: dict[str, str] | None = None) -> HttpResponse:
        return json_response(status, body, {"x-slack-req-id": rid, **(headers or {})})

    def begin(self, request: HttpRequest, now_ns: int) -> HttpResponse | HttpInFlight:
        self._served += 1
        rid = f"{self._served:016x}"
        endpoint = self._method(request)
        if not endpoint:
            return self._answer(404, {"ok": False, "error": "unknown_method"}, rid)
        args = self._args(request)
        if args is None:
            return self._answer(200, {"ok": False, "error": "invalid_arguments"}, rid)
        auth = request.headers.get("authorization", "")
        if not (auth.startswith("Bearer ") and auth[7:].strip()) and not args.get("token"):
            return self._answer(200, {"ok": False, "error": "not_authed"}, rid)
        channel = args.get("channel")
        if not isinstance(channel, str) or not channel:
            return self._answer(200, {"ok": False, "error": "channel_not_found"}, rid)
        name = self._name(channel)
        if name is None:
            return self._answer(200, {"ok": False, "error": "channel_not_found"}, rid)
        if endpoint == "post":
            text = args.get("text")
            inner_args: dict[str, Any] = {"channel": name,
                                          "text": text if isinstance(text, str) else ""}
        else:
            inner_args = {"channel": name}
        inner = Request(endpoint, inner_args, None, request.request_id, request.caller,
                        request.inject_status)
        outcome = self.chat.begin(inner, now_ns)
        if isinstance(outcome, InFlight):
            return HttpInFlight(request, outcome.processing_ns, (outcome, rid, args))
        return self._wire(endpoint, outcome, rid, args, name)

    def finish(self, flight: HttpInFlight, now_ns: int) -> HttpResponse:
        inner, rid, args = flight.state
        response = self.chat.finish(inner, now_ns)
        return self._wire(inner.request.endpoint, response, rid, args,
                          inner.request.args["channel"])

    def _args(self, request: HttpRequest) -> dict[str, Any] | None:
        kind = request.headers.get("content-type", "").split(";")[0].strip()
        try:
            if request.method == "GET":
                return decode_form(request.query)
            if kind == "application/json":
                body = json.loads(request.body or b"{}")
                return body if isinstance(body, dict) else None
            return decode_form(request.body.decode("utf-8", "replace"))
        except (FormError, ValueError):
            return None

    def _wire(self, endpoint: str, response: Response, rid: str, args: dict[str, Any],
              name: str) -> HttpResponse:
        if response.status == 429:
            return self._answer(429, {"ok": False, "error": "ratelimited"}, rid,
                                {"retry-after": str(self.retry_after_s)})
        if response.status >= 500:
            return self._answer(response.status, {"ok": False, "error": "fatal_error"}, rid)
        if not response.ok:
            param = response.body.get("error", {}).get("param")
            return self._answer(200, {"ok": False, "error": "no_text" if param == "text"
                                      else "channel_not_found"}, rid)
        cid = channel_id(name)
        stamps = self.timestamps()
        if endpoint == "post":
            ts = stamps[response.body["id"]]
            return self._answer(200, {"ok": True, "channel": cid, "ts": ts,
                                      "message": self._message(response.body["text"], ts)},
                                rid)
        return self._history(response.body["messages"], stamps, args, rid)

    def _message(self, text: str, ts: str) -> dict[str, Any]:
        return {"type": "message", "subtype": "bot_message", "text": text,
                "user": BOT_USER, "bot_id": BOT_ID, "team": TEAM, "ts": ts}

    def _history(self, messages: list[dict[str, Any]], stamps: dict[str, str],
                 args: dict[str, Any], rid: str) -> HttpResponse:
        try:
            limit = int(args.get("limit", 100))
            start = int(str(args.get("cursor") or "0").removeprefix("next_"))
        except ValueError:
            return self._answer(200, {"ok": False, "error": "invalid_arguments"}, rid)
        inclusive = str(args.get("inclusive", "")).lower() in ("1", "true")
        oldest = _us(args.get("oldest"))
        latest = _us(args.get("latest"))
        listed = []
        for m in reversed(messages):
            ts = stamps[m["id"]]
            us = _us(ts)
            assert us is not None
            if oldest is not None and (us < oldest or (us == oldest and not inclusive)):
                continue
            if latest is not None and (us > latest or (us == latest and not inclusive)):
                continue
            listed.append(self._message(m["text"], ts))
        limit = max(1, min(limit, 999))
        window = listed[start:start + limit]
        more = len(listed) > start + limit
        return self._answer(200, {
            "ok": True, "messages": window, "has_more": more, "pin_count": 0,
            "response_metadata": {"next_cursor": f"next_{start + limit}" if more else ""},
        }, rid)


def _us(ts: Any) -> int | None:
    """A Slack ``ts`` string as integer microseconds (None if absent or unreadable)."""
    if not isinstance(ts, str) or not ts:
        return None
    seconds, _, fraction = ts.partition(".")
    if not seconds.isdigit() or (fraction and not fraction.isdigit()):
        return None
    return int(seconds) * 1_000_000 + int((fraction + "000000")[:6])
