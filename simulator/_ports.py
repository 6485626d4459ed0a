"""The ports a design's code uses — the only way it touches the world.

``env.clock``, ``env.store``, ``env.tools``, ``env.model``, ``env.tasks``. Each port call
is a *port operation* of the calling process (counted, visible to faults, recorded in the
trace), so the harness sees every durable write, tool call with its key, and model call.
The same protocols have a real implementation (trio, SQLite, HTTP) in real mode.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ._time import seconds_to_ns

if TYPE_CHECKING:
    from ._disk import DataDirs
    from ._model import FakeModel
    from ._network import Network
    from ._process import Process
    from ._store import SimStore, StorePort, Transaction
    from ._world import Workflows


class Clock(Protocol):
    def now(self) -> float: ...
    async def sleep(self, seconds: float) -> None: ...


class Store(Protocol):
    def transaction(self) -> Transaction: ...
    async def get(self, table: str, key: str) -> Any: ...
    async def scan(self, table: str, prefix: str = "") -> list[tuple[str, Any]]: ...


class Tools(Protocol):
    async def call(self, name: str, args: dict[str, Any], *, idempotency_key: str | None = None,
                   timeout: float = 10.0) -> dict[str, Any]: ...


class Model(Protocol):
    async def complete(self, request: dict[str, Any], *, timeout: float = 60.0) -> str: ...


class Tasks(Protocol):
    async def list(self) -> list[dict[str, Any]]: ...
    async def complete(self, workflow_id: str, outcome: dict[str, Any]) -> None: ...


class SimClock:
    """Virtual clock. ``now()`` is seconds since the run began (not a port operation)."""

    def __init__(self, process: Process) -> None:
        self._process = process

    def now(self) -> float:
        process = self._process
        return (process.kernel.now_ns + process.clock_offset_ns) / 1e9

    async def sleep(self, seconds: float) -> None:
        await self._process.port_op("clock.sleep", {"seconds": seconds})
        await self._process.kernel.sleep_ns(seconds_to_ns(seconds))


class SimTools:
    def __init__(self, process: Process, network: Network) -> None:
        self._process = process
        self._network = network

    async def call(self, name: str, args: dict[str, Any], *, idempotency_key: str | None = None,
                   timeout: float = 10.0) -> dict[str, Any]:
        """Call ``service.endpoint``; raises ToolTimeout (outcome unknown) or ToolError."""
        process = self._process
        await process.port_op("tool.call", {"tool": name, "key": idempotency_key})
        return await self._network.call(process, name, args, idempotency_key,
                                        seconds_to_ns(timeout))


class SimModel:
    def __init__(self, process: Process, model: FakeModel) -> None:
        self._process = process
        self._model = model

    async def complete(self, request: dict[str, Any], *, timeout: float = 60.0) -> str:
        """Ask the model; ``request["decision"]`` names the decision being made."""
        process = self._process
        await process.port_op("model.complete", {"decision": request.get("decision")})
        return await self._model.complete(process, request, seconds_to_ns(timeout))


class SimTasks:
    def __init__(self, process: Process, workflows: Workflows) -> None:
        self._process = process
        self._workflows = workflows

    async def list(self) -> list[dict[str, Any]]:
        """Every workflow submitted so far: ``{"id", "kind", "input"}``."""
        await self._process.port_op("tasks.list")
        return self._workflows.submitted()

    async def complete(self, workflow_id: str, outcome: dict[str, Any]) -> None:
        """Report a workflow finished with ``outcome`` (to whoever submitted it)."""
        await self._process.port_op("tasks.complete", {"workflow": workflow_id})
        self._workflows.complete(self._process, workflow_id, outcome)


class Env:
    """What a design's process is handed: its ports, its name, and its machine's data
    directory (``data_dir``)."""

    def __init__(self, process: Process, store: SimStore, network: Network, model: FakeModel,
                 workflows: Workflows, disk: DataDirs | None = None) -> None:
        from ._store import StorePort

        self._disk = disk
        self.process_name = process.name
        self.incarnation = process.incarnations
        self.clock: Clock = SimClock(process)
        self.store: StorePort = StorePort(store, process)
        self.tools: Tools = SimTools(process, network)
        self.model: Model = SimModel(process, model)
        self.tasks: Tasks = SimTasks(process, workflows)

    @property
    def data_dir(self) -> Path:
        """This machine's data directory: its files persist across the process's crashes
        and restarts within the run, as on a disk, and SQLite in it keeps what was
        committed and loses what was not, as after ``kill -9`` (docs/architecture.md,
        "Durable files"). Made on first use; removed when the run ends."""
        disk = self._disk
        if disk is None:
            raise RuntimeError(f"the env of {self.process_name} has no data directory: "
                               "it was not made by a World, or its run is over")
        return disk.path(self.process_name)

    def detach(self) -> None:
        """Cut this env loose from its world (a dead incarnation, after the run)."""
        for port in (self.clock, self.store, self.tools, self.model, self.tasks):
            port.__dict__.clear()
        self._disk = None
