"""Sans-I/O HTTP: one request in, one response out, begin/finish-shaped like the services.

A wire door (``WireDoor``) turns an HTTP request into a request to a fake service (or to
the fake model), and that service's answer into the HTTP response the real API would
send. It never touches a socket or a clock: the front door that owns the network — the
simulated network's HTTP interception, or a test's mock transport — calls

1. ``door.tool(request)``: the tool name the request is, as faults name tools
   (``payments.payment_intents.create``, ``openai.chat.completions``): decide its fate;
2. ``door.begin(request, now_ns)``: an ``HttpResponse`` at once, or an ``HttpInFlight``;
3. after ``flight.processing_ns``, ``door.finish(flight, now_ns)``: the ``HttpResponse``;
4. when the response reaches a caller still waiting for it, ``response.arrived()``.

Step 4 matters for the model doors: an answer counts as given (``model.answer`` in the
trace, eligible to be *consumed* by the caller's next commit) only once it arrived, as
in the dialect, where an answer lost with its caller was never given. A response lost on
the way back, or reaching a dead incarnation, must not be ``arrived()``.
(``serve`` does all four for a caller that needs no network: tests, bare runs.)

Headers are a ``dict`` of lowercased names, as HTTP/2 sends them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit


def _lower(headers: Mapping[str, str] | Iterable[tuple[str, str]]) -> dict[str, str]:
    items = headers.items() if isinstance(headers, Mapping) else headers
    return {str(k).lower(): str(v) for k, v in items}


@dataclass(slots=True)
class HttpRequest:
    """One HTTP request as a door sees it. ``url``: absolute, or a path with its query.

    ``caller``, ``request_id`` and ``inject_status`` are what ``simulator.Request``
    carries: the calling process, the network's request number, and a 429/5xx a fault
    makes the service answer (before acting for a 429; without acting for a 5xx)."""

    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    caller: str = ""
    request_id: int = 0
    inject_status: int | None = None

    def __post_init__(self) -> None:
        self.method = self.method.upper()
        self.headers = _lower(self.headers)
        if isinstance(self.body, str):
            self.body = self.body.encode()

    @property
    def host(self) -> str:
        return (urlsplit(self.url).hostname or "").lower()

    @property
    def path(self) -> str:
        return urlsplit(self.url).path or "/"

    @property
    def query(self) -> str:
        return urlsplit(self.url).query


@dataclass(slots=True)
class HttpResponse:
    """One HTTP response. ``on_arrival``: what ``arrived()`` runs (module docstring)."""

    status: int
    headers: dict[str, str]
    body: bytes
    on_arrival: Callable[[], None] | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.headers = _lower(self.headers)

    def json(self) -> Any:
        return json.loads(self.body)

    def arrived(self) -> None:
        """The response reached a caller still waiting for it (call at most once)."""
        hook, self.on_arrival = self.on_arrival, None
        if hook is not None:
            hook()


@dataclass(slots=True)
class HttpInFlight:
    """A request that is executing; ``finish`` it ``processing_ns`` later."""

    request: HttpRequest
    processing_ns: int
    state: Any = None


class WireDoor:
    """Base of the HTTP doors: ``hosts`` served, ``tool``, ``begin``, ``finish``."""

    #: the hosts this door answers for (``api.stripe.com``)
    hosts: tuple[str, ...] = ()

    def tool(self, request: HttpRequest) -> str:
        """The tool this request is (``service.endpoint``), or ``""`` if none matches."""
        raise NotImplementedError

    def begin(self, request: HttpRequest, now_ns: int) -> HttpResponse | HttpInFlight:
        raise NotImplementedError

    def finish(self, flight: HttpInFlight, now_ns: int) -> HttpResponse:
        raise NotImplementedError


class UnknownHost(LookupError):
    """No door serves the request's host (the network reports it as a finding)."""


class WireRouter:
    """Doors by host: what the network's HTTP interception delivers a request to."""

    def __init__(self, doors: Iterable[WireDoor]) -> None:
        self._by_host: dict[str, WireDoor] = {}
        for door in doors:
            for host in door.hosts:
                if host in self._by_host:
                    raise ValueError(f"two doors serve {host}")
                self._by_host[host] = door

    @property
    def hosts(self) -> tuple[str, ...]:
        return tuple(self._by_host)

    def door_for(self, request: HttpRequest) -> WireDoor | None:
        return self._by_host.get(request.host)

    def door(self, request: HttpRequest) -> WireDoor:
        """The door for ``request``'s host; ``UnknownHost`` naming the URL if none."""
        door = self.door_for(request)
        if door is None:
            raise UnknownHost(f"no fake serves {request.method} {request.url}")
        return door


def serve(door: WireDoor, request: HttpRequest, now_ns: int = 0) -> tuple[HttpResponse, int]:
    """Begin, finish after the processing time, and deliver: ``(response, done_ns)``.

    For callers with no network in between (tests, a bare run's in-memory transport).
    """
    outcome = door.begin(request, now_ns)
    if isinstance(outcome, HttpInFlight):
        now_ns += outcome.processing_ns
        outcome = door.finish(outcome, now_ns)
    outcome.arrived()
    return outcome, now_ns


def json_bytes(value: Any) -> bytes:
    """Compact JSON, keys in the order built (the fakes build them in a fixed order)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def json_response(status: int, body: Any, headers: Mapping[str, str] | None = None,
                  on_arrival: Callable[[], None] | None = None) -> HttpResponse:
    out = {"content-type": "application/json"}
    out.update(headers or {})
    return HttpResponse(status, out, json_bytes(body), on_arrival)


class FormError(ValueError):
    """A form-encoded body or query that does not decode (e.g. ``a=1&a[b]=2``)."""


_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")


def decode_form(text: str) -> dict[str, Any]:
    """``a=1&m[k]=v&l[0]=x&l[1]=y`` → ``{"a": "1", "m": {"k": "v"}, "l": ["x", "y"]}``.

    Stripe's bracket notation: ``[name]`` nests an object, ``[0]``, ``[1]``... or ``[]``
    make an array. Values stay strings, as they are on the wire; the endpoint parses.
    """
    root: dict[str, Any] = {}
    for raw_key, value in parse_qsl(text, keep_blank_values=True, strict_parsing=False):
        m = _KEY.match(raw_key)
        if m is None:
            raise FormError(f"cannot decode parameter name {raw_key!r}")
        path = [m.group(1), *re.findall(r"\[([^\[\]]*)\]", m.group(2))]
        node: dict[str, Any] = root
        for i, part in enumerate(path):
            last = i == len(path) - 1
            if part == "":
                part = str(sum(1 for k in node if k.isdigit()))
            if last:
                if part in node:
                    raise FormError(f"parameter {raw_key!r} given twice or with children")
                node[part] = value
            else:
                child = node.setdefault(part, {})
                if not isinstance(child, dict):
                    raise FormError(f"parameter {raw_key!r} is both a value and an object")
                node = child
    return _arrays(root)


def _arrays(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    out = {k: _arrays(v) for k, v in node.items()}
    if out and all(k.isdigit() for k in out):
        indexes = sorted(int(k) for k in out)
        if indexes == list(range(len(out))):
            return [out[str(i)] for i in indexes]
    return out
