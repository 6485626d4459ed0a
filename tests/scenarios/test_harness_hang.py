"""A design that keeps the CPU without ever awaiting (a busy loop) is stopped by the
harness's wall-clock watchdog and reported as a liveness finding about the design,
instead of hanging the harness.

The designs here spin only in their first incarnation: if the kernel took the
watchdog's exception for the task's own failure (as it once did), the process would be
restarted, the second incarnation would finish the work, and no hang would be reported,
so these tests fail instead of hanging when the watchdog is swallowed.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from ninelives.cli import main as cli_main
from reference_agent import reference_main
from scenarios import SCENARIOS, _harness, run_seed
from simulator import Design


class SpinOnce:
    """A reference worker whose first incarnation spins forever before doing anything."""

    def __init__(self) -> None:
        self.starts = 0

    async def main(self, env: Any) -> None:
        self.starts += 1
        if self.starts == 1:
            while True:  # never awaits: no virtual clock can interrupt this
                pass
        await reference_main(env)


@pytest.fixture
def short_watchdog(monkeypatch: pytest.MonkeyPatch) -> float:
    monkeypatch.setattr(_harness, "HANG_WALL_S", 0.3)
    return 0.3


def test_a_busy_loop_is_a_liveness_finding(short_watchdog: float) -> None:
    spinner = SpinOnce()
    design = Design(name="spin-once", main=spinner.main)
    result = run_seed(SCENARIOS["checkout"], design, 0)
    assert spinner.starts == 1  # aborted, not restarted into a second incarnation
    assert not result.finished
    [violation] = result.violations
    assert violation.invariant == "liveness"
    assert "the design hung" in violation.message
    assert f"no progress for {short_watchdog:g} s of wall time" in violation.message
    assert violation.evidence["hung"] is True  # what tells a hang from other findings
    # Inline, which is not the default of a design that is not registered: named.
    assert violation.repro == ("ninelives replay --scenario checkout --design spin-once "
                               "--seed 0 --isolation inline")


def test_the_watchdog_is_disarmed_after_the_run(short_watchdog: float) -> None:
    # A run that ends in time leaves no alarm behind to fire into whatever comes next.
    import signal
    import time

    design = Design(name="spin-once", main=SpinOnce().main)
    run_seed(SCENARIOS["checkout"], design, 0)
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    time.sleep(short_watchdog * 2)  # an alarm left armed would raise here


SPIN_DESIGN = textwrap.dedent('''
    """Spins in its first incarnation (see tests/scenarios/test_harness_hang.py)."""
    from reference_agent import reference_main
    from simulator import Design

    STARTS = []

    async def main(env):
        STARTS.append(1)
        if len(STARTS) == 1:
            while True:
                pass
        await reference_main(env)

    design = Design(name="spinner", main=main)
''')


def test_run_reports_a_hung_user_design_and_exits_1(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, short_watchdog: float,
        capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "spin_design.py").write_text(SPIN_DESIGN)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    code = cli_main(["run", "--scenario", "checkout", "--design", "spin_design:design",
                     "--seeds", "1", "--workers", "1", "--no-progress"])
    out = capsys.readouterr().out
    assert code == 1
    assert "liveness" in out and "the design hung" in out
    assert "--design spin_design:design --seed 0" in out  # the repro names it as given
