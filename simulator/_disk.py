"""Durable files: each simulated machine's data directory, and SQLite in it with kill
semantics.

Every design process (a *machine*: one process name of the world) has a data directory,
``env.data_dir``, in which files persist across the crashes and restarts of that process
within one run, as a disk does across ``kill -9``. The directories of one world live in
a run directory of their own (``DataDirs``), made on first use under a root this
harness process owns, and removed when the run ends, however it ends (``World.run``);
the fault-free baseline of a seed is another world, so it never shares the faulted
run's files. The paths are never recorded in the trace (they differ from run to run).

**What a crash keeps.** Under process isolation a crash is a real ``SIGKILL``: what
SQLite committed is in the file, what it had not is in a hot journal (or uncommitted
WAL frames) that the next connection rolls back. Inline, the "killed" incarnation's
objects live on in the harness's memory (its frames are kept so that no ``finally``
runs, ``simulator/_process.py``), and so would its open connections: their locks and
uncommitted writes. So every ``sqlite3`` connection a design opens during an inline run
is tracked for the incarnation whose task opened it (an audit hook on
``sqlite3.connect/handle``, which sees ``sqlite3.connect``, ``sqlite3.Connection(...)``
and aiosqlite alike, however they were imported), and at the incarnation's death each
is closed without a commit: SQLite rolls back what was not committed and releases the
locks, exactly the state a killed process leaves behind once the next opener has rolled
back its journal (``tests/simulator/test_disk.py``). No design code runs for it.

SQLite's own clock and randomness (``datetime('now')``, ``random()``) are the run's
through the ``sqlite3.connect`` shim (``simulator/_shims.py``).

**aiosqlite.** ``aiosqlite.Connection`` runs every call on a thread of its own, which a
simulated process must not start (a ``thread-started`` finding inline, the thread guard
in a child) and whose timing no seed controls. While a simulated run is active on the
awaiting thread, a connection's calls run instead *at the call*, on that thread, and
their futures resolve by ``loop.call_soon``: one turn of the loop, as the round trip to
the thread would be, in an order the simulation's loop fixes. aiosqlite's own code does
the rest (its ``_execute``, ``_connect``, ``close``). The switch is made in
``Connection.__await__`` (patched once, when ``simulator`` is imported, if aiosqlite is
installed); outside a simulated run a connection is aiosqlite's, thread and all.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import re
import shutil
import sys
import tempfile
import threading
import weakref
from pathlib import Path
from typing import Any

from . import _kernel, _shims
from ._aio import SimLoop

#: name prefix of the root of this harness process's data directories (under the
#: system's temporary directory); the pid follows, so a stale root can be told apart
ROOT_PREFIX = "ninelives-data-"

_ROOT_LOCK = threading.Lock()
_ROOT: list[Any] = []  # [(pid, Path)]: the root of this process, made on first use


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove_stale_roots(tmp: Path) -> None:
    # A harness killed with SIGKILL removes nothing: its root is removed by the next
    # harness that starts, once its pid is gone (ours only: same user).
    uid = os.getuid()
    try:
        entries = list(os.scandir(tmp))
    except OSError:
        return
    for entry in entries:
        name = entry.name
        if not name.startswith(ROOT_PREFIX):
            continue
        pid_text = name[len(ROOT_PREFIX):].partition("-")[0]
        try:
            if not pid_text.isdigit() or entry.stat(follow_symlinks=False).st_uid != uid:
                continue
        except OSError:
            continue
        if not _alive(int(pid_text)):
            shutil.rmtree(entry.path, ignore_errors=True)


def _remove_root(pid: int, root: Path) -> None:
    if os.getpid() == pid:  # a fork of the harness never removes its parent's root
        shutil.rmtree(root, ignore_errors=True)


def harness_root() -> Path:
    """The directory this harness process keeps its runs' data directories in (made on
    first use, removed at exit; a fork of the harness makes its own)."""
    with _ROOT_LOCK:
        pid = os.getpid()
        if _ROOT and _ROOT[0][0] == pid and _ROOT[0][1].is_dir():
            return _ROOT[0][1]  # type: ignore[no-any-return]
        tmp = Path(tempfile.gettempdir())
        _remove_stale_roots(tmp)
        root = Path(tempfile.mkdtemp(prefix=f"{ROOT_PREFIX}{pid}-", dir=tmp))
        _ROOT[:] = [(pid, root)]
        import atexit

        atexit.register(_remove_root, pid, root)
        return root


_SAFE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,100}")


def _dir_name(process_name: str) -> str:
    if _SAFE.fullmatch(process_name):
        return process_name
    return "p-" + process_name.encode().hex()[:200]


#: run directories made by this process so far (their names under its own root)
_RUNS = itertools.count(1)


class DataDirs:
    """The data directories of one world's machines (one per process name).

    Made on first use (a design that never touches ``env.data_dir`` costs nothing; a
    child of process isolation makes its own on first use from the path it is handed),
    removed by ``remove()``; a world that is dropped without it has its directory
    removed when it is collected, or at exit. Names count up under the harness's own
    root rather than coming from ``mkdtemp``: the root is this process's alone, and a
    ``mkdtemp`` cost some 1.8 ms here against 0.3 ms for a ``mkdir`` (a loaded VM)."""

    __slots__ = ("__weakref__", "_dirs", "_finalizer", "_run")

    def __init__(self) -> None:
        self._run: Path | None = None
        self._dirs: dict[str, Path] = {}
        self._finalizer: weakref.finalize | None = None

    def path(self, process_name: str, *, create: bool = True) -> Path:
        """The data directory of ``process_name``; ``create=False`` names it without
        making it (whoever uses it first makes it: a child)."""
        found = self._dirs.get(process_name)
        if found is not None:
            return found
        run = self._run
        if run is None:
            run = self._run = harness_root() / f"run-{next(_RUNS)}"
            self._finalizer = weakref.finalize(self, _remove_root, os.getpid(), run)
        path = run / _dir_name(process_name)
        if create:
            os.makedirs(path, exist_ok=True)
            self._dirs[process_name] = path
        return path

    @property
    def run_dir(self) -> Path | None:
        """The run's directory, or None when no machine used its data directory yet."""
        return self._run

    def remove(self) -> None:
        """Remove every machine's directory (the run is over)."""
        finalizer, self._finalizer = self._finalizer, None
        self._dirs.clear()
        self._run = None
        if finalizer is not None:
            finalizer()  # removes the directory, once


# --- SQLite connections of a simulated run ------------------------------------------------
#: how many connections an incarnation keeps before it drops the closed ones (amortised:
#: the bound doubles past the open ones)
SQLITE_PRUNE_AT = 32


def _owner_of_running_code() -> Any:
    """The incarnation whose code is running on this thread in an inline run, or None."""
    kernel = _kernel._current
    if kernel is None:
        return None  # a child of process isolation: its crash is a real kill
    owner = getattr(kernel.current_task, "owner", None)
    if owner is None:
        # A loop callback outside any task step: the running loop's incarnation.
        loop = asyncio._get_running_loop()
        owner = loop._owner if isinstance(loop, SimLoop) else None
    return owner if hasattr(owner, "sqlite") else None


def _closed(conn: Any) -> bool:
    try:
        conn.in_transaction  # noqa: B018 - raises once the connection is closed
    except Exception:
        return True
    return False


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if event != "sqlite3.connect/handle" or not _shims._LOCAL.stack:
        return
    conn = args[0]
    owner = _owner_of_running_code()
    if owner is None:
        return  # not inline (a child's crash is a real kill), or outside any incarnation
    conns: list[Any] = owner.sqlite
    conns.append(conn)
    if len(conns) >= owner.sqlite_prune_at:
        conns[:] = [c for c in conns if not _closed(c)]
        owner.sqlite_prune_at = max(SQLITE_PRUNE_AT, 2 * len(conns))


def _install_hook() -> None:
    """The audit hook that sees every SQLite connection made in this process. It does
    nothing off a simulated run's thread, and costs nothing measurable: 40 checkout
    seeds raise some 43,000 audit events (all ``builtins.id``), and 60 seeds took
    0.672 s without it and 0.675 s with it (docs/architecture.md, "Durable files").
    Installed at import, so a zygote (and every child it forks) has it too; an audit
    hook cannot be removed."""
    sys.addaudithook(_audit)


_install_hook()


def kill_connections(conns: list[Any]) -> None:
    """Close each connection without committing (a killed process's connections): its
    uncommitted transaction is rolled back and its locks released. Runs no design code."""
    while conns:
        conn = conns.pop()
        try:
            conn.close()  # sqlite3: close() never commits
        except Exception:
            # Made on another thread (check_same_thread): interrupt is thread-safe; the
            # connection is lost with its frames, as in a killed process.
            try:
                conn.interrupt()
            except Exception:
                pass


# --- aiosqlite without its thread --------------------------------------------------------
class _NoThread:
    """Stands in for an aiosqlite connection's worker thread: never started."""

    __slots__ = ()

    def start(self) -> None:
        pass

    def is_alive(self) -> bool:
        return False

    def join(self, timeout: float | None = None) -> None:
        pass


class _InlineCalls:
    """Stands in for an aiosqlite connection's work queue: each call runs at the put, on
    the awaiting thread, and its future resolves one loop turn later (``call_soon``)."""

    __slots__ = ("_core",)

    def __init__(self, core: Any) -> None:
        self._core = core

    def put_nowait(self, item: tuple[Any, Any]) -> None:
        future, function = item
        core = self._core
        # Exception, not BaseException: a run's abort (the watchdog, Ctrl-C) must end the
        # run, not be handed to the design as the call's failure.
        try:
            result = function()
        except Exception as error:
            settle, value = core.set_exception, error
        else:
            settle, value = core.set_result, result
        if future is None:
            return
        loop = future.get_loop()
        if value is core._STOP_RUNNING_SENTINEL or loop is not asyncio._get_running_loop():
            # The stop of a closing (or collected) connection: nothing waits on a
            # thread, so it is settled now and takes no turn of any loop.
            settle(future, value)
        else:
            loop.call_soon(settle, future, value)

    def put(self, item: tuple[Any, Any], block: bool = True,
            timeout: float | None = None) -> None:
        self.put_nowait(item)

    def empty(self) -> bool:
        return True

    def qsize(self) -> int:
        return 0


def _patch_aiosqlite() -> bool:
    """Make aiosqlite connections awaited in a simulated run thread-free (see the
    module docstring). False when aiosqlite is not installed."""
    try:
        from aiosqlite import core
    except ImportError:
        return False
    connection = core.Connection
    real_await = connection.__await__
    if getattr(real_await, "_ninelives_inline", False):
        return True

    def __await__(self: Any) -> Any:
        if _shims._LOCAL.stack and not isinstance(self._tx, _InlineCalls):
            self._thread = _NoThread()
            self._tx = _InlineCalls(core)
        return real_await(self)

    __await__._ninelives_inline = True  # type: ignore[attr-defined]
    __await__.__doc__ = real_await.__doc__
    connection.__await__ = __await__
    return True


#: whether aiosqlite is installed (and its connections run inline in simulated runs)
AIOSQLITE_INLINE = _patch_aiosqlite()
