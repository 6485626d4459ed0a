"""What every fake service is: sans-I/O logic behind two front doors.

A service never touches the network or the clock itself. The simulated network (and, in
real mode, an ASGI app) calls ``begin`` when a request arrives; ``begin`` either answers
at once (a read, a rejection) or returns an ``InFlight`` that the front door finishes
with ``finish`` after ``processing_ns``. That window is where a retry with the same
idempotency key meets a request still running (409).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class Request:
    """One delivered request. ``inject_status`` is set by a ServiceError fault."""

    endpoint: str
    args: dict[str, Any]
    idempotency_key: str | None = None
    request_id: int = 0
    caller: str = ""
    inject_status: int | None = None


@dataclass(slots=True)
class Response:
    status: int
    body: dict[str, Any]

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


@dataclass(slots=True)
class InFlight:
    """A request that started executing and finishes ``processing_ns`` later."""

    request: Request
    processing_ns: int
    state: Any = None


@dataclass(slots=True)
class Effect:
    """A side effect a service performed: the ground truth invariants read."""

    service: str
    kind: str
    t_ns: int
    data: dict[str, Any] = field(default_factory=dict)


class Service:
    """Base class: a named service with endpoints ``begin``/``finish`` dispatch to."""

    name: str = "service"
    #: endpoints that change the world (used by coverage and the policy-gate invariant)
    side_effecting: frozenset[str] = frozenset()
    #: endpoints that accept an idempotency key
    keyed: frozenset[str] = frozenset()

    def begin(self, request: Request, now_ns: int) -> Response | InFlight:
        raise NotImplementedError

    def finish(self, flight: InFlight, now_ns: int) -> Response:
        raise NotImplementedError

    def effects(self) -> list[Effect]:
        """Every side effect performed so far, in order."""
        return []

    def snapshot(self) -> dict[str, Any]:
        """JSON-able ground truth for final-state comparison."""
        return {}
