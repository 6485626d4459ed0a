"""``--isolation`` on the commands (ninelives/cli/_main.py): the flag reaches the runs,
repro lines name a mode that is not the design's default, and a registered design's run
is the same run in either mode."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from ninelives.cli import main
from scenarios import default_isolation, repro_command


def _hash(out: str) -> str:
    found = re.search(r"trace hash[^0-9a-f]*([0-9a-f]{64})", out)
    assert found, out
    return found.group(1)


def test_replay_gives_the_same_trace_hash_in_either_mode(
        capsys: pytest.CaptureFixture[str]) -> None:
    hashes = []
    for mode in ("inline", "process"):
        main(["replay", "--scenario", "checkout", "--design", "reference-2w", "--seed", "3",
              "--isolation", mode])
        hashes.append(_hash(capsys.readouterr().out))
    assert hashes[0] == hashes[1]


def test_run_json_and_repro_lines_follow_the_mode(tmp_path: Path) -> None:
    out = tmp_path / "run.json"
    # naive-loop fails on most seeds: its repro lines show the mode.
    code = main(["run", "--scenario", "checkout", "--design", "naive-loop", "--seeds", "3",
                 "--workers", "1", "--no-progress", "--json", str(out),
                 "--isolation", "process"])
    assert code == 1
    [result] = json.loads(out.read_text())["results"]
    repros = [v["repro"] for v in result["violations"]]
    assert repros and all(r.endswith(" --isolation process") for r in repros)


def test_the_default_is_inline_for_registered_designs_only() -> None:
    assert default_isolation("reference") == "inline"
    assert default_isolation("myapp.agent:design") == "process"
    assert default_isolation("reference", "process") == "process"
    assert repro_command("checkout", "reference", 1) == (
        "ninelives replay --scenario checkout --design reference --seed 1")
    assert repro_command("checkout", "myapp.agent:design", 1, isolation="inline").endswith(
        " --isolation inline")
    assert "--isolation" not in repro_command("checkout", "myapp.agent:design", 1)
    assert default_isolation("module-state") == "process"  # a trap kept in its process
    with pytest.raises(ValueError, match="isolation must be one of"):
        default_isolation("reference", "thread")


def test_a_bad_isolation_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--isolation", "thread"]) == 2
    assert "invalid choice: 'thread'" in capsys.readouterr().err
