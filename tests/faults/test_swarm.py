"""Swarm plans: deterministic per seed, in any process; varied across seeds."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from faults import (
    ClockJump,
    Crash,
    Delay,
    Duplicate,
    FaultPlan,
    FaultSpace,
    ModelFault,
    Pause,
    ServiceError,
    SwarmConfig,
    kind_names,
    swarm_plan,
)

ROOT = Path(__file__).resolve().parents[2]

SPACE = FaultSpace(
    processes=["orchestrator", "worker"],
    tools=["payments.charge", "payments.refund", "chat.post"],
    keyed_tools=["payments.charge", "payments.refund"],
    max_ops_per_process=40,
    max_calls_per_tool=5,
    max_model_calls=6,
)

SEEDS = range(400)


def test_same_seed_same_plan() -> None:
    for seed in range(50):
        assert swarm_plan(seed, SPACE) == swarm_plan(seed, SPACE)
        assert swarm_plan(seed, SPACE).model_dump_json() == \
            swarm_plan(seed, SPACE, SwarmConfig()).model_dump_json()


_SCRIPT = (
    "from faults import FaultSpace, swarm_plan\n"
    "import sys\n"
    "space = FaultSpace.model_validate_json(sys.argv[1])\n"
    "for seed in range(60):\n"
    "    print(swarm_plan(seed, space).model_dump_json())\n"
)


def _plans_in_subprocess(hashseed: str) -> str:
    env = dict(os.environ, PYTHONHASHSEED=hashseed)
    out = subprocess.run([sys.executable, "-c", _SCRIPT, SPACE.model_dump_json()],
                         cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    return out.stdout


def test_same_plans_across_processes_and_hash_seeds() -> None:
    first = _plans_in_subprocess("0")
    second = _plans_in_subprocess("4242")
    assert first == second
    here = "".join(swarm_plan(s, SPACE).model_dump_json() + "\n" for s in range(60))
    assert first == here


def test_different_seeds_differ() -> None:
    plans = {swarm_plan(seed, SPACE).model_dump_json(exclude={"note"}) for seed in SEEDS}
    assert len(plans) > 0.85 * len(SEEDS)


def test_some_seeds_are_baselines() -> None:
    empty = sum(1 for seed in SEEDS if len(swarm_plan(seed, SPACE)) == 0)
    assert 0.04 * len(SEEDS) < empty < 0.2 * len(SEEDS)
    none = SwarmConfig(baseline_probability=0.0)
    assert all(len(swarm_plan(seed, SPACE, none)) > 0 for seed in range(100))
    always = SwarmConfig(baseline_probability=1.0)
    assert all(len(swarm_plan(seed, SPACE, always)) == 0 for seed in range(100))


def test_kind_subsets_vary_across_seeds() -> None:
    subsets = Counter()
    seen_kinds: set[str] = set()
    for seed in SEEDS:
        kinds = frozenset(f.kind for f in swarm_plan(seed, SPACE).faults)
        if kinds:
            subsets[kinds] += 1
            seen_kinds |= kinds
    assert seen_kinds == set(kind_names())  # every kind gets its turn
    assert len(subsets) > 40  # many different combinations
    # Swarm: most fault-bearing plans do NOT contain every kind.
    assert sum(n for k, n in subsets.items() if len(k) <= 3) > 0.5 * sum(subsets.values())


def test_duplicate_never_targets_unkeyed_tools() -> None:
    duplicates = [f for seed in range(2000) for f in swarm_plan(seed, SPACE).faults
                  if isinstance(f, Duplicate)]
    assert duplicates
    assert {f.tool for f in duplicates} <= set(SPACE.keyed_tools)


def test_no_duplicates_without_keyed_tools() -> None:
    space = SPACE.model_copy(update={"keyed_tools": []})
    assert not any(isinstance(f, Duplicate)
                   for seed in range(500) for f in swarm_plan(seed, space).faults)


def test_points_and_intensities_stay_in_range() -> None:
    cfg = SwarmConfig()
    for seed in SEEDS:
        plan = swarm_plan(seed, SPACE)
        assert 0 <= len(plan) <= cfg.max_faults
        assert FaultPlan.model_validate_json(plan.model_dump_json()) == plan
        for f in plan.faults:
            if isinstance(f, Crash | Pause | ClockJump):
                assert f.process in SPACE.processes
                assert 1 <= f.at_op <= SPACE.max_ops_per_process
            elif isinstance(f, ModelFault):
                assert 1 <= f.call <= SPACE.max_model_calls
            else:
                assert f.tool in SPACE.tools
                assert 1 <= f.call <= SPACE.max_calls_per_tool
            if isinstance(f, Crash):
                assert cfg.restart_after_ms_min <= f.restart_after_ms <= cfg.restart_after_ms_max
            if isinstance(f, Delay):
                assert cfg.delay_ms_min <= f.delay_ms <= cfg.delay_ms_max
            if isinstance(f, Pause):
                assert cfg.pause_ms_min <= f.duration_ms <= cfg.pause_ms_max
            if isinstance(f, ClockJump):
                assert 1 <= abs(f.jump_ms) <= cfg.clock_jump_ms_max
            if isinstance(f, ServiceError):
                assert f.status in (500, 429)


def test_config_can_disable_kinds() -> None:
    only_crashes = SwarmConfig(**{f"{k}_probability": 0.0 for k in kind_names()
                                  if k != "crash"}, crash_probability=1.0)
    kinds = {f.kind for seed in range(200) for f in swarm_plan(seed, SPACE, only_crashes).faults}
    assert kinds == {"crash"}


def test_space_limits_what_can_be_drawn() -> None:
    space = FaultSpace(processes=["worker"], max_ops_per_process=10)
    kinds = {f.kind for seed in range(300) for f in swarm_plan(seed, space).faults}
    assert kinds <= {"crash", "pause", "clock_jump"}
    assert len(swarm_plan(1, FaultSpace())) == 0


def test_config_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        SwarmConfig(crash_probability=1.5)
    with pytest.raises(ValueError):
        SwarmConfig(max_faults=0)
