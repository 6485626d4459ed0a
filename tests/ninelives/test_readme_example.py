"""The README's own design example (examples/durable_design.py), checked with the two
commands the README gives for it: ``check`` passes three of the four questions (it fails
retries past the key's lifetime, as the README says), and ``run`` sweeps
it under the name the design gives itself and finds the three kinds of bug the README
says the four questions do not ask about.

``run`` once failed on every ``package.module:attr`` design whose ``Design.name`` was no
registered name: the sweep's report re-loaded the design by that name.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ninelives.cli import main as cli_main

ROOT = Path(__file__).resolve().parents[2]
SPEC = "examples.durable_design:design"


@pytest.fixture(autouse=True)
def _from_the_repo_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # where the README's commands are typed


def _run(tmp_path: Path, *args: str) -> tuple[int, dict]:
    out = tmp_path / "sweep.json"
    code = cli_main(["run", "--design", SPEC, "--workers", "1", "--no-progress",
                     "--json", str(out), *args])
    return code, json.loads(out.read_text())


def test_check_passes_three_questions_and_fails_retries_past_the_key_lifetime(
        tmp_path: Path) -> None:
    out = tmp_path / "check.json"
    code = cli_main(["check", SPEC, "--json", str(out), "--no-progress"])
    report = json.loads(out.read_text())
    assert code == 1
    assert {q["id"]: q["verdict"] for q in report["questions"]} == {
        "state": "pass", "retries": "fail", "split": "pass", "resumable_unit": "pass"}
    # As the README says: it does not reconcile before retrying past the 24 h lifetime.
    retries = next(q for q in report["questions"] if q["id"] == "retries")
    assert "24 h key lifetime" in retries["summary"]


def test_run_sweeps_a_design_named_apart_from_its_spec(tmp_path: Path) -> None:
    code, report = _run(tmp_path, "--scenario", "subscription-renewal", "--seeds", "8")
    [result] = report["results"]
    assert result["design"] == "durable-example"  # the Design's own name
    assert "outage-outlasted-key-lifetime" in result["situations"]
    # A workflow waiting a month on its timer holds up no other one: no liveness finding
    # (when the example ran workflows one after another, nearly every seed had one).
    assert "liveness" not in result["violations_by_invariant"]
    for violation in result["violations"]:
        assert f"--design {SPEC} --seed {violation['seed']}" in violation["repro"]
    assert code == (1 if result["violations"] else 0)


def test_run_finds_what_the_four_questions_do_not_ask(tmp_path: Path) -> None:
    code, report = _run(tmp_path, "--seeds", "200")
    found = {name for r in report["results"] for name in r["violations_by_invariant"]}
    assert code == 1
    assert found == {"resume-equivalence", "at-most-once-chat", "exactly-once-charge"}
