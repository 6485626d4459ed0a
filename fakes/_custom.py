"""A user's own fake service in a few lines: routes as methods over the service's state.

A team's agent calls its own internal APIs (an order service, a CRM). Declaring one::

    class Orders(FakeService):
        name = "orders"

        def __init__(self) -> None:
            super().__init__()
            self.orders = {"o-1": {"total_cents": 2_500, "refunded": False}}

        @route(args={"order_id": str})
        def get(self, order_id: str) -> dict:
            return {"order_id": order_id, **self.orders[order_id]}

        @route(effect=True, keyed=True, args={"order_id": str, "amount_cents": int})
        def refund(self, order_id: str, amount_cents: int) -> dict:
            self.orders[order_id]["refunded"] = True
            return {"order_id": order_id, "refunded_cents": amount_cents}

It is a ``simulator.Service`` built on the pipeline every built-in fake shares
(``fakes._common.SimService``): unknown routes 404, arguments type-checked (400, never
stored), injected 429/5xx, and for a keyed route Stripe's idempotency rules from the
one shared layer (``fakes._idempotency``: a replay of the stored response, 409 while in
flight, 400 on the same key with other arguments, keys pruned after 24 h). So faults
(lost responses, duplicates, crashes, 5xx), fault plans naming ``orders.refund``, the
ledger (``effects()``) and invariants work on it as on the built-ins, and real code
reaches it over HTTP at ``https://orders.internal/refund`` (``fakes.wire.ServiceApi``,
the default door for a service without an API of its own).

How a route honours a key:

- ``keyed=True``: the ``Idempotency-Key`` the caller sends (``env.tools.call(...,
  idempotency_key=...)``, or the HTTP header), with Stripe's rules;
- ``key_arg="refund_id"``: the route dedupes on a business field of the request, as many
  internal APIs do (the same rules, keyed by that argument's value) - a caller that
  sends no key is still protected, and one that changes the field is not;
- neither: every request that arrives acts (a retry after a lost response acts twice).

A route's handler gets its arguments by name and returns the 200 body (a dict), or a
``Response`` for any other status (``FakeService.error(...)`` builds Stripe-shaped
errors). A route with ``effect=True`` is side-effecting: it executes after the
service's ``processing_ns`` (so a crash or a lost response can fall between start and
answer), and each call whose handler answered 2xx is one entry in the ledger,
``effects()`` (its arguments, the key, the request id, the virtual time). Handlers run
in the simulation: no clock, no randomness of their own (pass a seeded ``rng`` in).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from simulator import Effect, Request, Response, canonical_json

from ._common import DEFAULT_PROCESSING_NS, Arg, Endpoint, SimService, error
from ._idempotency import KEY_TTL_NS


@dataclass(frozen=True, slots=True)
class RouteSpec:
    """What ``@route`` declared about one handler."""

    args: dict[str, Arg]
    effect: bool
    keyed: bool
    key_arg: str | None


def route(*, args: dict[str, type | Arg] | None = None, effect: bool = False,
          keyed: bool = False, key_arg: str | None = None,
          ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare a method of a ``FakeService`` as the route named after it.

    ``args``: each argument's type (``str``, ``int``, ``bool``, ``list``, ``dict``) or an
    ``Arg`` (optional, with a default); unknown, missing or mistyped arguments are a 400.
    ``effect``: the route changes the world (it is in ``side_effecting``, its calls are
    the ledger). ``keyed``: it honours the caller's idempotency key (Stripe's rules).
    ``key_arg``: it dedupes on that argument instead, with the same rules. ``keyed``
    and ``key_arg`` need ``effect`` (a read has nothing to dedupe).
    """
    if (keyed or key_arg is not None) and not effect:
        raise ValueError("keyed and key_arg are for effect routes only")
    if keyed and key_arg is not None:
        raise ValueError("give keyed=True (the caller's key) or key_arg=..., not both")
    spec_args = {name: kind if isinstance(kind, Arg) else Arg(kind)
                 for name, kind in (args or {}).items()}
    if key_arg is not None and key_arg not in spec_args:
        raise ValueError(f"key_arg {key_arg!r} is not one of the route's args")

    def mark(handler: Callable[..., Any]) -> Callable[..., Any]:
        handler.__ninelives_route__ = RouteSpec(  # type: ignore[attr-defined]
            spec_args, effect, keyed, key_arg)
        return handler

    return mark


class FakeService(SimService):
    """Base class of a user's fake service (module docstring): set ``name``, decorate
    route methods with ``@route``, keep state as attributes, call
    ``super().__init__()`` first."""

    name: ClassVar[str] = ""  # type: ignore[misc]
    #: how long an effect route takes to execute, in virtual ns (30 ms)
    processing_ns: int

    def __init__(self, *, processing_ns: int = DEFAULT_PROCESSING_NS,
                 key_ttl_ns: int = KEY_TTL_NS) -> None:
        if not self.name or "." in self.name:
            raise ValueError(f"{type(self).__name__}: set name = '...' (no dots): the "
                             "service is reached as <name>.<route>")
        routes = _routes(type(self))
        if not routes:
            raise ValueError(f"{type(self).__name__} declares no @route methods")
        # Instance attributes: the pipeline reads these per service.
        self.side_effecting = frozenset(n for n, s in routes.items() if s.effect)
        self.keyed = frozenset(n for n, s in routes.items()
                               if s.keyed or s.key_arg is not None)
        self._key_args = {n: s.key_arg for n, s in routes.items() if s.key_arg is not None}
        super().__init__(processing_ns=processing_ns, key_ttl_ns=key_ttl_ns)
        #: the ledger: every effect route call whose handler answered 2xx, in order
        self.ledger: list[Effect] = []
        for endpoint, spec in routes.items():
            handler = getattr(self, endpoint)
            run = self._runner(endpoint, handler, spec)
            self._register(endpoint, Endpoint(args=spec.args,
                                              execute=run if spec.effect else None,
                                              read=None if spec.effect else run))

    @staticmethod
    def error(status: int, type_: str, message: str, **fields: Any) -> Response:
        """A Stripe-shaped error answer, ``{"error": {"type", "message", ...}}``."""
        return error(status, type_, message, **fields)

    def _runner(self, endpoint: str, handler: Callable[..., Any], spec: RouteSpec,
                ) -> Callable[[dict[str, Any], Request, int], Response]:
        def run(args: dict[str, Any], request: Request, now_ns: int) -> Response:
            answer = handler(**args)
            response = answer if isinstance(answer, Response) else Response(200, answer)
            if spec.effect and 200 <= response.status < 300:
                self.ledger.append(Effect(self.name, endpoint, now_ns, {
                    "args": args, "idempotency_key": request.idempotency_key,
                    "request_id": request.request_id, "caller": request.caller}))
            return response

        return run

    def begin(self, request: Request, now_ns: int) -> Any:
        """As every fake; a ``key_arg`` route takes its key from that argument."""
        key_arg = self._key_args.get(request.endpoint)
        if key_arg is not None and isinstance(request.args, dict):
            value = request.args.get(key_arg)
            if isinstance(value, str | int) and not isinstance(value, bool):
                request = Request(request.endpoint, request.args,
                                  f"{request.endpoint}:{key_arg}={value}",
                                  request.request_id, request.caller, request.inject_status)
        return super().begin(request, now_ns)

    def effects(self) -> list[Effect]:
        """The ledger (``self.ledger``): what the service did, for invariants."""
        return list(self.ledger)

    def snapshot(self) -> dict[str, Any]:
        """Timing-independent state for resume equivalence: the effects' routes and
        arguments, sorted. Override to name the business state instead."""
        return {"effects": sorted(({"route": e.kind, "args": e.data["args"]}
                                   for e in self.ledger), key=canonical_json)}


def _routes(cls: type) -> dict[str, RouteSpec]:
    """The ``@route`` methods of ``cls`` and its bases, in definition order."""
    found: dict[str, RouteSpec] = {}
    for klass in reversed(cls.__mro__):
        for name, value in vars(klass).items():
            spec = getattr(value, "__ninelives_route__", None)
            if isinstance(spec, RouteSpec):
                found[name] = spec
    return found
