"""Long values are cut one way everywhere (scenarios/_abridge.py)."""

from __future__ import annotations

import pytest

from faults import FaultPlan
from scenarios import EVIDENCE_CHARS, RunResult, Violation, clip, one_line


def test_clip_keeps_what_fits_and_cuts_the_rest_to_the_limit() -> None:
    assert clip("abc", 3) == "abc"
    assert clip("abcd", 3) == "ab…"
    assert len(clip("x" * 10_000, 160)) == 160
    with pytest.raises(ValueError):
        clip("abc", 0)


def test_one_line_shows_strings_bare_and_the_rest_as_sorted_compact_json() -> None:
    assert one_line("a b") == "a b"
    assert one_line({"b": [1, None], "a": True}) == '{"a":true,"b":[1,null]}'
    assert one_line({"when": FaultPlan}).startswith('{"when":"<class')  # not JSON: str
    assert one_line(list(range(1000)), 20) == "[0,1,2,3,4,5,6,7,8,…"


def test_the_pytest_message_cuts_evidence_at_the_shared_limit() -> None:
    from ninelives.testing._pytest import SweepSummary, failure_message

    evidence = {"ledger": ["x" * 100] * 50}
    violation = Violation(invariant="exactly-once-charge", message="charged twice",
                          evidence=evidence, seed=3)
    run = RunResult(scenario="checkout", design="reference", seed=3, plan=FaultPlan(),
                    violations=[violation], fired=[], situations={}, final_state={},
                    finished=True, virtual_ns=0, events=0)
    summary = SweepSummary(scenario="checkout", design="reference", seeds_requested=1,
                           seeds=[3], failures=[run])
    line = next(x for x in failure_message(summary, "t.py::t").splitlines()
                if x.startswith("  evidence: "))
    shown = line.removeprefix("  evidence: ")
    assert len(shown) == EVIDENCE_CHARS and shown.endswith("…")
    assert shown == one_line(evidence)
