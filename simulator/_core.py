"""The scheduling core: virtual time and an ordered queue of owned callbacks.

Kept apart from the coroutine protocol (``_tasks.py``) on purpose: an asyncio-compatible
loop can later sit on this same core (``call_at`` / ``call_soon`` are what asyncio's
loop needs) without touching time, ordering, ownership or fencing.

Ordering: the heap holds ``(time_ns, tie, seq, handle)``. ``tie`` is a draw from the
run's ``scheduler`` stream, so callbacks due at the same instant run in a seeded order —
never by object identity or hash order — and different seeds explore different
interleavings (``tests/simulator/test_determinism.py``). ``seq`` makes the order total.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable
from heapq import heappush as _heappush
from typing import Any, Protocol

from ninelives.errors import HarnessError


class Owner(Protocol):
    """Who a scheduled callback belongs to: a process incarnation.

    A dead owner's callbacks are dropped when they come due (fencing); a paused owner's
    are parked and re-queued, in order, when it resumes.
    """

    alive: bool
    paused: bool

    def park(self, handle: Handle) -> None: ...

    def fenced(self, handle: Handle) -> None: ...


class Handle:
    """A scheduled callback. ``cancel()`` makes it a no-op when it comes due."""

    __slots__ = ("args", "callback", "cancelled", "owner", "when_ns")

    def __init__(
        self, when_ns: int, callback: Callable[..., Any], args: tuple[Any, ...], owner: Any
    ) -> None:
        self.when_ns = when_ns
        self.callback = callback
        self.args = args
        self.owner = owner
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class TimeTravelError(HarnessError):
    """Virtual time was asked to go backwards."""

    __module__ = "simulator"


class Scheduler:
    """Virtual time plus the ready queue. Time only moves forward."""

    __slots__ = ("_heap", "_seq", "_tie", "events_run", "now_ns")

    def __init__(self, tie_stream: random.Random) -> None:
        self.now_ns = 0
        self.events_run = 0
        self._heap: list[tuple[int, float, int, Handle]] = []
        self._seq = 0
        self._tie = tie_stream.random

    def call_at(
        self, when_ns: int, callback: Callable[..., Any], *args: Any, owner: Any = None
    ) -> Handle:
        """Run ``callback(*args)`` at virtual time ``when_ns`` (never earlier than now)."""
        return self.schedule(when_ns, callback, args, owner)

    def call_soon(self, callback: Callable[..., Any], *args: Any, owner: Any = None) -> Handle:
        """Run ``callback(*args)`` at the current instant (in seeded order among ties)."""
        return self.schedule(self.now_ns, callback, args, owner)

    def schedule(
        self, when_ns: int, callback: Callable[..., Any], args: tuple[Any, ...], owner: Any
    ) -> Handle:
        """``call_at`` without the argument packing: the kernel's hot path."""
        if when_ns < self.now_ns:
            when_ns = self.now_ns
        handle = Handle(when_ns, callback, args, owner)
        seq = self._seq = self._seq + 1
        _heappush(self._heap, (when_ns, self._tie(), seq, handle))
        return handle

    def requeue(self, handle: Handle) -> None:
        """Put a parked handle back, due now (used when a paused owner resumes).

        Parked handles were due before now, so they go ahead of everything due at this
        instant (tie -1.0 is below every draw in [0, 1)), in the order they are
        requeued (``seq``): a resumed process sees its wakeups in the order they came
        due, not reshuffled by fresh tie draws."""
        handle.when_ns = self.now_ns
        self._seq += 1
        heapq.heappush(self._heap, (self.now_ns, -1.0, self._seq, handle))

    def advance_to(self, when_ns: int) -> None:
        if when_ns < self.now_ns:
            raise TimeTravelError(f"cannot move time back from {self.now_ns} to {when_ns}")
        self.now_ns = when_ns

    def run(self, until_ns: int | None = None, max_events: int | None = None) -> bool:
        """Run callbacks in order until none is left (True: quiescent, time stays at the
        last event), or the next is due after ``until_ns`` (False: time is ``until_ns``)."""
        heap = self._heap
        pop = heapq.heappop
        budget = -1 if max_events is None else max_events
        ran = 0
        while heap:
            entry = heap[0]
            when = entry[0]
            if until_ns is not None and when > until_ns:
                break
            if ran == budget:
                self.events_run += ran
                return False
            pop(heap)
            handle = entry[3]
            if handle.cancelled:
                continue
            owner = handle.owner
            if owner is not None:
                if not owner.alive:
                    owner.fenced(handle)
                    continue
                if owner.paused:
                    owner.park(handle)
                    continue
            self.now_ns = when
            ran += 1
            handle.callback(*handle.args)
        self.events_run += ran
        if not heap:
            return True  # quiescent: time stays at the last event
        if until_ns is not None and until_ns > self.now_ns:
            self.now_ns = until_ns
        return False

    def clear(self) -> None:
        """Drop everything scheduled (end of a run)."""
        self._heap.clear()
