"""``ninelives explore`` end to end: every crash point is run, failures carry their plan,
and the repro lines they print reproduce them."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
from cli_support import cli

import ninelives.engine._explore
from ninelives.engine._schema import ExploreReport, ReplayReport


def test_every_crash_point_of_a_flawed_design(capsys: pytest.CaptureFixture[str],
                                              tmp_path: Path) -> None:
    path = tmp_path / "explore.json"
    plans = tmp_path / "plans"
    rc, out, err = cli(capsys, "explore", "--scenario", "sre-incident", "--design",
                       "fresh-uuid-keys", "--json", str(path), "--plans-dir", str(plans))
    assert rc == 1, err
    report = ExploreReport.model_validate_json(path.read_text())
    assert report.crashes == 1 and report.first_seed == 0 and report.seeds == 1
    assert report.points == sum(report.op_counts.values()) > 10
    assert f"explored {report.points} crash points" in out
    assert report.fault_coverage == {"crash": report.points}
    assert report.violations
    failure = report.violations[0]
    assert failure.plan is not None and len(failure.plan["faults"]) == 1
    # The repro names a written plan file; replaying it gives the same violation.
    argv = shlex.split(failure.repro)
    plan_file = argv[argv.index("--plan") + 1]
    assert Path(plan_file).parent == plans and Path(plan_file).is_file()
    replay_json = tmp_path / "replay.json"
    rc, _, _ = cli(capsys, *argv[1:], "--json", str(replay_json))
    assert rc == 1
    replayed = ReplayReport.model_validate_json(replay_json.read_text())
    assert replayed.violations[0].invariant == failure.invariant
    assert replayed.violations[0].evidence == failure.evidence


def test_inline_plan_repro_without_plans_dir(capsys: pytest.CaptureFixture[str],
                                             tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "explore.json"
    rc, out, _ = cli(capsys, "explore", "--scenario", "sre-incident", "--design",
                     "fresh-uuid-keys", "--json", str(path))
    assert rc == 1
    failure = ExploreReport.model_validate_json(path.read_text()).violations[0]
    assert failure.repro.startswith("printf '%s\\n' '{")
    assert failure.repro in out
    # Run the repro's two halves as a shell would: write the plan, then replay it
    # (through a real shell: tests/scenarios/test_repro.py).
    write, _, replay = failure.repro.partition(" && ")
    printf_argv = shlex.split(write)
    assert printf_argv[0] == "printf" and printf_argv[3:] == [">", "plan.json"]
    Path("plan.json").write_text(printf_argv[2] + "\n")
    rc, out, _ = cli(capsys, *shlex.split(replay)[1:])
    assert rc == 1 and failure.invariant in out


def test_reference_survives_every_crash_point(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = cli(capsys, "explore", "--scenario", "sre-incident")
    assert rc == 0
    assert "no violations" in out and "crash points of sre-incident x reference" in out


def test_pairs(capsys: pytest.CaptureFixture[str], tmp_path: Path,
               monkeypatch: pytest.MonkeyPatch) -> None:
    # All pairs of a real scenario are hundreds of runs; the CLI path is the same with
    # the enumeration cut to its first few pairs.
    real_pairs = ninelives.engine._explore.crash_pairs
    monkeypatch.setattr(ninelives.engine._explore, "crash_pairs",
                        lambda op_counts: real_pairs(op_counts)[:5])
    path = tmp_path / "pairs.json"
    rc, out, _ = cli(capsys, "explore", "--scenario", "checkout", "--crashes", "2",
                     "--json", str(path))
    assert rc == 0
    report = ExploreReport.model_validate_json(path.read_text())
    assert report.crashes == 2 and report.points == 5
    assert "explored 5 pairs of crash points" in out


@pytest.mark.parametrize("argv, message", [
    (["explore", "--scenario", "checkout", "--crashes", "3"], "invalid choice"),
    (["explore", "--scenario", "nope"], "unknown scenario"),
    (["explore", "--scenario", "checkout", "--design", "nope"], "unknown design"),
    (["explore", "--scenario", "checkout", "--seed", "-1"],
     "argument --seed: must be >= 0, got -1"),
])
def test_explore_bad_input(capsys: pytest.CaptureFixture[str], argv: list[str],
                           message: str) -> None:
    rc, out, err = cli(capsys, *argv)
    assert rc == 2 and out == ""
    assert err.startswith("ninelives: error: ") and message in err
