"""Exhaustive crash checking of the reference design: run a scenario once without
faults, count the worker's port operations, then kill the worker at every one of them
in turn (``faults.crash_points``) and restart it. Each run must keep every invariant -
resume equivalence included - and end in exactly the fault-free run's final state: each
order charged exactly once, one incident message, each month of a subscription charged
once. Small workflows have few crash points, so all of them are checked, not a sample.
"""

from __future__ import annotations

from typing import Any

import pytest

from fakes import PaymentProvider
from faults import FaultPlan, crash_pairs, crash_points
from reference_agent import DESIGNS
from scenarios import SCENARIOS, Baselines, RunResult, run_seed

BASELINES = Baselines()


class Baseline:
    """The fault-free run: its final state, its port operations, its charges."""

    def __init__(self, scenario: str, design: str, seed: int) -> None:
        result = run_seed(SCENARIOS[scenario], DESIGNS[design], seed, FaultPlan(faults=[]),
                          keep_world=True, baselines=BASELINES)
        assert result.violations == [] and result.finished
        assert result.world is not None
        self.final_state = result.final_state
        self.ops = {name: p.ops for name, p in result.world.processes.items()}
        self.charges = charges_by_customer(result)
        result.world.dispose()


def charges_by_customer(result: RunResult) -> dict[str, int]:
    assert result.world is not None
    service: Any = result.world.services.get("payments")
    if service is None:
        return {}
    provider: PaymentProvider = getattr(service, "inner", service)
    counts: dict[str, int] = {}
    for charge in provider.ledger:
        counts[charge.customer] = counts.get(charge.customer, 0) + 1
    return counts


def check_plans(scenario: str, design: str, seed: int, base: Baseline,
                plans: list[FaultPlan]) -> list[str]:
    """Run every plan; return one line per plan that went wrong."""
    failures: list[str] = []
    for plan in plans:
        result = run_seed(SCENARIOS[scenario], DESIGNS[design], seed, plan, keep_world=True,
                          baselines=BASELINES)
        problems = [v.headline() for v in result.violations]
        if result.fired != list(range(len(plan.faults))):
            problems.append(f"only faults {result.fired} fired")
        charges = charges_by_customer(result)
        if charges != base.charges:
            problems.append(f"charges {charges} != fault-free {base.charges}")
        if result.final_state != base.final_state:
            problems.append("final state differs from the fault-free run")
        if problems:
            failures.append(f"{plan.note}: {'; '.join(problems)}")
        assert result.world is not None
        result.world.dispose()
    return failures


CASES = [
    # scenario, design, seed, why this seed
    ("checkout", "reference", 0, "three paid orders"),
    ("checkout", "reference", 1, "other orders, other step orders"),
    ("checkout", "reference", 2, "one card declines"),
    ("checkout", "reference-2w", 0, "two workers: every op of each"),
    ("sre-incident", "reference", 0, "an unkeyed chat post on the way"),
    ("sre-incident", "reference", 1, "another incident"),
    ("subscription-renewal", "reference", 0, "three months, durable timers"),
    ("subscription-renewal", "reference", 8, "a provider outage during a renewal"),
]


@pytest.mark.parametrize(("scenario", "design", "seed", "why"), CASES,
                         ids=[f"{c[0]}-{c[1]}-{c[2]}" for c in CASES])
def test_every_single_crash_point(scenario: str, design: str, seed: int, why: str) -> None:
    base = Baseline(scenario, design, seed)
    ops = base.ops
    # Not vacuous: a real workflow's worth of port operations (sre-incident's one
    # workflow takes 27 since the worker caches its log and lease within a lease).
    assert all(n >= 5 for n in ops.values()) and sum(ops.values()) >= 25, ops
    plans = crash_points(ops)
    assert len(plans) == sum(ops.values())
    failures = check_plans(scenario, design, seed, base, plans)
    assert failures == [], f"{why}: {len(failures)} of {len(plans)} crash points failed"


def test_a_sample_of_crash_pairs_in_checkout() -> None:
    # Two crashes in one run: a crash during the recovery from the first one. Every 25th
    # of the ~5,500 pairs, so that each first crash point meets several second ones.
    base = Baseline("checkout", "reference", 0)
    ops = base.ops
    pairs = crash_pairs(ops)
    assert len(pairs) == ops["worker"] * (ops["worker"] - 1) // 2
    sample = pairs[::25]
    failures = check_plans("checkout", "reference", 0, base, sample)
    assert failures == [], f"{len(failures)} of {len(sample)} crash pairs failed"
