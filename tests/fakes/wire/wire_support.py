"""Shared by the wire tests: the stripe SDK's HTTP seam over a door, and a checker of
JSON against the stripe SDK's own resource annotations (sources this project did not
write: stripe 16.1's classes)."""

from __future__ import annotations

import importlib
import inspect
import typing
from collections.abc import Callable
from typing import Any, ForwardRef, Literal, Union

import stripe
from stripe._stripe_object import StripeObject, UntypedStripeObject

from fakes.wire import HttpInFlight, HttpRequest, HttpResponse, WireDoor


class DoorClient(stripe.HTTPClient):
    """``stripe.HTTPClient`` that hands each request to a door, on a private clock.

    ``lose``: attempt numbers (1-based) whose response is lost after the door acted
    (the SDK sees a connection error it may retry); ``hold``: attempt numbers left in
    flight (the SDK sees a timeout; the flight finishes just before the attempt after
    next, so the next one meets it still running); ``inject``: attempt → a 429/5xx the
    service answers.
    """

    name = "ninelives-test"

    def __init__(self, door: WireDoor, *, lose: frozenset[int] = frozenset(),
                 hold: frozenset[int] = frozenset(),
                 inject: dict[int, int] | None = None) -> None:
        super().__init__()
        self.door = door
        self.lose, self.hold, self.inject = lose, hold, dict(inject or {})
        self.now_ns = 0
        self.sent: list[HttpRequest] = []
        self.received: list[HttpResponse] = []
        self._held: list[tuple[int, HttpInFlight]] = []

    async def request_async(self, method: str, url: str, headers: Any,
                            post_data: Any = None) -> tuple[bytes, int, dict[str, str]]:
        attempt = len(self.sent) + 1
        for due, flight in [h for h in self._held if h[0] <= attempt]:
            self.door.finish(flight, self.now_ns)  # time passed: it finishes now
            self._held.remove((due, flight))
        request = HttpRequest(method, url, dict(headers), post_data or b"",
                              caller="agent", request_id=attempt,
                              inject_status=self.inject.get(attempt))
        self.sent.append(request)
        outcome = self.door.begin(request, self.now_ns)
        if isinstance(outcome, HttpInFlight):
            if attempt in self.hold:
                self._held.append((attempt + 2, outcome))
                raise stripe.APIConnectionError("timed out", should_retry=True)
            self.now_ns += outcome.processing_ns
            outcome = self.door.finish(outcome, self.now_ns)
        if attempt in self.lose:
            raise stripe.APIConnectionError("connection reset", should_retry=True)
        self.received.append(outcome)
        return outcome.body, outcome.status, outcome.headers

    async def sleep_async(self, secs: float) -> None:
        self.now_ns += int(secs * 1e9)

    def request(self, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the tests use the async path")

    def close(self) -> None:
        pass


def hints(cls: type) -> dict[str, Any]:
    """The fields a stripe class declares, over its bases (private ones left out)."""
    out: dict[str, Any] = {}
    for base in reversed(cls.__mro__):
        if isinstance(base, type) and issubclass(base, StripeObject):
            # raw annotations: the SDK's forward references name classes it imports
            # only for type checkers; ``problems`` resolves them from ``stripe``
            out.update({k: v for k, v in inspect.get_annotations(base).items()
                        if not k.startswith("_") and k != "OBJECT_NAME"})
    return out


def resolve(name: str) -> type:
    """A class a forward reference names: from ``stripe``, else the dispatch table."""
    from stripe._object_classes import OBJECT_CLASSES

    found = getattr(stripe, name, None) if name in dir(stripe) else None
    if isinstance(found, type):
        return found
    for module, attr in OBJECT_CLASSES.values():
        if attr == name:
            return getattr(importlib.import_module(module), attr)
    raise LookupError(f"cannot resolve stripe class {name}")


def object_class(name: str) -> type:
    """The SDK's own class for ``object: name`` (its dispatch table)."""
    from stripe._object_classes import OBJECT_CLASSES

    module, attr = OBJECT_CLASSES[name]
    return getattr(importlib.import_module(module), attr)


#: (class, field): where the SDK's annotation is narrower than what Stripe sends. A
#: search result's ``next_page`` is declared ``str`` but is null on the last page.
NULL_ALLOWED = {(stripe.SearchResultObject, "next_page")}


def problems(value: Any, tp: Any, path: str) -> list[str]:
    """Why ``value`` is not of the declared type ``tp`` ([] if it is)."""
    if tp is Any or isinstance(tp, typing.TypeVar):  # a list's items: checked by class
        return []
    if isinstance(tp, ForwardRef | str):
        if not isinstance(value, dict):  # a reference to a class takes an object only
            return [f"{path}: {value!r} is not a {tp} object"]
        tp = resolve(tp.__forward_arg__ if isinstance(tp, ForwardRef) else tp)
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if tp is type(None):
        return [] if value is None else [f"{path}: {value!r} is not None"]
    if origin is Union:
        found = [problems(value, alt, path) for alt in args]
        return [] if any(not p for p in found) else [f"{path}: {value!r} fits none of {tp}"]
    if origin is Literal:
        return [] if value in args else [f"{path}: {value!r} not in {args}"]
    if origin is list:
        if not isinstance(value, list):
            return [f"{path}: {value!r} is not a list"]
        return [p for i, v in enumerate(value) for p in problems(v, args[0], f"{path}[{i}]")]
    if origin is dict or origin is UntypedStripeObject:
        if not isinstance(value, dict):
            return [f"{path}: {value!r} is not an object"]
        inner = args[-1] if args else Any
        return [p for k, v in value.items() for p in problems(v, inner, f"{path}.{k}")]
    if isinstance(tp, type) and issubclass(tp, StripeObject):
        if not isinstance(value, dict):
            return [f"{path}: {value!r} is not a {tp.__name__} object"]
        return fields_problems(value, tp, path)
    if tp is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
        return [] if ok else [f"{path}: {value!r} is not an int"]
    if tp is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return [] if ok else [f"{path}: {value!r} is not a float"]
    if isinstance(tp, type):
        return [] if isinstance(value, tp) else [f"{path}: {value!r} is not {tp.__name__}"]
    return [f"{path}: cannot check type {tp!r}"]


def fields_problems(value: dict[str, Any], cls: type, path: str) -> list[str]:
    """Every field of ``value`` is declared by ``cls``, with the declared type."""
    declared = hints(cls)
    out: list[str] = []
    for key, v in value.items():
        if key not in declared:
            out.append(f"{path}.{key}: not declared by {cls.__name__}")
        elif v is None and (cls, key) in NULL_ALLOWED:
            continue
        else:
            out += problems(v, declared[key], f"{path}.{key}")
    return out


def body_problems(body: dict[str, Any]) -> list[str]:
    """A whole response body: an error, a list, a search result or one object."""
    if "error" in body:
        extra = [f"body.{k}: beside error" for k in body if k != "error"]
        return extra + fields_problems(body["error"], stripe.ErrorObject, "error")
    kind = body.get("object")
    if kind in ("list", "search_result"):
        cls = stripe.ListObject if kind == "list" else stripe.SearchResultObject
        # ``object`` is what the SDK dispatches on (OBJECT_CLASSES), not an annotation
        out = fields_problems({k: v for k, v in body.items() if k != "object"}, cls, kind)
        for i, item in enumerate(body.get("data", [])):
            out += fields_problems(item, object_class(item["object"]), f"{kind}[{i}]")
        return out
    return fields_problems(body, object_class(str(kind)), str(kind))


def run(coro_factory: Callable[[], Any]) -> Any:
    import asyncio

    return asyncio.run(coro_factory())
