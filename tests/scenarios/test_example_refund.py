"""The example user scenario (``examples/refund_scenario.py``, public API only) run the
way docs/scenarios.md says: the durable worker passes, the careless one is caught
refunding twice, its repro line replays the violation, and a run of it is the same in
two processes with different hash seeds."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from ninelives.cli import main

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = "examples.refund_scenario:Refunds"


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    rc = main(list(argv))
    return rc, capsys.readouterr().out


@pytest.fixture(autouse=True)
def _at_the_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)


def test_the_durable_worker_passes(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out = cli(capsys, "run", "--scenario", SCENARIO, "--design",
                  "examples.refund_scenario:durable", "--seeds", "40", "--workers", "1",
                  "--no-progress")
    assert rc == 0, out
    assert "no violations in 40 runs" in out


def test_the_careless_worker_is_caught_and_replayed(capsys: pytest.CaptureFixture[str]
                                                    ) -> None:
    rc, out = cli(capsys, "run", "--scenario", SCENARIO, "--design",
                  "examples.refund_scenario:careless", "--seeds", "20", "--workers", "1",
                  "--no-progress")
    assert rc == 1
    assert "at-most-once-orders.refund" in out
    repro = next(line.split("repro:", 1)[1].strip() for line in out.splitlines()
                 if "repro:" in line and "careless" in line)
    rc, out = cli(capsys, *shlex.split(repro)[1:])
    assert rc == 1 and "at-most-once-orders.refund" in out


def test_public_imports_only() -> None:
    source = (ROOT / "examples" / "refund_scenario.py").read_text()
    imports = [line for line in source.splitlines()
               if line.startswith(("import ", "from "))]
    assert imports == ["from __future__ import annotations", "from typing import Any",
                       "from ninelives import ("]


SCRIPT = """
import json
from faults import FaultPlan
from reference_agent import load_design
from scenarios import get_scenario, run_seed
plan = FaultPlan.model_validate({"faults": [{"kind": "lose_response",
                                             "tool": "orders.refund", "call": 1}]})
r = run_seed(get_scenario("examples.refund_scenario:Refunds"),
             load_design("examples.refund_scenario:careless"), 3, plan, keep_world=True)
print(json.dumps({"hash": r.world.kernel.trace.hash(), "final": repr(r.final_state),
                  "violations": [v.invariant for v in r.violations]}))
"""


def test_a_run_is_the_same_under_other_hash_seeds() -> None:
    outputs = []
    for hash_seed in ("0", "7"):
        done = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT,
                              env=dict(os.environ, PYTHONHASHSEED=hash_seed),
                              capture_output=True, text=True, timeout=120, check=False)
        assert done.returncode == 0, done.stderr[-2000:]
        outputs.append(json.loads(done.stdout))
    assert outputs[0] == outputs[1]
    assert "at-most-once-orders.refund" in outputs[0]["violations"]
