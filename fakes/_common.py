"""The request pipeline every fake service shares, so each service only writes its rules.

``begin`` runs, in this order (the order real APIs put these layers in):

1. unknown endpoint → 404 (nothing else happens);
2. ``inject_status == 429`` → 429 ``rate_limit_error``: the rate limiter sits in front of
   the idempotency layer, so nothing is stored and nothing acts;
3. arguments that are not JSON → 400 (they could not have crossed a real network);
4. keyed endpoint with a key → the idempotency layer may answer at once: a replay of the
   stored response, 409 in flight, 400 ``idempotency_error``. Keys sent to endpoints that
   do not take them are ignored, as Stripe ignores keys on GETs;
5. argument parsing and the service's own checks → 400 ``invalid_request_error``, not
   stored (a retry with the same key runs anew);
6. a read answers at once (or 5xx if injected); a side-effecting request starts
   executing: its key is marked in flight and an ``InFlight`` is returned.

``finish`` then executes (or, for an injected 5xx, fails without acting), stores the
response against the key, and returns it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from simulator import InFlight, Request, Response, Service, deep_copy, is_strict_json

from ._idempotency import KEY_TTL_NS, MAX_KEY_LENGTH, IdempotencyLayer, fingerprint

#: default time a side-effecting request takes to execute: 30 ms
DEFAULT_PROCESSING_NS = 30_000_000

_MISSING = object()


def error(status: int, type_: str, message: str, **fields: Any) -> Response:
    """A Stripe-shaped error response: ``{"error": {"type", "message", ...fields}}``."""
    body: dict[str, Any] = {"type": type_, "message": message}
    body.update(fields)
    return Response(status, {"error": body})


def invalid(message: str, *, param: str | None = None, code: str | None = None) -> Response:
    """400 ``invalid_request_error``: rejected before executing, never stored."""
    fields: dict[str, Any] = {}
    if code is not None:
        fields["code"] = code
    if param is not None:
        fields["param"] = param
    return error(400, "invalid_request_error", message, **fields)


@dataclass(frozen=True, slots=True)
class Arg:
    """One accepted argument: its type (``str``, ``int``, ``bool``, ``list``, ``dict`` of
    str → str) and default.

    ``int`` rejects ``bool``; ``dict`` requires string keys and string values. ``form``:
    the value may arrive as the string a form-encoded body carries (``"2000"``,
    ``"true"``), as every value does on Stripe's wire (``fakes.wire``), and is parsed as
    the server would; a string that does not parse is a 400 like any wrong type.
    """

    kind: type
    required: bool = True
    default: Any = None
    form: bool = False


def parse_args(args: dict[str, Any], spec: dict[str, Arg]) -> dict[str, Any] | Response:
    """Check ``args`` against ``spec``: unknown, missing, wrongly typed → a 400 Response.

    Returns a fresh dict with defaults filled in (dict defaults are copied).
    """
    for name in args:
        if name not in spec:
            return invalid(f"Received unknown parameter: {name}", param=name,
                           code="parameter_unknown")
    parsed: dict[str, Any] = {}
    for name, arg in spec.items():
        value = args.get(name, _MISSING)
        if value is _MISSING or value is None:
            if arg.required:
                return invalid(f"Missing required param: {name}.", param=name,
                               code="parameter_missing")
            parsed[name] = deep_copy(arg.default)
            continue
        if arg.form and isinstance(value, str) and arg.kind in (int, bool):
            value = _from_form(value, arg.kind)
        if not _has_kind(value, arg.kind):
            return invalid(f"Invalid {arg.kind.__name__} for {name}: {value!r}", param=name,
                           code="parameter_invalid")
        parsed[name] = deep_copy(value)
    return parsed


def _from_form(value: str, kind: type) -> Any:
    """A form string as ``kind`` (an int or a bool), or the string itself if it does not
    parse (the type check then rejects it)."""
    if kind is int:
        digits = value[1:] if value[:1] == "-" else value
        return int(value) if digits.isdigit() and digits.isascii() else value
    return {"true": True, "false": False}.get(value, value)


def _has_kind(value: Any, kind: type) -> bool:
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind is dict:
        return isinstance(value, dict) and all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()
        )
    return isinstance(value, kind)


def _is_json(value: Any) -> bool:
    return is_strict_json(value)


@dataclass(slots=True)
class _Pending:
    """``InFlight.state`` of a side-effecting request between ``begin`` and ``finish``."""

    args: dict[str, Any]
    key: str | None
    finished: bool = False


#: A read handler: (args, request, now_ns) → Response
Reader = Callable[[dict[str, Any], Request, int], Response]
#: A write executor: (args, request, now_ns) → Response; runs at ``finish``
Executor = Callable[[dict[str, Any], Request, int], Response]
#: A semantic check after parsing: args → a 400 Response, or None if valid
Checker = Callable[[dict[str, Any]], Response | None]


@dataclass(slots=True)
class Endpoint:
    """One endpoint: its argument spec, an optional check, and a reader or an executor."""

    args: dict[str, Arg]
    read: Reader | None = None
    execute: Executor | None = None
    check: Checker | None = None


class SimService(Service):
    """A service built from an endpoint table and the shared pipeline (module docstring).

    Subclasses set ``name``, ``side_effecting``, ``keyed`` and call ``_register`` for
    each endpoint. ``stats`` counts what happened, for fault coverage:
    ``requests``, ``not_found``, ``rejected_429``, ``validation_error``, ``read``,
    ``started``, ``executed``, ``failed_5xx``, ``stored_500`` (5xx stored against a key)
    and the layer's ``replayed``, ``conflict_409``, ``idempotency_error``,
    ``expired_key_reused``; subclasses add their own.
    """

    def __init__(self, *, processing_ns: int = DEFAULT_PROCESSING_NS,
                 key_ttl_ns: int = KEY_TTL_NS) -> None:
        if processing_ns < 0:
            raise ValueError("processing_ns must be >= 0")
        self.processing_ns = processing_ns
        self.stats: dict[str, int] = {
            "requests": 0,
            "not_found": 0,
            "rejected_429": 0,
            "validation_error": 0,
            "read": 0,
            "started": 0,
            "executed": 0,
            "failed_5xx": 0,
            "stored_500": 0,
        }
        self.idempotency = IdempotencyLayer(self.stats, key_ttl_ns)
        self._endpoints: dict[str, Endpoint] = {}

    def _register(self, endpoint: str, spec: Endpoint) -> None:
        if (spec.execute is None) == (spec.read is None):
            raise ValueError(f"{endpoint}: give exactly one of read or execute")
        if (spec.execute is not None) != (endpoint in self.side_effecting):
            raise ValueError(f"{endpoint}: side_effecting does not match the handler")
        if endpoint in self.keyed and endpoint not in self.side_effecting:
            raise ValueError(f"{endpoint}: only side-effecting endpoints take keys")
        self._endpoints[endpoint] = spec

    @property
    def endpoints(self) -> tuple[str, ...]:
        """The endpoint names, in registration order."""
        return tuple(self._endpoints)

    # -- the pipeline ----------------------------------------------------------------

    def begin(self, request: Request, now_ns: int) -> Response | InFlight:
        """A request arrives: answer at once, or start executing (see module docstring)."""
        self.stats["requests"] += 1
        spec = self._endpoints.get(request.endpoint)
        if spec is None:
            self.stats["not_found"] += 1
            return error(404, "invalid_request_error",
                         f"unknown endpoint {self.name}.{request.endpoint}")
        inject = request.inject_status
        if inject is not None and inject != 429 and not 500 <= inject <= 599:
            raise ValueError(f"unsupported inject_status {inject}: use 429 or 5xx")
        if inject == 429:
            self.stats["rejected_429"] += 1
            return error(429, "rate_limit_error", "Too many requests hit the API too quickly.",
                         code="rate_limit")
        if not isinstance(request.args, dict) or not _is_json(request.args):
            self.stats["validation_error"] += 1
            return invalid("arguments must be a JSON object")

        key: str | None = None
        fp = ""
        if request.endpoint in self.keyed and request.idempotency_key is not None:
            key = request.idempotency_key
            if not isinstance(key, str) or not 0 < len(key) <= MAX_KEY_LENGTH:
                self.stats["validation_error"] += 1
                return invalid(f"idempotency key must be 1 to {MAX_KEY_LENGTH} characters",
                               code="idempotency_key_invalid")
            fp = fingerprint(request.endpoint, request.args)
            early = self.idempotency.check(key, fp, now_ns)
            if early is not None:
                return early

        parsed = parse_args(request.args, spec.args)
        if isinstance(parsed, Response):
            self.stats["validation_error"] += 1
            return parsed
        if spec.check is not None:
            rejection = spec.check(parsed)
            if rejection is not None:
                self.stats["validation_error"] += 1
                return rejection

        if spec.read is not None:
            if inject is not None:
                self.stats["failed_5xx"] += 1
                return _api_error(inject)
            self.stats["read"] += 1
            return spec.read(parsed, request, now_ns)

        if key is not None:
            self.idempotency.start(key, fp, now_ns, request.request_id)
        self.stats["started"] += 1
        return InFlight(request, self.processing_ns, _Pending(parsed, key))

    def finish(self, flight: InFlight, now_ns: int) -> Response:
        """The request finishes executing: act (unless a 5xx was injected), store, answer."""
        pending = flight.state
        if not isinstance(pending, _Pending):
            raise TypeError("finish() takes an InFlight returned by this service's begin()")
        if pending.finished:
            raise RuntimeError("finish() called twice for one InFlight")
        pending.finished = True
        request = flight.request
        if request.inject_status is not None:
            self.stats["failed_5xx"] += 1
            response = _api_error(request.inject_status)
        else:
            execute = self._endpoints[request.endpoint].execute
            assert execute is not None
            self.stats["executed"] += 1
            response = execute(pending.args, request, now_ns)
        if pending.key is not None:
            if response.status >= 500:
                self.stats["stored_500"] += 1
            self.idempotency.store(pending.key, response)
        return response


def _api_error(status: int) -> Response:
    # Stripe sends Stripe-Should-Retry: false with most 500s, since a retry with the same
    # key would only get the stored 500 replayed.
    response = error(status, "api_error", "An internal error occurred on the server.")
    response.body["should_retry"] = False
    return response
