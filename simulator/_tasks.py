"""The coroutine protocol over the scheduling core: tasks, traps, futures, timeouts.

A task is a coroutine driven by ``coro.send``. It suspends by yielding a *trap*, a small
tuple the kernel understands: ``(SLEEP, until_ns)``, ``(WAIT, future)``, ``(FREEZE,)``.
Every wakeup carries the task's current wait token, so a stale wakeup (a future that
resolves after a timeout already woke the task) is ignored instead of resuming the task
twice (``tests/simulator/test_kernel.py::test_timeout_then_late_result``).

Cancellation: a deadline or ``Task.cancel()`` throws ``Cancelled`` into the task once, at
the await it is blocked on. If the task has already been woken with a value (a future it
awaits resolved, a queue handed it an item) the value is delivered first and the
cancellation is thrown at the task's next await, so neither the cancellation nor the
value is lost (``tests/simulator/test_kernel.py::test_cancel_is_never_lost``). A pending
cancellation of a scope the task has left is dropped. ``Cancelled`` derives from
BaseException so that a design's ``except Exception`` does not swallow it.
"""

from __future__ import annotations

import types
from collections import deque
from collections.abc import Coroutine, Generator
from typing import TYPE_CHECKING, Any

from ninelives.errors import NineLivesError

if TYPE_CHECKING:
    from ._kernel import Kernel

SLEEP = 0
WAIT = 1
FREEZE = 2


class Cancelled(BaseException):
    """Thrown into a task at its await point by a deadline or ``Task.cancel()``.

    Control flow, not an error: a ``BaseException`` outside ninelives' error tree, so a
    design's ``except Exception`` does not swallow its own cancellation (docs/errors.md).
    """

    __module__ = "simulator"

    def __init__(self, scope: CancelScope | None = None) -> None:
        super().__init__("cancelled")
        self.scope = scope


class RunAborted(BaseException):
    """Raised (by a harness watchdog) to abandon a whole run; never a task's result.

    Control flow outside the error tree, as ``Cancelled``: a design's ``except
    Exception`` must not be able to catch it and carry on (docs/errors.md)."""

    __module__ = "simulator"


class SimTimeout(NineLivesError, TimeoutError):
    """A ``fail_after`` deadline passed (a port error a design can see)."""

    __module__ = "simulator"


@types.coroutine
def _trap(trap: tuple[Any, ...]) -> Generator[tuple[Any, ...], Any, Any]:
    return (yield trap)


class Task:
    """One coroutine in the simulation, owned by a process incarnation (or by nobody)."""

    __slots__ = (
        "_done_waiters",
        "_pending_cancel",
        "_scopes",
        "_waiting",
        "coro",
        "done",
        "exception",
        "kernel",
        "name",
        "owner",
        "result",
        "token",
    )

    def __init__(self, kernel: Kernel, coro: Coroutine[Any, Any, Any], name: str, owner: Any):
        self.kernel = kernel
        self.coro = coro
        self.name = name
        self.owner = owner
        self.token = 0
        self.done = False
        self.result: Any = None
        self.exception: BaseException | None = None
        self._done_waiters: list[Future] = []
        self._scopes: list[CancelScope] = []
        # The cancellation to throw at the current (or next) await, if any.
        self._pending_cancel: Cancelled | None = None
        # The future the task is blocked on (None while sleeping or running).
        self._waiting: Future | None = None

    def __repr__(self) -> str:
        return f"<Task {self.name}>"

    def cancel(self) -> None:
        """Throw ``Cancelled`` into the task at its current await (or at its next one,
        if it has already been woken with a value or is the task calling this)."""
        if not self.done:
            self.kernel._cancel(self, Cancelled(None))

    def joined(self) -> Future:
        """A future resolved with the task's result (or exception) when it finishes."""
        fut = Future(self.kernel)
        if self.done:
            fut._resolve(self.result, self.exception)
        else:
            self._done_waiters.append(fut)
        return fut

    async def join(self) -> Any:
        return await self.joined()


class Future:
    """A value that will be set once; tasks ``await`` it."""

    __slots__ = ("_exception", "_kernel", "_result", "_waiters", "done")

    def __init__(self, kernel: Kernel) -> None:
        self._kernel = kernel
        self.done = False
        self._result: Any = None
        self._exception: BaseException | None = None
        self._waiters: list[tuple[Task, int]] = []

    def set_result(self, value: Any = None) -> None:
        self._resolve(value, None)

    def set_exception(self, exc: BaseException) -> None:
        self._resolve(None, exc)

    def _resolve(self, value: Any, exc: BaseException | None) -> None:
        if self.done:
            raise RuntimeError("future already resolved")
        self.done = True
        self._result = value
        self._exception = exc
        waiters, self._waiters = self._waiters, []
        kernel = self._kernel
        schedule = kernel.scheduler.schedule
        for task, token in waiters:
            # ``task.kernel is None``: a dead task cut loose by ``Process.dispose()``.
            if task.token == token and not task.done and task.kernel is not None:
                schedule(kernel.scheduler.now_ns, kernel._step, (task, token, value, exc),
                         task.owner)

    def _has_live_waiter(self) -> bool:
        # A waiter is stale if its task moved on (timeout), is about to be cancelled,
        # or its process died (crash): handing it a queue item would lose the item.
        for task, token in self._waiters:
            owner = task.owner
            if (
                task.token == token
                and not task.done
                and task._pending_cancel is None
                and task.kernel is not None
                and (owner is None or owner.alive)
            ):
                return True
        return False

    def result(self) -> Any:
        if not self.done:
            raise RuntimeError("future not resolved yet")
        if self._exception is not None:
            raise self._exception
        return self._result

    def __await__(self) -> Generator[Any, Any, Any]:
        if self.done:
            if self._exception is not None:
                raise self._exception
            return self._result
        return (yield (WAIT, self))  # the trap, yielded directly: one frame fewer


class Event:
    """A flag tasks can wait for; ``set()`` wakes every waiter."""

    __slots__ = ("_future", "_kernel")

    def __init__(self, kernel: Kernel) -> None:
        self._kernel = kernel
        self._future = Future(kernel)

    def is_set(self) -> bool:
        return self._future.done

    def set(self) -> None:
        if not self._future.done:
            self._future.set_result(None)

    async def wait(self) -> None:
        await self._future


class Queue:
    """An unbounded FIFO queue: ``put`` never blocks, ``await get()`` waits for an item."""

    __slots__ = ("_getters", "_items", "_kernel")

    def __init__(self, kernel: Kernel) -> None:
        self._kernel = kernel
        self._items: deque[Any] = deque()
        self._getters: deque[Future] = deque()

    def __len__(self) -> int:
        return len(self._items)

    def put(self, item: Any) -> None:
        getters = self._getters
        while getters:
            getter = getters.popleft()
            if not getter.done and getter._has_live_waiter():
                getter._resolve(item, None)
                return
        self._items.append(item)

    def get_nowait(self) -> Any:
        return self._items.popleft()

    async def get(self) -> Any:
        if self._items:
            return self._items.popleft()
        fut = Future(self._kernel)
        self._getters.append(fut)
        return await fut


class CancelScope:
    """``with kernel.fail_after(ns):`` / ``with kernel.move_on_after(ns):``.

    A plain (sync) context manager usable around awaits inside a task: entering it arms
    a timer owned by the task's process; if the timer fires while the task is still
    inside, ``Cancelled(scope)`` is thrown at its await and turned into ``SimTimeout``
    (fail_after) or swallowed (move_on_after) when it reaches this scope's exit.
    """

    __slots__ = ("_handle", "_kernel", "_raise", "_task", "cancelled_caught", "deadline_ns")

    def __init__(self, kernel: Kernel, deadline_ns: int, raise_timeout: bool) -> None:
        self._kernel = kernel
        self.deadline_ns = deadline_ns
        self._raise = raise_timeout
        self._task: Task | None = None
        self._handle = None
        self.cancelled_caught = False

    def __enter__(self) -> CancelScope:
        kernel = self._kernel
        task = kernel.current_task
        if task is None:
            raise RuntimeError("a cancel scope needs a running simulated task")
        self._task = task
        task._scopes.append(self)
        self._handle = kernel.scheduler.call_at(
            self.deadline_ns, self._fire, owner=task.owner
        )
        return self

    def _fire(self) -> None:
        task = self._task
        if task is not None and not task.done and self in task._scopes:
            self._kernel._cancel(task, Cancelled(self))

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> bool:
        task = self._task
        if self._handle is not None:
            self._handle.cancel()
        if task is not None:
            if self in task._scopes:
                task._scopes.remove(self)
            pending = task._pending_cancel
            if pending is not None and pending.scope is self:
                # Our deadline passed while the task was already woken, and it left the
                # scope without awaiting again: nothing to cancel any more.
                task._pending_cancel = None
        if isinstance(exc, Cancelled) and exc.scope is self:
            self.cancelled_caught = True
            if self._raise:
                raise SimTimeout(f"deadline {self.deadline_ns} ns passed") from None
            return True
        return False
