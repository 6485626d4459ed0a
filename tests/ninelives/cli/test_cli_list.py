"""``ninelives list``: every registered name, one line each, with its description."""

from __future__ import annotations

import pytest

from faults import kind_names
from ninelives.cli import main
from reference_agent import DESIGNS
from scenarios import INVARIANTS, SCENARIOS, SITUATIONS


def test_list_names_everything(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    names = [*SCENARIOS, *DESIGNS, *kind_names(), *INVARIANTS, *SITUATIONS]
    for name in names:
        assert any(line.split()[:1] == [name] for line in lines), name
    assert SCENARIOS["checkout"].description in out
    # Markup-looking text is printed, not swallowed by rich.
    assert "[flawed]" in out


def test_version_is_the_package_version(capsys: pytest.CaptureFixture[str]) -> None:
    from importlib.metadata import version

    rc = main(["--version"])
    out, err = capsys.readouterr()
    assert rc == 0 and err == ""
    assert out.strip() == f"ninelives {version('ninelives')}"
