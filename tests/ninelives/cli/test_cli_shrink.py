"""``ninelives shrink`` end to end: the shrunk plan is smaller, is written where asked
(or to the default name), and ``replay --plan`` reproduces the same invariant with it."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
from cli_support import cli

from faults import FaultPlan
from ninelives.engine._schema import ReplayReport, ShrinkReport


def test_shrunk_plan_replays_the_same_invariant(capsys: pytest.CaptureFixture[str],
                                                tmp_path: Path) -> None:
    out_path = tmp_path / "small.plan.json"
    report_path = tmp_path / "shrink.json"
    rc, out, err = cli(capsys, "shrink", "--scenario", "checkout", "--design",
                       "fresh-uuid-keys", "--seed", "1", "--out", str(out_path),
                       "--json", str(report_path))
    assert rc == 1, err
    report = ShrinkReport.model_validate_json(report_path.read_text())
    assert report.invariant == "exactly-once-charge"
    assert report.size_before == 6 and 1 <= report.size_after < report.size_before
    assert f"shrunk the plan from {report.size_before} to {report.size_after}" in out
    plan = FaultPlan.from_file(out_path)
    assert len(plan.faults) == report.size_after
    for line in plan.describe():
        assert line in out
    # The printed replay line, run as printed, reproduces the same invariant.
    line = next(line for line in out.splitlines() if line.startswith("reproduce: "))
    argv = shlex.split(line.removeprefix("reproduce: "))
    assert argv[:2] == ["ninelives", "replay"] and argv[-2:] == ["--plan", str(out_path)]
    replay_json = tmp_path / "replay.json"
    rc, out, _ = cli(capsys, *argv[1:], "--json", str(replay_json))
    assert rc == 1
    replayed = ReplayReport.model_validate_json(replay_json.read_text())
    assert replayed.violations[0].invariant == "exactly-once-charge"
    assert replayed.violations[0].plan_size == report.size_after
    assert replayed.violations[0].repro == " ".join(argv)
    assert f"plan from {out_path}" in out


def test_default_plan_name_in_current_directory(capsys: pytest.CaptureFixture[str],
                                                tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    rc, out, _ = cli(capsys, "shrink", "--scenario", "checkout", "--design", "fresh-uuid-keys",
                     "--seed", "1")
    assert rc == 1
    name = "ninelives-checkout-fresh-uuid-keys-1.plan.json"
    assert (tmp_path / name).is_file()
    assert f"--plan {name}" in out


def test_a_passing_seed_has_nothing_to_shrink(capsys: pytest.CaptureFixture[str],
                                              tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    rc, out, _ = cli(capsys, "shrink", "--scenario", "checkout", "--seed", "1")
    assert rc == 0
    assert "nothing to shrink" in out
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("argv, message", [
    (["shrink", "--scenario", "checkout", "--seed", "-2"], "argument --seed: must be >= 0, got -2"),
    (["shrink", "--scenario", "nope", "--seed", "1"], "unknown scenario"),
    (["shrink", "--scenario", "checkout", "--design", "nope", "--seed", "1"],
     "unknown design"),
    (["shrink", "--scenario", "checkout", "--seed", "1", "--out", "/no/such/dir/p.json"],
     "does not exist"),
])
def test_shrink_bad_input(capsys: pytest.CaptureFixture[str], argv: list[str],
                          message: str) -> None:
    rc, out, err = cli(capsys, *argv)
    assert rc == 2 and out == ""
    assert err.startswith("ninelives: error: ") and message in err
