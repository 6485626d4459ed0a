"""Shrinking a failing fault plan to the few faults that matter.

``ninelives shrink`` runs a swarm seed's plan, and if it fails, asks for smaller plans
that still fail. This module only proposes and chooses; the caller runs the scenario
(``still_fails``). Hypothesis plans are shrunk by Hypothesis itself; this greedy shrinker
is for plans that did not come from Hypothesis (a seed, a file).

What "smaller" means, in the order candidates are tried:

1. fewer faults: the first half removed, the second half removed (plans of 4 or more),
   then each fault removed in turn;
2. simpler faults: each intensity towards its minimum (``delay_ms``, ``duration_ms``
   towards 1, ``jump_ms`` towards +-1, ``restart_after_ms`` to its default of 1000 ms),
   by ever smaller steps, so the shrinker finds the threshold at which a delay starts
   to matter;
3. one fault alone, moved up to ``MAX_SHIFT`` points earlier. Logical points count what
   happened before them, and the other faults added to that (a refused model answer
   adds a record and a second ask; a crash, the redone work), so a crash that needed
   three earlier faults only to land where it did often fails the same way alone, a
   few operations earlier. Without this a plan could stay at six faults of which one
   mattered (``tests/faults/test_fault_shrinking.py``).

Otherwise logical points (``at_op``, ``call``) and categorical choices (status, leg,
model fault) are kept: where a fault lands is what the shrunk plan is meant to teach.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from ._plan import FaultPlan
from ._types import ClockJump, Crash, Delay, Pause, _Fault

_DEFAULT_RESTART_AFTER_MS = Crash.model_fields["restart_after_ms"].default
#: how many points earlier a fault kept alone is tried (``shrink_candidates``, step 3)
MAX_SHIFT = 16


def _towards(value: int, target: int) -> list[int]:
    """Values from ``target`` (included) towards ``value`` (excluded), the boldest first:
    the target, then ever smaller steps away from ``value`` (half the distance, a
    quarter, ..., one). Greedy shrinking over these is a binary search for the smallest
    value that still fails: O(log^2) attempts, not O(distance)."""
    distance = abs(value - target)
    sign = 1 if value > target else -1
    out: list[int] = []
    step = distance
    while step >= 1:
        out.append(value - sign * step)
        step //= 2
    return out


def _simpler(fault: _Fault) -> list[_Fault]:
    """Simpler variants of one fault, the simplest first."""
    if isinstance(fault, Crash):
        out: list[_Fault] = []
        if fault.after_ms:
            out.append(fault.model_copy(update={"after_ms": 0}))
        if fault.restart_after_ms != _DEFAULT_RESTART_AFTER_MS:
            out.append(fault.model_copy(update={"restart_after_ms": _DEFAULT_RESTART_AFTER_MS}))
        return out
    if isinstance(fault, Delay):
        return [fault.model_copy(update={"delay_ms": v}) for v in _towards(fault.delay_ms, 1)]
    if isinstance(fault, Pause):
        return [fault.model_copy(update={"duration_ms": v})
                for v in _towards(fault.duration_ms, 1)]
    if isinstance(fault, ClockJump):
        target = 1 if fault.jump_ms >= 0 else -1
        return [fault.model_copy(update={"jump_ms": v}) for v in _towards(fault.jump_ms, target)]
    return []


def shrink_candidates(plan: FaultPlan) -> Iterator[FaultPlan]:
    """Plans smaller than ``plan``, most promising (smallest) first. Lazy: the greedy
    shrinker usually stops at an early one."""
    faults = plan.faults
    n = len(faults)
    if n >= 4:
        half = n // 2
        yield plan.without(*range(half))
        yield plan.without(*range(half, n))
    for i in range(n):
        yield plan.without(i)
    for i, fault in enumerate(faults):
        for simpler in _simpler(fault):
            yield FaultPlan(faults=[*faults[:i], simpler, *faults[i + 1:]], note=plan.note)
    if n >= 2:
        for fault in faults:
            for moved in _earlier(fault):
                yield FaultPlan(faults=[moved], note=plan.note)


def _earlier(fault: _Fault) -> list[_Fault]:
    """``fault`` at its own point, then 1, 2, ... ``MAX_SHIFT`` points earlier."""
    field = "at_op" if hasattr(fault, "at_op") else "call" if hasattr(fault, "call") else None
    if field is None:
        return [fault]
    point: int = getattr(fault, field)
    return [fault.model_copy(update={field: point - d})
            for d in range(min(MAX_SHIFT, point - 1) + 1)]


def shrink(plan: FaultPlan, still_fails: Callable[[FaultPlan], bool],
           max_attempts: int = 500) -> FaultPlan:
    """Greedily shrink ``plan`` (which fails) to a smaller plan that still fails.

    Repeatedly takes the first candidate of ``shrink_candidates`` for which
    ``still_fails`` is true, until none is, or ``max_attempts`` calls of ``still_fails``
    were made. A plan already tried is not tried again. Returns the last failing plan.
    """
    current = plan
    seen = {plan.model_dump_json()}
    attempts = 0
    while attempts < max_attempts:
        for candidate in shrink_candidates(current):
            key = candidate.model_dump_json()
            if key in seen:
                continue
            seen.add(key)
            attempts += 1
            if still_fails(candidate):
                current = candidate
                break
            if attempts >= max_attempts:
                return current
        else:
            return current
    return current
