"""A simulated world for one run: kernel, services, network, durable store, model,
the workflows submitted, and the design's processes under a supervisor.

A run has two phases (TigerBeetle's and FoundationDB's order: safety, then liveness):
the *fault phase*, in which the fault hooks act, and the *quiet phase*, in which faults
stop, dead processes are restarted, and every workflow must finish within a bound.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from contextlib import AbstractContextManager, ExitStack
from typing import Any, Protocol

from ._copy import deep_copy
from ._disk import DataDirs, kill_connections
from ._isolation import ISOLATION_MODES, IsolatedProcesses, StartFailed, design_locator
from ._kernel import Kernel
from ._model import FakeModel, ModelPolicy
from ._network import CallFate, Network, NetworkConfig
from ._ports import Env
from ._process import Process
from ._service import Service
from ._shims import Shims
from ._store import SimStore
from ._time import NS_PER_S
from ._vocabulary import TraceKind

DesignMain = Callable[[Env], Coroutine[Any, Any, Any]]


class WorldHooks(Protocol):
    """Everything a fault plan needs to act on a world (implemented in ``faults``)."""

    def install(self, world: World) -> None: ...
    def quiet(self, world: World) -> None: ...
    def on_op(self, process: Process, op_index: int, kind: str, detail: dict[str, Any]) -> None: ...
    def call_fate(self, tool: str, call: int, caller: str, key: str | None) -> CallFate | None: ...
    def model_fate(self, call: int, decision: str, caller: str) -> str | None: ...


class Workflows:
    """The workflows submitted to the design, and the outcomes it reported."""

    def __init__(self, kernel: Kernel) -> None:
        self._kernel = kernel
        self._submitted: list[dict[str, Any]] = []
        self.outcomes: dict[str, dict[str, Any]] = {}
        self.completions: list[tuple[str, str, dict[str, Any]]] = []

    def submit(self, workflow_id: str, kind: str, input: dict[str, Any]) -> None:
        self._submitted.append({"id": workflow_id, "kind": kind, "input": input})
        self._kernel.trace.record("harness", TraceKind.WORKFLOW_SUBMIT, workflow=workflow_id,
                                  kind=kind)

    def submitted(self) -> list[dict[str, Any]]:
        return deep_copy(self._submitted)

    def ids(self) -> list[str]:
        return [w["id"] for w in self._submitted]

    def complete(self, process: Process, workflow_id: str, outcome: dict[str, Any]) -> None:
        outcome = deep_copy(outcome)
        self.completions.append((process.name, workflow_id, outcome))
        self._kernel.trace.record(process.name, TraceKind.WORKFLOW_COMPLETE, workflow=workflow_id,
                                  outcome=outcome)
        self.outcomes.setdefault(workflow_id, outcome)

    def clear(self) -> None:
        self._submitted.clear()
        self.outcomes.clear()
        self.completions.clear()

    def pending(self) -> list[str]:
        return [w for w in self.ids() if w not in self.outcomes]


class World:
    """Build, run in two phases, and inspect one simulated world."""

    def __init__(
        self,
        seed: int,
        *,
        services: dict[str, Service] | None = None,
        policy: ModelPolicy | None = None,
        hooks: WorldHooks | None = None,
        network: NetworkConfig | None = None,
        restart_delay_s: float = 1.0,
        max_failure_restarts: int = 3,
        isolation: str = "inline",
    ) -> None:
        if isolation not in ISOLATION_MODES:
            raise ValueError(f"isolation must be one of {', '.join(ISOLATION_MODES)}, "
                             f"not {isolation!r}")
        self.seed = seed
        #: where the design's code runs: "inline" (coroutines on this kernel, in this
        #: process) or "process" (each incarnation in a real OS process; see
        #: ``simulator/_isolation.py``). The world itself is the same in both.
        self.isolation = isolation
        self._isolated = IsolatedProcesses(self) if isolation == "process" else None
        #: the run's determinism shims while ``run`` is in progress
        self.shims: Shims | None = None
        self.kernel = Kernel(seed)
        self.hooks = hooks
        self.services: dict[str, Service] = dict(services or {})
        self.store = SimStore(self.kernel)
        self.network = Network(self.kernel, self.services, network, hooks)
        self.model = FakeModel(self.kernel, policy, hooks)
        self.store.on_commit = self.model.acted
        self.store.on_rollback = self.model.lost
        self.workflows = Workflows(self.kernel)
        #: each machine's data directory (``env.data_dir``), removed when the run ends
        self.disk = DataDirs()
        self.processes: dict[str, Process] = {}
        self.restart_delay_ns = int(restart_delay_s * NS_PER_S)
        self.max_failure_restarts = max_failure_restarts
        self.quiet_since_ns: int | None = None
        self.finished_ns: int | None = None
        #: context managers entered around an inline run, on its thread (e.g.
        #: ``fakes.wire.attach_http``'s interception of httpx); not in process isolation,
        #: where the design's code runs in the children
        self.interceptors: list[Callable[[], AbstractContextManager[Any]]] = []

    # --- what a tool is ---------------------------------------------------------------------
    def side_effecting(self, tool: str) -> bool:
        """Whether ``tool`` (``service.endpoint``) is an endpoint that changes its service."""
        service, endpoint = self._endpoint(tool)
        return service is not None and endpoint in service.side_effecting

    def keyed(self, tool: str) -> bool:
        """Whether ``tool`` (``service.endpoint``) takes an idempotency key at its service."""
        service, endpoint = self._endpoint(tool)
        return service is not None and endpoint in service.keyed

    def _endpoint(self, tool: str) -> tuple[Service | None, str]:
        name, _, endpoint = tool.partition(".")
        return self.services.get(name), endpoint

    # --- building ------------------------------------------------------------------------
    def add_process(self, name: str, main: DesignMain) -> Process:
        """Add a design process; each incarnation gets a fresh ``Env`` and starts ``main``
        (in process isolation: a child process whose ``main`` the incarnation proxies).
        Raises ``IsolationError`` when process isolation cannot import ``main``."""
        isolated = self._isolated
        locator = design_locator(main) if isolated is not None else ""

        def entry(process: Process) -> Coroutine[Any, Any, Any]:
            env = Env(process, self.store, self.network, self.model, self.workflows,
                      self.disk)
            assert process.incarnation is not None
            process.incarnation.env = env
            if isolated is not None:
                return isolated.entry(process, env, locator)  # type: ignore[no-any-return]
            return main(env)

        process = Process(self.kernel, name, entry, op_hook=self.hooks,
                          on_failure=self._on_failure)
        process.on_death.append(lambda p: self.model.lost(p.name))
        if isolated is not None:
            process.on_death.append(isolated.kill)
        self.processes[name] = process
        return process

    def _on_failure(self, process: Process, exc: BaseException) -> None:
        # An uncaught exception is a process death; restart it like a supervisor would,
        # a bounded number of times (a design that always raises is a finding, not a hang).
        if len(process.failures) <= self.max_failure_restarts:
            process.restart_after_ns(self.restart_delay_ns)

    # --- running -------------------------------------------------------------------------
    def run(self, fault_window_s: float, liveness_bound_s: float,
            max_events: int = 1_000_000) -> bool:
        """Run the fault phase, then the quiet phase. True when everything finished
        (quiescent) within the bound; False when work was still going on at the bound
        or the event budget ran out."""
        try:
            return self._run(fault_window_s, liveness_bound_s, max_events)
        except StartFailed as failed:
            raise failed.error from None
        finally:
            # However the run ended (an exception, Ctrl-C, the watchdog), no child of
            # it is left running (tests/simulator/test_isolation.py), and no file of it
            # is left on disk (tests/simulator/test_disk.py): the processes still alive
            # are killed with their connections, then their data directories go.
            self.shims = None
            if self._isolated is not None:
                self._isolated.close()
            self.end_files()

    def end_files(self) -> None:
        """The run is over: close the open SQLite connections of its live incarnations
        without a commit (they are never resumed) and remove every data directory."""
        for process in self.processes.values():
            inc = process.incarnation
            if inc is not None:
                kill_connections(inc.sqlite)
        self.disk.remove()

    @property
    def isolated(self) -> IsolatedProcesses | None:
        """The children of a process-isolated world (None inline)."""
        return self._isolated

    def _run(self, fault_window_s: float, liveness_bound_s: float, max_events: int) -> bool:
        kernel = self.kernel
        with Shims(kernel) as shims, ExitStack() as intercepting:
            self.shims = shims
            if self._isolated is None:
                for interceptor in self.interceptors:
                    intercepting.enter_context(interceptor())
            for process in self.processes.values():
                process.start()
            if self.hooks is not None:
                self.hooks.install(self)
            fault_end = int(fault_window_s * NS_PER_S)
            budget = max_events
            before = kernel.scheduler.events_run
            quiescent = kernel.run_ns(fault_end, max_events=budget)
            budget -= kernel.scheduler.events_run - before
            self.begin_quiet_phase()
            if budget <= 0:
                return False
            quiescent = kernel.run_ns(kernel.now_ns + int(liveness_bound_s * NS_PER_S),
                                      max_events=budget)
            self.finished_ns = kernel.now_ns
            return quiescent

    def begin_quiet_phase(self) -> None:
        """Faults stop; paused processes resume; dead ones start again (unless they
        exited on their own or kept raising). Call inside the run's ``Shims``."""
        self.quiet_since_ns = self.kernel.now_ns
        if self.hooks is not None:
            self.hooks.quiet(self)
        self.kernel.trace.record("harness", TraceKind.QUIET)
        for process in self.processes.values():
            if process.incarnation is not None and process.incarnation.paused:
                process.resume()
            if not process.alive and not process.exited and (
                    len(process.failures) <= self.max_failure_restarts):
                process.start()

    def dispose(self) -> None:
        """After the run's checks: empty the world, so that the frozen frames of killed
        tasks (kept forever, so that no ``finally`` of theirs ever runs) pin only empty
        shells, and a long sweep's memory stays flat
        (``tests/simulator/test_world_dispose.py``)."""
        if self._isolated is not None:
            self._isolated.close()
        self.end_files()
        for process in self.processes.values():
            process.dispose()
        self.kernel.dispose()
        self.store.clear()
        for service in self.services.values():
            service.__dict__.clear()
        self.services.clear()
        self.model.__dict__.clear()
        self.network.__dict__.clear()
        self.workflows.clear()
