"""ninelives: deterministic simulation testing for durable AI agents — the front door.

The command line is ``ninelives.cli`` (docs/cli.md). Programmatic use::

    from ninelives import sweep
    result = sweep("checkout", "fresh-uuid-keys", seeds=20)
    result.failing()          # the failing runs kept (the first 1,000 of each invariant),
                              # each with its violations and repro line
    result.result()           # the JSON document ``ninelives run --json`` writes

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

__all__ = ["main", *_LAZY]


def main(argv: Sequence[str] | None = None) -> int:
    """``ninelives.cli.main``: the command line, run from Python."""
    from .cli import main as cli_main

    return cli_main(argv)


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'ninelives' has no attribute {name!r}")
    from . import engine

    value = getattr(engine, name)
    globals()[name] = value
    return value
