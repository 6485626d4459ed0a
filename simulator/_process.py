"""Simulated OS processes with SIGKILL semantics.

A process runs from an entry point; each start is an *incarnation*. ``crash()`` is
``kill -9``: the incarnation's tasks are never resumed, and none of their ``finally``
blocks or ``except`` handlers runs. Python would run them if a suspended coroutine were
garbage-collected (``coro.close()``; docs/facts/pitfalls.md), so dead tasks go to a
graveyard that is never closed for the life of the harness process
(``tests/simulator/test_process.py::test_crash_runs_no_finally_even_after_gc``). To keep
a long sweep's memory flat, ``dispose()`` cuts the dead tasks loose from the world they
ran in once a run is over.

Every scheduled callback belongs to an incarnation; when a dead incarnation's callback
comes due it is *fenced*: dropped and recorded in the trace.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, Protocol

from ._aio import SimLoop
from ._core import Handle
from ._disk import SQLITE_PRUNE_AT, kill_connections
from ._vocabulary import TraceKind

if TYPE_CHECKING:
    from ._kernel import Kernel
    from ._tasks import Task

# Dead tasks, kept referenced so that GC never closes them (see module docstring).
_GRAVEYARD: list[Task] = []
# ...not even at interpreter exit: when the module's globals are torn down the list would
# be freed and every coroutine in it closed, running its handlers against half-destroyed
# modules. One extra reference that is never released makes the list immortal.
ctypes.pythonapi.Py_IncRef(ctypes.py_object(_GRAVEYARD))


def graveyard_size() -> int:
    return len(_GRAVEYARD)


class OpHook(Protocol):
    """Called at the start of every port operation of a process (faults live here)."""

    def on_op(self, process: Process, op_index: int, kind: str, detail: dict[str, Any]) -> None:
        ...


class Incarnation:
    """One life of a process: owns its tasks and their scheduled callbacks."""

    __slots__ = ("alive", "env", "loop", "number", "parked", "paused", "process", "sqlite",
                 "sqlite_prune_at", "tasks")

    def __init__(self, process: Process, number: int) -> None:
        self.process = process
        self.number = number
        self.alive = True
        self.paused = False
        self.parked: list[Handle] = []
        # dict, not set: iteration follows insertion order, never hash order.
        self.tasks: dict[Task, None] = {}
        self.env: Any = None
        #: its asyncio event loop (``simulator/_aio.py``), made when it starts
        self.loop: Any = None
        #: the SQLite connections its code opened (inline: ``simulator/_disk.py``)
        self.sqlite: list[Any] = []
        self.sqlite_prune_at = SQLITE_PRUNE_AT

    def bury(self) -> None:
        """At death: keep every suspended coroutine of this life referenced, kernel
        tasks and asyncio tasks alike, so that no ``finally`` of theirs ever runs; and
        close its SQLite connections without a commit, as a kill closes its files
        (``tests/simulator/test_disk.py``)."""
        _GRAVEYARD.extend(self.tasks)
        if self.loop is not None:
            # The main asyncio task is reachable from its companion kernel task (above).
            _GRAVEYARD.extend(self.loop.live_tasks(but_main=True))
        kill_connections(self.sqlite)

    def adopt(self, task: Task) -> None:
        self.tasks[task] = None

    def task_finished(self, task: Task) -> None:
        self.tasks.pop(task, None)
        if task.exception is not None and self.alive:
            self.process._task_failed(self, task)
        elif not self.tasks and self.alive:
            self.process._incarnation_idle(self)

    def park(self, handle: Handle) -> None:
        self.parked.append(handle)

    def fenced(self, handle: Handle) -> None:
        process = self.process
        process.kernel.trace.record(
            process.name, TraceKind.FENCED, incarnation=self.number,
            what=getattr(handle.callback, "__name__", "callback"),
        )


class Process:
    """A named simulated process started from ``main(process)``; crash, restart, pause.

    ``ops`` counts its port operations across incarnations: ``Crash(at_op=7)`` kills it
    as its 7th port operation begins (that operation does not happen).
    """

    def __init__(
        self,
        kernel: Kernel,
        name: str,
        main: Callable[[Process], Coroutine[Any, Any, Any]],
        *,
        op_hook: OpHook | None = None,
        on_failure: Callable[[Process, BaseException], None] | None = None,
    ) -> None:
        self.kernel = kernel
        self.name = name
        self.main = main
        self.op_hook = op_hook
        self.on_failure = on_failure
        self.failures: list[str] = []
        #: added to what this process's clock reads (a ClockJump fault moves it)
        self.clock_offset_ns = 0
        #: called with the process after each death (crash or uncaught exception)
        self.on_death: list[Callable[[Process], None]] = []
        self.incarnation: Incarnation | None = None
        self.incarnations = 0
        self.ops = 0
        self.crashes = 0
        #: the current incarnation finished all its tasks on its own (not a crash)
        self.exited = False
        self._dead: list[Incarnation] = []

    def __repr__(self) -> str:
        return f"<Process {self.name}#{self.incarnations}>"

    @property
    def alive(self) -> bool:
        inc = self.incarnation
        return inc is not None and inc.alive

    def start(self) -> Incarnation:
        """Start a fresh incarnation from the entry point (memory starts empty)."""
        if self.alive:
            raise RuntimeError(f"process {self.name} is already running")
        self.incarnations += 1
        inc = Incarnation(self, self.incarnations)
        self.incarnation = inc
        self.exited = False
        self.kernel.trace.record(self.name, TraceKind.PROCESS_START, incarnation=inc.number)
        # The entry point runs as the main asyncio task of the incarnation's own loop (so
        # it may be asyncio code); a dialect coroutine is then stepped by the kernel as a
        # spawned task would be, with the same trace (simulator/_aio.py).
        inc.loop = SimLoop(self.kernel, inc)
        inc.loop.start_main(self.main(self), f"{self.name}.main")
        return inc

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str = "task") -> Task:
        """Start another task inside the current incarnation."""
        inc = self.incarnation
        if inc is None or not inc.alive:
            coro.close()
            raise RuntimeError(f"process {self.name} is not running")
        return self.kernel.spawn(coro, name=f"{self.name}.{name}", owner=inc)

    def crash(self, reason: str = "killed") -> None:
        """SIGKILL: the incarnation's tasks never run again; memory is gone."""
        inc = self.incarnation
        if inc is None or not inc.alive:
            return
        inc.alive = False
        self.crashes += 1
        self._dead.append(inc)
        inc.bury()
        self.kernel.trace.record(
            self.name, TraceKind.CRASH, incarnation=inc.number, reason=reason, op=self.ops
        )
        for callback in self.on_death:
            callback(self)

    def restart(self) -> Incarnation:
        self.crash("restart")
        return self.start()

    def restart_after_ns(self, delay_ns: int) -> None:
        """Start a new incarnation ``delay_ns`` from now, if none runs by then."""
        def _restart() -> None:
            if not self.alive:
                self.start()
        self.kernel.scheduler.call_at(self.kernel.now_ns + delay_ns, _restart)

    def pause(self) -> None:
        """Stop scheduling the process (a GC pause, a frozen VM) until ``resume()``."""
        inc = self.incarnation
        if inc is not None and inc.alive and not inc.paused:
            inc.paused = True
            self.kernel.trace.record(self.name, TraceKind.PAUSE, incarnation=inc.number)

    def resume(self) -> None:
        inc = self.incarnation
        if inc is None or not inc.paused:
            return
        inc.paused = False
        self.kernel.trace.record(self.name, TraceKind.RESUME, incarnation=inc.number)
        parked, inc.parked = inc.parked, []
        for handle in parked:
            if not handle.cancelled:
                self.kernel.scheduler.requeue(handle)

    def _task_failed(self, inc: Incarnation, task: Task) -> None:
        # An uncaught exception kills the process, as it would a real one: its other
        # tasks stop too. Whoever supervises it decides about a restart.
        exc = task.exception
        assert exc is not None
        message = f"{type(exc).__name__}: {exc}"
        self.failures.append(message)
        self.kernel.trace.record(self.name, TraceKind.PROCESS_ERROR, incarnation=inc.number,
                                 task=task.name, error=message)
        inc.alive = False
        self._dead.append(inc)
        inc.bury()
        for callback in self.on_death:
            callback(self)
        if self.on_failure is not None:
            self.on_failure(self, exc)

    def _incarnation_idle(self, inc: Incarnation) -> None:
        # Every task of the incarnation finished: the process exited on its own.
        self.exited = True
        self.kernel.trace.record(self.name, TraceKind.PROCESS_EXIT, incarnation=inc.number)

    async def port_op(self, kind: str, detail: dict[str, Any] | None = None) -> Incarnation:
        """Announce a port operation by this process's running task.

        Counts it, lets the fault hook act (it may crash or pause the process), and if
        the process was killed, freezes the calling task here: the operation never
        happens and no handler in the design's code runs.
        """
        inc = self.incarnation
        kernel = self.kernel
        task = kernel.current_task
        owner = task.owner if task is not None else None
        if owner is not None and owner is not inc:
            # A task of a dead incarnation (cannot normally run) or of another process.
            await kernel.freeze()
        self.ops += 1
        hook = self.op_hook
        if hook is not None:
            hook.on_op(self, self.ops, kind, detail or {})
        if inc is None or not inc.alive:
            await kernel.freeze()
        elif inc.paused:
            await kernel.checkpoint()  # parked until resume()
        return inc  # type: ignore[return-value]

    def dispose(self) -> None:
        """After the run's checks: cut dead tasks loose so they pin no world in memory."""
        for inc in self._dead:
            env = inc.env
            if env is not None and hasattr(env, "detach"):
                env.detach()
            for task in inc.tasks:
                task.kernel = None  # type: ignore[assignment]
                task.owner = None
            if inc.loop is not None:
                inc.loop.detach()
            inc.env = None
            inc.process = None  # type: ignore[assignment]
        self._dead.clear()
