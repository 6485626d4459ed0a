"""Process isolation, the harness's side: each incarnation in a real OS process.

``World(seed, isolation="process")`` runs each incarnation of a design process in a child
forked from a warm **zygote** (``simulator/_child.py``), and a crash is ``SIGKILL`` of
that child: no ``finally``, no ``atexit``, module globals and caches gone. The world --
kernel, network, services, store, model, faults, trace -- stays here; in the kernel the
incarnation is a *proxy* task that performs, on the real ``Env``, each port operation the
child asks for, and answers it. The child runs only while its proxy waits for its next
request, so the kernel's choices stay exactly those of an inline run: the same seed gives
the same trace hash in either mode for a design without process-local state
(``tests/simulator/test_isolation.py::test_same_trace_hash_as_inline``).

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

from ._child import ANSWER, CMD, IsolationViolation
from ._rng import derive_seed
from ._store import Transaction
from ._tasks import RunAborted
from ._wire import WireClosed, decode_exception, encode_exception, recv, send

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
        #: wall-clock seconds a child may run between two requests off the main thread
        #: (on it, the harness's SIGALRM watchdog interrupts the wait); None: no limit
        self.wait_s: float | None = None

    def entry(self, process: Process, env: Env, locator: str) -> Any:
        """The coroutine of one incarnation in the kernel (``Process.main``'s result)."""
        return self._proxy(process, env, locator)

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

    async def _proxy(self, process: Process, env: Env, locator: str) -> None:
        kernel = process.kernel
        world = self.world
        hash_seed = incarnation_hash_seed(world.seed, process.name, process.incarnations)
        try:
            child = _Child(_POOL.get(locator, hash_seed))
        except IsolationError as error:
            raise StartFailed(error) from None
        self._children[process.name] = child
        store = env.store._store
        reply: tuple[Any, ...] = ("start", process.name, process.incarnations, kernel.now_ns,
                                  process.clock_offset_ns, str(env.data_dir))
        while True:
            try:
                send(child.wfd, reply)
                request = self._recv(child)
            except (WireClosed, BrokenPipeError):
                self._children.pop(process.name, None)
                raise ProcessDied(child.wait_status()) from None
            op = request[0]
            try:
                if op == "tx.read":
                    value: Any = store.read(request[1], request[2])
                elif op == "tx.scan":
                    value = store.scan_committed(request[1], request[2])
                elif op == "sleep":
                    value = await env.clock.sleep(request[1])
                elif op == "call":
                    value = await env.tools.call(request[1], request[2],
                                                 idempotency_key=request[3],
                                                 timeout=request[4])
                elif op == "commit":
                    tx = Transaction(env.store)
                    tx._reads = request[1]
                    tx._writes = request[2]  # a deletion is None on both sides
                    await tx.__aexit__(None, None, None)
                    value = tx.committed_version
                elif op == "rollback":
                    await Transaction(env.store).__aexit__(
                        type(request[1], (Exception,), {}), None, None)
                    value = None
                elif op == "get":
                    value = await env.store.get(request[1], request[2])
                elif op == "scan":
                    value = await env.store.scan(request[1], request[2])
                elif op == "model":
                    value = await env.model.complete(request[1], timeout=request[2])
                elif op == "tasks.list":
                    value = await env.tasks.list()
                elif op == "tasks.complete":
                    value = await env.tasks.complete(request[1], request[2])
                elif op == "rand":
                    stream = world.shims._stream(request[1])  # type: ignore[union-attr]
                    value = getattr(stream, request[2])(*request[3])
                else:
                    break  # the child's last word: handled below, outside this ``try``
            except Exception as error:
                reply = (kernel.now_ns, process.clock_offset_ns, False,
                         encode_exception(error))
            else:
                reply = (kernel.now_ns, process.clock_offset_ns, True, value)
        self._children.pop(process.name, None)
        child.finished()
        if op == "return":
            return
        if op == "raise":
            raise decode_exception(request[1])
        if op == "fatal":
            raise IsolationViolation(request[1])
        if op == "exit":
            raise ProcessDied(f"the process exited with status {request[1]} (sys.exit) "
                              "before its main returned")
        raise IsolationViolation(f"the child sent an unknown request {op!r}")
