"""Each flawed design is caught, for its own flaw, within 200 seeds in every scenario
where that flaw can show - and the violation names the invariant, carries the evidence
and the command that reproduces it.

Measured (first seed, 0-based, at which the named invariant fired; runs out of 200 that
broke it), at the commit that added this file:

=================== ====================== ========================= ======= =======
design              scenario               invariant                 first   runs
=================== ====================== ========================= ======= =======
naive-loop          checkout               exactly-once-charge       2       41
naive-loop          sre-incident           at-most-once-chat         25      20
naive-loop          subscription-renewal   exactly-once-charge       7       47
fresh-uuid-keys     checkout               exactly-once-charge       1       30
fresh-uuid-keys     sre-incident           resume-equivalence        11      9
fresh-uuid-keys     subscription-renewal   exactly-once-charge       1       65
timeout-as-failure  checkout               exactly-once-charge       1       35
timeout-as-failure  sre-incident           resume-equivalence        7       16
timeout-as-failure  subscription-renewal   exactly-once-charge       1       77
fused               checkout               no-effect-outside-gate    0       8
fused               sre-incident           no-effect-outside-gate    17      11
fused               subscription-renewal   no-effect-outside-gate    0       22
unrecorded-model    checkout               model-once-per-decision   2       26
unrecorded-model    sre-incident           model-once-per-decision   11      8
unrecorded-model    subscription-renewal   model-once-per-decision   0       55
=================== ====================== ========================= ======= =======

In sre-incident the only keyed tool is ``ops.restart``: a fresh or missing key restarts
the service twice, which the final state (not a ledger) shows.
"""

from __future__ import annotations

import pytest

from reference_agent import DESIGNS, FLAWED
from scenarios import SCENARIOS, Baselines, run_seed

WITHIN = 200
CAUGHT = [
    ("naive-loop", "checkout", "exactly-once-charge"),
    ("naive-loop", "sre-incident", "at-most-once-chat"),
    ("naive-loop", "subscription-renewal", "exactly-once-charge"),
    ("fresh-uuid-keys", "checkout", "exactly-once-charge"),
    ("fresh-uuid-keys", "sre-incident", "resume-equivalence"),
    ("fresh-uuid-keys", "subscription-renewal", "exactly-once-charge"),
    ("timeout-as-failure", "checkout", "exactly-once-charge"),
    ("timeout-as-failure", "sre-incident", "resume-equivalence"),
    ("timeout-as-failure", "subscription-renewal", "exactly-once-charge"),
    ("fused", "checkout", "no-effect-outside-gate"),
    ("fused", "sre-incident", "no-effect-outside-gate"),
    ("fused", "subscription-renewal", "no-effect-outside-gate"),
    ("unrecorded-model", "checkout", "model-once-per-decision"),
    ("unrecorded-model", "sre-incident", "model-once-per-decision"),
    ("unrecorded-model", "subscription-renewal", "model-once-per-decision"),
]
BASELINES = Baselines()


def test_every_flawed_design_is_covered() -> None:
    assert {d for d, _, _ in CAUGHT} == set(FLAWED)


@pytest.mark.parametrize(("design", "scenario", "invariant"), CAUGHT,
                         ids=[f"{d}-{s}" for d, s, _ in CAUGHT])
def test_flawed_design_is_caught(design: str, scenario: str, invariant: str) -> None:
    for seed in range(WITHIN):
        result = run_seed(SCENARIOS[scenario], DESIGNS[design], seed, baselines=BASELINES)
        found = [v for v in result.violations if v.invariant == invariant]
        if found:
            break
    else:
        pytest.fail(f"{design} was not caught for {invariant} in {WITHIN} seeds of {scenario}")
    v = found[0]
    assert v.evidence
    assert (v.scenario, v.design, v.seed) == (scenario, design, seed)
    assert v.plan_size == len(result.plan.faults) > 0
    assert v.repro == (f"ninelives replay --scenario {scenario} --design {design} "
                       f"--seed {seed}")
    # Reproducible: the same seed breaks the same invariant again.
    again = run_seed(SCENARIOS[scenario], DESIGNS[design], seed, baselines=BASELINES)
    assert [x.model_dump() for x in again.violations] == [
        x.model_dump() for x in result.violations]
