"""Shared fixtures of the ninelives front-door tests."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _pipe_width(monkeypatch: pytest.MonkeyPatch) -> None:
    # Output width is PIPE_WIDTH when stdout is not a terminal, unless COLUMNS says
    # otherwise (pytest-xdist workers set COLUMNS=80): pin it so assertions on whole
    # lines do not depend on how the suite is run.
    monkeypatch.delenv("COLUMNS", raising=False)
