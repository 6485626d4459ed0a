"""The LangGraph example (``examples/langgraph_agent``) under ninelives: the four answers
for the keyed graph, the flawed graph's double charge caught with a shrunk
counterexample, exact replay across processes and hash seeds, and the one-line error
when the ``langgraph`` extra is not installed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ninelives.engine import check_design

ROOT = Path(__file__).resolve().parents[2]
KEYED = "examples.langgraph_agent:design"
FLAWED = "examples.langgraph_agent:flawed"


def _need_langgraph() -> None:
    for module in ("langgraph", "langgraph.checkpoint.sqlite", "langchain_openai",
                   "openai", "stripe"):
        pytest.importorskip(module, reason="the langgraph extra is not installed: "
                                           "pip install 'ninelives[langgraph]'")


def _verdicts(report: Any) -> dict[str, str]:
    return {q.id: q.verdict for q in report.questions}


@pytest.mark.timeout(900)
def test_the_keyed_graph_charges_once_and_its_resumable_unit_is_a_node() -> None:
    _need_langgraph()
    report = check_design(KEYED)  # process isolation: a crash is a real process death
    verdicts = _verdicts(report)
    # Keys from the thread id and the tool call's id survive a restart (the model's
    # message was checkpointed before its tools ran); the gate stops hallucinations.
    assert verdicts["retries"] == "pass" and verdicts["split"] == "pass", \
        [(q.id, q.summary) for q in report.questions]
    # LangGraph resumes at the start of the node that was running: the charge tool's
    # two requests (customers.retrieve, payment_intents.create) are redone together.
    unit = next(q for q in report.questions if q.id == "resumable_unit")
    assert unit.verdict == "fail" and "2 steps" in unit.summary
    assert verdicts["state"] == "fail"  # those redone calls are what "state" counts


@pytest.mark.timeout(900)
def test_the_flawed_graph_charges_twice_with_a_shrunk_counterexample() -> None:
    _need_langgraph()
    report = check_design(FLAWED, experiments=("retry", "split"))
    retries = next(q for q in report.questions if q.id == "retries")
    assert retries.verdict == "fail"
    assert "charged 2 times" in retries.summary
    assert retries.plan is not None and 1 <= len(retries.plan["faults"]) <= 2
    split = next(q for q in report.questions if q.id == "split")
    assert split.verdict == "fail"  # the model's arguments reach Stripe unchecked


@pytest.mark.timeout(900)
def test_exit_durability_charges_twice_even_keyed_by_the_tool_call() -> None:
    # Nothing is checkpointed before the run ends: a restart asks the model again, whose
    # new message has new tool call ids, so the keyed charge gets a new key.
    _need_langgraph()
    report = check_design("examples.langgraph_agent:exit_mode", experiments=("retry",))
    retries = next(q for q in report.questions if q.id == "retries")
    assert retries.verdict == "fail" and "charged 2 times" in retries.summary
    assert retries.plan is not None and 1 <= len(retries.plan["faults"]) <= 2


def _hashes(spec: str, hash_seed: str, seeds: list[int]) -> str:
    env = dict(os.environ, PYTHONHASHSEED=hash_seed,
               PYTHONPATH=os.pathsep.join(p for p in (str(ROOT), os.environ.get(
                   "PYTHONPATH", "")) if p))
    proc = subprocess.run([sys.executable, str(ROOT / "tests/examples/sdk_workload.py"),
                           spec, "process", *map(str, seeds)], cwd=ROOT, env=env,
                          capture_output=True, text=True, check=True, timeout=400)
    return proc.stdout.strip().splitlines()[-1]


@pytest.mark.timeout(900)
@pytest.mark.parametrize("spec", [KEYED, FLAWED])
def test_same_seed_same_trace_hash_across_processes_and_hash_seeds(spec: str) -> None:
    _need_langgraph()
    seeds = [3, 15]  # swarm plans with crashes, lost responses, model faults
    a, b = _hashes(spec, "0", seeds), _hashes(spec, "4242", seeds)
    assert a == b
    assert len(set(json.loads(a).values())) == len(seeds)


@pytest.mark.timeout(120)
def test_without_the_extra_the_error_says_how_to_install_it() -> None:
    # langgraph made unimportable (as when the extra is not installed)
    code = ("import sys; sys.modules['langgraph'] = None\n"
            "from ninelives.cli import main\n"
            f"sys.exit(main(['check', '{KEYED}', '--no-progress']))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=100)
    assert proc.returncode == 2, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "pip install 'ninelives[langgraph]'" in lines[0], lines
