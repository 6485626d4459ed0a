"""The figure registry: ``@figure(name, unit=..., target=...)`` registers a function that
performs one measurement and returns a number; ``FIGURES`` keeps them in registration
order, which is the order the bench table lists them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
RESULTS_FILE = "bench-results.json"


@dataclass(frozen=True)
class Figure:
    name: str
    unit: str
    target: float | None
    higher_is_better: bool
    measure: Callable[[], float]

    def ok(self, value: float) -> bool | None:
        if self.target is None:
            return None
        return value >= self.target if self.higher_is_better else value <= self.target


FIGURES: list[Figure] = []


def figure(
    name: str, *, unit: str, target: float | None = None, higher_is_better: bool = True
) -> Callable[[Callable[[], float]], Callable[[], float]]:
    """Register a function returning one measurement of figure ``name``."""

    def register(fn: Callable[[], float]) -> Callable[[], float]:
        if any(f.name == name for f in FIGURES):
            raise ValueError(f"figure {name!r} registered twice")
        FIGURES.append(Figure(name, unit, target, higher_is_better, fn))
        return fn

    return register


