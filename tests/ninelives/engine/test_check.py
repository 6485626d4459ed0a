"""``ninelives check``: the four questions, pinned per design (issue "ninelives check")."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from ninelives.cli import main
from ninelives.engine import CheckReport, check_design
from ninelives.reports import to_markdown

EXPECTED_FAILS = {
    "reference": set(),
    "naive-loop": {"state", "resumable_unit"},
    "fresh-uuid-keys": {"retries"},
    "timeout-as-failure": {"retries"},
    "fused": {"split"},
    "unrecorded-model": {"state"},
}


#: the experiment families these designs' flaws show in (the full set runs on the
#: reference in tests/ninelives/engine/test_check_traps.py)
FAST = ("crash", "retry", "split")


@pytest.fixture(scope="module")
def reports() -> dict[str, CheckReport]:
    return {name: check_design(name, experiments=FAST) for name in EXPECTED_FAILS}


@pytest.mark.parametrize("design", sorted(EXPECTED_FAILS))
def test_verdicts(reports: dict[str, CheckReport], design: str) -> None:
    report = reports[design]
    fails = {q.id for q in report.questions if q.verdict == "fail"}
    # Each flawed design fails (at least) the question its flaw is about; the reference
    # passes everything.
    assert EXPECTED_FAILS[design] <= fails
    if design == "reference":
        assert fails == set()
    assert [q.id for q in report.questions] == ["state", "retries", "split", "resumable_unit"]


@pytest.mark.parametrize("design", sorted(set(EXPECTED_FAILS) - {"reference"}))
def test_every_fail_has_evidence_seed_plan_and_repro(reports: dict[str, CheckReport],
                                                     design: str) -> None:
    for q in reports[design].questions:
        if q.verdict == "fail":
            assert q.seed is not None
            # A design failing without faults in a scenario gets that run's empty plan.
            assert q.plan is not None and (q.plan["faults"] or "without faults" in q.summary)
            assert q.repro and "ninelives replay" in q.repro and f"--design {design}" in q.repro
            assert q.evidence


def test_resumable_unit_is_measured(reports: dict[str, CheckReport]) -> None:
    ref = next(q for q in reports["reference"].questions if q.id == "resumable_unit")
    naive = next(q for q in reports["naive-loop"].questions if q.id == "resumable_unit")
    assert ref.evidence["unit"] == "one call" and ref.evidence["max_calls_redone"] <= 1
    assert naive.evidence["unit"] == "the whole task"
    assert naive.evidence["max_calls_redone"] > 1
    assert naive.evidence["mean_calls_redone"] > ref.evidence["mean_calls_redone"]


def test_fail_repro_replays_the_same_finding(reports: dict[str, CheckReport],
                                             tmp_path: Path) -> None:
    q = next(q for q in reports["fresh-uuid-keys"].questions if q.id == "retries")
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps(q.plan))
    code = main(["replay", "--scenario", "checkout", "--design", "fresh-uuid-keys",
                 "--seed", str(q.seed), "--plan", str(plan)])
    assert code == 1


def test_markdown_names_each_question(reports: dict[str, CheckReport]) -> None:
    md = to_markdown(reports["fused"])
    assert "| split" in md and "**FAIL**" in md and "ninelives replay" in md


USER_DESIGN = textwrap.dedent('''
    """A user's design, in its own directory, outside the project."""
    from simulator import Design

    async def main(env):
        # Naive on purpose: no durable state at all.
        for wf in await env.tasks.list():
            history = []
            while True:
                import json
                text = await env.model.complete(
                    {"decision": f"{wf['id']}/{len(history)}", "workflow": wf["id"],
                     "input": wf["input"], "history": history}, timeout=60)
                try:
                    action = json.loads(text)
                except ValueError:
                    continue
                if action["action"] == "finish":
                    await env.tasks.complete(wf["id"], action["outcome"])
                    break
                try:
                    response = await env.tools.call(action["tool"], action["args"])
                    history.append({"tool": action["tool"], "args": action["args"],
                                    "ok": True, "response": response})
                except Exception as error:
                    history.append({"tool": action["tool"], "args": action["args"],
                                    "ok": False, "error": {"message": str(error)}})

    design = Design(name="users-own", main=main)
''')


def test_design_in_a_temporary_module_outside_the_project(tmp_path: Path) -> None:
    (tmp_path / "myagent.py").write_text(USER_DESIGN)
    out = tmp_path / "report.json"
    proc = subprocess.run(
        [sys.executable, "-m", "ninelives.cli", "check", "myagent:design", "--json",
         str(out), "--no-progress"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1, proc.stderr
    report = json.loads(out.read_text())
    assert report["design"] == "myagent:design"
    verdicts = {q["id"]: q["verdict"] for q in report["questions"]}
    assert verdicts["state"] == "fail" and verdicts["split"] == "fail"
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize(("spec", "needle"), [
    ("no_such_module_xyz:design", "failed to import"),
    ("myagent:missing", "no attribute 'missing'"),
    ("myagent:number", "has no 'main'"),
    ("not-a-design", "unknown design"),
])
def test_bad_design_is_exit_2_with_one_line(tmp_path: Path, spec: str, needle: str) -> None:
    (tmp_path / "myagent.py").write_text("number = 3\n")
    proc = subprocess.run([sys.executable, "-m", "ninelives.cli", "check", spec],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and needle in lines[0], proc.stderr


def test_progress_is_told_the_total_then_each_run() -> None:
    events: list[tuple[str, int]] = []
    check_design("fused", progress=lambda what, n: events.append((what, n)))  # all
    assert events[0][0] == "total" and events[0][1] > 0
    runs = [n for what, n in events[1:] if what == "run"]
    assert len(runs) == len(events) - 1 and sum(runs) == events[0][1]


RAISING_DESIGN = textwrap.dedent('''
    """Fails before any fault: every workflow is left unfinished."""
    from simulator import Design

    async def main(env):
        raise ValueError("boom")

    design = Design(name="raiser", main=main)
''')


def test_a_design_failing_without_faults_gets_a_repro_that_replays_that_run(
        tmp_path: Path) -> None:
    (tmp_path / "raising.py").write_text(RAISING_DESIGN)
    out = tmp_path / "report.json"
    proc = subprocess.run(
        [sys.executable, "-m", "ninelives.cli", "check", "raising:design", "--json",
         str(out), "--no-progress"], cwd=tmp_path, capture_output=True, text=True,
        timeout=120)
    assert proc.returncode == 1, proc.stderr
    questions = json.loads(out.read_text())["questions"]
    assert {q["verdict"] for q in questions} == {"fail"}
    repro = questions[0]["repro"]
    # Named as the user spelt it (its Design.name, "raiser", is no registered design),
    # with the empty plan of the run that failed (the seed alone brings its swarm plan).
    assert "--design raising:design --seed 1 --plan plan.json" in repro
    assert '{"faults":[],' in repro
    replay = subprocess.run(
        repro.replace("ninelives replay", f"{sys.executable} -m ninelives.cli replay"),
        shell=True, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert replay.returncode == 1, replay.stderr
    assert "the design raised ValueError: boom" in replay.stdout
    assert "plan from plan.json: 0 faults" in replay.stdout
