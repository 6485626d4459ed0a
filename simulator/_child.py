"""The other side of process isolation: the zygote, and one incarnation in its child.

A **zygote** is a fresh interpreter started by the harness (``python -c`` with this
module's ``zygote_main``; never a fork of the harness, which may have threads). It
installs the determinism shims process-wide *before* it imports the design, so a name
bound at import (``from time import time``) is the shim and reads virtual time in a
child; it forbids threads (a design that starts one is a finding naming it, never a
silent nondeterminism); then it serves the harness on a Unix socket: ``F`` forks a child
for one incarnation (the child's two pipe ends come with the command, by SCM_RIGHTS),
``S`` waits for a child and answers its wait status, ``R`` reaps one. When the harness
goes away (its end of the socket closes, however it died) the zygote kills its children
and exits; a child dies with its zygote (``PR_SET_PDEATHSIG``) and exits when the
harness's end of its pipe closes: no process is left behind
(``tests/simulator/test_isolation.py::test_no_process_left_behind_when_the_harness_is_killed``).

A **child** runs the design's ``main(env)`` as the main asyncio task of a ``ChildLoop``:
``SimLoop`` itself (``simulator/_aio.py``) over the harness's scheduling core, so each
``call_soon``/``call_at`` is a core event in the harness, and the callback runs here when
the harness says so. Each port operation is a request to the harness, which performs it
in the world (on the task's companion kernel task there, with the faults, the trace and
the store) and answers with the outcome and the virtual time; while it waits at a kernel
trap the child stays blocked, unless the harness needs it for another callback first
(``SUSPEND``; the task then waits on a handoff, as inline, until ``RESUME``). So the child
runs only while the harness waits for it, and the run is exactly the inline run, for
dialect and asyncio designs alike (the same trace hash: ``test_same_trace_hash_as_inline``,
``test_asyncio_designs_have_the_same_trace_hash_as_inline``; docs/architecture.md,
"asyncio in a child"). httpx's async transports are requests to the harness's HTTP front
door (``_install_http``). A crash is ``SIGKILL`` of the child: no ``finally``, no
``atexit``, its memory gone.
"""

from __future__ import annotations

import atexit
import ctypes
import gc
import os
import random
import signal
import socket
import struct
import sys
import threading
import traceback
import types
from pathlib import Path
from typing import Any

from . import _shims
from ._store import BufferedTransaction
from ._wire import decode_exception, encode_exception, recv, send

#: how a fork command and its answers are laid out on the zygote's control socket
CMD = struct.Struct("!ci")
ANSWER = struct.Struct("!i")
#: exit status of a child that broke an isolation rule (started a thread...)
EXIT_FORBIDDEN = 70
_PR_SET_PDEATHSIG = 1

# Set in a child once its incarnation runs: (link, shim) -- what the guards report to.
_CHILD: list[Any] = []


class IsolationViolation(Exception):
    """A design did something a simulated process must not do (it started a thread,
    read a clock the simulation does not control); the message names it."""


# --- the link to the harness ---------------------------------------------------------
#: what the harness answers or commands (the third field of each of its messages)
OK, ERR, ROK, RERR, SUSPEND, RUN, RESUME, KCANCEL, SAME, START = range(10)
#: the trap a child's port operation yields when the harness released it mid-operation
REMOTE = 3
_REMOTE_TRAP = (REMOTE,)
#: requests the harness answers at once, outside any task (no crash point, no trap)
SYNC_OPS = frozenset({"tx.read", "tx.scan", "rand"})


class _Sched:
    """The child's view of the harness's scheduling core: the virtual now (what the
    clock shims read, ``_shims._clock``) and ``schedule``, which asks the harness for a
    core event per callback (buffered, sent with the child's next message)."""

    __slots__ = ("link", "now_ns")

    def __init__(self, link: _Link) -> None:
        self.link = link
        self.now_ns = 0

    def schedule(self, when_ns: int, callback: Any, args: tuple[Any, ...],
                 owner: Any) -> _ChildHandle:
        link = self.link
        hid = link.next_hid = link.next_hid + 1
        link.handles[hid] = (callback, args)
        link.ops.append(("s", hid, when_ns, callback.__name__))
        return _ChildHandle(link, hid)


class _ChildHandle:
    __slots__ = ("hid", "link")

    def __init__(self, link: _Link, hid: int) -> None:
        self.link = link
        self.hid = hid

    def cancel(self) -> None:
        link = self.link
        if link.handles.pop(self.hid, None) is not None:
            link.ops.append(("c", self.hid))


class _Link:
    """The child's pipes to the harness. Every message of the child carries the
    scheduling it asked for since its last one (``ops``, applied by the harness in
    order, before the request); every message of the harness carries the virtual now."""

    __slots__ = ("handles", "kernel", "next_hid", "next_tid", "offset_ns", "ops", "outcome",
                 "rfd", "root_returned", "scheduler", "stash", "tasks", "wfd")

    def __init__(self, rfd: int, wfd: int) -> None:
        self.rfd = rfd
        self.wfd = wfd
        self.scheduler = _Sched(self)
        self.offset_ns = 0
        self.ops: list[tuple[Any, ...]] = []
        self.handles: dict[int, tuple[Any, tuple[Any, ...]]] = {}
        self.next_hid = 0
        self.next_tid = 0
        self.tasks: dict[int, Any] = {}
        #: a command that came with a SUSPEND: run it once the released step unwinds
        self.stash: tuple[int, Any] | None = None
        #: how the main task ended in a step the harness drives (sent with "done")
        self.outcome: tuple[Any, ...] | None = None
        self.root_returned = False
        self.kernel: _ChildKernel | None = None

    def request(self, request: tuple[Any, ...]) -> tuple[int, Any]:
        ops, self.ops = self.ops, []
        send(self.wfd, (ops, request))
        return self.receive()

    def receive(self) -> tuple[int, Any]:
        now_ns, offset_ns, kind, value = recv(self.rfd)
        self.scheduler.now_ns = now_ns
        self.offset_ns = offset_ns
        return kind, value

    def call(self, request: tuple[Any, ...]) -> Any:
        """A request the harness answers at once (``SYNC_OPS``)."""
        kind, value = self.request(request)
        if kind == OK:
            return value
        raise _decode(value)


#: BaseExceptions that cross as themselves (decode_exception makes a stand-in
#: ``Exception`` of any other): asyncio's cancellation, so asyncio's own machinery sees
#: one, and the simulation's escape, so a design's ``except Exception`` cannot hide it
_CROSSING = {("asyncio.exceptions", "CancelledError"), ("simulator._aio", "SimulationEscape"),
             ("simulator", "Cancelled")}


def _decode(encoded: Any) -> BaseException:
    if (encoded[0], encoded[1]) in _CROSSING:
        import importlib

        cls = getattr(importlib.import_module(encoded[0]), encoded[1])
        error = cls.__new__(cls)
        error.args = encoded[2]
        error.__dict__.update(encoded[3])
        return error  # type: ignore[no-any-return]
    return decode_exception(encoded)


@types.coroutine
def _port(link: _Link, request: tuple[Any, ...]) -> Any:
    """One port operation of the running task, done by the harness on the real ``Env``.

    The harness steps the operation on the task's companion kernel task; while it waits
    at a kernel trap the child stays blocked here (nothing else of the child can run
    meanwhile, so nothing is lost by it), and the answer is the operation's outcome
    (``ROK``/``RERR``: it waited, so the step is split as inline, ``_ChildBridge._split``).
    If the harness needs the child for something else first, it answers ``SUSPEND``
    with that command: the operation yields a ``REMOTE`` trap, so the task waits as it
    does inline (on a handoff), and a later ``RESUME`` delivers the outcome here."""
    kernel = link.kernel
    task = kernel.current_task if kernel is not None else None
    if task is None:
        raise RuntimeError("a port operation must be awaited in a task of the design")
    tid = task.tid
    kind, value = link.request(("op", tid, request))
    while True:
        if kind == OK:
            return value
        if kind == ERR:
            raise _decode(value)
        if kind == ROK or kind == RERR:
            task.bridge._split()
            if kind == ROK:
                return value
            raise _decode(value)
        if kind == SUSPEND:
            link.stash = value
            try:
                ok, value = yield _REMOTE_TRAP
            except BaseException as exc:
                kind, value = link.request(("throw", tid, encode_exception(exc)))
                if kind == SAME:
                    raise exc from None
                continue
            if ok:
                return value
            raise _decode(value)
        raise IsolationViolation(f"the harness answered {kind!r} to a port operation")


class _RemoteRandom(random.Random):
    """A ``random.Random`` whose bits come from the harness's stream of the same name.

    Only ``random``, ``getrandbits`` and ``randbytes`` cross; every other method is
    ``random.Random``'s own Python on top of them (``_randbelow`` uses ``getrandbits``,
    as the base class does), so a child draws exactly the numbers the inline run draws
    from the run's one ``shim.random`` stream, across processes and incarnations."""

    def __init__(self, link: _Link, stream: str) -> None:
        super().__init__(0)
        self._link = link
        self._stream = stream

    def random(self) -> float:
        return self._link.call(("rand", self._stream, "random", ()))  # type: ignore[no-any-return]

    def getrandbits(self, k: int) -> int:
        return self._link.call(("rand", self._stream, "getrandbits", (k,)))  # type: ignore[no-any-return]

    def randbytes(self, n: int) -> bytes:
        return self._link.call(("rand", self._stream, "randbytes", (n,)))  # type: ignore[no-any-return]

    def seed(self, *args: Any, **kwargs: Any) -> None:
        if getattr(self, "_link", None) is None:  # random.Random.__init__
            super().seed(*args, **kwargs)


class _ChildShims:
    """What ``simulator._shims`` reads in a child: the harness's now and streams."""

    def __init__(self, link: _Link) -> None:
        self._link = link
        self.scheduler = link.scheduler
        self._random = _RemoteRandom(link, "shim.random")
        self._bytes = _RemoteRandom(link, "shim.bytes")
        self._secrets = _RemoteRandom(link, "shim.secrets")

    @property
    def kernel(self) -> Any:
        """Where the socket guards record an escape (``_ChildKernel``: the harness's)."""
        return self._link.kernel

    def random(self) -> random.Random:
        return self._random

    def bytes(self) -> random.Random:
        return self._bytes

    def secrets(self) -> random.Random:
        return self._secrets


class _Now:
    __slots__ = ("now_ns",)

    def __init__(self) -> None:
        self.now_ns = 0


class _ImportShims:
    """The shims while the zygote imports the design: virtual time 0 and a fixed
    stream, so a value computed at import is the same in every zygote and run."""

    kernel = None  # an escape at import: the import fails with it

    def __init__(self) -> None:
        self.scheduler = _Now()
        self._rnd = random.Random(0x5EED)

    def random(self) -> random.Random:
        return self._rnd

    bytes = secrets = random


# --- the ports, as the child sees them -------------------------------------------------
class _Clock:
    __slots__ = ("_link",)

    def __init__(self, link: _Link) -> None:
        self._link = link

    def now(self) -> float:
        link = self._link
        return (link.scheduler.now_ns + link.offset_ns) / 1e9

    async def sleep(self, seconds: float) -> None:
        await _port(self._link, ("sleep", seconds))


class _Tools:
    __slots__ = ("_link",)

    def __init__(self, link: _Link) -> None:
        self._link = link

    async def call(self, name: str, args: dict[str, Any], *, idempotency_key: str | None = None,
                   timeout: float = 10.0) -> dict[str, Any]:
        return await _port(self._link, ("call", name, args, idempotency_key, timeout))


class _Model:
    __slots__ = ("_link",)

    def __init__(self, link: _Link) -> None:
        self._link = link

    async def complete(self, request: dict[str, Any], *, timeout: float = 60.0) -> str:
        return await _port(self._link, ("model", request, timeout))  # type: ignore[no-any-return]


class _Tasks:
    __slots__ = ("_link",)

    def __init__(self, link: _Link) -> None:
        self._link = link

    async def list(self) -> list[dict[str, Any]]:
        return await _port(self._link, ("tasks.list",))  # type: ignore[no-any-return]

    async def complete(self, workflow_id: str, outcome: dict[str, Any]) -> None:
        await _port(self._link, ("tasks.complete", workflow_id, outcome))


class _Transaction(BufferedTransaction):
    """``simulator.Transaction`` on the far side: reads cross as they happen (they see
    the store as it is at that instant, as inline), writes stay here until the commit
    sends them all."""

    __slots__ = ("_link",)

    def __init__(self, link: _Link) -> None:
        super().__init__()
        self._link = link

    def _read(self, table: str, key: str) -> tuple[int, Any]:
        return self._link.call(("tx.read", table, key))  # type: ignore[no-any-return]

    def _committed(self, table: str, prefix: str) -> list[tuple[str, int, Any]]:
        return self._link.call(("tx.scan", table, prefix))  # type: ignore[no-any-return]

    async def __aenter__(self) -> _Transaction:
        return self

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is not None:
            await _port(self._link, ("rollback", exc_type.__name__))
            return
        self.committed_version = await _port(self._link, ("commit", self._reads, self._writes))


class _Store:
    __slots__ = ("_link",)

    def __init__(self, link: _Link) -> None:
        self._link = link

    def transaction(self) -> _Transaction:
        return _Transaction(self._link)

    async def get(self, table: str, key: str) -> Any:
        return await _port(self._link, ("get", table, key))

    async def scan(self, table: str, prefix: str = "") -> list[tuple[str, Any]]:
        return await _port(self._link, ("scan", table, prefix))  # type: ignore[no-any-return]


class ChildEnv:
    """``env`` in a child: the same ports as ``simulator.Env``, each a request away."""

    def __init__(self, link: _Link, process_name: str, incarnation: int,
                 data_dir: str) -> None:
        self.process_name = process_name
        self.incarnation = incarnation
        self.clock = _Clock(link)
        self.store = _Store(link)
        self.tools = _Tools(link)
        self.model = _Model(link)
        self.tasks = _Tasks(link)
        self._data_dir = Path(data_dir)
        self._data_dir_made = False

    @property
    def data_dir(self) -> Path:
        """The machine's data directory (``simulator/_disk.py``), made on first use; the
        harness removes it when the run ends. A crash here is a real SIGKILL, so
        SQLite's journal does the rest."""
        if not self._data_dir_made:
            os.makedirs(self._data_dir, exist_ok=True)
            self._data_dir_made = True
        return self._data_dir


# --- guards: what a simulated process must not do -------------------------------------
def _where() -> str:
    """The innermost frame outside this module and the standard threading modules."""
    for frame in reversed(traceback.extract_stack()[:-2]):
        name = os.path.basename(frame.filename)
        if name not in ("threading.py", "_child.py") and f"{os.sep}asyncio{os.sep}" not in (
                frame.filename):
            return f"{frame.filename}:{frame.lineno} in {frame.name}"
    return "unknown"


def _forbidden(what: str, where: str | None = None,
               why: str = "a simulated process must not, as the simulation neither "
                          "schedules nor replays it (use process ports)") -> None:
    message = f"the design {what} at {where or _where()}: {why}"
    if not _CHILD:  # in the zygote, importing the design: the import fails with it
        raise IsolationViolation(message)
    # In a child: tell the harness, and die before the thread or the reading can change
    # anything. The harness makes it the incarnation's death with this message.
    link = _CHILD[0]
    try:
        send(link.wfd, (link.ops, ("fatal", message)))
    finally:
        _flush_and_exit(EXIT_FORBIDDEN)


def _install_guards() -> None:
    import _thread

    real_start = threading.Thread.start

    def start(self: threading.Thread) -> None:
        target = getattr(self, "_target", None)
        name = getattr(target, "__qualname__", None) or type(self).__qualname__
        _forbidden(f"started a thread ({name})")
        real_start(self)  # not reached

    def start_new_thread(function: Any, *args: Any, **kwargs: Any) -> int:
        _forbidden(f"started a thread ({getattr(function, '__qualname__', function)!r})")
        return 0  # not reached

    threading.Thread.start = start  # type: ignore[method-assign]
    _thread.start_new_thread = start_new_thread
    _thread.start_new = start_new_thread  # type: ignore[attr-defined]

    import time

    def uncontrolled(name: str) -> Any:
        def read(*args: Any, **kwargs: Any) -> Any:
            _forbidden(f"read {name}(), which the simulation does not control")
        read.__name__ = read.__qualname__ = name.rpartition(".")[2]
        return read

    for name in ("clock_gettime", "clock_gettime_ns"):
        setattr(time, name, uncontrolled(f"time.{name}"))
    if hasattr(os, "getrandom"):
        os.getrandom = uncontrolled("os.getrandom")
    # random.SystemRandom reads ``random._urandom``, bound to the real os.urandom.
    random._urandom = uncontrolled("random.SystemRandom")  # type: ignore[attr-defined]


_HTTP_LIBRARIES = ("httpx", "httpx2", "requests")


def _install_http() -> None:
    """httpx's and httpx2's async transports (what the openai, anthropic and stripe SDKs'
    async clients use) send each request to the harness as a port operation of the
    running task, which the world's HTTP front door answers (``fakes.wire.attach_http``:
    the same network, faults and trace as inline). A timeout is the library's own
    ``ReadTimeout``, so an SDK retries as in production. Patched when the library is
    imported (a meta path hook: importing both eagerly made a zygote start 0.7 s
    slower), in the zygote or in a child that imports it late."""
    for name in _HTTP_LIBRARIES:
        module = sys.modules.get(name)
        if module is not None:
            _patch_http(module)
    sys.meta_path.insert(0, _PatchOnImport())  # type: ignore[arg-type]


def _patch_http(module: Any) -> None:
    cls = getattr(module, "AsyncHTTPTransport", None)
    if cls is not None and not hasattr(cls.handle_async_request, "__wrapped__"):
        cls.handle_async_request = _intercept(module, cls.handle_async_request)
    for cls, method in sync_transports(module):
        original = getattr(cls, method)
        if not hasattr(original, "__wrapped__"):
            setattr(cls, method, _refuse_sync(original))


def sync_transports(module: Any) -> list[tuple[Any, str]]:
    """The blocking transports of an HTTP library: (class, method sending a request).
    ``requests`` is what ``stripe.StripeClient`` uses by default for its sync calls."""
    if module.__name__ in ("httpx", "httpx2"):
        return [(module.HTTPTransport, "handle_request")]
    if module.__name__ == "requests":
        return [(module.adapters.HTTPAdapter, "send")]
    return []


def sync_request_escape(request: Any) -> str:
    """What a blocking HTTP request in a simulated run is called, in either mode: it is
    not simulated (its caller's frame cannot wait for virtual time without the loop), a
    finding that names it rather than a real request."""
    return (f"sync HTTP {request.method} {request.url} (a blocking request is not "
            "simulated: use the library's async client)")


def _refuse_sync(original: Any) -> Any:
    def send_request(self: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
        if not _CHILD:  # the zygote, importing the design
            return original(self, request, *args, **kwargs)
        raise escape(_CHILD[0].kernel, sync_request_escape(request))

    send_request.__wrapped__ = original  # type: ignore[attr-defined]
    send_request.__name__ = original.__name__
    return send_request


class _PatchOnImport:
    """Finds nothing itself: wraps the real loader of httpx/httpx2 to patch them once
    they are executed."""

    def __init__(self) -> None:
        self._busy: set[str] = set()

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        if name not in _HTTP_LIBRARIES or name in self._busy:
            return None
        import importlib.util

        self._busy.add(name)
        try:
            spec = importlib.util.find_spec(name)
        finally:
            self._busy.discard(name)
        loader = getattr(spec, "loader", None)
        if loader is None or not hasattr(loader, "exec_module"):
            return spec
        real_exec = loader.exec_module

        def exec_module(module: Any) -> None:
            real_exec(module)
            _patch_http(module)

        loader.exec_module = exec_module
        return spec


def _intercept(module: Any, original: Any) -> Any:
    from ._errors import ToolTimeout

    async def handle_async_request(self: Any, request: Any) -> Any:
        if not _CHILD:  # the zygote, importing the design
            return await original(self, request)
        body = await request.aread()
        timeouts = request.extensions.get("timeout") or {}
        try:
            status, headers, content = await _port(_CHILD[0], (
                "http", request.method, str(request.url), dict(request.headers), body,
                timeouts.get("read")))
        except ToolTimeout:
            raise module.ReadTimeout("timed out (simulated network)", request=request) from None
        return module.Response(status, headers=headers, content=content, request=request)

    handle_async_request.__wrapped__ = original  # type: ignore[attr-defined]
    return handle_async_request


def _flush_and_exit(code: int) -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass
    os._exit(code)


# --- asyncio in a child: the loop on the harness's core ----------------------------------
from ._aio import (  # noqa: E402
    _RAISE,
    _RETURN,
    _YIELD,
    SimFuture,
    SimLoop,
    _Bridge,
    _KernelSide,
    escape,
)
from ._kernel import KernelError  # noqa: E402
from ._tasks import Task as _KernelTask  # noqa: E402


class _Escapes(list):  # type: ignore[type-arg]
    """``kernel.escapes`` in a child: each escape is the harness's finding too."""

    def __init__(self, link: _Link) -> None:
        super().__init__()
        self.link = link

    def append(self, what: Any) -> None:
        super().append(what)
        self.link.ops.append(("e", what))


class _ChildKernel:
    """What a child's ``SimLoop`` and bridges use of a kernel: the core (``_Sched``),
    the running task, the escapes; the kernel itself is the harness's."""

    __slots__ = ("current_task", "escapes", "link", "scheduler", "tasks_spawned")

    def __init__(self, link: _Link) -> None:
        self.link = link
        self.scheduler = link.scheduler
        self.current_task: Any = None
        self.escapes = _Escapes(link)
        self.tasks_spawned = 0

    @property
    def now_ns(self) -> int:
        return self.scheduler.now_ns

    def _finish(self, task: Any, result: Any, exc: BaseException | None) -> None:
        # The main task ended on asyncio's side (SimLoop._main_done): the harness
        # finishes its companion, so the process's bookkeeping happens there, in order.
        task.done = True
        if task.tid == 0 and exc is None:
            self.link.root_returned = True
        self.link.ops.append(("f", task.tid, None if exc is None else encode_exception(exc)))


class _ChildTask(_KernelTask):
    """A companion kernel task in a child: the harness holds its kernel half (same
    ``tid`` there); here it names the task to the harness and finds its bridge."""

    __slots__ = ("bridge", "tid")


class _ChildBridge(_Bridge):
    """The bridge of a child's asyncio task. Its kernel half is in the harness, which
    does there what ``_Bridge._to_kernel`` does here inline; so the child only makes the
    handoff. ``_split`` finishes a step the harness drove past a kernel trap without
    releasing the child (``_port``): what inline is the kernel stepping the coroutine
    on from that trap, so the step then ends as ``_Bridge._kstep`` would end it."""

    __slots__ = ("mode", "split")

    def __init__(self, *args: Any) -> None:
        self.mode = 0  # 1: asyncio steps it (_astep), 2: the harness does (_resume)
        self.split: SimFuture | None = None
        super().__init__(*args)

    def _to_kernel(self, trap: tuple[Any, ...]) -> SimFuture:
        if trap[0] != REMOTE:
            raise KernelError(f"task {self.ktask.name} yielded an unknown trap {trap!r}")
        handoff = self.handoff = SimFuture(loop=self.loop)
        handoff._asyncio_future_blocking = True
        self.waiting_on = None
        return handoff

    def _split(self) -> None:
        if self.mode == 1 and self.split is None:
            # The handoff inline's _to_kernel made at that trap (nothing ran since: the
            # child was blocked, so it gets the same sequence number).
            self.split = self._to_kernel(_REMOTE_TRAP)

    def throw(self, exc: Any, *rest: Any) -> Any:
        handoff = self.handoff
        if handoff is not None and not (handoff.done() and not handoff.cancelled()):
            # asyncio takes the coroutine back from a kernel trap: its wakeups go stale
            self.loop._kernel.link.ops.append(("u", self.ktask.tid))
        return super().throw(exc, *rest)

    def _astep(self, fn: Any, arg: Any) -> Any:
        kernel = self.loop._kernel
        ktask = self.ktask
        kernel.current_task = ktask
        ktask.token += 1
        self.mode = 1
        try:
            result = fn(arg)
        except StopIteration as stop:
            split = self.split
            if split is not None:
                return self._settle(split, _RETURN, stop.value)
            if self.root:
                self.loop._main_done(ktask, stop.value, None)
            raise
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as exc:
            split = self.split
            if split is not None:
                return self._settle(split, _RAISE, exc)
            if self.root:
                self.loop._main_done(ktask, None, exc)
                raise StopIteration(None) from None
            raise
        finally:
            kernel.current_task = None
            self.mode = 0
        split = self.split
        if split is not None:
            if type(result) is tuple:  # released again: the kernel side holds it
                self.split = None
                return split
            return self._settle(split, _YIELD, result)
        if type(result) is tuple:
            return self._to_kernel(result)
        self.waiting_on = result
        return result

    def _settle(self, handoff: SimFuture, kind: int, payload: Any) -> SimFuture:
        """End a split step as ``_kstep`` ends one (its asyncio task waits on
        ``handoff``, as it would since the trap)."""
        self.split = None
        if self.root and kind != _YIELD:
            link = self.loop._kernel.link
            if kind == _RETURN:
                self.loop._main_done(None, payload, None)
                link.root_returned = True
                link.outcome = ("return",)
            else:
                link.outcome = ("raise", encode_exception(payload))
            return handoff  # never woken, as a main task the kernel finished
        self._wake(kind, payload)
        return handoff

    def resume(self, outcome: tuple[bool, Any]) -> None:
        """The harness's kernel half finished the port operation this task waits on,
        after it was released (``RESUME``): step the coroutine on, as the kernel does."""
        kernel = self.loop._kernel
        link = kernel.link
        kernel.current_task = self.ktask
        self.mode = 2
        try:
            self._kstep(self.inner.send, outcome)
        except StopIteration:  # the main task returned (_kstep did _main_done)
            link.root_returned = True
            link.outcome = ("return",)
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as exc:  # the main task raised: the process dies of it
            link.outcome = ("raise", encode_exception(exc))
        finally:
            kernel.current_task = None
            self.mode = 0


class ChildLoop(SimLoop):
    """The asyncio loop of an incarnation in its child: ``SimLoop`` itself, over the
    harness's core (each ``call_soon``/``call_at`` a core event there, run when the
    harness says so), so callbacks interleave with the world exactly as inline."""

    _bridge = _ChildBridge

    def __init__(self, link: _Link) -> None:
        kernel = _ChildKernel(link)
        link.kernel = kernel
        self._link = link
        super().__init__(kernel, None)  # type: ignore[arg-type]

    def _new_ktask(self, bridge: _Bridge, name: str, root: bool) -> _ChildTask:
        link = self._link
        task = _ChildTask(self._kernel, _KernelSide(bridge), name, None)  # type: ignore[arg-type]
        task.bridge = bridge
        if root:
            task.tid = 0
        else:
            tid = task.tid = link.next_tid = link.next_tid + 1
            link.ops.append(("t", tid, name))
        link.tasks[task.tid] = task
        return task

    def start_main(self, coro: Any, name: str) -> Any:
        # The harness's core event for the main task's first step is the one running
        # now (its own loop scheduled it): take that step here, without another.
        self._soon_scheduled = True
        ktask = super().start_main(coro, name)
        self._run_soon()
        return ktask

    def idle(self) -> bool:
        return not self._link.handles and not self._soon


# --- one incarnation ---------------------------------------------------------------------
def _run_incarnation(main: Any, rfd: int, wfd: int) -> None:
    link = _Link(rfd, wfd)
    _CHILD.append(link)
    kind, (process_name, incarnation, data_dir) = link.receive()
    stack = _shims._LOCAL.stack
    stack.clear()
    stack.append(_ChildShims(link))
    final: tuple[Any, ...]
    try:
        loop = ChildLoop(link)
        loop.start_main(main(ChildEnv(link, process_name, incarnation, data_dir)), "main")
        tasks = link.tasks
        handles = link.handles
        while True:
            command = link.stash
            if command is not None:
                link.stash = None
            else:
                last = link.root_returned and loop.idle()
                if last:
                    # The interpreter would now exit on its own, running its ``atexit``
                    # handlers (a SIGKILL never gets here:
                    # test_isolation.py::test_sigkill_runs_no_finally_or_atexit).
                    try:
                        atexit._run_exitfuncs()
                    except BaseException:
                        pass
                ops, link.ops = link.ops, []
                outcome, link.outcome = link.outcome, None
                send(wfd, (ops, ("done", outcome, last)))
                if last:
                    _flush_and_exit(0)
                command = link.receive()
            kind, value = command
            if kind == RUN:
                entry = handles.pop(value, None)
                if entry is not None:
                    entry[0](*entry[1])
            elif kind == RESUME:
                tid, ok, result = value
                tasks[tid].bridge.resume((ok, result))
            elif kind == KCANCEL:
                tid, exc = value
                tasks[tid].bridge._cancel_from_kernel(_decode(exc))
            else:
                raise IsolationViolation(f"unknown command {kind!r} from the harness")
    except BaseException as exc:  # the child's own machinery failed, or sys.exit
        if isinstance(exc, SystemExit):
            final = ("exit", exc.code if isinstance(exc.code, int) else 1)
        else:
            final = ("raise", encode_exception(exc))
    send(wfd, (link.ops, final))
    _flush_and_exit(0)


def _spare_main(main: Any, ctrl: socket.socket, handoff: socket.socket,
                zygote_pid: int) -> None:
    """A child forked ahead of need: it waits for its incarnation's pipes, then runs it."""
    try:
        ctrl.close()
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != zygote_pid:  # the zygote died before prctl took effect
            os._exit(1)
        data, fds, _, _ = socket.recv_fds(handoff, 1, 2)
        if not data or len(fds) != 2:
            os._exit(0)  # the zygote is closing: never needed
        handoff.close()
        _run_incarnation(main, fds[0], fds[1])
    except BaseException:  # never return into the zygote's loop
        _flush_and_exit(1)
    _flush_and_exit(0)


# --- the zygote ----------------------------------------------------------------------
def _resolve(locator: str) -> Any:
    """``module:attr.path`` -> the design's ``main`` (a Design's ``main`` if it is one)."""
    import importlib

    module_name, _, path = locator.partition(":")
    obj: Any = importlib.import_module(module_name)
    for part in path.split("."):
        obj = getattr(obj, part)
    if not callable(obj) or hasattr(obj, "main"):
        obj = obj.main
    return obj


def _reap(done: dict[int, int], live: set[int]) -> None:
    while live:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        live.discard(pid)
        done[pid] = status


def _wait(pid: int, done: dict[int, int], live: set[int]) -> int:
    if pid in done:
        return done.pop(pid)
    try:
        _, status = os.waitpid(pid, 0)
    except ChildProcessError:
        status = 0
    live.discard(pid)
    return status


def zygote_main() -> None:
    """Entry point of a zygote process (``python -c``; see the module docstring)."""
    ctrl = socket.socket(fileno=int(os.environ["NINELIVES_ZYGOTE_FD"]))
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the harness's to handle
    try:
        import time

        for obj, name, value in _shims._INSTALL:
            setattr(obj, name, value)
        _install_guards()  # after the shims: a child forbids the clocks inline guards
        _shims._LOCAL.stack.append(_ImportShims())
        try:
            _install_http()
            main = _resolve(os.environ["NINELIVES_DESIGN"])
        finally:
            _shims._LOCAL.stack.clear()
        del time
        if threading.active_count() != 1:
            raise IsolationViolation(
                "the design left threads running at import: "
                + ", ".join(t.name for t in threading.enumerate()))
    except BaseException as exc:  # reported to the harness, one line
        message = f"{type(exc).__name__}: {exc}".encode()
        ctrl.sendall(ANSWER.pack(-len(message)) + message)
        os._exit(1)
    # Objects made so far are never freed in a child: keep the collector off their
    # pages, so they stay shared with the zygote instead of being copied at each fork.
    gc.collect()
    gc.freeze()
    ctrl.sendall(ANSWER.pack(os.getpid()))
    _serve(ctrl, main)


def _serve(ctrl: socket.socket, main: Any) -> None:
    # One child is always forked ahead ("the spare"): an incarnation then starts with a
    # hand-over of its pipes, and the fork of the next spare overlaps the harness's work.
    live: set[int] = set()
    done: dict[int, int] = {}
    me = os.getpid()

    def fork_spare() -> tuple[int, socket.socket]:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        pid = os.fork()
        if pid == 0:
            ours.close()
            _spare_main(main, ctrl, theirs, me)
        theirs.close()
        live.add(pid)
        return pid, ours

    spare: tuple[int, socket.socket] | None = None
    try:
        spare = fork_spare()
        while True:
            data, fds, _, _ = socket.recv_fds(ctrl, CMD.size, 2)
            if not data:
                break
            while len(data) < CMD.size:
                more = ctrl.recv(CMD.size - len(data))
                if not more:
                    return
                data += more
            cmd, pid = CMD.unpack(data)
            if cmd == b"F":
                _reap(done, live)
                child, handoff = spare
                spare = None
                socket.send_fds(handoff, [b"G"], fds)
                handoff.close()
                for fd in fds:
                    os.close(fd)
                ctrl.sendall(ANSWER.pack(child))
                spare = fork_spare()
            elif cmd == b"S":
                ctrl.sendall(ANSWER.pack(_wait(pid, done, live)))
            elif cmd == b"R":
                _wait(pid, done, live)
    finally:
        # The harness is gone (or asked us to stop): no child outlives it.
        for pid in sorted(live):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for pid in sorted(live):
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass
        os._exit(0)
