"""Designs by name, and loading a user's design from ``package.module:attr``."""

from __future__ import annotations

import importlib
import inspect
import sys
from pathlib import Path

from ninelives.errors import InputError
from simulator import Design

from ._worker import REFERENCE, REFERENCE_TWO_WORKERS
from .flawed import (
    FRESH_UUID_KEYS,
    FUSED,
    HASH_KEYS,
    IMPORT_CLOCK,
    MARK_DONE_FIRST,
    MODULE_STATE,
    NAIVE_LOOP,
    SETTLE_RECKONED,
    THREAD,
    TIMEOUT_AS_FAILURE,
    UNFENCED,
    UNRECORDED_MODEL,
)

DESIGNS: dict[str, Design] = {
    d.name: d
    for d in (REFERENCE, REFERENCE_TWO_WORKERS, NAIVE_LOOP, FRESH_UUID_KEYS,
              TIMEOUT_AS_FAILURE, FUSED, UNRECORDED_MODEL, MODULE_STATE, HASH_KEYS,
              IMPORT_CLOCK, MARK_DONE_FIRST, THREAD, UNFENCED, SETTLE_RECKONED)
}

#: the classic anti-patterns: each caught by a sweep, in every scenario where it shows
#: (tests/scenarios/test_flawed_designs.py, and a detection figure each in ``make bench``)
FLAWED = ("naive-loop", "fresh-uuid-keys", "timeout-as-failure", "fused", "unrecorded-model")
#: the traps of issue 16: flaws an in-process simulation could take for durable designs,
#: each failed by ``ninelives check`` on the question its flaw touches
#: (tests/ninelives/engine/test_check_traps.py). Flawed designs too, but not all of them
#: show in an inline sweep (``hash-keys`` needs another process), so kept apart from
#: FLAWED's sweep figures.
TRAPS = ("module-state", "hash-keys", "import-clock", "mark-done-first", "thread",
         "unfenced-2w")
#: the traps whose flaw lives in their process (a module global, ``hash()`` keys, a
#: clock bound at import, a thread): they run differently in process isolation, which is
#: therefore their default (``scenarios.default_isolation``); every other registered
#: design runs event for event the same in both modes
#: (tests/simulator/test_isolation.py::test_same_trace_hash_as_inline)
PROCESS_LOCAL = ("module-state", "hash-keys", "import-clock", "thread")
#: flawed designs whose bug is rare (uniform swarm sampling needs thousands of seeds):
#: registered, marked flawed in ``ninelives list``, and measured by ``make bench``'s
#: ``detect_*_rare`` figures rather than held to FLAWED's few seeds
RARE_FLAWED = ("reference-settle-reckoned",)


class DesignError(InputError):
    """A design name or reference that cannot be turned into a Design (one-line message)."""

    __module__ = "reference_agent"


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
    return _as_design(spec, obj)


def _as_design(spec: str, obj: object) -> Design:
    """Fit ``obj`` to the design protocol, or say exactly what is missing."""
    if isinstance(obj, Design):
        design = obj
    elif inspect.iscoroutinefunction(obj):
        return Design(name=spec, main=obj)
    elif callable(obj) and not hasattr(obj, "main"):
        raise DesignError(f"{spec} is a plain function; a design's entry point must be "
                          "'async def main(env)' (a coroutine function)")
    else:
        main = getattr(obj, "main", None)
        if main is None:
            raise DesignError(f"{spec} ({type(obj).__name__}) has no 'main': a design needs "
                              "'async def main(env)', or be a simulator.Design")
        design = Design(name=str(getattr(obj, "name", spec)), main=main,
                        workers=getattr(obj, "workers", 1))
    if not inspect.iscoroutinefunction(design.main):
        raise DesignError(f"{spec}: 'main' must be a coroutine function "
                          "('async def main(env)'), not a "
                          f"{type(design.main).__name__}")
    if not isinstance(design.workers, int) or design.workers < 1:
        raise DesignError(f"{spec}: 'workers' must be a positive integer, "
                          f"not {design.workers!r}")
    return design
