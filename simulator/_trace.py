"""The run's trace: typed events in order, canonical JSON, and the trace hash.

Events are recorded as plain tuples (cheap on the hot path) and turned into pydantic
``TraceEvent`` models only when someone reads them. The trace hash is sha256 over the
canonical JSON of every event (sorted keys, no spaces, one event per line), so the same
seed gives the same hash in any process (``tests/simulator/test_determinism.py``).
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, JsonValue

if TYPE_CHECKING:
    from ._kernel import Kernel


#: one event as the trace keeps it: ``(t_ns, component, kind, data)`` (``Trace.raw``)
RawEvent = tuple[int, str, str, dict[str, Any]]


class TraceEvent(BaseModel):
    """One thing that happened in a run, at virtual time ``t_ns``.

    ``component`` is who did it (``worker``, ``network``, ``payments``, ``faults``...),
    ``kind`` what (a ``TraceKind``: ``tool.request``, ``crash``...), ``data`` its fields
    (``TRACE_VOCABULARY``).
    """

    model_config = ConfigDict(frozen=True)

    seq: int
    t_ns: int
    component: str
    kind: str
    data: dict[str, JsonValue]


# One encoder for every call: ``json.dumps`` with these options would build an identical
# ``JSONEncoder`` per call, which is most of its cost on the small values the store and
# the services encode thousands of times a run (same text: tests/simulator/test_rng_trace.py).
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def canonical_json(value: Any) -> str:
    """Deterministic JSON: sorted keys, no whitespace, ASCII only."""
    return _CANONICAL.encode(value)


class Trace:
    """Append-only list of events of one run."""

    __slots__ = ("_events", "_kernel", "enabled")

    def __init__(self, kernel: Kernel | None = None) -> None:
        self._kernel = kernel
        self._events: list[RawEvent] = []
        self.enabled = True

    def bind(self, kernel: Kernel) -> None:
        self._kernel = kernel

    def record(self, component: str, kind: str, /, **data: Any) -> None:
        """Append an event at the current virtual time. ``kind`` is a ``TraceKind`` and
        ``data`` exactly its fields (``TRACE_VOCABULARY``), as JSON values."""
        kernel = self._kernel
        t_ns = kernel.scheduler.now_ns if kernel is not None else 0
        self._events.append((t_ns, component, kind, data))

    def __len__(self) -> int:
        return len(self._events)

    def clear(self) -> None:
        """Drop every event (a disposed world)."""
        self._events.clear()

    def raw(self) -> list[RawEvent]:
        """The events as ``(t_ns, component, kind, data)`` tuples; do not mutate."""
        return self._events

    def events(self) -> list[TraceEvent]:
        return [
            TraceEvent(seq=i, t_ns=t, component=c, kind=k, data=d)
            for i, (t, c, k, d) in enumerate(self._events)
        ]

    def of_kind(self, kind: str) -> list[RawEvent]:
        return [e for e in self._events if e[2] == kind]

    def canonical_lines(self) -> list[str]:
        return [canonical_json([t, c, k, d]) for (t, c, k, d) in self._events]

    def hash(self) -> str:
        """sha256 hex digest of the canonical JSON of every event."""
        digest = hashlib.sha256()
        for line in self.canonical_lines():
            digest.update(line.encode())
            digest.update(b"\n")
        return digest.hexdigest()
