"""The simulation kernel: one seeded run's time, tasks, randomness and trace."""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any

from ninelives.errors import HarnessError

from ._core import Scheduler
from ._rng import Rng
from ._tasks import (
    FREEZE,
    SLEEP,
    WAIT,
    Cancelled,
    CancelScope,
    Event,
    Future,
    Queue,
    RunAborted,
    Task,
    _trap,
)
from ._time import seconds_to_ns
from ._trace import Trace

_current: Kernel | None = None


def _is_outer(task: Task, new: Cancelled, old: Cancelled) -> bool:
    """Whether cancellation ``new`` belongs to a scope enclosing ``old``'s."""
    if old.scope is None:
        return False  # Task.cancel() is already pending: nothing is further out
    if new.scope is None:
        return True
    scopes = task._scopes
    if new.scope in scopes and old.scope in scopes:
        return scopes.index(new.scope) < scopes.index(old.scope)
    return False


class KernelError(HarnessError):
    """The simulation was used in a way it does not support."""

    __module__ = "simulator"


def current_kernel() -> Kernel:
    """The kernel of the run in progress (raises outside a simulated run)."""
    if _current is None:
        raise KernelError("no simulated run is in progress")
    return _current


class Kernel:
    """One run: a scheduler, the seed's RNG streams, the trace, the running task."""

    def __init__(self, seed: int, *, trace: Trace | None = None) -> None:
        self.seed = seed
        self.rng = Rng(seed)
        self.scheduler = Scheduler(self.rng.stream("scheduler"))
        self.trace = trace if trace is not None else Trace(self)
        self.current_task: Task | None = None
        self.tasks_spawned = 0
        #: what the design did outside the simulation (``_aio.escape``): each a finding
        self.escapes: list[str] = []

    # --- time -------------------------------------------------------------------------
    @property
    def now_ns(self) -> int:
        return self.scheduler.now_ns

    def now(self) -> float:
        """Virtual seconds since the start of the run."""
        return self.scheduler.now_ns / 1e9

    # --- tasks --------------------------------------------------------------------------
    def spawn(
        self, coro: Coroutine[Any, Any, Any], *, name: str = "task", owner: Any = None
    ) -> Task:
        """Start ``coro`` as a task; it first runs at the current virtual time."""
        task = Task(self, coro, name, owner)
        self.tasks_spawned += 1
        if owner is not None:
            owner.adopt(task)
        self.scheduler.call_soon(self._step, task, 0, None, None, owner=owner)
        return task

    def _cancel(self, task: Task, exc: Cancelled) -> None:
        """Ask for ``exc`` to be thrown into ``task`` at its current or next await.

        The request is remembered on the task (``_pending_cancel``) rather than only
        scheduled, so that a wakeup which wins the same-instant race does not make it
        disappear. If two are pending, the outer one wins (``Task.cancel()`` is
        outermost), as its scope's exit is where the task is going anyway.
        """
        if task.done:
            return
        pending = task._pending_cancel
        if pending is not None and not _is_outer(task, exc, pending):
            return
        task._pending_cancel = exc
        if task is not self.current_task:
            self.scheduler.call_soon(self._deliver_cancel, task, task.token, owner=task.owner)

    def _deliver_cancel(self, task: Task, token: int) -> None:
        exc = task._pending_cancel
        if token != task.token or task.done or exc is None:
            return  # stale: the task moved on (the cancellation waits for its next await)
        waiting = task._waiting
        if waiting is not None and waiting.done:
            return  # already woken with a value: deliver that first, cancel at next await
        task._pending_cancel = None
        self._step(task, token, None, exc)

    def _step(self, task: Task, token: int, value: Any, exc: BaseException | None) -> None:
        if token != task.token or task.done:
            return  # a stale wakeup: the task already moved on
        task.token = token + 1
        global _current
        previous, _current = _current, self
        self.current_task = task
        try:
            if exc is not None:
                trap = task.coro.throw(exc)
            else:
                trap = task.coro.send(value)
        except StopIteration as stop:
            self._finish(task, stop.value, None)
            return
        except (RunAborted, KeyboardInterrupt, SystemExit):
            raise
        except BaseException as error:
            self._finish(task, None, error)
            return
        finally:
            self.current_task = None
            _current = previous
        kind = trap[0]
        token += 1
        if task._pending_cancel is not None and kind != FREEZE:
            # Cancelled while running or while already woken: throw it at this await.
            task._waiting = None
            self.scheduler.schedule(
                self.scheduler.now_ns, self._deliver_cancel, (task, token), task.owner
            )
        elif kind == SLEEP:
            task._waiting = None
            self.scheduler.schedule(trap[1], self._step, (task, token, None, None), task.owner)
        elif kind == WAIT:
            fut = trap[1]
            task._waiting = fut
            fut._waiters.append((task, token))
        elif kind == FREEZE:
            pass  # a crashed process's task: never resumed (see Process.crash)
        else:
            raise KernelError(f"task {task.name} yielded an unknown trap {trap!r}")

    def _finish(self, task: Task, result: Any, exc: BaseException | None) -> None:
        task.done = True
        task.result = result
        task.exception = exc
        waiters, task._done_waiters = task._done_waiters, []
        for fut in waiters:
            fut._resolve(result, exc)
        owner = task.owner
        if owner is not None:
            owner.task_finished(task)

    # --- awaitables for code running inside the simulation ----------------------------
    async def sleep_ns(self, ns: int) -> None:
        await _trap((SLEEP, self.scheduler.now_ns + (ns if ns > 0 else 0)))

    async def sleep(self, seconds: float) -> None:
        await _trap((SLEEP, self.scheduler.now_ns + max(0, seconds_to_ns(seconds))))

    async def sleep_until_ns(self, when_ns: int) -> None:
        await _trap((SLEEP, when_ns))

    async def checkpoint(self) -> None:
        """Yield to other tasks due at this same instant."""
        await _trap((SLEEP, self.scheduler.now_ns))

    async def freeze(self) -> None:
        """Suspend the calling task forever (used when its process is killed)."""
        await _trap((FREEZE,))

    def future(self) -> Future:
        return Future(self)

    def event(self) -> Event:
        return Event(self)

    def queue(self) -> Queue:
        return Queue(self)

    def fail_after_ns(self, ns: int) -> CancelScope:
        return CancelScope(self, self.scheduler.now_ns + ns, raise_timeout=True)

    def fail_after(self, seconds: float) -> CancelScope:
        """``with kernel.fail_after(s):`` raises SimTimeout at the await that overruns."""
        return self.fail_after_ns(seconds_to_ns(seconds))

    def move_on_after(self, seconds: float) -> CancelScope:
        return CancelScope(self, self.scheduler.now_ns + seconds_to_ns(seconds), False)

    # --- running ----------------------------------------------------------------------
    def run(self, until: float | None = None, *, max_events: int | None = None) -> bool:
        """Run until nothing is scheduled (True) or virtual time ``until`` seconds is
        reached (False). Stepwise use: call again with a later ``until``."""
        until_ns = None if until is None else seconds_to_ns(until)
        return self.run_ns(until_ns, max_events=max_events)

    def dispose(self) -> None:
        """After a run: drop the queue, the trace and the random streams (a disposed
        world keeps only empty shells alive; see ``World.dispose``)."""
        self.scheduler.clear()
        self.trace.clear()
        self.rng._streams.clear()
        self.scheduler._tie = None  # type: ignore[assignment]  # its Random is 2.5 KB
        self.current_task = None

    def run_ns(self, until_ns: int | None = None, *, max_events: int | None = None) -> bool:
        global _current
        previous, _current = _current, self
        try:
            return self.scheduler.run(until_ns, max_events)
        finally:
            _current = previous
