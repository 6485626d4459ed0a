"""asyncio on virtual time: an event loop per process incarnation, on the scheduling core.

A design's ``main(env)`` always starts as an asyncio task on its incarnation's
``SimLoop``, so ordinary asyncio code (``gather``, ``TaskGroup``, ``timeout``,
``Queue``...) runs unchanged, and the ports (``await env.tools.call(...)``) work from any
asyncio task.

**What is virtualised.** ``loop.time()`` is the core's integer-nanosecond clock in
seconds; ``call_later`` / ``call_at`` put the callback on the core
(``simulator/_core.py``), owned by the incarnation, so asyncio callbacks and dialect
tasks interleave in one seeded order and a crash fences both alike. ``call_soon``
callbacks keep asyncio's documented FIFO order within the loop: the loop's queue is one
core event per callback, so other processes interleave with it in seeded order. A sleep of an hour
costs no wall time (``tests/simulator/test_aio.py::test_an_hour_of_sleep_costs_no_wall_time``).
``run_in_executor`` (and so ``asyncio.to_thread``) runs the function inline, at the
call, and returns a completed future.

**What is a finding** (``SimulationEscape``, recorded in ``kernel.escapes``):
``call_soon_threadsafe`` from a thread other than the run's, name resolution, sockets,
servers, pipes, signal handlers and subprocesses. Nothing leaves the machine; the harness
turns ``kernel.escapes`` into a violation.

**Two steppers, one coroutine.** Dialect coroutines suspend by yielding *traps*
(``simulator/_tasks.py``) that only the kernel understands; asyncio coroutines yield
asyncio futures. Each asyncio task's coroutine is wrapped in a ``_Bridge`` with a
*companion* kernel task (same incarnation). While the coroutine waits on an asyncio
future, asyncio steps it; when it yields a trap, the bridge hands the trap to the kernel
exactly as the kernel's own ``_step`` would, and the asyncio task waits on a *handoff*
future; the kernel then steps the coroutine (with asyncio's running loop, current task
and the task's context set) until it yields an asyncio future again or finishes, and the
handoff wakes the asyncio task. ``kernel.current_task`` is the companion throughout, so
port operations, cancel scopes and fencing behave as in a dialect task.

**Dialect designs keep their trace hashes.** The root task's first step is scheduled as
``kernel.spawn`` scheduled it (one ``call_soon``, one tie draw); a dialect design never
yields an asyncio future, so after its first trap only the kernel steps it, and when it
finishes the kernel does the process's bookkeeping as before; its asyncio task is left
pending (never woken, so it draws no tie) (``tests/simulator/test_aio.py::
test_dialect_designs_keep_their_trace_hashes``).

**Determinism.** Ties among simultaneous callbacks are the core's seeded draws, never a
heap of equal deadlines. Tasks and futures the loop makes hash by a per-loop sequence
number, so ``asyncio.wait``'s sets, ``as_completed`` and ``TaskGroup`` iterate in an
order fixed by the program, not by addresses or ``PYTHONHASHSEED``; default task names
count per loop ("Task-1" is each incarnation's main, as in a fresh process).
"""

from __future__ import annotations

import asyncio
import collections
import collections.abc
import contextvars
import math
import threading
import weakref
from asyncio import events
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from . import _kernel
from ._tasks import FREEZE, SLEEP, WAIT, RunAborted
from ._tasks import Task as KernelTask

if TYPE_CHECKING:
    from ._kernel import Kernel

_NS_PER_S = 1_000_000_000
_FREEZE_TRAP = (FREEZE,)
# What a handoff future carries back to the asyncio side.
_YIELD, _RETURN, _RAISE = 0, 1, 2

_get_running_loop = events._get_running_loop
_set_running_loop = events._set_running_loop
_enter_task = asyncio.tasks._enter_task
_leave_task = asyncio.tasks._leave_task


class SimulationEscape(BaseException):
    """The design reached outside the simulation (a thread, a socket, a subprocess).

    A ``BaseException`` so that a design's ``except Exception`` retry loop cannot hide
    it; it is also recorded in ``kernel.escapes`` at the moment it happens, so even a
    design that swallows it is reported (``tests/simulator/test_aio.py``)."""

    def __init__(self, what: str) -> None:
        super().__init__(f"{what}: outside the simulation (a design must reach the world "
                         "through the simulated network and ports)")
        self.what = what


def escape(kernel: Kernel | None, what: str) -> SimulationEscape:
    """Record a design's escape from the simulation on ``kernel``; return the exception
    to raise. Safe from any thread (a list append)."""
    if kernel is not None:
        kernel.escapes.append(what)
    return SimulationEscape(what)


# --- handles ------------------------------------------------------------------------------


class _TimerHandle(events.TimerHandle):
    """asyncio's ``TimerHandle``; cancelling it cancels the core handle
    (``SimLoop._timer_handle_cancelled``), so a cancelled hour-long timeout never holds
    the world open for an hour (``test_cancelled_timer_does_not_hold_time``)."""

    __slots__ = ("_core",)


# --- tasks and futures that hash by creation order ---------------------------------------


class SimFuture(asyncio.Future):  # type: ignore[type-arg]
    """``loop.create_future()``: hashes by a per-loop sequence number (set order is a
    function of the program, not of addresses)."""

    __slots__ = ("_nl_seq",)

    def __init__(self, *, loop: SimLoop) -> None:
        loop._seq += 1
        self._nl_seq = loop._seq
        super().__init__(loop=loop)

    def __hash__(self) -> int:
        return self._nl_seq


class SimTask(asyncio.Task):  # type: ignore[type-arg]
    """``loop.create_task()``: asyncio's own (C) task over a ``_Bridge``, hashing by a
    per-loop sequence number."""

    __slots__ = ("_nl_seq",)

    def __init__(self, coro: Any, *, loop: SimLoop, name: str | None = None,
                 context: contextvars.Context | None = None) -> None:
        loop._seq += 1
        self._nl_seq = loop._seq  # before Task.__init__, which hashes it into _all_tasks
        loop._tasks_made += 1
        super().__init__(coro, loop=loop, name=name or f"Task-{loop._tasks_made}",
                         context=context)

    def __hash__(self) -> int:
        return self._nl_seq


def _gathering_hash(self: Any) -> int:
    # ``gather``'s outer future is made by asyncio itself (``_GatheringFuture(...)``, not
    # ``create_future``); it hashes by a sequence number too, drawn when first hashed.
    seq = self.__dict__.get("_nl_seq")
    if seq is None:
        loop = self.get_loop()
        if isinstance(loop, SimLoop):
            loop._seq += 1
            seq = loop._seq
        else:
            seq = object.__hash__(self)
        self.__dict__["_nl_seq"] = seq
    return seq  # type: ignore[no-any-return]


asyncio.tasks._GatheringFuture.__hash__ = _gathering_hash  # type: ignore[attr-defined]


def _ordered_as_completed() -> bool:
    """Make ``asyncio.as_completed`` wrap its arguments in tasks in argument order.

    CPython 3.11 writes ``{ensure_future(f) for f in set(fs)}``: given coroutines (whose
    hash is their address), the tasks are *created* in identity order, and so are their
    first steps and timers, which no hash of ours can fix: four runs in one process gave
    four orders (``test_set_order_replays_exactly_in_one_process``). The same function
    with ``dict.fromkeys(fs)`` (same deduplication, argument order) replaces its code
    object, so names bound earlier (``from asyncio import as_completed``) get it too. It
    is a valid ``as_completed`` everywhere, so it stays installed. Returns whether the
    source had the expected line (another Python: left alone, a known limit)."""
    import inspect

    function = asyncio.tasks.as_completed
    try:
        source = inspect.getsource(function)
    except OSError:
        return False
    old = "{ensure_future(f, loop=loop) for f in set(fs)}"
    if old not in source:
        return "dict.fromkeys(fs)" in source
    namespace = dict(vars(asyncio.tasks))
    exec(compile(source.replace(old, "{ensure_future(f, loop=loop) for f in "
                                "dict.fromkeys(fs)}"), function.__code__.co_filename, "exec"),
         namespace)
    function.__code__ = namespace["as_completed"].__code__
    return True


AS_COMPLETED_ORDERED = _ordered_as_completed()


# --- the bridge between the two steppers -------------------------------------------------


class _KernelSide:
    """The companion kernel task's ``coro``: the kernel steps the bridged coroutine
    through it, and it turns what the kernel must not see (an asyncio future, or the end
    of a non-root coroutine) into a hand back to asyncio plus a ``FREEZE`` trap."""

    __slots__ = ("bridge",)

    def __init__(self, bridge: _Bridge) -> None:
        self.bridge = bridge

    def send(self, value: Any) -> Any:
        bridge = self.bridge
        return bridge._kstep(bridge.inner.send, value)

    def throw(self, exc: BaseException) -> Any:
        bridge = self.bridge
        handoff = bridge.handoff
        if handoff is None or handoff.done():
            # A kernel cancellation (a cancel scope's deadline) while asyncio holds the
            # coroutine: deliver it at the coroutine's asyncio await instead.
            bridge._cancel_from_kernel(exc)
            return _FREEZE_TRAP
        return bridge._kstep(bridge.inner.throw, exc)

    # Looks like the design's coroutine to whoever inspects or closes a kernel task's
    # ``coro`` after a run (``ninelives.testing``). Nothing closes it during one: the
    # kernel never does, and garbage collection closes only real coroutines.
    def __getattr__(self, name: str) -> Any:
        return getattr(self.bridge.inner, name)

    def close(self) -> None:
        self.bridge.inner.close()


def park(kernel: Any, task: Any, trap: tuple[Any, ...]) -> None:
    """Hand a kernel task's trap to the kernel as ``Kernel._step`` does after its
    ``send`` (which inlines the same, on the hot path): a pending cancellation, a sleep,
    a wait on a future, or a freeze. Used where a trap is met outside the kernel's own
    step: an asyncio task's bridge, and a process-isolated child's asyncio side."""
    sched = kernel.scheduler
    token = task.token
    kind = trap[0]
    if task._pending_cancel is not None and kind != FREEZE:
        task._waiting = None
        sched.schedule(sched.now_ns, kernel._deliver_cancel, (task, token), task.owner)
    elif kind == SLEEP:
        task._waiting = None
        sched.schedule(trap[1], kernel._step, (task, token, None, None), task.owner)
    elif kind == WAIT:
        fut = trap[1]
        task._waiting = fut
        fut._waiters.append((task, token))
    elif kind != FREEZE:
        raise _kernel.KernelError(f"task {task.name} yielded an unknown trap {trap!r}")


class _Bridge(collections.abc.Coroutine):  # type: ignore[type-arg]
    """An asyncio task's coroutine: the design's coroutine, stepped by asyncio or by the
    kernel, whichever understands what it last yielded (module docstring)."""

    __slots__ = ("context", "handoff", "inner", "ktask", "loop", "pending", "root", "task",
                 "waiting_on")

    def __init__(self, inner: Coroutine[Any, Any, Any], loop: SimLoop, name: str,
                 context: contextvars.Context, root: bool) -> None:
        self.inner = inner
        self.loop = loop
        self.root = root
        self.context = context
        self.task: SimTask | None = None
        #: the future asyncio waits on while the kernel holds the coroutine
        self.handoff: SimFuture | None = None
        #: the asyncio future (or None: a bare yield) the coroutine waits on, on asyncio
        self.waiting_on: Any = None
        #: a kernel cancellation to throw at the coroutine's next asyncio step
        self.pending: BaseException | None = None
        self.ktask = loop._new_ktask(self, name, root)

    # Looks like the design's coroutine to asyncio's repr and to ``get_coro()`` readers.
    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def __repr__(self) -> str:
        return repr(self.inner)

    def __await__(self) -> Any:
        return self.inner.__await__()

    def close(self) -> None:
        self.inner.close()  # see _KernelSide.close

    # --- the asyncio side ---------------------------------------------------------------
    def send(self, value: Any) -> Any:
        handoff = self.handoff
        if handoff is not None:  # woken by the handoff: the kernel let go
            self.handoff = None
            kind, payload = handoff.result()
            if kind == _RETURN:
                raise StopIteration(payload)
            if kind == _RAISE:
                raise payload
            pending = self.pending
            if pending is not None:  # a kernel cancellation came while in transit
                self.pending = None
                if payload is not None:
                    payload.cancel()
                return self._astep(self.inner.throw, pending)
            self.waiting_on = payload
            return payload  # asyncio now waits on the future the coroutine yielded
        pending = self.pending
        if pending is not None:
            self.pending = None
            return self._astep(self.inner.throw, pending)
        return self._astep(self.inner.send, value)

    def throw(self, exc: Any, *rest: Any) -> Any:
        if not isinstance(exc, BaseException):
            exc = exc(*rest[:1]) if rest else exc()
        handoff = self.handoff
        if handoff is not None:
            self.handoff = None
            if handoff.done() and not handoff.cancelled():
                # Cancelled after the kernel let go, before this task woke.
                kind, payload = handoff.result()
                if kind == _RETURN:
                    raise StopIteration(payload)  # asyncio: "cancelled right before it stopped"
                if kind == _RAISE:
                    raise payload
                if payload is not None:
                    payload.cancel()  # what Task.cancel() does to the future it waits on
            else:
                # The coroutine waits at a kernel trap: take it back (its wakeups go stale).
                ktask = self.ktask
                ktask.token += 1
                ktask._waiting = None
        pending = self.pending
        if pending is not None and isinstance(exc, asyncio.CancelledError):
            self.pending = None
            exc = pending  # the kernel's cancellation, which cancelled that future
        return self._astep(self.inner.throw, exc)

    def _astep(self, fn: Callable[[Any], Any], arg: Any) -> Any:
        """One step of the coroutine on behalf of asyncio (the task is entered)."""
        kernel = self.loop._kernel
        ktask = self.ktask
        previous = _kernel._current
        _kernel._current = kernel
        kernel.current_task = ktask
        ktask.token += 1
        try:
            result = fn(arg)
        except StopIteration as stop:
            if self.root:
                self.loop._main_done(ktask, stop.value, None)
            raise
        except RunAborted as exc:
            self.loop._abort = exc  # asyncio's Task would keep it: re-raised by the loop
            raise
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as exc:
            if self.root:
                # The process dies of it, as a real one would after asyncio.run().
                self.loop._main_done(ktask, None, exc)
                raise StopIteration(None) from None
            raise
        finally:
            kernel.current_task = None
            _kernel._current = previous
        if type(result) is tuple:
            return self._to_kernel(result)
        self.waiting_on = result
        return result

    def _to_kernel(self, trap: tuple[Any, ...]) -> SimFuture:
        """Hand a trap to the kernel as ``Kernel._step`` does after its ``send``; asyncio
        waits on a handoff future meanwhile. Keep in step with ``Kernel._step``."""
        park(self.loop._kernel, self.ktask, trap)
        handoff = self.handoff = SimFuture(loop=self.loop)
        handoff._asyncio_future_blocking = True
        self.waiting_on = None
        return handoff

    # --- the kernel side ----------------------------------------------------------------
    def _kstep(self, fn: Callable[[Any], Any], arg: Any) -> Any:
        """One step of the coroutine on behalf of the kernel, inside asyncio's view of
        the task: its loop running, the task current, the task's context entered."""
        loop = self.loop
        task = self.task
        previous = _get_running_loop()
        _set_running_loop(loop)
        _enter_task(loop, task)
        try:
            result = self.context.run(fn, arg)
        except StopIteration as stop:
            if self.root:
                loop._main_done(None, stop.value, None)
                raise  # the kernel's _finish does the process's bookkeeping
            self._wake(_RETURN, stop.value)
            return _FREEZE_TRAP
        except (RunAborted, KeyboardInterrupt, SystemExit):
            raise
        except BaseException as exc:
            if self.root:
                raise  # the kernel's _finish: the process dies of it
            self._wake(_RAISE, exc)
            return _FREEZE_TRAP
        finally:
            _leave_task(loop, task)
            _set_running_loop(previous)
        if type(result) is tuple:
            return result
        self._wake(_YIELD, result)
        return _FREEZE_TRAP

    def _wake(self, kind: int, payload: Any) -> None:
        handoff = self.handoff
        assert handoff is not None
        self.ktask._waiting = None  # so that a kernel cancellation is delivered now
        if not handoff.cancelled():
            handoff.set_result((kind, payload))

    def _cancel_from_kernel(self, exc: BaseException) -> None:
        self.pending = exc
        waiting = self.waiting_on
        if self.handoff is None and waiting is not None:
            waiting.cancel()  # the task wakes with CancelledError; throw() swaps in exc


# --- the loop --------------------------------------------------------------------------


class SimLoop(asyncio.BaseEventLoop):
    """The event loop of one process incarnation, on the world's scheduling core.

    Never run with ``run_forever``: the core runs its callbacks. It is the running loop
    (``asyncio.get_running_loop()``) while one of them, or a kernel step of one of its
    tasks, runs."""

    def __init__(self, kernel: Kernel, owner: Any) -> None:
        # BaseEventLoop.__init__'s attributes, set directly: it also reads the real
        # clock's resolution and the environment's debug flag (a third of a loop's cost,
        # and one is made per incarnation).
        self._timer_cancelled_count = 0
        self._closed = False
        self._stopping = False
        self._ready: collections.deque[Any] = collections.deque()
        self._scheduled: list[Any] = []
        self._default_executor = None
        self._internal_fds = 0
        self._exception_handler = None
        self._debug = False
        self.slow_callback_duration = 0.1
        self._current_handle = None
        self._task_factory = None
        self._coroutine_origin_tracking_enabled = False
        self._coroutine_origin_tracking_saved_depth = None
        self._asyncgens: weakref.WeakSet[Any] = weakref.WeakSet()
        self._asyncgens_shutdown_called = False
        self._executor_shutdown_called = False
        self._kernel = kernel
        self._sched = kernel.scheduler
        self._owner = owner
        self._clock_resolution = 1e-9
        self._thread_id = threading.get_ident()  # the run's thread; is_running() is True
        self._seq = 0
        self._tasks_made = 0
        self._soon: collections.deque[events.Handle] = collections.deque()
        self._soon_scheduled = False
        self._live: weakref.WeakSet[SimTask] = weakref.WeakSet()
        self._main: SimTask | None = None
        self._abort: BaseException | None = None
        #: exception-handler contexts (a callback raised; a task's exception was never
        #: retrieved), kept instead of logged
        self.exceptions: list[dict[str, Any]] = []

    #: the bridge class of this loop's tasks (a child's loop overrides it)
    _bridge: type[_Bridge] = _Bridge

    def __repr__(self) -> str:
        return f"<SimLoop of {self._owner!r}>"

    def __del__(self) -> None:
        pass  # never "unclosed": the simulation ends it (BaseEventLoop would warn)

    # --- time and callbacks --------------------------------------------------------------
    def time(self) -> float:
        return self._sched.now_ns / _NS_PER_S

    def _check_thread(self, what: str) -> None:
        if threading.get_ident() != self._thread_id:
            raise escape(self._kernel, f"{what} from thread "
                                       f"{threading.current_thread().name!r}")

    def call_soon(self, callback: Callable[..., Any], *args: Any,
                  context: contextvars.Context | None = None) -> events.Handle:
        """Run ``callback`` now, after this loop's earlier ``call_soon`` callbacks (FIFO,
        as asyncio documents); one at a time, each a core event, so that other processes'
        events at this instant interleave in seeded order (``test_call_soon_is_fifo``)."""
        if threading.get_ident() != self._thread_id:
            self._check_thread("loop.call_soon")
        handle = events.Handle(callback, args, self, context)
        self._soon.append(handle)
        if not self._soon_scheduled:
            self._soon_scheduled = True
            sched = self._sched
            sched.schedule(sched.now_ns, self._run_soon, (), self._owner)
        return handle

    def _run_soon(self) -> None:
        """The core's callback for this loop's ``call_soon`` queue: the oldest one."""
        soon = self._soon
        handle = soon.popleft()
        if soon:
            sched = self._sched
            sched.schedule(sched.now_ns, self._run_soon, (), self._owner)
        else:
            self._soon_scheduled = False
        self._run_handle(handle)

    def call_soon_threadsafe(self, callback: Callable[..., Any], *args: Any,
                             context: contextvars.Context | None = None) -> events.Handle:
        self._check_thread("loop.call_soon_threadsafe")
        return self.call_soon(callback, *args, context=context)

    def call_later(self, delay: float, callback: Callable[..., Any], *args: Any,
                   context: contextvars.Context | None = None) -> events.TimerHandle:
        if delay is None:
            raise TypeError("delay must not be None")
        if delay != delay or delay == math.inf:
            return self._timer(None, callback, args, context)
        return self._timer(self._sched.now_ns + max(0, round(delay * _NS_PER_S)),
                           callback, args, context)

    def call_at(self, when: float, callback: Callable[..., Any], *args: Any,
                context: contextvars.Context | None = None) -> events.TimerHandle:
        if when is None:
            raise TypeError("when cannot be None")
        if when != when or when == math.inf:
            return self._timer(None, callback, args, context)
        return self._timer(round(when * _NS_PER_S), callback, args, context)

    def _timer(self, when_ns: int | None, callback: Callable[..., Any], args: tuple[Any, ...],
               context: contextvars.Context | None) -> events.TimerHandle:
        if threading.get_ident() != self._thread_id:
            self._check_thread("loop.call_at")
        sched = self._sched
        if when_ns is None:  # never due: nothing to put on the core
            handle = _TimerHandle(math.inf, callback, args, self, context)
            handle._core = None
            return handle
        when_ns = max(when_ns, sched.now_ns)
        handle = _TimerHandle(when_ns / _NS_PER_S, callback, args, self, context)
        handle._scheduled = True
        handle._core = sched.schedule(when_ns, self._run_handle, (handle,), self._owner)
        return handle

    def _timer_handle_cancelled(self, handle: events.TimerHandle) -> None:
        core = getattr(handle, "_core", None)
        if core is not None:
            core.cancel()

    def _run_handle(self, handle: events.Handle) -> None:
        """The core's callback for every asyncio callback of this loop."""
        if handle._cancelled:
            return
        previous = _get_running_loop()
        _set_running_loop(self)
        try:
            handle._context.run(handle._callback, *handle._args)
        except (RunAborted, KeyboardInterrupt, SystemExit):
            raise
        except BaseException as exc:
            self.call_exception_handler({
                "message": f"Exception in callback {handle._callback!r}",
                "exception": exc, "handle": handle})
        finally:
            _set_running_loop(previous)
        abort = self._abort
        if abort is not None:  # the harness's watchdog fired inside a task step
            self._abort = None
            raise abort

    def call_exception_handler(self, context: dict[str, Any]) -> None:
        if self._exception_handler is not None:
            super().call_exception_handler(context)
        else:
            self.exceptions.append(context)

    # --- tasks and futures ---------------------------------------------------------------
    def create_future(self) -> SimFuture:
        return SimFuture(loop=self)

    def _new_ktask(self, bridge: _Bridge, name: str, root: bool) -> KernelTask:
        """The companion kernel task of a new asyncio task (a process-isolated child's
        loop makes a stand-in whose kernel half lives in the harness: ``_child.py``)."""
        return KernelTask(self._kernel, _KernelSide(bridge), name,  # type: ignore[arg-type]
                          self._owner)

    def create_task(self, coro: Any, *, name: str | None = None,
                    context: contextvars.Context | None = None) -> asyncio.Task[Any]:
        self._check_closed()
        if not asyncio.iscoroutine(coro):
            raise TypeError(f"a coroutine was expected, got {coro!r}")
        return self._make_task(coro, name, context, root=False)

    def _make_task(self, coro: Coroutine[Any, Any, Any], name: str | None,
                   context: contextvars.Context | None, root: bool) -> SimTask:
        if context is None:
            context = contextvars.copy_context()
        bridge = self._bridge(coro, self, name or "task", context, root)
        if self._task_factory is not None and not root:
            task = self._task_factory(self, bridge, context=context)
        else:
            task = SimTask(bridge, loop=self, name=name, context=context)
        bridge.task = task
        self._live.add(task)
        return task  # type: ignore[no-any-return]

    def start_main(self, coro: Coroutine[Any, Any, Any], name: str) -> KernelTask:
        """Start an incarnation's entry point as its main asyncio task (as
        ``asyncio.run(main())`` would); returns its companion kernel task, which the
        incarnation adopts and whose end is the process's end."""
        kernel = self._kernel
        bridge = self._bridge(coro, self, name, contextvars.copy_context(), True)
        kernel.tasks_spawned += 1
        owner = self._owner
        if owner is not None:
            owner.adopt(bridge.ktask)
        task = SimTask(bridge, loop=self, context=bridge.context)
        task._log_destroy_pending = False  # a dialect main's task is never woken again
        bridge.task = task
        self._main = task
        self._live.add(task)
        return bridge.ktask

    def _main_done(self, ktask: KernelTask | None, result: Any,
                   exc: BaseException | None) -> None:
        """The main coroutine ended. As ``asyncio.run`` does, cancel the other tasks;
        ``ktask`` given: finish the companion now (the asyncio side was stepping)."""
        if ktask is not None:
            ktask.kernel._finish(ktask, result, exc)
        if exc is not None:
            return  # the process died of it: its other tasks are fenced, not cancelled
        main = self._main
        for task in sorted(self._live, key=_seq_of):
            if task is not main and not task.done():
                task.cancel()

    def live_tasks(self, *, but_main: bool = False) -> list[asyncio.Task[Any]]:
        """Tasks not finished yet, in creation order (without the main one if asked)."""
        main = self._main if but_main else None
        return [t for t in sorted(self._live, key=_seq_of) if not t.done() and t is not main]

    def detach(self) -> None:
        """After the run: cut this loop loose from its world (see ``Process.dispose``)."""
        for task in list(self._live):
            coro = task.get_coro()
            if isinstance(coro, _Bridge):
                coro.ktask.kernel = None  # type: ignore[assignment]
                coro.ktask.owner = None
        self._kernel = None  # type: ignore[assignment]
        self._sched = None  # type: ignore[assignment]
        self._owner = None

    # --- executors: inline -------------------------------------------------------------
    def run_in_executor(self, executor: Any, func: Callable[..., Any],
                        *args: Any) -> SimFuture:
        """Run ``func(*args)`` now, in this thread; return its outcome as a done future
        (no thread ever runs design code: ``test_run_in_executor_runs_inline``)."""
        fut = SimFuture(loop=self)
        try:
            result = func(*args)
        except (RunAborted, KeyboardInterrupt, SystemExit):
            raise
        except BaseException as exc:
            fut.set_exception(exc)
        else:
            fut.set_result(result)
        return fut

    def set_default_executor(self, executor: Any) -> None:
        pass  # work runs inline whatever the executor

    # --- running: the core does it -------------------------------------------------------
    def run_forever(self) -> None:
        raise RuntimeError("this loop is run by the simulation; await instead")

    def run_until_complete(self, future: Any) -> Any:
        raise RuntimeError("this loop is run by the simulation; await instead")

    def _escape(self, what: str) -> SimulationEscape:
        return escape(self._kernel, what)

    # --- the world outside: findings ---------------------------------------------------
    async def getaddrinfo(self, host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        raise self._escape(f"getaddrinfo({host!r}, {port!r})")

    async def getnameinfo(self, sockaddr: Any, flags: int = 0) -> Any:
        raise self._escape(f"getnameinfo({sockaddr!r})")

    async def create_connection(self, protocol_factory: Any, host: Any = None,
                                port: Any = None, **kwargs: Any) -> Any:
        raise self._escape(f"create_connection to {host}:{port}")

    async def create_server(self, protocol_factory: Any, host: Any = None, port: Any = None,
                            **kwargs: Any) -> Any:
        raise self._escape(f"create_server on {host}:{port}")

    async def create_datagram_endpoint(self, protocol_factory: Any, local_addr: Any = None,
                                       remote_addr: Any = None, **kwargs: Any) -> Any:
        raise self._escape(f"create_datagram_endpoint to {remote_addr}")

    async def create_unix_connection(self, protocol_factory: Any, path: Any = None,
                                     **kwargs: Any) -> Any:
        raise self._escape(f"create_unix_connection to {path}")

    async def create_unix_server(self, protocol_factory: Any, path: Any = None,
                                 **kwargs: Any) -> Any:
        raise self._escape(f"create_unix_server on {path}")

    async def connect_accepted_socket(self, protocol_factory: Any, sock: Any,
                                      **kwargs: Any) -> Any:
        raise self._escape(f"connect_accepted_socket {sock!r}")

    async def connect_read_pipe(self, protocol_factory: Any, pipe: Any) -> Any:
        raise self._escape(f"connect_read_pipe {pipe!r}")

    async def connect_write_pipe(self, protocol_factory: Any, pipe: Any) -> Any:
        raise self._escape(f"connect_write_pipe {pipe!r}")

    async def start_tls(self, transport: Any, protocol: Any, sslcontext: Any,
                        **kwargs: Any) -> Any:
        raise self._escape("start_tls")

    async def sendfile(self, transport: Any, file: Any, *args: Any, **kwargs: Any) -> Any:
        raise self._escape("sendfile")

    async def sock_sendfile(self, sock: Any, file: Any, *args: Any, **kwargs: Any) -> Any:
        raise self._escape(f"sock_sendfile on {_peer(sock)}")

    async def sock_recv(self, sock: Any, nbytes: int) -> Any:
        raise self._escape(f"sock_recv on {_peer(sock)}")

    async def sock_recv_into(self, sock: Any, buf: Any) -> Any:
        raise self._escape(f"sock_recv_into on {_peer(sock)}")

    async def sock_recvfrom(self, sock: Any, bufsize: int) -> Any:
        raise self._escape(f"sock_recvfrom on {_peer(sock)}")

    async def sock_recvfrom_into(self, sock: Any, buf: Any, nbytes: int = 0) -> Any:
        raise self._escape(f"sock_recvfrom_into on {_peer(sock)}")

    async def sock_sendall(self, sock: Any, data: Any) -> Any:
        raise self._escape(f"sock_sendall on {_peer(sock)}")

    async def sock_sendto(self, sock: Any, data: Any, address: Any) -> Any:
        raise self._escape(f"sock_sendto {address!r}")

    async def sock_connect(self, sock: Any, address: Any) -> Any:
        raise self._escape(f"sock_connect to {address!r}")

    async def sock_accept(self, sock: Any) -> Any:
        raise self._escape(f"sock_accept on {_peer(sock)}")

    async def subprocess_exec(self, protocol_factory: Any, program: Any, *args: Any,
                              **kwargs: Any) -> Any:
        raise self._escape(f"subprocess {program!r}")

    async def subprocess_shell(self, protocol_factory: Any, cmd: Any, **kwargs: Any) -> Any:
        raise self._escape(f"subprocess shell {cmd!r}")

    def add_reader(self, fd: Any, callback: Callable[..., Any], *args: Any) -> None:
        raise self._escape(f"add_reader on fd {fd!r}")

    def add_writer(self, fd: Any, callback: Callable[..., Any], *args: Any) -> None:
        raise self._escape(f"add_writer on fd {fd!r}")

    def remove_reader(self, fd: Any) -> bool:
        return False

    def remove_writer(self, fd: Any) -> bool:
        return False

    def add_signal_handler(self, sig: int, callback: Callable[..., Any], *args: Any) -> None:
        raise self._escape(f"add_signal_handler for signal {sig}")

    def remove_signal_handler(self, sig: int) -> bool:
        return False


def _seq_of(task: Any) -> int:
    return getattr(task, "_nl_seq", 0)  # type: ignore[no-any-return]


def _peer(sock: Any) -> str:
    try:
        return repr(sock.getpeername())
    except Exception:
        return repr(sock)
