"""ninelives: deterministic simulation testing for durable AI agents — the front door.

The command line is ``ninelives.cli`` (docs/cli.md). Programmatic use::

    from ninelives import sweep
    result = sweep("checkout", "fresh-uuid-keys", seeds=20)
    result.failing()          # the failing runs kept (the first 1,000 of each invariant),
                              # each with its violations and repro line
    result.result()           # the JSON document ``ninelives run --json`` writes

A scenario of one's own (docs/scenarios.md) imports all it needs from here:
``Scenario``, ``Violation``, ``ModelScript`` with ``call`` / ``finish`` /
``Conversation`` / ``ToolResult`` (the model's script), ``FakeService`` and ``route``
(a fake of one's own HTTP service), the invariant families ``at_most_once`` /
``exactly_once``, and ``World``, ``Design``, ``Env``, ``ToolError``, ``ToolTimeout``;
``ninelives run --scenario mymod:MyScenario`` loads it by import path.

This module stays cheap to import: the pytest plugin imports the package in every
pytest session, including sessions of projects that never use ninelives, so nothing
heavy (the simulator, pydantic) is imported here: everything but ``main`` is loaded on
first attribute access.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from fakes import Arg as Arg
    from fakes import FakeService as FakeService
    from fakes import Response as Response
    from fakes import route as route
    from scenarios import Conversation as Conversation
    from scenarios import ModelScript as ModelScript
    from scenarios import Scenario as Scenario
    from scenarios import ToolResult as ToolResult
    from scenarios import Violation as Violation
    from scenarios import at_most_once as at_most_once
    from scenarios import call as call
    from scenarios import exactly_once as exactly_once
    from scenarios import finish as finish
    from simulator import Design as Design
    from simulator import Env as Env
    from simulator import ToolError as ToolError
    from simulator import ToolTimeout as ToolTimeout
    from simulator import World as World

    from .engine import ExploreReport as ExploreReport
    from .engine import ReplayReport as ReplayReport
    from .engine import RunReport as RunReport
    from .engine import ShrinkReport as ShrinkReport
    from .engine import Sweep as Sweep
    from .engine import SweepResult as SweepResult
    from .engine import ViolationReport as ViolationReport
    from .engine import sweep as sweep

#: loaded from ``ninelives.engine`` on first access
_LAZY = ("ExploreReport", "ReplayReport", "RunReport", "ShrinkReport", "SweepResult",
         "ViolationReport", "Sweep", "sweep")

#: what a user needs to write a scenario (docs/scenarios.md), loaded from the package
#: that owns it on first access: name -> that package
_SCENARIO_API = {
    "Scenario": "scenarios", "Violation": "scenarios", "at_most_once": "scenarios",
    "exactly_once": "scenarios", "ModelScript": "scenarios", "Conversation": "scenarios",
    "ToolResult": "scenarios", "call": "scenarios", "finish": "scenarios",
    "FakeService": "fakes", "route": "fakes", "Arg": "fakes", "Response": "fakes",
    "World": "simulator", "Design": "simulator", "Env": "simulator",
    "ToolError": "simulator", "ToolTimeout": "simulator",
}

__all__ = ["main", *_LAZY, *_SCENARIO_API]


def main(argv: Sequence[str] | None = None) -> int:
    """``ninelives.cli.main``: the command line, run from Python."""
    from .cli import main as cli_main

    return cli_main(argv)


def __getattr__(name: str) -> Any:
    if name in _SCENARIO_API:
        import importlib

        value = getattr(importlib.import_module(_SCENARIO_API[name]), name)
        globals()[name] = value
        return value
    if name not in _LAZY:
        raise AttributeError(f"module 'ninelives' has no attribute {name!r}")
    from . import engine

    value = getattr(engine, name)
    globals()[name] = value
    return value
