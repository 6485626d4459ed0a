"""Exhaustive crash enumeration: exact counts, stable order, every point once."""

from __future__ import annotations

from faults import Crash, FaultPlan, crash_pairs, crash_points

OPS = {"worker": 4, "orchestrator": 3}  # 7 crash points in all


def _key(plan: FaultPlan) -> tuple[tuple[str, int], ...]:
    return tuple((f.process, f.at_op) for f in plan.faults if isinstance(f, Crash))


def test_crash_points_one_plan_per_point_in_stable_order() -> None:
    plans = crash_points(OPS)
    assert len(plans) == 7
    assert [_key(p) for p in plans] == [
        (("orchestrator", 1),), (("orchestrator", 2),), (("orchestrator", 3),),
        (("worker", 1),), (("worker", 2),), (("worker", 3),), (("worker", 4),),
    ]
    assert all(len(p) == 1 and p.faults[0].restart_after_ms == 1000 for p in plans)
    # The order does not depend on the dict's insertion order.
    assert crash_points(dict(reversed(list(OPS.items())))) == plans


def test_crash_pairs_counts() -> None:
    pairs = crash_pairs(OPS)
    same_worker = 4 * 3 // 2
    same_orchestrator = 3 * 2 // 2
    cross = 4 * 3
    assert len(pairs) == same_worker + same_orchestrator + cross == 21 == 7 * 6 // 2
    keys = [_key(p) for p in pairs]
    assert len(set(keys)) == len(keys)
    assert sum(1 for k in keys if k[0][0] == k[1][0] == "worker") == same_worker
    assert sum(1 for k in keys if k[0][0] == k[1][0] == "orchestrator") == same_orchestrator
    assert sum(1 for k in keys if k[0][0] != k[1][0]) == cross


def test_crash_pairs_in_one_process_are_at_increasing_ops() -> None:
    pairs = crash_pairs({"worker": 5})
    assert len(pairs) == 10
    for plan in pairs:
        (p1, op1), (p2, op2) = _key(plan)
        assert p1 == p2 == "worker" and op1 < op2
    assert _key(pairs[0]) == (("worker", 1), ("worker", 2))
    assert _key(pairs[-1]) == (("worker", 4), ("worker", 5))


def test_cross_process_pairs_appear_once() -> None:
    keys = {frozenset(_key(p)) for p in crash_pairs({"a": 2, "b": 2})}
    assert len(keys) == 6
    assert frozenset({("a", 1), ("b", 1)}) in keys


def test_stable_and_edge_cases() -> None:
    assert crash_pairs(OPS) == crash_pairs(OPS)
    assert crash_points({}) == [] and crash_pairs({}) == []
    assert crash_points({"w": 0}) == []
    assert crash_pairs({"w": 1}) == []
    assert crash_points({"w": 2}, restart_after_ms=0)[0].faults[0].restart_after_ms == 0
