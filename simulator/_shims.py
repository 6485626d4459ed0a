"""Determinism shims: the standard library's clocks and randomness, virtualised.

During a simulated run, ``time.time/monotonic/perf_counter`` (and their ``_ns``
forms), ``datetime.datetime.now/utcnow``, the ``random`` module's functions,
``uuid.uuid4``, ``os.urandom`` and ``secrets`` read the virtual clock or the run's
``shim`` streams, and a real socket connection or name lookup (``socket.socket.connect``,
``create_connection``, ``getaddrinfo``, ``gethostbyname``) is a ``SimulationEscape``
finding, and a connection made by ``sqlite3.connect`` reads the virtual clock and the
run's streams in SQL too (``datetime('now')``, ``CURRENT_TIMESTAMP``, ``random()``);
leaving the run restores the originals
(``tests/simulator/test_shims.py``). A design written with ordinary standard-library
calls therefore replays exactly.

The shims are confined to the thread that entered the run: the module attributes are
patched process-wide (that is the only way to reach ``time.monotonic``), but a shim read
from any other thread answers with the real function, so a watcher thread, a Dask
scheduler or pytest's own timers never see virtual time jump
(``tests/simulator/test_shims.py::test_other_threads_read_real_time``).

Names bound before the run (``from time import time``, ``from datetime import datetime``)
keep the real function; ``import_bound_shims`` lets the inline watch
(``simulator/_watch.py``) find them in a design's modules by identity and rebind them to
their shims for the run. Names bound elsewhere (a default argument) stay out of reach.
"""

from __future__ import annotations

import datetime as _datetime
import os
import random
import secrets
import socket
import sqlite3
import sys
import threading
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ._aio import escape

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


# Every shim is made once, here, and reads the innermost active ``Shims`` of the calling
# thread (the top of its ``_LOCAL.stack``): entering a run then only pushes and, for the
# first run active in the process, sets attributes. Building the functions, a datetime
# subclass and three seeded generators per run cost some 140 us, twice per checked seed.
# A shim called outside any run of its thread (another thread, or someone kept a
# reference) behaves as the real function.
class _Local(threading.local):
    stack: list[Shims]

    def __init__(self) -> None:
        self.stack = []


_LOCAL = _Local()
# How many ``Shims`` are entered, over all threads, and the originals they replaced: the
# attributes are installed by the first and restored by the last, so two threads that
# each run a simulation never restore each other's shims halfway.
_INSTALL_LOCK = threading.Lock()
_installed: list[tuple[Any, str, Any]] = []
_entered = 0

_real_datetime = _datetime.datetime
_real_random = random._inst  # type: ignore[attr-defined]


def _clock(real: Callable[[], Any], epoch_ns: int, in_seconds: bool) -> Callable[[], Any]:
    """A virtual clock reading ``epoch_ns`` + virtual time, in seconds or nanoseconds."""
    if in_seconds:
        def read_s() -> float:
            stack = _LOCAL.stack
            return (epoch_ns + stack[-1].scheduler.now_ns) / _NS_PER_S if stack else real()

        return read_s

    def read_ns() -> int:
        return epoch_ns + stack[-1].scheduler.now_ns if (stack := _LOCAL.stack) else real()

    return read_ns


_wall = _clock(time.time, VIRTUAL_EPOCH_NS, True)
_CLOCKS = {
    "time": _wall,
    "time_ns": _clock(time.time_ns, VIRTUAL_EPOCH_NS, False),
    "monotonic": _clock(time.monotonic, 0, True),
    "monotonic_ns": _clock(time.monotonic_ns, 0, False),
    "perf_counter": _clock(time.perf_counter, 0, True),
    "perf_counter_ns": _clock(time.perf_counter_ns, 0, False),
}


class _AnyDatetime(type):
    # While the shim stands in for ``datetime.datetime``, a datetime made before the run
    # (or by C code, which makes the real class) is still ``isinstance(x, datetime)``.
    def __instancecheck__(cls, instance: object) -> bool:
        return isinstance(instance, _real_datetime)

    def __subclasscheck__(cls, subclass: type) -> bool:
        return issubclass(subclass, _real_datetime)


class _VirtualDatetime(_real_datetime, metaclass=_AnyDatetime):
    @classmethod
    def now(cls, tz: _datetime.tzinfo | None = None) -> Any:
        return _real_datetime.fromtimestamp(_wall(), tz)

    @classmethod
    def utcnow(cls) -> Any:
        return _real_datetime.fromtimestamp(_wall(), _datetime.UTC).replace(tzinfo=None)

    @classmethod
    def today(cls) -> Any:
        return cls.now()

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> Any:
        # A pydantic model declared while the shims are installed (a zygote imports the
        # design under them: langsmith's and langchain's models have ``datetime``
        # fields) validates real datetimes, as if declared with the real class
        # (tests/examples/test_langgraph_agent.py runs such a design in a child).
        return handler.generate_schema(_real_datetime)


_VirtualDatetime.__name__ = "datetime"
_VirtualDatetime.__qualname__ = "datetime"


def _random_function(name: str) -> Any:
    def call(*args: Any, **kwargs: Any) -> Any:
        rnd = stack[-1].random() if (stack := _LOCAL.stack) else _real_random
        return getattr(rnd, name)(*args, **kwargs)

    call.__name__ = call.__qualname__ = name
    return call


_RANDOM_SHIMS = {name: _random_function(name) for name in _RANDOM_FUNCTIONS
                 if hasattr(_real_random, name)}


def _urandom(n: int) -> bytes:
    return stack[-1].bytes().randbytes(n) if (stack := _LOCAL.stack) else _REAL["urandom"](n)


def _uuid4() -> uuid.UUID:
    stack = _LOCAL.stack
    if not stack:
        return _REAL["uuid4"]()  # type: ignore[no-any-return]
    return uuid.UUID(bytes=stack[-1].bytes().randbytes(16), version=4)


class _SecretsRandom:
    """``secrets._sysrand`` during a run: the run's ``shim.secrets`` generator."""

    def __getattr__(self, name: str) -> Any:
        rnd = stack[-1].secrets() if (stack := _LOCAL.stack) else _REAL["_sysrand"]
        return getattr(rnd, name)


def _secrets_choice(seq: Any) -> Any:
    return (stack[-1].secrets() if (stack := _LOCAL.stack) else _REAL["_sysrand"]).choice(seq)


def _secrets_randbits(k: int) -> int:
    return (stack[-1].secrets() if (stack := _LOCAL.stack)
            else _REAL["_sysrand"]).getrandbits(k)


# Sockets: a design that opens a real connection or resolves a real name has left the
# simulation; in the run's thread that is a finding (``_aio.SimulationEscape``) naming
# where it tried to go (``tests/simulator/test_aio.py::test_real_socket_is_a_finding``).
def _guard(real: Callable[..., Any], what: str, first: int, count: int) -> Callable[..., Any]:
    """``real``, but in a run's thread a ``SimulationEscape`` naming ``what`` and the
    arguments ``args[first:first + count]`` (the address)."""
    def guarded(*args: Any, **kwargs: Any) -> Any:
        stack = _LOCAL.stack
        if not stack:
            return real(*args, **kwargs)
        where = args[first:first + count]
        raise escape(stack[-1].kernel,
                     f"{what} {where[0] if len(where) == 1 else where!r}")

    guarded.__name__ = guarded.__qualname__ = real.__name__
    return guarded


def _uncontrolled(real: Callable[..., Any], name: str) -> Callable[..., Any]:
    """``real`` (a clock the shims cannot make virtual: ``time.clock_gettime`` takes any
    clock id), but in a run's thread a ``SimulationEscape`` naming it and its caller
    (``tests/simulator/test_isolation.py::test_escapes_are_named_findings_in_both_modes``;
    a process-isolated child forbids it outright: ``_child._install_guards``)."""
    def guarded(*args: Any, **kwargs: Any) -> Any:
        stack = _LOCAL.stack
        if not stack:
            return real(*args, **kwargs)
        frame = sys._getframe(1)
        code = frame.f_code
        raise escape(stack[-1].kernel, f"read {name}(), a clock the simulation does not "
                                       f"control, at {code.co_filename}:{frame.f_lineno} "
                                       f"in {code.co_name}")

    guarded.__name__ = guarded.__qualname__ = real.__name__
    return guarded


_CLOCK_GUARDS: tuple[tuple[Any, str, Any], ...] = tuple(
    (time, name, _uncontrolled(getattr(time, name), f"time.{name}"))
    for name in ("clock_gettime", "clock_gettime_ns") if hasattr(time, name))

_SOCKET_GUARDS: tuple[tuple[Any, str, Any], ...] = (
    (socket.socket, "connect", _guard(socket.socket.connect, "socket connect to", 1, 1)),
    (socket.socket, "connect_ex", _guard(socket.socket.connect_ex, "socket connect to", 1, 1)),
    (socket, "create_connection", _guard(socket.create_connection, "socket connect to", 0, 1)),
    (socket, "getaddrinfo", _guard(socket.getaddrinfo, "getaddrinfo", 0, 2)),
    (socket, "gethostbyname", _guard(socket.gethostbyname, "gethostbyname", 0, 1)),
    (socket, "gethostbyname_ex", _guard(socket.gethostbyname_ex, "gethostbyname", 0, 1)),
)


_REAL: dict[str, Any] = {
    "urandom": os.urandom, "uuid4": uuid.uuid4,
    "_sysrand": secrets._sysrand,  # type: ignore[attr-defined]
    "sqlite3.connect": sqlite3.connect,
}


# SQLite reads the OS clock and its own randomness (through its VFS), never Python's, so
# the shims above do not reach ``datetime('now')``, ``CURRENT_TIMESTAMP`` or ``random()``.
# A connection opened by ``sqlite3.connect`` in a run gets application-defined functions
# of those names (SQLite lets them override its built-ins): 'now' is the run's virtual
# ``time.time()``, randomness the run's ``random``/``os.urandom`` streams, in both modes
# (``tests/simulator/test_disk.py::test_sql_now_and_random_are_the_runs``).
_NOW_FUNCTIONS = ("date", "time", "datetime", "julianday", "unixepoch", "strftime")
_CURRENT = {"current_timestamp": "datetime", "current_date": "date",
            "current_time": "time"}


# SQLite's own functions, on a connection that has no overrides; made at import, so no
# run's incarnation owns it (simulator/_disk.py closes what an incarnation opened).
_BUILTINS = _REAL["sqlite3.connect"](":memory:", check_same_thread=False)
_BUILTINS_LOCK = threading.Lock()


def _builtin(name: str, args: tuple[Any, ...]) -> Any:
    """SQLite's own ``name(*args)``."""
    marks = ", ".join("?" * len(args))
    with _BUILTINS_LOCK:
        return _BUILTINS.execute(f"SELECT {name}({marks})", args).fetchone()[0]


def _now_text() -> str:
    """The virtual now as SQLite writes 'now' (UTC, milliseconds)."""
    ns = time.time_ns()  # the shim in a run (the child's too)
    seconds, rest = divmod(ns, 1_000_000_000)
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(seconds)) + (
        f".{rest // 1_000_000:03d}")


def _now_function(name: str) -> Any:
    first = 1 if name == "strftime" else 0  # strftime's first argument is its format

    def call(*args: Any) -> Any:
        if len(args) <= first:
            args = (*args, _now_text())  # no time value: SQLite takes 'now'
        else:
            args = tuple(_now_text() if i >= first and isinstance(a, str)
                         and a.strip().lower() == "now" else a for i, a in enumerate(args))
        return _builtin(name, args)

    return call


def _current_function(name: str) -> Any:
    def call() -> Any:
        return _builtin(name, (_now_text(),))

    return call


def _random() -> int:
    return random.getrandbits(64) - (1 << 63)  # the run's stream; SQLite's range


def _randomblob(n: Any) -> bytes:
    return os.urandom(max(1, int(n or 0)))  # the run's stream


_SQL_SHIMS: tuple[tuple[str, int, Callable[..., Any]], ...] = (
    *((name, -1, _now_function(name)) for name in _NOW_FUNCTIONS),
    *((name, 0, _current_function(builtin)) for name, builtin in _CURRENT.items()),
    ("random", 0, _random), ("randomblob", 1, _randomblob),
)


def _virtualise(conn: Any) -> None:
    """Give ``conn`` the run's clock and randomness in SQL (see above)."""
    for name, arity, function in _SQL_SHIMS:
        conn.create_function(name, arity, function)


def _sqlite_connect(*args: Any, **kwargs: Any) -> Any:
    conn = _REAL["sqlite3.connect"](*args, **kwargs)
    if _LOCAL.stack:
        _virtualise(conn)
    return conn


_sqlite_connect.__name__ = _sqlite_connect.__qualname__ = "connect"
_sqlite_connect.__doc__ = sqlite3.connect.__doc__


#: (module, attribute, shim) installed by every ``Shims``
_INSTALL: tuple[tuple[Any, str, Any], ...] = (
    *((time, name, clock) for name, clock in _CLOCKS.items()),
    (_datetime, "datetime", _VirtualDatetime),
    *((random, name, fn) for name, fn in _RANDOM_SHIMS.items()),
    (os, "urandom", _urandom), (uuid, "uuid4", _uuid4),
    (secrets, "_sysrand", _SecretsRandom()), (secrets, "randbits", _secrets_randbits),
    (secrets, "choice", _secrets_choice),
    *_SOCKET_GUARDS,
    (sqlite3, "connect", _sqlite_connect), (sqlite3.dbapi2, "connect", _sqlite_connect),
    *_CLOCK_GUARDS,
)


#: (module, attribute, real object, shim) for every shimmed name, as imported: a name a
#: design bound at import (``from time import time``) is one of these real objects
_ORIGINALS: tuple[tuple[Any, str, Any, Any], ...] = tuple(
    (obj, name, getattr(obj, name), value) for obj, name, value in _INSTALL)


def import_bound_shims() -> dict[int, tuple[str, Any, Any]]:
    """``id(real object)`` -> (its dotted name, the real object, its shim), for the
    clocks and random functions a module can bind at import. The real object is kept in
    the value, so its id stays its own."""
    return {id(real): (f"{obj.__name__}.{name}", real, shim)
            for obj, name, real, shim in _ORIGINALS if callable(real)}


class Shims:
    """Context manager installing the shims for one kernel; restores on exit. Nests.

    The run's generators (``shim.random``, ``shim.bytes``, ``shim.secrets``) are made on
    first use: a stream's values depend only on the seed and its name, never on when it
    was made (``tests/simulator/test_shims.py``)."""

    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel
        self.scheduler = kernel.scheduler
        self._streams: dict[str, random.Random] = {}

    def _stream(self, name: str) -> random.Random:
        rnd = self._streams.get(name)
        if rnd is None:
            rnd = random.Random(self.kernel.rng.stream(name).getrandbits(128))
            self._streams[name] = rnd
        return rnd

    def random(self) -> random.Random:
        """The generator behind the ``random`` module's functions in this run."""
        return self._stream("shim.random")

    def bytes(self) -> random.Random:
        """The generator behind ``os.urandom`` and ``uuid.uuid4`` in this run."""
        return self._stream("shim.bytes")

    def secrets(self) -> random.Random:
        """The generator behind ``secrets`` in this run."""
        return self._stream("shim.secrets")

    def __enter__(self) -> Shims:
        global _entered
        with _INSTALL_LOCK:
            if _entered == 0:
                for obj, name, value in _INSTALL:
                    _installed.append((obj, name, getattr(obj, name)))
                    setattr(obj, name, value)
            _entered += 1
        _LOCAL.stack.append(self)
        return self

    def __exit__(self, *exc: object) -> None:
        global _entered
        _LOCAL.stack.remove(self)
        with _INSTALL_LOCK:
            _entered -= 1
            if _entered == 0:
                while _installed:
                    obj, name, value = _installed.pop()
                    setattr(obj, name, value)
