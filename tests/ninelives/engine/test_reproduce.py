"""Every sweep runs one of its seeds twice more and says so when a seed does not name
one run (ninelives/_reproduce.py): the repro lines of a design that reads something the
simulation does not control cannot be trusted, and nothing else would notice."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from ninelives import sweep
from ninelives.cli import main

DESIGNS = textwrap.dedent('''
    """Two designs that escape the simulation, and one that does not."""
    import time

    from reference_agent import reference_main
    from simulator import Design

    STARTS = [0]

    async def counting(env):
        # State left by earlier runs in this process: every run waits a bit longer.
        STARTS[0] += 1
        await env.clock.sleep(STARTS[0])
        await reference_main(env)

    # Bound in a default argument: neither the shims nor the inline watch, which
    # rebinds clocks bound at import in module globals, can reach it.
    async def clocked(env, wall=time.time):
        await env.clock.sleep(wall() % 1)
        await reference_main(env)

    counting_design = Design(name="counting", main=counting)
    clocked_design = Design(name="clocked", main=clocked)
    honest = Design(name="honest", main=reference_main)
''')


@pytest.fixture
def designs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    (tmp_path / "escaping_designs.py").write_text(DESIGNS)
    monkeypatch.syspath_prepend(str(tmp_path))
    return "escaping_designs"


@pytest.mark.parametrize("attr", ["counting_design", "clocked_design"])
def test_a_design_escaping_the_simulation_is_reported_and_fails_the_run(
        designs: str, attr: str, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "sweep.json"
    # Inline: the run shares this process with the ones before it and with the import.
    code = main(["run", "--scenario", "checkout", "--design", f"{designs}:{attr}",
                 "--seeds", "3", "--workers", "1", "--no-progress", "--json", str(out),
                 "--isolation", "inline"])
    printed = capsys.readouterr().out
    [result] = json.loads(out.read_text())["results"]
    assert code == 1
    message = result["nondeterminism"]
    assert message.startswith("not reproducible: seed 0")
    assert "differed from event #" in message  # names where the runs part
    assert "not reproducible: seed 0" in printed
    verdict = [line for line in printed.splitlines() if line.startswith("✗ ")][-1]
    assert "a seed did not reproduce" in verdict


@pytest.mark.parametrize("attr", ["counting_design", "clocked_design"])
def test_process_isolation_gives_such_a_design_one_run_per_seed(
        designs: str, attr: str, tmp_path: Path) -> None:
    # A user's design runs in process isolation by default: each incarnation starts
    # from fresh module globals, and a clock bound at import is the virtual one (the
    # zygote imported the design under the shims), as a restarted process would be.
    out = tmp_path / "sweep.json"
    code = main(["run", "--scenario", "checkout", "--design", f"{designs}:{attr}",
                 "--seeds", "3", "--workers", "1", "--no-progress", "--json", str(out)])
    [result] = json.loads(out.read_text())["results"]
    assert result["nondeterminism"] is None
    assert code == 0


def test_the_sweeps_own_run_is_compared_too(designs: str) -> None:
    # Two fresh runs of a counting design differ from each other anyway; the sweep's own
    # run is compared by events, end time and violations: here it waited 1 s, not 2.
    from ninelives.engine import _reproduce
    from ninelives.engine._sweep import sweep as run_sweep

    result = run_sweep("checkout", f"{designs}:counting_design", 1,
                       check_reproducible=False)
    outcome = result.tally.first
    assert result.runs == 1 and outcome is not None
    again = _reproduce.check_seed("checkout", f"{designs}:counting_design", outcome.seed,
                                  outcome.plan, _reproduce.fingerprint(outcome))
    assert again is not None and again.startswith("not reproducible: seed 0")


def test_a_design_inside_the_simulation_reproduces(designs: str) -> None:
    for spec, workers in ((f"{designs}:honest", 1), ("fresh-uuid-keys", 2)):
        result = sweep("checkout", spec, 4, workers=workers)
        assert result.nondeterminism is None, spec


def test_the_check_picks_the_first_failure_and_never_a_hang() -> None:
    from ninelives.engine._reproduce import pick
    from ninelives.engine._sweep import RunOutcome
    from scenarios._violation import Violation

    def outcome(seed: int, *messages: str) -> RunOutcome:
        violations = tuple(Violation(invariant="liveness", message=m,
                                     evidence={"hung": True} if m == hung else {})
                           for m in messages)
        return RunOutcome(index=seed, seed=seed, plan_size=0, violations=violations,
                          fired=(), planned=(), reached=())

    hung = "the design hung: no progress for 20 s of wall time"
    assert pick([outcome(0), outcome(1, "late"), outcome(2, "later")]).seed == 1
    assert pick([outcome(0), outcome(1, hung), outcome(2, "later")]).seed == 2
    assert pick([outcome(0), outcome(1)]).seed == 0
    assert pick([outcome(0, hung)]) is None
    assert pick([]) is None
