"""Exhaustive crash enumeration: every single crash point, and every pair.

Run the scenario once without faults and count each process's port operations
(``{name: process.ops}``); a crash can only land on one of those operations, so a small
workflow has few crash points and they can all be checked, where random sampling would
only sample (``ninelives explore --crashes 1|2``). A crash moves later operations (the
restarted process repeats some), so points past the fault-free count are not reached by
these plans: that is what swarm and Hypothesis runs are for.
"""

from __future__ import annotations

from collections.abc import Mapping
from itertools import combinations

from ._plan import FaultPlan
from ._types import Crash


def _points(op_counts: Mapping[str, int], restart_after_ms: int) -> list[Crash]:
    return [
        Crash(process=name, at_op=op, restart_after_ms=restart_after_ms)
        for name in sorted(op_counts)
        for op in range(1, op_counts[name] + 1)
    ]


def crash_points(op_counts: Mapping[str, int], restart_after_ms: int = 1000) -> list[FaultPlan]:
    """One plan per crash point: each process (by name) at each op 1..count, in order.

    ``len(result) == sum(op_counts.values())``.
    """
    return [FaultPlan(faults=[c], note=f"crash point {c.process}@{c.at_op}")
            for c in _points(op_counts, restart_after_ms)]


def crash_pairs(op_counts: Mapping[str, int], restart_after_ms: int = 1000) -> list[FaultPlan]:
    """One plan per unordered pair of distinct crash points, the earlier point first.

    Two crashes of one process are at different ops (the later one hits the restarted
    incarnation); crashes of two processes at any ops. With N crash points in all,
    ``len(result) == N * (N - 1) // 2``. The order is stable: pairs of ``crash_points``
    in lexicographic order.
    """
    return [
        FaultPlan(faults=[a, b],
                  note=f"crash pair {a.process}@{a.at_op} + {b.process}@{b.at_op}")
        for a, b in combinations(_points(op_counts, restart_after_ms), 2)
    ]
