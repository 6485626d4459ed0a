"""The SDK examples (``examples/sdk_agent``), unchanged agent code with the official
``openai`` and ``stripe`` SDKs, under ninelives: the verdicts the docs promise, exact
replay across processes, and the SDKs' own retries and keys in the timeline."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("openai")
pytest.importorskip("stripe")

from faults import FaultPlan
from ninelives.engine import check_design
from reference_agent import load_design
from scenarios import get_scenario, run_seed

NAIVE = "examples.sdk_agent.naive:design"
DURABLE = "examples.sdk_agent.durable:design"
ROOT = Path(__file__).resolve().parents[2]


def _verdicts(report: Any) -> dict[str, str]:
    return {q.id: q.verdict for q in report.questions}


def _question(report: Any, qid: str) -> Any:
    return next(q for q in report.questions if q.id == qid)


@pytest.mark.timeout(600)
def test_naive_fails_state_and_retries_and_the_replay_shows_the_second_charge() -> None:
    report = check_design(NAIVE)  # process isolation: a crash is a real process death
    verdicts = _verdicts(report)
    assert verdicts["state"] == "fail" and verdicts["retries"] == "fail"
    retries = _question(report, "retries")
    assert retries.plan is not None and 1 <= len(retries.plan["faults"]) <= 2
    assert "charged 2 times" in retries.summary
    # Replaying the counterexample shows the second charge in Stripe's ledger, each
    # under its own key: the SDK's automatic key did not survive the restart.
    result = run_seed(get_scenario("checkout"), load_design(NAIVE), retries.seed,
                      FaultPlan.model_validate(retries.plan), keep_world=True,
                      isolation="process")
    assert result.world is not None
    ledger = result.world.services["payments"].ledger  # type: ignore[attr-defined]
    by_customer: dict[str, list[Any]] = {}
    for charge in ledger:
        by_customer.setdefault(charge.customer, []).append(charge)
    doubled = [c for c in by_customer.values() if len(c) == 2]
    assert doubled and doubled[0][0].idempotency_key != doubled[0][1].idempotency_key
    assert all(c.payment_intent for c in doubled[0])  # PaymentIntents, over the wire
    result.world.dispose()


@pytest.mark.timeout(600)
def test_durable_passes_all_four_questions() -> None:
    report = check_design(DURABLE)
    assert _verdicts(report) == {"state": "pass", "retries": "pass", "split": "pass",
                                 "resumable_unit": "pass"}, \
        [(q.id, q.summary) for q in report.questions]


def _hashes_in_subprocess(spec: str, isolation: str, hash_seed: str,
                          seeds: list[int]) -> dict[str, str]:
    env = dict(os.environ, PYTHONHASHSEED=hash_seed,
               PYTHONPATH=os.pathsep.join(p for p in (str(ROOT), os.environ.get(
                   "PYTHONPATH", "")) if p))
    proc = subprocess.run([sys.executable, str(ROOT / "tests/examples/sdk_workload.py"),
                           spec, isolation, *map(str, seeds)], cwd=ROOT, env=env,
                          capture_output=True, text=True, check=True, timeout=300)
    result: dict[str, str] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


@pytest.mark.timeout(600)
@pytest.mark.parametrize("spec", [NAIVE, DURABLE])
def test_same_seed_same_trace_hash_across_processes_and_hash_seeds(spec: str) -> None:
    seeds = [3, 15, 17]  # swarm plans with crashes, lost responses, model faults
    a = _hashes_in_subprocess(spec, "process", "0", seeds)
    b = _hashes_in_subprocess(spec, "process", "4242", seeds)
    assert a == b
    assert len(set(a.values())) == len(seeds)


def test_the_sdks_own_retries_and_keys_are_in_the_trace() -> None:
    plan = FaultPlan.model_validate({"faults": [
        {"kind": "lose_response", "tool": "payments.payment_intents.create", "call": 1},
        {"kind": "service_error", "tool": "openai.chat.completions", "call": 1,
         "status": 500}]})
    result = run_seed(get_scenario("checkout"), load_design(NAIVE), 1, plan,
                      keep_world=True, isolation="process")
    assert result.world is not None
    requests = [e.data for e in result.world.kernel.trace.events()
                if e.kind == "tool.request"]
    result.world.dispose()
    chat = [r for r in requests if r["tool"] == "openai.chat.completions"]
    assert chat[0]["args"]["body"] == chat[1]["args"]["body"]  # openai retried the 500
    intents = [r for r in requests if r["tool"] == "payments.payment_intents.create"]
    # stripe retried the lost charge itself, under its own automatic key
    assert intents[0]["key"] and intents[1]["key"] == intents[0]["key"]


def test_asking_the_model_again_after_acting_over_http_is_named() -> None:
    # The naive agent's state is its memory: killed after it sent the charge, it asks
    # the model the first decision again. Sending a side effect over HTTP is acting on
    # the answers before it, as a dialect design's commit is; the durable agent, whose
    # answers are in its SQLite log, never asks one again.
    plan = FaultPlan.model_validate({"faults": [
        {"kind": "lose_response", "tool": "payments.payment_intents.create", "call": 1},
        {"kind": "crash", "process": "worker", "at_op": 5}]})
    found = {}
    for spec in (NAIVE, DURABLE):
        result = run_seed(get_scenario("checkout"), load_design(spec), 1, plan,
                          isolation="process")
        found[spec] = {v.invariant for v in result.violations}
    assert "model-once-per-decision" in found[NAIVE]
    assert found[DURABLE] == set()
