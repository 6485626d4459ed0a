"""A broken invariant, with the evidence and the way to reproduce it."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class Violation(BaseModel):
    """One invariant that did not hold in one run."""

    invariant: str
    message: str
    evidence: dict[str, Any] = Field(default_factory=dict)
    #: filled in by the harness
    scenario: str = ""
    design: str = ""
    seed: int | None = None
    plan_size: int = 0
    repro: str = ""

    def headline(self) -> str:
        return f"{self.invariant}: {self.message}"
