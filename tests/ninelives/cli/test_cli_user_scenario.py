"""``--scenario package.module:attr`` on every command that takes one, ``list
--scenario``, and the pytest marker: a user's scenario runs as a built-in does, its
repro lines carry the import path, and a broken one is exit 2 with one line."""

from __future__ import annotations

import shlex
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_support import cli

pytest_plugins = ["pytester"]

SOURCE = """
from scenarios.checkout import Checkout

class Shop(Checkout):
    description = "checkout, by import path"

class Broken(Checkout):
    def check_safety(self, world):
        raise KeyError("ledger")
"""


@pytest.fixture
def shop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A user module ``cli_user_shop`` in the current directory; its import path."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "cli_user_shop.py").write_text(textwrap.dedent(SOURCE))
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "cli_user_shop"
    sys.modules.pop("cli_user_shop", None)


def test_run_replay_and_shrink_a_user_scenario(capsys: pytest.CaptureFixture[str],
                                              shop: str, tmp_path: Path) -> None:
    spec = f"{shop}:Shop"
    rc, out, err = cli(capsys, "run", "--scenario", spec, "--design", "fresh-uuid-keys",
                       "--seeds", "3", "--workers", "1", "--no-progress")
    assert rc == 1, err
    repro = next(line.split("repro:", 1)[1].strip() for line in out.splitlines()
                 if "repro: ninelives replay" in line)
    argv = shlex.split(repro)
    assert argv[argv.index("--scenario") + 1] == spec
    rc, out, _ = cli(capsys, *argv[1:])
    assert rc == 1 and "exactly-once-charge" in out
    seed = argv[argv.index("--seed") + 1]
    rc, out, _ = cli(capsys, "shrink", "--scenario", spec, "--design", "fresh-uuid-keys",
                     "--seed", seed, "--no-progress")
    assert rc == 1
    written = list(tmp_path.glob("ninelives-cli_user_shop_Shop-fresh-uuid-keys-*.plan.json"))
    assert len(written) == 1


def test_explore_a_user_scenario(capsys: pytest.CaptureFixture[str], shop: str) -> None:
    rc, out, err = cli(capsys, "explore", "--scenario", f"{shop}:Shop", "--design",
                       "reference", "--workers", "1", "--no-progress")
    assert rc == 0, err + out
    assert f"of {shop}:Shop x reference" in out


def test_list_shows_what_a_user_scenario_defines(capsys: pytest.CaptureFixture[str],
                                                 shop: str) -> None:
    rc, out, _ = cli(capsys, "list", "--scenario", f"{shop}:Shop")
    assert rc == 0
    assert "checkout, by import path" in out
    assert "payments.charge, inventory.reserve, email.send" in out
    assert "reserve[effect, keyed]" in out
    assert "600 s" in out and "21600 s" in out


@pytest.mark.parametrize("command", [
    ("run", "--workers", "1", "--seeds", "1", "--no-progress"),
    ("replay", "--seed", "1"),
    ("shrink", "--seed", "1", "--no-progress"),
    ("explore", "--workers", "1", "--no-progress"),
    ("list",),
])
@pytest.mark.parametrize(("attr", "says"), [
    ("Missing", "has no attribute 'Missing'"),
    ("Broken", "its invariants (check_safety) raised KeyError"),
])
def test_a_broken_user_scenario_is_exit_2_on_every_command(
        capsys: pytest.CaptureFixture[str], shop: str, command: tuple[str, ...],
        attr: str, says: str) -> None:
    if command == ("list",) and attr == "Broken":
        pytest.skip("list builds the world but runs no invariant")
    rc, out, err = cli(capsys, *command, "--scenario", f"{shop}:{attr}")
    assert rc == 2, out + err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and f"scenario {shop}:{attr}" in lines[0] and says in lines[0]


def test_the_pytest_marker_takes_an_import_path(pytester: pytest.Pytester) -> None:
    (pytester.path / "marker_shop.py").write_text(textwrap.dedent(SOURCE))
    pytester.makepyfile(test_shop="""
        import pytest

        @pytest.mark.ninelives(scenario="marker_shop:Shop", design="reference", seeds=3)
        def test_reference():
            pass

        @pytest.mark.ninelives(scenario="marker_shop:Shop", design="fresh-uuid-keys",
                               seeds=3)
        def test_flawed():
            pass

        @pytest.mark.ninelives(scenario="marker_shop:Nope", design="reference", seeds=1)
        def test_missing():
            pass
    """)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines(["*--scenario marker_shop:Shop*"])
    result.stdout.fnmatch_lines(["*scenario marker_shop:Nope*has no attribute 'Nope'*"])
