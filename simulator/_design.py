"""The design protocol: what a user hands ninelives to be tested.

A design is one or more worker processes running the same entry point,
``async def main(env) -> None``, where ``env`` carries the ports (``env.clock``,
``env.store``, ``env.tools``, ``env.model``, ``env.tasks``) and its machine's data
directory ``env.data_dir`` (files there survive its crashes). A worker should return once
every workflow in ``await env.tasks.list()`` has been reported with
``await env.tasks.complete(id, outcome)``; the harness restarts it after a crash.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._ports import Env


@dataclass(frozen=True)
class Design:
    """An agent design under test: a name, a worker entry point, how many workers."""

    name: str
    main: Callable[[Env], Coroutine[Any, Any, Any]]
    workers: int = 1
    description: str = ""
    #: the scenarios this design is written for (``checkout``...); empty: every one.
    #: ``ninelives check`` runs its experiments on these only.
    scenarios: tuple[str, ...] = ()

    def worker_names(self) -> list[str]:
        if self.workers == 1:
            return ["worker"]
        return [f"worker-{i}" for i in range(1, self.workers + 1)]
