"""The speed of the framework examples under ninelives (docs/frameworks.md): seeds of the
checkout scenario fully checked (each seed's swarm plan, every invariant, its baseline)
per wall second, one worker, in process isolation (a user's default).

- ``examples.langgraph_agent:design``: a LangGraph graph (``ChatOpenAI``, ``ToolNode``,
  ``AsyncSqliteSaver``), each run a real child process per incarnation.
- ``examples.dbos_agent:design``: each incarnation ends at ``DBOS.launch()``'s first
  thread (a ``stays-in-simulation`` finding; docs/frameworks.md), so its figure is the
  rate at which ninelives reaches that finding, not of checked workflows.
"""

from __future__ import annotations

import sys
import time
from typing import Any

from ._registry import figure, in_child

LANGGRAPH_DESIGN = "examples.langgraph_agent:design"
DBOS_DESIGN = "examples.dbos_agent:design"
#: checkout seeds each figure times (a LangGraph seed is ~3x an SDK seed)
SEEDS = range(0, 8)


def checked_runs(spec: str, seeds: list[int], isolation: str) -> dict[str, Any]:
    """(In a child.) Wall seconds of fully checked runs of ``spec``, seed by seed."""
    from reference_agent import load_design
    from scenarios import Baselines, get_scenario, run_seed

    scenario, design = get_scenario("checkout"), load_design(spec)
    run_seed(scenario, design, 10_000, isolation=isolation)  # warm-up: imports, zygote
    baselines = Baselines()
    start = time.perf_counter()
    for seed in seeds:
        run_seed(scenario, design, seed, baselines=baselines, isolation=isolation)
    return {"checked_s": time.perf_counter() - start, "seeds": len(seeds)}


def _rate(spec: str) -> float:
    m = in_child("ninelives.bench._frameworks", "checked_runs", spec, list(SEEDS), "process")
    print(f"  {spec} (process): checked {m['checked_s'] / m['seeds'] * 1e3:.0f} ms a seed",
          file=sys.stderr)
    return float(m["seeds"] / m["checked_s"])


@figure("runs_per_s_langgraph_checkout", unit="runs/s")
def runs_per_s_langgraph() -> float:
    """The LangGraph checkout example: seeds fully checked per wall second, one worker."""
    return _rate(LANGGRAPH_DESIGN)


@figure("runs_per_s_dbos_checkout", unit="runs/s")
def runs_per_s_dbos() -> float:
    """The DBOS checkout example: seeds checked per wall second, one worker (each ends at
    the launch-thread finding: module docstring)."""
    return _rate(DBOS_DESIGN)
