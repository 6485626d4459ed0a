"""Designs by name, and loading a user's design from ``package.module:attr``."""

from __future__ import annotations

import importlib
import inspect
import sys
from pathlib import Path

from simulator import Design

from ._worker import REFERENCE, REFERENCE_TWO_WORKERS
from .flawed import FRESH_UUID_KEYS, FUSED, NAIVE_LOOP, TIMEOUT_AS_FAILURE, UNRECORDED_MODEL

DESIGNS: dict[str, Design] = {
    d.name: d
    for d in (REFERENCE, REFERENCE_TWO_WORKERS, NAIVE_LOOP, FRESH_UUID_KEYS,
              TIMEOUT_AS_FAILURE, FUSED, UNRECORDED_MODEL)
}

FLAWED = ("naive-loop", "fresh-uuid-keys", "timeout-as-failure", "fused", "unrecorded-model")


class DesignError(ValueError):
    """A design name or reference that cannot be turned into a Design (one-line message)."""


def load_design(spec: str) -> Design:
    """A registered name (``reference``) or ``package.module:attr``.

    ``attr`` may be a ``Design`` or an ``async def main(env)`` function. The current
    directory is importable, as it is for ``python -m``.
    """
    if spec in DESIGNS:
        return DESIGNS[spec]
    if ":" not in spec:
        known = ", ".join(DESIGNS)
        raise DesignError(f"unknown design {spec!r}: use one of {known}, "
                          "or package.module:attr")
    module_name, _, attr = spec.partition(":")
    cwd = str(Path.cwd())
    if cwd not in sys.path:
        sys.path.insert(0, cwd)
    try:
        module = importlib.import_module(module_name)
    except Exception as error:  # the user's module failed: report, don't crash
        raise DesignError(f"design module {module_name!r} failed to import: "
                          f"{type(error).__name__}: {error}") from None
    try:
        obj = getattr(module, attr)
    except AttributeError:
        raise DesignError(f"design module {module_name!r} has no attribute {attr!r}") from None
    if isinstance(obj, Design):
        return obj
    if inspect.iscoroutinefunction(obj):
        return Design(name=spec, main=obj)
    raise DesignError(f"{spec} is a {type(obj).__name__}, not a simulator.Design or an "
                      "'async def main(env)' function")
