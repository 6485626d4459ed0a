"""The figure registry: ``@figure(name, unit=..., target=...)`` registers a function that
performs one measurement and returns a number; ``FIGURES`` keeps them in registration
order, which is the order the bench table lists them."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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




# -- measuring in a fresh process ---------------------------------------------------------

def in_child(module: str, function: str, *args: Any) -> dict[str, Any]:
    """Run ``module.function(*args)`` in a fresh interpreter; its JSON result. Timed
    figures are measured there, so that what an earlier figure imported, cached or left
    in the garbage collector does not move a later one."""
    code = "from ninelives.bench._registry import child_main; child_main()"
    proc = subprocess.run([sys.executable, "-c", code],
                          input=json.dumps([module, function, args]),
                          capture_output=True, text=True, cwd=REPO_ROOT, check=False)
    if proc.returncode != 0:
        tail = " | ".join(proc.stderr.strip().splitlines()[-3:])
        raise RuntimeError(f"bench child {function}{tuple(args)} failed: {tail}")
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def child_main() -> None:
    """The child's side of ``in_child``: read the call from stdin, print its JSON."""
    module, function, args = json.loads(sys.stdin.read())
    result = getattr(importlib.import_module(module), function)(*args)
    sys.stdout.write("\n" + json.dumps(result) + "\n")
