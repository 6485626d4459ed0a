"""Benchmark figures for scale and speed: how soon a sweep catches each flawed design,
how small its shrunk failure is, exhaustive crash checking, and parallel speed-up.

Registered on ``ninelives.bench``'s ``@figure`` registry (``make bench``); docs/scale.md
defines each figure and gives recent numbers.

Every timed figure is measured in a **fresh Python process** (``_in_child``), after a
warm-up run on a seed outside the measured ones (imports, faker, first-call costs), with
the clock around the measured work only. Why fresh: the harness memoises per process
(customers per faker seed, metrics series per service seed), so timing the same seeds a
second time in one process would measure those caches, not a sweep; and forked workers
would inherit a warm parent. Counts (seeds, faults, crash points) are deterministic and
computed once per bench process.
"""

from __future__ import annotations

import math
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from ..engine import DEFAULT_SEEDS
from ._registry import figure, in_child

#: the designs the harness must catch (reference_agent.FLAWED), in the order figures list
FLAWED_DESIGNS = ("naive-loop", "fresh-uuid-keys", "timeout-as-failure", "fused",
                  "unrecorded-model")
#: a sweep's default length (``ninelives run``): a design not caught within it counts as
#: not caught
DETECT_MAX_SEEDS = DEFAULT_SEEDS
#: warm-up runs use this seed, far from every measured one
WARMUP_SEED = 1_000_003
EXHAUSTIVE = ("checkout", "reference", 0)
#: the default length of ``ninelives run``: with runs now ~8 ms, a 400-seed sweep took
#: about 1.5 s on two workers, of which pool start-up (~0.3 s) was a fifth
SPEEDUP_SWEEP = ("checkout", "reference", DEFAULT_SEEDS)


# -- measuring in a fresh process ---------------------------------------------------------

def _in_child(function: str, *args: Any) -> dict[str, Any]:
    """``function(*args)`` of this module, in a fresh interpreter (``_registry.in_child``)."""
    return in_child("ninelives.bench._figures", function, *args)


def _warm_up(scenario: str, design: str) -> None:
    from reference_agent import load_design
    from scenarios import get_scenario, run_seed

    run_seed(get_scenario(scenario), load_design(design), WARMUP_SEED)


def detect(design: str, max_seeds: int = DETECT_MAX_SEEDS) -> dict[str, Any]:
    """(In a child.) For each scenario in registry order, sweep seeds 0, 1, ... of
    ``design`` with their swarm plans, one worker, as ``ninelives run`` does, until the
    first violation; keep the scenario that needs the fewest seeds (ties: registry
    order). Returns that scenario, its first failing seed, the seeds run, the wall
    seconds that scenario's sweep took, and the invariant."""
    from scenarios import SCENARIOS

    from ..engine import sweep

    for name in SCENARIOS:
        _warm_up(name, design)
    best: dict[str, Any] | None = None
    for name in SCENARIOS:
        # A later scenario wins only with strictly fewer seeds: no need to go further.
        limit = best["seeds"] - 1 if best else max_seeds
        # The engine's sweep, as ``run`` makes it (one worker), stopped at the first
        # failing run; its clock is around the runs only.
        found = sweep(name, design, limit, workers=1, stop_after=1, check_reproducible=False)
        if found.failing_runs:
            [first] = found.failing()
            best = {"scenario": name, "seed": first.seed, "seeds": found.runs,
                    "seconds": found.elapsed_s,
                    "invariant": first.violations[0].invariant}
    return best or {"scenario": None, "seed": None, "seeds": None, "seconds": None,
                    "invariant": None}


def exhaustive(scenario: str, design: str, seed: int) -> dict[str, Any]:
    """(In a child.) ``ninelives explore --crashes 1 --workers 1``: every single crash
    point of ``seed``; the points, wall seconds (fault-free run included) and failures."""
    from ..engine import explore

    _warm_up(scenario, design)
    start = time.perf_counter()
    result = explore(scenario, design, seed, 1, workers=1)
    seconds = time.perf_counter() - start
    return {"points": result.points, "seconds": seconds,
            "failing": result.sweep.failing_runs}


def sweep_rate(scenario: str, design: str, seeds: int, workers: int) -> dict[str, Any]:
    """(In a child.) ``ninelives run`` of seeds 0..seeds-1 with ``workers`` processes
    (pool start-up included); runs per wall second."""
    from ..engine import sweep

    _warm_up(scenario, design)
    start = time.perf_counter()
    result = sweep(scenario, design, seeds, workers=workers)
    elapsed = time.perf_counter() - start
    return {"runs_per_s": seeds / elapsed, "failing": result.failing_runs}


# -- figures --------------------------------------------------------------------------------

#: per design, detections measured and not yet read by a ``detect_seconds`` figure
_PENDING: dict[str, list[dict[str, Any]]] = {}
#: per design, the first detection (its scenario and seed are deterministic)
_DETECTED: dict[str, dict[str, Any]] = {}


def _detect(design: str) -> dict[str, Any]:
    found = _in_child("detect", design)
    if design not in _DETECTED:
        _DETECTED[design] = found
        print(f"  {design}: caught in {found['scenario']}, seed {found['seed']} "
              f"({found['invariant']})" if found["scenario"] else
              f"  {design}: NOT caught in {DETECT_MAX_SEEDS} seeds of any scenario",
              file=sys.stderr)
    elif (found["scenario"], found["seed"]) != (_DETECTED[design]["scenario"],
                                                _DETECTED[design]["seed"]):
        raise AssertionError(f"{design}: detection is not deterministic: {found} vs "
                             f"{_DETECTED[design]}")
    _PENDING.setdefault(design, []).append(found)
    return found


def _detected(design: str) -> dict[str, Any]:
    return _DETECTED[design] if design in _DETECTED else _detect(design)


_SHRUNK: dict[str, float] = {}


def shrunk_faults(design: str) -> float:
    """Faults left in the plan of ``design``'s first failure (``detect``) after the shrink
    ``ninelives shrink`` does (same invariant, same seed)."""
    if design not in _SHRUNK:
        from ..engine import shrink_seed

        found = _detected(design)
        if found["scenario"] is None:
            return math.nan
        with tempfile.TemporaryDirectory() as tmp:
            outcome = shrink_seed(found["scenario"], design, found["seed"],
                                  str(Path(tmp) / "shrunk.plan.json"))
        _SHRUNK[design] = float(outcome.size_after)
        print(f"  {design}: shrunk {outcome.size_before} -> {outcome.size_after} faults "
              f"in {outcome.attempts} runs", file=sys.stderr)
    return _SHRUNK[design]


def _register_detection(design: str) -> None:
    slug = design.replace("-", "_")

    # A design never caught has no value (nan: the table says n/a, the target is missed).
    def seeds() -> float:
        value = _detected(design)["seeds"]
        return math.nan if value is None else float(value)

    def seconds() -> float:
        pending = _PENDING.get(design)
        value = (pending.pop(0) if pending else _detect(design))["seconds"]
        return math.nan if value is None else float(value)

    def shrunk() -> float:
        return shrunk_faults(design)

    seeds.__doc__ = (f"{design}: seeds swept (from 0, one worker) until the first "
                     "violation, in the scenario where it shows first.")
    seconds.__doc__ = f"{design}: wall seconds of that sweep (imports and warm-up excluded)."
    shrunk.__doc__ = f"{design}: faults in that failure's plan after ninelives shrink."
    figure(f"detect_seeds_{slug}", unit="seeds", higher_is_better=False)(seeds)
    # Catching a broken design must cost no more than a coffee sip of CI time.
    figure(f"detect_seconds_{slug}", unit="s", target=2.0, higher_is_better=False)(seconds)
    # A failure explained by one or two faults is one a person can read in a timeline.
    figure(f"shrunk_faults_{slug}", unit="faults", target=2, higher_is_better=False)(shrunk)


for _design in FLAWED_DESIGNS:
    _register_detection(_design)

#: the first exploration (its points are deterministic), and those not yet timed
_EXPLORED: list[dict[str, Any]] = []
_EXPLORE_PENDING: list[dict[str, Any]] = []


def _explore() -> dict[str, Any]:
    result = _in_child("exhaustive", *EXHAUSTIVE)
    if result["failing"]:
        print(f"  warning: the reference design failed {result['failing']} crash points "
              "of checkout", file=sys.stderr)
    if not _EXPLORED:
        _EXPLORED.append(result)
    _EXPLORE_PENDING.append(result)
    return result


@figure("exhaustive_crash_points_checkout", unit="points")
def exhaustive_points() -> float:
    """Single crash points of checkout (reference design, seed 0): every port operation
    of every process in the fault-free run."""
    return float((_EXPLORED[0] if _EXPLORED else _explore())["points"])


@figure("exhaustive_seconds_checkout", unit="s", higher_is_better=False)
def exhaustive_seconds() -> float:
    """Wall seconds to check every one of them (``explore --crashes 1``, one worker,
    the fault-free run included)."""
    return float((_EXPLORE_PENDING.pop(0) if _EXPLORE_PENDING else _explore())["seconds"])


_SPEEDUP_CALLS = [0]


@figure("sweep_speedup_2_workers", unit="x", target=1.8)
def sweep_speedup() -> float:
    """Runs per second of ``run --workers 2`` over ``--workers 1``, the same sweep
    (checkout, reference, seeds 0-999), each in a fresh process, back to back (which
    goes first alternates between calls)."""
    _SPEEDUP_CALLS[0] += 1
    order = (1, 2) if _SPEEDUP_CALLS[0] % 2 else (2, 1)
    rates = {w: _in_child("sweep_rate", *SPEEDUP_SWEEP, w)["runs_per_s"] for w in order}
    print(f"  runs/s: 1 worker {rates[1]:.1f}, 2 workers {rates[2]:.1f}", file=sys.stderr)
    return rates[2] / rates[1]
