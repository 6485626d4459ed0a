"""Running the ``ninelives`` command in-process, for the CLI tests."""

from __future__ import annotations

import pytest

from ninelives.cli import main


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of ``ninelives *argv``."""
    rc = main(list(argv))
    captured = capsys.readouterr()
    return rc, captured.out, captured.err
