"""The repro line is one builder's, and a shell runs it as printed (scenarios/_repro.py)."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from faults import Crash, FaultPlan
from reference_agent import load_design
from scenarios import get_scenario, repro_command, run_seed, shell_command

#: a note no hand-quoted line survives: quotes of both kinds, a backslash (a JSON escape),
#: a variable, a command substitution, a glob
NASTY_NOTE = "it's a \"quoted\" note \\ with $HOME, `id`, $(id) and *"

DESIGN_MODULE = """\
from reference_agent import DESIGNS

design = DESIGNS["fresh-uuid-keys"]
"""


@pytest.mark.parametrize("argv", [
    ["pytest", "tests/test_x.py::test_y[checkout-0]", "--ninelives-seed", "3"],
    ["ninelives", "replay", "--design", "my_pkg.my_mod:design", "--plan", "a dir/it's.json"],
    ["printf", "%s\\n", '{"note":"it\'s \\"x\\" \\\\ $HOME `id`"}'],
])
def test_a_shell_splits_the_line_back_into_its_arguments(argv: list[str]) -> None:
    assert shlex.split(shell_command(*argv)) == argv


def test_simple_names_stay_unquoted() -> None:
    # what the CLI and plugin tests pin, and what a person reads
    assert repro_command("checkout", "fresh-uuid-keys", 1) == (
        "ninelives replay --scenario checkout --design fresh-uuid-keys --seed 1")
    assert repro_command("checkout", "pkg.mod:attr", 2, "plans/p.plan.json") == (
        "ninelives replay --scenario checkout --design pkg.mod:attr --seed 2 "
        "--plan plans/p.plan.json")


def test_a_plan_is_inline_or_a_path_not_both() -> None:
    with pytest.raises(ValueError):
        repro_command("checkout", "reference", 1, "p.json", plan=FaultPlan())


def _ninelives_on_path(bin_dir: Path) -> dict[str, str]:
    # The line calls `ninelives`; this one runs the interpreter of the tests (a venv's
    # console script may be missing when the package is not installed).
    bin_dir.mkdir()
    script = bin_dir / "ninelives"
    script.write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -m ninelives.cli "$@"\n')
    script.chmod(0o755)
    return {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}


def _hash(stdout: str) -> str:
    found = re.search(r"trace hash ([0-9a-f]{64})", stdout)
    assert found, stdout
    return found.group(1)


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_printed_lines_replay_through_bash(tmp_path: Path) -> None:
    # A design given as module:attr, run from a directory with a space and a quote in
    # its name; one plan inlined with a nasty note, the same plan from a path with a
    # space; both lines must replay the very run (same trace hash) through bash.
    work = tmp_path / "it's a dir"
    work.mkdir()
    (work / "nl_repro_design.py").write_text(DESIGN_MODULE)
    env = _ninelives_on_path(tmp_path / "bin")
    plan = FaultPlan(faults=[Crash(process="worker", at_op=6)], note=NASTY_NOTE)
    (work / "my plans").mkdir()
    plan_path = "my plans/it's.plan.json"
    plan.to_file(str(work / plan_path))
    expected = run_seed(get_scenario("checkout"), load_design("fresh-uuid-keys"), 1, plan,
                        keep_world=True)
    assert expected.world is not None
    want = expected.world.kernel.trace.hash()
    expected.world.dispose()

    inline = repro_command("checkout", "nl_repro_design:design", 1, plan=plan)
    from_file = repro_command("checkout", "nl_repro_design:design", 1, plan_path)
    for line in (inline, from_file):
        proc = subprocess.run(["bash", "-c", line], cwd=work, env=env, capture_output=True,
                              text=True, timeout=120)
        assert proc.returncode in (0, 1), proc.stderr  # 1: the run broke an invariant
        assert _hash(proc.stdout) == want, line
    # the inline line wrote the plan byte for byte, note included
    assert FaultPlan.model_validate_json((work / "plan.json").read_text()) == plan
