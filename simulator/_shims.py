"""Determinism shims: the standard library's clocks and randomness, virtualised.

During a simulated run, ``time.time/monotonic/perf_counter`` (and their ``_ns``
forms), ``datetime.datetime.now/utcnow``, the ``random`` module's functions,
``uuid.uuid4``, ``os.urandom`` and ``secrets`` read the virtual clock or the run's
``shim`` streams; leaving the run restores the originals
(``tests/simulator/test_shims.py``). A design written with ordinary standard-library
calls therefore replays exactly.

Limit, by construction: names bound before the run (``from time import time``,
``from datetime import datetime``) keep the real function; ninelives cannot reach them.
"""

from __future__ import annotations

import datetime as _datetime
import os
import random
import secrets
import time
import uuid
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._kernel import Kernel

# The virtual epoch: time.time() reads this plus virtual time. 2026-01-01T00:00:00Z.
VIRTUAL_EPOCH_S = 1_767_225_600
VIRTUAL_EPOCH_NS = VIRTUAL_EPOCH_S * 1_000_000_000
# An int divisor: int / int is correctly rounded, whereas int / 1e9 first rounds the
# (> 2**53) nanosecond count to a float, so time.time() read 1767225601.2499998 at
# 1.25 s of virtual time instead of 1767225601.25.
_NS_PER_S = 1_000_000_000

_RANDOM_FUNCTIONS = (
    "betavariate", "choice", "choices", "expovariate", "gammavariate", "gauss",
    "getrandbits", "lognormvariate", "normalvariate", "paretovariate", "randbytes",
    "randint", "random", "randrange", "sample", "shuffle", "triangular", "uniform",
    "vonmisesvariate", "weibullvariate",
)


def _make_datetime_class(kernel: Kernel) -> type[_datetime.datetime]:
    real = _datetime.datetime

    class VirtualDatetime(real):  # type: ignore[misc, valid-type]
        @classmethod
        def now(cls, tz: _datetime.tzinfo | None = None) -> Any:
            return real.fromtimestamp(
                (VIRTUAL_EPOCH_NS + kernel.scheduler.now_ns) / _NS_PER_S, tz
            )

        @classmethod
        def utcnow(cls) -> Any:
            return real.fromtimestamp(
                (VIRTUAL_EPOCH_NS + kernel.scheduler.now_ns) / _NS_PER_S, _datetime.UTC
            ).replace(tzinfo=None)

        @classmethod
        def today(cls) -> Any:
            return cls.now()

    VirtualDatetime.__name__ = "datetime"
    VirtualDatetime.__qualname__ = "datetime"
    return VirtualDatetime


class Shims:
    """Context manager installing the shims for one kernel; restores on exit. Nests."""

    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel
        self._saved: list[tuple[Any, str, Any]] = []

    def _set(self, obj: Any, name: str, value: Any) -> None:
        self._saved.append((obj, name, getattr(obj, name)))
        setattr(obj, name, value)

    def __enter__(self) -> Shims:
        kernel = self.kernel
        sched = kernel.scheduler

        def monotonic() -> float:
            return sched.now_ns / _NS_PER_S

        def monotonic_ns() -> int:
            return sched.now_ns

        def wall() -> float:
            return (VIRTUAL_EPOCH_NS + sched.now_ns) / _NS_PER_S

        def wall_ns() -> int:
            return VIRTUAL_EPOCH_NS + sched.now_ns

        self._set(time, "time", wall)
        self._set(time, "time_ns", wall_ns)
        self._set(time, "monotonic", monotonic)
        self._set(time, "monotonic_ns", monotonic_ns)
        self._set(time, "perf_counter", monotonic)
        self._set(time, "perf_counter_ns", monotonic_ns)
        self._set(_datetime, "datetime", _make_datetime_class(kernel))

        rnd = random.Random(kernel.rng.stream("shim.random").getrandbits(128))
        for name in _RANDOM_FUNCTIONS:
            if hasattr(rnd, name):
                self._set(random, name, getattr(rnd, name))

        byte_stream = random.Random(kernel.rng.stream("shim.bytes").getrandbits(128))

        def urandom(n: int) -> bytes:
            return byte_stream.randbytes(n)

        def uuid4() -> uuid.UUID:
            return uuid.UUID(bytes=byte_stream.randbytes(16), version=4)

        self._set(os, "urandom", urandom)
        self._set(uuid, "uuid4", uuid4)
        sysrand = random.Random(kernel.rng.stream("shim.secrets").getrandbits(128))
        self._set(secrets, "_sysrand", sysrand)
        self._set(secrets, "randbits", sysrand.getrandbits)
        self._set(secrets, "choice", sysrand.choice)
        return self

    def __exit__(self, *exc: object) -> None:
        while self._saved:
            obj, name, value = self._saved.pop()
            setattr(obj, name, value)
