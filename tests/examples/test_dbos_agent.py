"""The DBOS example (``examples/dbos_agent``) under ninelives. ``DBOS.launch()`` starts
threads (docs/frameworks.md lists them, read from DBOS's source): under process
isolation the incarnation dies at the first, a ``stays-in-simulation`` finding naming
DBOS's background event loop, the same in every run and every process; inline, where a
thread runs on real time, the run reports each thread it started."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from faults import FaultPlan
from reference_agent import load_design
from scenarios import get_scenario, run_seed

ROOT = Path(__file__).resolve().parents[2]
KEYED = "examples.dbos_agent:design"
FLAWED = "examples.dbos_agent:flawed"


def _need_dbos() -> None:
    for module in ("dbos", "openai", "stripe"):
        pytest.importorskip(module, reason="the dbos extra is not installed: "
                                           "pip install 'ninelives[dbos]'")


def _run(spec: str, isolation: str) -> Any:
    return run_seed(get_scenario("checkout"), load_design(spec), 1, FaultPlan(faults=[]),
                    isolation=isolation)


@pytest.mark.timeout(300)
@pytest.mark.parametrize("spec", [KEYED, FLAWED])
def test_launch_is_a_finding_naming_dbos_background_event_loop(spec: str) -> None:
    _need_dbos()
    result = _run(spec, "process")
    found = {v.invariant: v.message for v in result.violations}
    assert "stays-in-simulation" in found, found
    message = found["stays-in-simulation"]
    assert "started a thread (BackgroundEventLoop._run_event_loop)" in message
    assert "dbos/_event_loop.py" in message
    # and no workflow ran: the finding, not a verdict on the workflow's keys
    assert "liveness" in found


@pytest.mark.timeout(300)
def test_inline_names_every_thread_launch_starts() -> None:
    _need_dbos()
    from dbos import DBOS

    try:
        result = _run(KEYED, "inline")
    finally:
        DBOS.destroy()  # its threads outlive the run inline: stop them here
    threads = [v.message for v in result.violations if v.invariant == "thread-started"]
    assert threads and "BackgroundEventLoop._run_event_loop" in threads[0]


_HASH = """
import sys
from faults import FaultPlan
from reference_agent import load_design
from scenarios import get_scenario, run_seed
result = run_seed(get_scenario("checkout"), load_design(sys.argv[1]), 1,
                  FaultPlan(faults=[]), keep_world=True, isolation="process")
print(result.world.kernel.trace.hash())
result.world.dispose()
"""


def _hash(spec: str, hash_seed: str) -> str:
    env = dict(os.environ, PYTHONHASHSEED=hash_seed,
               PYTHONPATH=os.pathsep.join(p for p in (str(ROOT), os.environ.get(
                   "PYTHONPATH", "")) if p))
    proc = subprocess.run([sys.executable, "-c", _HASH, spec], cwd=ROOT, env=env,
                          capture_output=True, text=True, check=True, timeout=250)
    return proc.stdout.strip().splitlines()[-1]


@pytest.mark.timeout(600)
def test_the_finding_is_the_same_trace_across_processes_and_hash_seeds() -> None:
    _need_dbos()
    assert _hash(KEYED, "0") == _hash(KEYED, "4242")


@pytest.mark.timeout(120)
def test_without_the_extra_the_error_says_how_to_install_it() -> None:
    code = ("import sys; sys.modules['dbos'] = None\n"
            "from ninelives.cli import main\n"
            f"sys.exit(main(['check', '{KEYED}', '--no-progress']))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=100)
    assert proc.returncode == 2, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "pip install 'ninelives[dbos]'" in lines[0], lines
