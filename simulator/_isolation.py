"""Process isolation, the harness's side: each incarnation in a real OS process.

``World(seed, isolation="process")`` runs each incarnation of a design process in a child
forked from a warm **zygote** (``simulator/_child.py``), and a crash is ``SIGKILL`` of
that child: no ``finally``, no ``atexit``, module globals and caches gone. The world --
kernel, network, services, store, model, faults, trace -- stays here (``_Remote``): the
kernel half of each asyncio task of the child (``_Side``, the companion's coroutine),
which performs on the real ``Env`` each port operation the child's task asks for, and a
core event for each callback of the child's loop. The child runs only while the harness
waits for it, so the kernel's choices stay exactly those of an inline run: the same seed
gives the same trace hash in either mode for a design without process-local state,
asyncio or not (``tests/simulator/test_isolation.py::test_same_trace_hash_as_inline``).

**Hash seeds.** Zygotes are started with ``PYTHONHASHSEED`` from a small fixed palette;
incarnation *n* of a process takes the palette entry that ``incarnation_hash_seed`` derives
from the run's seed, the process and *n* -- never the entry of incarnation *n-1* -- so a
value derived from ``hash()`` changes across a restart, as in production, while one seed
still names one run. A fixed palette lets a sweep reuse its zygotes (per design and hash
seed, ``MAX_ZYGOTES`` kept warm): an incarnation costs a fork, not an interpreter start.

**No process left behind.** ``World.run`` kills its children when it ends, however it
ends (an exception, Ctrl-C, the watchdog); zygotes live in their own session (a Ctrl-C at
the terminal reaches the harness only), are closed at interpreter exit, and die with the
harness in any case (their control socket reaches end of file); a child dies with its
zygote (``PR_SET_PDEATHSIG``). ``live_children()`` lists what is running, for tests.
"""

from __future__ import annotations

import atexit
import os
import select
import signal
import socket
import subprocess
import sys
import threading
from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ninelives.errors import InputError

from ._aio import escape, park
from ._child import (
    ANSWER,
    CMD,
    ERR,
    KCANCEL,
    OK,
    RERR,
    RESUME,
    ROK,
    RUN,
    SAME,
    START,
    SUSPEND,
    IsolationViolation,
    _decode,
)
from ._kernel import current_kernel
from ._rng import derive_seed
from ._store import Transaction
from ._tasks import FREEZE, RunAborted, Task
from ._wire import WireClosed, encode_exception, recv, send

if TYPE_CHECKING:
    from ._ports import Env
    from ._process import Process
    from ._world import World

ISOLATION_MODES = ("inline", "process")
#: PYTHONHASHSEED values of the zygotes an incarnation can start from (see the docstring)
HASH_SEED_PALETTE = (1_000_003, 2_000_029, 3_000_017)
#: zygotes kept warm per harness process (the least recently used one is closed first)
MAX_ZYGOTES = 6
#: wall-clock seconds a zygote may take to start (import the design) before it is an error
ZYGOTE_START_S = 60.0


class IsolationError(InputError):
    """Process isolation cannot run this design (it is not importable in a fresh
    interpreter, or its import failed there); the message says which and why."""

    __module__ = "simulator"


class ProcessDied(Exception):
    """The child of an incarnation died on its own (it exited, or a signal killed it)."""


class StartFailed(RunAborted):
    """A child could not be started (``IsolationError``): not the design's death but
    the run's end. ``World.run`` re-raises the ``IsolationError`` it carries."""

    def __init__(self, error: IsolationError) -> None:
        super().__init__(str(error))
        self.error = error


class ChildHang(RunAborted):
    """The child kept the CPU without asking for a port operation past the wall-clock
    limit (the harness's watchdog, where no SIGALRM can reach: off the main thread)."""


def incarnation_hash_seed(seed: int, process: str, incarnation: int) -> int:
    """The ``PYTHONHASHSEED`` of incarnation ``incarnation`` (1-based) of ``process`` in
    the run of ``seed``: a palette entry, always another than the previous incarnation's."""
    k = len(HASH_SEED_PALETTE)
    index = derive_seed(seed, f"hashseed:{process}") % k
    for n in range(2, incarnation + 1):
        index = (index + 1 + derive_seed(seed, f"hashseed:{process}:{n}") % (k - 1)) % k
    return HASH_SEED_PALETTE[index]


# --- finding the design in a fresh interpreter ----------------------------------------------
_LOCATORS: dict[Any, str] = {}


def design_locator(main: Any) -> str:
    """``module:attr`` naming ``main`` (or a ``Design`` whose ``main`` it is), by which a
    zygote imports it. Raises ``IsolationError`` when no importable module holds it."""
    found = _LOCATORS.get(main)
    if found is not None:
        return found
    from ._design import Design

    module_name = getattr(main, "__module__", None) or ""
    qualname = getattr(main, "__qualname__", "")
    found = None
    module = sys.modules.get(module_name)
    if module is not None and module_name != "__main__" and "<locals>" not in qualname:
        obj: Any = module
        for part in qualname.split("."):
            obj = getattr(obj, part, None)
        if obj is main:
            found = f"{module_name}:{qualname}"
    if found is None:
        # A closure (reference_agent's Worker.design makes them) is reached through the
        # Design that holds it. Its own module first, then its package, then the rest;
        # sorted, so the same design always gets the same locator.
        top = module_name.partition(".")[0]
        names = sorted(sys.modules, key=lambda n: (n != module_name,
                                                    n.partition(".")[0] != top, n))
        for name in names:
            if name == "__main__":
                continue
            namespace = getattr(sys.modules.get(name), "__dict__", None)
            if not isinstance(namespace, dict):
                continue
            for attr, value in list(namespace.items()):
                if value is main or (isinstance(value, Design) and value.main is main):
                    found = f"{name}:{attr}"
                    break
            if found is not None:
                break
    if found is None:
        raise IsolationError(
            f"process isolation imports the design in a fresh interpreter, but "
            f"{module_name}.{qualname} is held by no importable module: define the design "
            "(or its main) at module level in a module other than __main__")
    _LOCATORS[main] = found
    return found


# --- zygotes ------------------------------------------------------------------------------
class Zygote:
    """A warm interpreter that imported one design under one hash seed, and forks."""

    def __init__(self, locator: str, hash_seed: int) -> None:
        self.locator = locator
        self.hash_seed = hash_seed
        self.lock = threading.Lock()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        package_root = str(Path(__file__).resolve().parents[1])
        env = dict(os.environ)
        env.update(
            PYTHONHASHSEED=str(hash_seed),
            NINELIVES_ZYGOTE_FD=str(theirs.fileno()),
            NINELIVES_DESIGN=locator,
            NINELIVES_SYS_PATH=os.pathsep.join(sys.path),
            PYTHONPATH=os.pathsep.join([package_root, env.get("PYTHONPATH", "")]).rstrip(
                os.pathsep),
        )
        code = ("import os, sys; sys.path[:] = os.environ['NINELIVES_SYS_PATH'].split("
                "os.pathsep); from simulator._child import zygote_main; zygote_main()")
        self.proc = subprocess.Popen(
            [sys.executable, "-c", code], stdin=subprocess.DEVNULL, env=env,
            pass_fds=(theirs.fileno(),), start_new_session=True)
        theirs.close()
        self.sock = ours
        try:
            ours.settimeout(ZYGOTE_START_S)
            answer = self._answer()
            if answer < 0:
                message = self._exactly(-answer).decode(errors="replace")
                raise IsolationError(f"the design {locator} cannot start in a fresh "
                                     f"interpreter: {message}")
            ours.settimeout(None)
        except BaseException:
            self.close()
            raise
        self.pid = answer
        self.broken = False
        #: children handed out (incarnations), not yet known to be collected; the spare
        #: the zygote keeps forked ahead is not among them
        self.handed: set[int] = set()
        self._reaping: list[int] = []

    def _exactly(self, size: int) -> bytes:
        data = b""
        while len(data) < size:
            chunk = self.sock.recv(size - len(data))
            if not chunk:
                raise IsolationError(f"the zygote of {self.locator} died")
            data += chunk
        return data

    def _answer(self) -> int:
        (value,) = ANSWER.unpack(self._exactly(ANSWER.size))
        return value  # type: ignore[no-any-return]

    def fork(self) -> tuple[int, int, int]:
        """A new child: (pid, fd the harness writes to, fd it reads from)."""
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        try:
            with self.lock:
                try:
                    socket.send_fds(self.sock, [CMD.pack(b"F", 0)], [to_child_r, from_child_w])
                    pid = self._answer()
                    # The zygote answers in order: every reap asked before is done.
                    self.handed.difference_update(self._reaping)
                    self._reaping.clear()
                    self.handed.add(pid)
                except BaseException:
                    # Interrupted halfway (the watchdog, Ctrl-C): its answers may be out of
                    # step with our questions from now on. Never use it again.
                    self.broken = True
                    raise
        except BaseException:
            os.close(to_child_w)
            os.close(from_child_r)
            raise
        finally:
            os.close(to_child_r)
            os.close(from_child_w)
        return pid, to_child_w, from_child_r

    def status(self, pid: int) -> int:
        """Wait for child ``pid`` to end; its wait status."""
        with self.lock:
            try:
                self.sock.sendall(CMD.pack(b"S", pid))
                status = self._answer()
                self.handed.discard(pid)
                return status
            except BaseException:
                self.broken = True
                raise

    def reap(self, pid: int) -> None:
        """Let the zygote collect child ``pid`` (dead or killed); no answer."""
        with self.lock:
            try:
                self.sock.sendall(CMD.pack(b"R", pid))
                self._reaping.append(pid)
            except OSError:
                self.broken = True

    def close(self) -> None:
        """End of file on its socket: the zygote kills its children and exits."""
        try:
            self.sock.close()
        finally:
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class _Pool:
    """The zygotes of this harness process, by (design locator, hash seed)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.zygotes: OrderedDict[tuple[str, int], Zygote] = OrderedDict()
        self.pid = os.getpid()

    def get(self, locator: str, hash_seed: int) -> Zygote:
        with self.lock:
            if self.pid != os.getpid():
                # A fork of the harness (a sweep's pool worker): the zygotes belong to
                # the parent. Close our copies of their sockets (the parent's keep them
                # open) and start our own.
                for zygote in self.zygotes.values():
                    zygote.sock.close()
                self.zygotes.clear()
                self.pid = os.getpid()
            key = (locator, hash_seed)
            zygote = self.zygotes.get(key)
            if zygote is not None and (zygote.broken or zygote.proc.poll() is not None):
                del self.zygotes[key]
                zygote.close()
                zygote = None
            if zygote is None:
                zygote = Zygote(locator, hash_seed)
                self.zygotes[key] = zygote
                while len(self.zygotes) > MAX_ZYGOTES:
                    _, oldest = self.zygotes.popitem(last=False)
                    oldest.close()
            else:
                self.zygotes.move_to_end(key)
            return zygote

    def close(self) -> None:
        with self.lock:
            if self.pid != os.getpid():
                return
            while self.zygotes:
                _, zygote = self.zygotes.popitem()
                zygote.close()


_POOL = _Pool()
atexit.register(_POOL.close)


def close_zygotes() -> None:
    """Stop every zygote of this process (they are restarted on demand)."""
    _POOL.close()


def zygote_pids() -> list[int]:
    """Process ids of the running zygotes of this process (for tests and reports)."""
    with _POOL.lock:
        return [z.pid for z in _POOL.zygotes.values()]


def live_children() -> list[int]:
    """Process ids of the incarnations of this process's runs still running (not dead
    and waiting to be collected, not the spare each zygote keeps forked ahead). Empty
    once every run has ended (``tests/simulator/test_isolation.py``)."""
    with _POOL.lock:
        zygotes = [(z.pid, set(z.handed)) for z in _POOL.zygotes.values()]
    pids = []
    for zygote, handed in zygotes:
        try:
            with open(f"/proc/{zygote}/task/{zygote}/children") as f:
                children = [int(p) for p in f.read().split()]
        except OSError:
            continue
        pids += [pid for pid in children if pid in handed and _running(pid)]
    return sorted(pids)


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


# --- one child per incarnation --------------------------------------------------------------
class _Child:
    __slots__ = ("done", "pid", "rfd", "wfd", "zygote")

    def __init__(self, zygote: Zygote) -> None:
        self.zygote = zygote
        self.pid, self.wfd, self.rfd = zygote.fork()
        self.done = False

    def wait_status(self) -> str:
        """How the child ended, in words that do not depend on the run (no pid)."""
        status = self.zygote.status(self.pid)
        self.done = True
        self._close_fds()
        if os.WIFSIGNALED(status):
            sig = os.WTERMSIG(status)
            try:
                name = signal.Signals(sig).name
            except ValueError:
                name = f"signal {sig}"
            return f"the process was killed by {name}"
        return f"the process exited with status {os.waitstatus_to_exitcode(status)}"

    def finished(self) -> None:
        """It sent its last message and is exiting: let the zygote collect it."""
        if not self.done:
            self.done = True
            self._close_fds()
            self.zygote.reap(self.pid)

    def kill(self) -> None:
        """SIGKILL, as a crash is (it is blocked waiting for an answer, or spinning)."""
        if self.done:
            return
        self.done = True
        try:
            os.kill(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self._close_fds()
        self.zygote.reap(self.pid)

    def _close_fds(self) -> None:
        for fd in (self.wfd, self.rfd):
            try:
                os.close(fd)
            except OSError:
                pass
        self.wfd = self.rfd = -1


class IsolatedProcesses:
    """The children of one world: the proxy of each incarnation, and their cleanup."""

    def __init__(self, world: World) -> None:
        self.world = world
        self._children: dict[str, _Child] = {}
        #: the world's HTTP front door (``fakes.wire.attach_http`` sets it), which
        #: answers the children's httpx requests
        self.http: Any = None
        #: wall-clock seconds a child may run between two requests off the main thread
        #: (on it, the harness's SIGALRM watchdog interrupts the wait); None: no limit
        self.wait_s: float | None = None

    def entry(self, process: Process, env: Env, locator: str) -> Any:
        """The coroutine of one incarnation in the kernel (``Process.main``'s result):
        the kernel half of its child's main task."""
        return _Remote(self, process, env, locator).root

    def _drop(self, name: str, child: _Child | None) -> None:
        if child is not None and self._children.get(name) is child:
            del self._children[name]

    def kill(self, process: Process) -> None:
        """``Process.on_death``: the incarnation's child dies with it (SIGKILL)."""
        child = self._children.pop(process.name, None)
        if child is not None:
            child.kill()

    def close(self) -> None:
        """Kill every child still running (the run ended, or was interrupted)."""
        children, self._children = self._children, {}
        for name in sorted(children):
            children[name].kill()

    def _recv(self, child: _Child) -> Any:
        wait_s = self.wait_s
        if wait_s and threading.current_thread() is not threading.main_thread():
            ready, _, _ = select.select([child.rfd], [], [], wait_s)
            if not ready:
                raise ChildHang(f"no progress for {wait_s:g} s of wall time")
        return recv(child.rfd)


_FREEZE_TRAP = (FREEZE,)
_DEAD = ("dead",)


class _Side:
    """The kernel half of one asyncio task of a child: a coroutine-like object the
    kernel steps (the companion task's ``coro``; the main task's is the inner coroutine
    of the incarnation's own main task here). While the task waits in a port operation,
    ``op`` is that operation's coroutine, on the real ``Env``."""

    __slots__ = ("ktask", "op", "remote", "tid")

    def __init__(self, remote: _Remote, tid: int) -> None:
        self.remote = remote
        self.tid = tid
        self.op: Any = None
        self.ktask: Any = None

    def send(self, value: Any) -> Any:
        return self.remote.step(self, value, None)

    def throw(self, exc: Any, *rest: Any) -> Any:
        if not isinstance(exc, BaseException):
            exc = exc(*rest[:1]) if rest else exc()
        return self.remote.step(self, None, exc)

    def close(self) -> None:
        op = self.op
        if op is not None:
            op.close()

    cr_frame = cr_await = None


class _Remote:
    """One incarnation in its child: the kernel halves of its tasks, the core events of
    its loop's callbacks, and the lockstep exchange with it (module docstring).

    The child runs only while the harness waits for it. A port operation of a child task
    is stepped here on the task's companion; when it waits at a kernel trap, the child
    stays blocked in it (the common case, and the dialect's only one: one round trip per
    operation), until either the operation finishes (the answer is its outcome) or the
    harness needs the child for another callback first (the answer is ``SUSPEND`` with
    that command, and the operation's outcome later comes as ``RESUME``)."""

    def __init__(self, owner: IsolatedProcesses, process: Process, env: Env,
                 locator: str) -> None:
        self.owner = owner
        self.process = process
        self.env = env
        self.locator = locator
        self.kernel = process.kernel
        self.inc = process.incarnation
        self.root = _Side(self, 0)
        self.sides: dict[int, _Side] = {0: self.root}
        self.handles: dict[int, Any] = {}
        self.blocked: _Side | None = None
        self.child: _Child | None = None

    # --- the kernel's side -------------------------------------------------------------
    def step(self, side: _Side, value: Any, exc: BaseException | None) -> Any:
        """A kernel step of ``side``'s companion (or the main task's first step)."""
        if self.child is None:
            return self._start()
        op = side.op
        try:
            if op is None:
                if exc is None:
                    return _FREEZE_TRAP
                # A kernel cancellation while asyncio holds the coroutine (inline:
                # _KernelSide.throw): delivered at its asyncio await, in the child.
                result = self._command(KCANCEL, (side.tid, encode_exception(exc)), False)
            else:
                try:
                    trap = op.throw(exc) if exc is not None else op.send(value)
                except StopIteration as stop:
                    ok, outcome = True, stop.value
                except (RunAborted, KeyboardInterrupt, SystemExit):
                    raise
                except BaseException as error:
                    ok, outcome = False, error
                else:
                    return trap
                side.op = None
                if self.blocked is side:
                    self.blocked = None
                    result = self._send(ROK if ok else RERR,
                                        outcome if ok else encode_exception(outcome), False)
                else:
                    result = self._command(RESUME, (side.tid, ok, outcome if ok else
                                                    encode_exception(outcome)), False)
        except (RunAborted, KeyboardInterrupt, SystemExit):
            raise
        except BaseException as error:
            if side is self.root:
                raise
            self._die(error)
            return _FREEZE_TRAP
        return self._ended(result)

    def _ended(self, result: tuple[Any, ...]) -> Any:
        if result[0] == "trapped":
            return result[2]
        if result[0] == "done":
            outcome = result[1]
            if outcome is not None:
                if outcome[0] == "return":
                    raise StopIteration(None)
                raise _decode(outcome[1])
        return _FREEZE_TRAP

    def _start(self) -> Any:
        process = self.process
        self.root.ktask = self.kernel.current_task
        hash_seed = incarnation_hash_seed(self.owner.world.seed, process.name,
                                          process.incarnations)
        try:
            child = _Child(_POOL.get(self.locator, hash_seed))
        except IsolationError as error:
            raise StartFailed(error) from None
        self.child = child
        previous = self.owner._children.get(process.name)
        if previous is not None:
            # The last incarnation's child, still running callbacks after its main
            # returned: that incarnation is over (its callbacks are fenced), so is it.
            previous.kill()
        self.owner._children[process.name] = child
        return self._ended(self._send(START, (process.name, process.incarnations,
                                              str(self.owner.world.disk.path(
                                                  process.name, create=False))), False))

    def _run_soon(self, hid: int) -> None:
        """The core event of a child loop's ``call_soon`` queue (named as inline's, so a
        fenced one is traced alike)."""
        self._run(hid)

    def _run_handle(self, hid: int) -> None:
        """The core event of one of a child loop's timers."""
        self._run(hid)

    def _run(self, hid: int) -> None:
        self.handles.pop(hid, None)
        try:
            result = self._command(RUN, hid, True)
        except (RunAborted, KeyboardInterrupt, SystemExit):
            raise
        except BaseException as error:
            self._die(error)
            return
        if result[0] == "trapped":
            park(self.kernel, result[1].ktask, result[2])  # as _Bridge._to_kernel does

    def _die(self, error: BaseException) -> None:
        """The child died (or broke a rule) outside the main task's own step: the
        process dies of it, as of its main task's exception."""
        self.owner._drop(self.process.name, self.child)
        root = self.root.ktask
        if root is None or root.done:
            root = Task(self.kernel, None, f"{self.process.name}.main", self.inc)  # type: ignore[arg-type]
        if self.inc is not None and self.inc.alive:
            self.kernel._finish(root, None, error)

    # --- the exchange -----------------------------------------------------------------
    def _command(self, kind: int, payload: Any, asyncio_side: bool) -> tuple[Any, ...]:
        if self.blocked is not None:
            # The child waits in another task's port operation: release it first.
            self.blocked = None
            return self._send(SUSPEND, (kind, payload), asyncio_side)
        return self._send(kind, payload, asyncio_side)

    def _send(self, kind: int, payload: Any, asyncio_side: bool) -> tuple[Any, ...]:
        child = self.child
        if child is None or child.done:
            return _DEAD
        try:
            send(child.wfd, (self.kernel.now_ns, self.process.clock_offset_ns, kind, payload))
        except BrokenPipeError:
            raise self._died(child) from None
        return self._serve(asyncio_side)

    def _died(self, child: _Child) -> ProcessDied:
        self.owner._drop(self.process.name, child)
        return ProcessDied(child.wait_status())

    def _serve(self, asyncio_side: bool) -> tuple[Any, ...]:
        """Answer the child until it lets go: ``("done", outcome)``, or ``("trapped",
        side, trap)`` when a port operation of ``side`` waits at a kernel trap."""
        child = self.child
        assert child is not None
        kernel = self.kernel
        process = self.process
        env = self.env
        world = self.owner.world
        store = env.store._store
        while True:
            try:
                ops, request = self.owner._recv(child)
            except (WireClosed, OSError):
                raise self._died(child) from None
            if ops:
                self._apply(ops)
                if child.done:
                    return _DEAD
            op = request[0]
            if op == "op" or op == "throw":
                side = self.sides[request[1]]
                ktask = side.ktask
                previous = kernel.current_task
                if asyncio_side:  # as _Bridge._astep: the companion is the running task
                    kernel.current_task = ktask
                    ktask.token += 1
                thrown = None
                try:
                    if op == "op":
                        coro = side.op = _operation(env, request[2], self.owner.http)
                        trap = coro.send(None)
                    else:
                        thrown = _decode(request[2])
                        trap = side.op.throw(thrown)
                except StopIteration as stop:
                    reply: tuple[int, Any] = (OK, stop.value)
                except (RunAborted, KeyboardInterrupt, SystemExit):
                    raise
                except BaseException as error:
                    reply = (SAME, None) if error is thrown else (ERR, encode_exception(error))
                else:
                    self.blocked = side
                    if child.done:  # the operation's crash point killed it
                        return _DEAD
                    return ("trapped", side, trap)
                finally:
                    if asyncio_side:
                        kernel.current_task = previous
                side.op = None
            elif op == "tx.read":
                reply = self._sync(store.read, request[1], request[2])
            elif op == "tx.scan":
                reply = self._sync(store.scan_committed, request[1], request[2])
            elif op == "rand":
                stream = world.shims._stream(request[1])  # type: ignore[union-attr]
                reply = self._sync(getattr(stream, request[2]), *request[3])
            elif op == "done":
                if request[2]:  # its last word: it exits (its main returned, nothing
                    self.owner._drop(process.name, child)  # is left to run)
                    child.finished()
                return ("done", request[1])
            else:
                self.owner._drop(process.name, child)
                child.finished()
                if op == "raise":
                    raise _decode(request[1])
                if op == "fatal":
                    # Also a stays-in-simulation finding, as its inline counterparts
                    # (a socket, an uncontrolled clock) are, even if restarts recover.
                    kernel.escapes.append(request[1])
                    raise IsolationViolation(request[1])
                if op == "exit":
                    raise ProcessDied(f"the process exited with status {request[1]} "
                                      "(sys.exit) before its main returned")
                raise IsolationViolation(f"the child sent an unknown request {op!r}")
            if child.done:
                return _DEAD
            try:
                send(child.wfd, (kernel.now_ns, process.clock_offset_ns, *reply))
            except BrokenPipeError:
                raise self._died(child) from None

    @staticmethod
    def _sync(fn: Any, *args: Any) -> tuple[int, Any]:
        try:
            return (OK, fn(*args))
        except Exception as error:
            return (ERR, encode_exception(error))

    def _apply(self, ops: list[tuple[Any, ...]]) -> None:
        """The scheduling the child asked for, in its order (``_child._Sched``)."""
        kernel = self.kernel
        sched = kernel.scheduler
        handles = self.handles
        inc = self.inc
        for op in ops:
            tag = op[0]
            if tag == "s":
                callback = self._run_soon if op[3] == "_run_soon" else self._run_handle
                handles[op[1]] = sched.schedule(op[2], callback, (op[1],), inc)
            elif tag == "c":
                handle = handles.pop(op[1], None)
                if handle is not None:
                    handle.cancel()
            elif tag == "t":
                side = _Side(self, op[1])
                side.ktask = Task(kernel, side, op[2], inc)  # type: ignore[arg-type]
                self.sides[op[1]] = side
            elif tag == "u":
                ktask = self.sides[op[1]].ktask
                ktask.token += 1
                ktask._waiting = None
            elif tag == "f":
                ktask = self.sides[op[1]].ktask
                if not ktask.done:
                    kernel._finish(ktask, None, None if op[2] is None else _decode(op[2]))
            elif tag == "e":
                kernel.escapes.append(op[1])


async def _operation(env: Env, request: tuple[Any, ...], http: Any) -> Any:
    """One port operation of a child's task, on the real ``Env`` (the child's
    ``ChildEnv`` sends them)."""
    op = request[0]
    if op == "sleep":
        return await env.clock.sleep(request[1])
    if op == "call":
        return await env.tools.call(request[1], request[2], idempotency_key=request[3],
                                    timeout=request[4])
    if op == "commit":
        tx = Transaction(env.store)
        tx._reads = request[1]
        tx._writes = request[2]  # a deletion is None on both sides
        await tx.__aexit__(None, None, None)
        return tx.committed_version
    if op == "rollback":
        await Transaction(env.store).__aexit__(type(request[1], (Exception,), {}), None, None)
        return None
    if op == "get":
        return await env.store.get(request[1], request[2])
    if op == "scan":
        return await env.store.scan(request[1], request[2])
    if op == "model":
        return await env.model.complete(request[1], timeout=request[2])
    if op == "tasks.list":
        return await env.tasks.list()
    if op == "tasks.complete":
        return await env.tasks.complete(request[1], request[2])
    if op == "http":  # httpx in the child (_child._install_http)
        _, method, url, headers, body, timeout_s = request
        if http is None:
            raise escape(current_kernel(), f"HTTP {method} {url} (the world has no HTTP "
                                             "front door: fakes.wire.attach_http)")
        response = await http.request(method, url, headers, body, timeout_s)
        return response.status, list(response.headers.items()), response.body
    raise IsolationViolation(f"the child asked for an unknown operation {op!r}")
