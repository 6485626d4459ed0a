"""``ninelives run`` end to end through ``ninelives.cli.main``: output, exit codes, JSON."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from cli_support import cli

from ninelives.engine._schema import RunReport


def test_reference_sweep_passes_with_tables(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, err = cli(capsys, "run", "--scenario", "checkout", "--seeds", "8")
    assert rc == 0, out + err
    assert err == ""
    assert "Sweep" in out and "Fault coverage" in out and "Situations reached" in out
    assert "checkout" in out and "reference" in out
    assert "no violations in 8 runs" in out
    # Coverage gaps are said in words, not left as a silent zero: swarm plans for a
    # one-worker checkout never contain a pause, and no checkout run expires a 24 h key.
    assert "never planned" in out or "never fired" in out
    assert "never reached" in out


def test_flawed_design_fails_with_repro_lines(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = cli(capsys, "run", "--scenario", "checkout", "--design", "fresh-uuid-keys",
                     "--seeds", "10")
    assert rc == 1
    assert "exactly-once-charge" in out
    # Every printed failure: invariant, seed, plan size, evidence, unwrapped repro line.
    assert "seed 1 · plan size" in out
    assert "evidence: ledger:" in out
    assert "ninelives replay --scenario checkout --design fresh-uuid-keys --seed 1\n" in out
    assert "violated an invariant" in out


def test_failures_are_limited(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = cli(capsys, "run", "--scenario", "subscription-renewal", "--design",
                     "fresh-uuid-keys", "--seeds", "12", "--max-failures", "2")
    assert rc == 1
    assert out.count("repro: ninelives replay") == sum(
        1 for line in out.splitlines() if "repro:" in line)
    assert "... and" in out and "more failing runs" in out


def test_json_matches_the_documented_schema(capsys: pytest.CaptureFixture[str],
                                            tmp_path: Path) -> None:
    path = tmp_path / "run.json"
    rc, _, _ = cli(capsys, "run", "--scenario", "checkout", "--scenario", "sre-incident",
                     "--design", "fresh-uuid-keys", "--seeds", "10", "--first-seed", "0",
                     "--json", str(path))
    assert rc == 1
    report = RunReport.model_validate_json(path.read_text())
    assert [(r.scenario, r.design) for r in report.results] == [
        ("checkout", "fresh-uuid-keys"), ("sre-incident", "fresh-uuid-keys")]
    checkout = report.results[0]
    assert checkout.seeds == 10 and checkout.first_seed == 0
    assert checkout.failing_runs == len({v.seed for v in checkout.violations}) > 0
    first = checkout.violations[0]
    assert first.seed == 1 and first.invariant == "exactly-once-charge"
    assert first.repro == "ninelives replay --scenario checkout --design fresh-uuid-keys --seed 1"
    assert first.plan_size > 0 and first.evidence
    assert sum(checkout.violations_by_invariant.values()) >= checkout.failing_runs
    # Every fault kind and every situation that can arise is listed, zeros included.
    assert set(checkout.fault_coverage) == set(checkout.fault_planned)
    assert "crash" in checkout.fault_coverage and "pause" in checkout.fault_coverage
    assert all(checkout.fault_coverage[k] <= checkout.fault_planned[k]
               for k in checkout.fault_coverage)
    assert checkout.situations["process-restarted"] > 0
    assert "charge-response-lost-after-commit" in checkout.situations
    # ...but not one that cannot arise here (one worker: no lease to fence).
    assert "lease-fenced" not in checkout.situations


def test_workers_do_not_change_results(capsys: pytest.CaptureFixture[str],
                                       tmp_path: Path) -> None:
    docs = []
    for workers in ("1", "3"):
        path = tmp_path / f"w{workers}.json"
        rc, _, _ = cli(capsys, "run", "--scenario", "checkout", "--design", "fresh-uuid-keys",
                       "--seeds", "12", "--workers", workers, "--json", str(path))
        assert rc == 1
        doc = json.loads(path.read_text())
        for result in doc["results"]:
            del result["runs_per_s"]
        docs.append(doc)
    assert docs[0] == docs[1]
    seeds = [v["seed"] for v in docs[0]["results"][0]["violations"]]
    assert seeds == sorted(seeds)


def test_a_design_that_raises_is_a_finding_not_a_crash(
        capsys: pytest.CaptureFixture[str], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "nl_raising_design.py").write_text(
        "async def main(env):\n    raise RuntimeError('design bug')\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    rc, out, err = cli(capsys, "run", "--scenario", "checkout", "--design",
                       "nl_raising_design:main", "--seeds", "2")
    assert rc == 1, err
    assert "liveness" in out and "design bug" in out
    # The repro names the design as the user spelt it, so it can be pasted back.
    assert "--design nl_raising_design:main --seed 0" in out


@pytest.mark.parametrize("argv, message", [
    (["run", "--scenario", "no-such-scenario", "--seeds", "1"], "unknown scenario"),
    (["run", "--design", "no-such-design", "--seeds", "1"], "unknown design"),
    (["run", "--design", "no_such_module_xyz:main", "--seeds", "1"], "failed to import"),
    (["run", "--first-seed", "-3", "--seeds", "1"],
     "argument --first-seed: must be >= 0, got -3"),
    (["run", "--first-seed", "seven", "--seeds", "1"],
     "argument --first-seed: must be an integer, got 'seven'"),
    (["run", "--seeds", "0"], "argument --seeds: must be >= 1, got 0"),
    (["run", "--workers", "0", "--seeds", "1"], "argument --workers: must be >= 1, got 0"),
    (["run", "--seeds", "1", "--json", "/no/such/dir/out.json"], "does not exist"),
    (["frobnicate"], "invalid choice"),
])
def test_bad_input_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str],
                                          argv: list[str], message: str) -> None:
    rc, out, err = cli(capsys, *argv)
    assert rc == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("ninelives: error: ") and message in lines[0]
    assert "Traceback" not in err


def test_json_path_that_is_a_directory_is_bad_input(capsys: pytest.CaptureFixture[str],
                                                    tmp_path: Path) -> None:
    rc, _, err = cli(capsys, "run", "--seeds", "1", "--json", str(tmp_path))
    assert rc == 2 and "is a directory" in err


def test_unexpected_harness_error_is_one_line(capsys: pytest.CaptureFixture[str],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    import ninelives.engine

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the harness broke")

    monkeypatch.setattr(ninelives.engine, "sweep", boom)
    monkeypatch.delenv("NINELIVES_DEBUG", raising=False)
    rc, _, err = cli(capsys, "run", "--scenario", "checkout", "--seeds", "1")
    assert rc == 2
    assert err.strip().splitlines() == [
        "ninelives: error: unexpected RuntimeError: the harness broke "
        "(run with NINELIVES_DEBUG=1 for the traceback)"]
    monkeypatch.setenv("NINELIVES_DEBUG", "1")
    rc, _, err = cli(capsys, "run", "--scenario", "checkout", "--seeds", "1")
    assert rc == 2 and "Traceback" in err


def test_help_for_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    for command in ("run", "replay", "shrink", "explore", "list"):
        rc, out, _ = cli(capsys, command, "--help")
        assert rc == 0 and f"usage: ninelives {command}" in out


def test_real_entry_point_in_a_subprocess(tmp_path: Path) -> None:
    path = tmp_path / "run.json"
    proc = subprocess.run(
        [sys.executable, "-m", "ninelives.cli", "run", "--scenario", "checkout", "--design",
         "fresh-uuid-keys", "--seeds", "3", "--json", str(path)],
        capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 1, proc.stderr
    assert "exactly-once-charge" in proc.stdout
    assert "RuntimeWarning" not in proc.stderr
    assert RunReport.model_validate_json(path.read_text()).results[0].failing_runs >= 1
    bad = subprocess.run([sys.executable, "-m", "ninelives.cli", "run", "--scenario", "nope"],
                         capture_output=True, text=True, timeout=120, check=False)
    assert bad.returncode == 2
    assert bad.stderr.startswith("ninelives: error: unknown scenario 'nope'")
    assert "Traceback" not in bad.stderr


def test_a_broken_harness_import_is_still_one_line(capsys: pytest.CaptureFixture[str],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    # An ImportError inside the harness must not escape while main classifies it.
    monkeypatch.setitem(sys.modules, "scenarios", None)
    monkeypatch.delenv("NINELIVES_DEBUG", raising=False)
    rc, _, err = cli(capsys, "list")
    assert rc == 2
    assert len(err.strip().splitlines()) == 1
    assert err.startswith("ninelives: error: unexpected ModuleNotFoundError")
    assert "NINELIVES_DEBUG=1" in err


def test_a_sweep_that_exercised_nothing_does_not_look_green() -> None:
    from ninelives.engine._sweep import RunOutcome, Sweep, Tally
    from ninelives.reports._terminal import verdict

    def outcome(seed: int, fired: tuple[str, ...]) -> RunOutcome:
        return RunOutcome(index=seed, seed=seed, plan_size=1, violations=(), fired=fired,
                          planned=("crash",), reached=())

    idle = Sweep("checkout", "reference", 0, 3, 1.0, Tally.of(outcome(s, ()) for s in range(3)))
    line = verdict([idle])
    assert "nothing was exercised" in line.plain and "green" not in str(line.style)
    assert idle.fault_coverage()["crash"] == 0 and idle.fault_planned()["crash"] == 3
    partial = Sweep("checkout", "reference", 0, 2, 1.0,
                    Tally.of([outcome(0, ("crash",)), outcome(1, ())]))
    line = verdict([partial])
    assert "coverage gaps" in line.plain and "pause" in line.plain
    assert "green" not in str(line.style)


def test_explore_reports_unfired_plans_not_unreached_situations() -> None:
    # explore plans crashes only: a lost charge response or a refused model answer is
    # not its job to reach, so leaving them unreached is no gap; a crash plan that
    # never fired is.
    from ninelives.engine._sweep import RunOutcome, Sweep, Tally
    from ninelives.reports._terminal import verdict

    def outcome(index: int, fired: tuple[str, ...]) -> RunOutcome:
        return RunOutcome(index=index, seed=0, plan_size=1, violations=(), fired=fired,
                          planned=("crash",), reached=("process-restarted",))

    def explored(outcomes: list[RunOutcome]) -> Sweep:
        return Sweep("checkout", "reference", 0, 1, 1.0, Tally.of(outcomes), kinds=("crash",),
                     situation_gaps=False)

    line = verdict([explored([outcome(i, ("crash",)) for i in range(3)])])
    assert line.plain == "✓ no violations in 3 runs; every plan fired a fault"
    assert "green" in str(line.style)
    line = verdict([explored([outcome(0, ("crash",)), outcome(1, ()), outcome(2, ())])])
    assert line.plain == "✓ no violations in 3 runs; coverage gaps: 2 plan(s) never fired"
    assert "green" not in str(line.style)
    # The same outcomes as a sampled sweep: the unreached situations are gaps there.
    sampled = Sweep("checkout", "reference", 0, 3, 1.0,
                    Tally.of(outcome(i, ("crash",)) for i in range(3)), kinds=("crash",))
    assert "never reached somewhere: charge-response-lost-after-commit" in \
        verdict([sampled]).plain
