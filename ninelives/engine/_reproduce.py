"""Does the sweep's seed reproduce? Every sweep checks one of its runs again.

A failure is only worth its one-line repro if ``replay --seed N`` shows the very run the
sweep reported. ninelives makes its own side deterministic, but the design is the
user's code: a wall clock bound at import (``from time import time``), a module-level
counter, ``id()`` or a thread escapes the simulation, and then a seed no longer names
one run. Nothing else would notice: the repro would just show something else. So, like
Hypothesis's ``Flaky`` and FoundationDB's check that a seed run twice ends in the same
state, ``ninelives.sweep`` and the pytest plugin's ``run_sweep`` run one of their seeds
twice more here: the first failing one (the one a user will replay first), or the first
seed if none failed. Runs the wall-clock watchdog
stopped are skipped: they depend on the machine's speed by nature.

The two new runs are compared event by event (the first difference is named); the sweep's
own run, which may have been made in another process, by its event count, end time and
violations (``tests/ninelives/engine/test_reproduce.py``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Protocol, TypeVar

if TYPE_CHECKING:
    from faults import FaultPlan
    from scenarios import Violation


class _Run(Protocol):
    """What is compared of a run made before: a ``RunOutcome`` or a ``RunResult``."""

    @property
    def seed(self) -> int: ...

    @property
    def events(self) -> int: ...

    @property
    def virtual_ns(self) -> int: ...

    @property
    def ok(self) -> bool: ...

    @property
    def violations(self) -> Sequence[Violation]: ...


R = TypeVar("R", bound=_Run)

#: characters of each differing event shown
EVENT_CHARS = 160


def hung(violations: Iterable[Violation]) -> bool:
    """Whether the wall-clock watchdog stopped the run these violations are of."""
    return any(v.evidence.get("hung") is True for v in violations)


def pick(runs: Sequence[R]) -> R | None:
    """The run to check again: the first failing one, else the first; never a hang."""
    candidates = [r for r in runs if not r.ok] or list(runs[:1])
    return next((r for r in candidates if not hung(r.violations)), None)


def fingerprint(run: _Run) -> tuple[int, int, list[str]]:
    """What another run of the same seed and plan must match: events, virtual end time
    in ns, and the invariants it violated."""
    return run.events, run.virtual_ns, sorted(v.invariant for v in run.violations)


def check_seed(scenario_name: str, design_spec: str, seed: int, plan: FaultPlan | None,
               seen: tuple[int, int, list[str]], isolation: str = "inline") -> str | None:
    """Run ``seed`` (with ``plan``, or its swarm plan) twice here; None if both runs are
    the same run and match ``seen`` (events, virtual end time in ns, sorted violated
    invariants) of the run made before; else one line saying how they did not."""
    from reference_agent import load_design
    from scenarios import Baselines, clip, get_scenario, run_seed

    scenario, design = get_scenario(scenario_name), load_design(design_spec)
    baselines = Baselines()  # the second run compares against the first one's baseline
    runs = []
    for _ in range(2):
        result = run_seed(scenario, design, seed, plan, keep_world=True,
                          baselines=baselines, isolation=isolation)
        assert result.world is not None
        runs.append((result, result.world.kernel.trace.canonical_lines()))
        result.world.dispose()
    (first, lines_a), (_, lines_b) = runs
    what = f"seed {seed}" + (" with its plan" if plan is not None else "")
    if lines_a != lines_b:
        at = next((i for i, (a, b) in enumerate(zip(lines_a, lines_b, strict=False))
                   if a != b), min(len(lines_a), len(lines_b)))
        a = clip(lines_a[at], EVENT_CHARS) if at < len(lines_a) else "(the run had ended)"
        b = clip(lines_b[at], EVENT_CHARS) if at < len(lines_b) else "(the run had ended)"
        return (f"not reproducible: {what}, run twice, differed from event #{at} on: "
                f"{a} then {b}. The design reads something the simulation does not "
                "control (a wall clock bound at import, module-level state, id(), a "
                "thread), so a seed does not name one run and repro lines cannot be "
                "trusted")
    mine = fingerprint(first)
    if mine != tuple(seen):
        return (f"not reproducible: {what} ran again here gave {mine[0]} events, "
                f"{mine[1] / 1e9:g} s and violations {mine[2] or 'none'}, where the "
                f"sweep's run gave {seen[0]} events, {seen[1] / 1e9:g} s and "
                f"{seen[2] or 'none'}. The design depends on its process (state left "
                "by earlier runs, PYTHONHASHSEED), so repro lines cannot be trusted")
    return None
