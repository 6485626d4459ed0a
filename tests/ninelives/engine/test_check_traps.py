"""``ninelives check`` fails each trap design of issue 16 on the question its flaw
touches, and the reference still passes all four (the full set of experiments, once).

Each trap runs only the experiment families its flaw shows in, so the file stays fast;
``test_reference_passes_every_experiment`` runs them all.
"""

from __future__ import annotations

import functools

import pytest

from ninelives.engine import CheckReport
from ninelives.engine import check_design as _check_design


@functools.cache
def check_design(design: str, experiments: tuple[str, ...] | None = None,
                 isolation: str = "process") -> CheckReport:
    """Each (design, experiments, mode) checked once for the whole file (deterministic).
    Process isolation is check's own default; inline is the fast mode, whose watch
    (simulator/_watch.py) stands in for real restarts."""
    return _check_design(design, experiments=experiments, isolation=isolation)


def _verdicts(report: CheckReport) -> dict[str, str]:
    return {q.id: q.verdict for q in report.questions}


def _question(report: CheckReport, qid: str):  # type: ignore[no-untyped-def]
    return next(q for q in report.questions if q.id == qid)


def test_reference_passes_every_experiment() -> None:
    report = check_design("reference")
    assert _verdicts(report) == dict.fromkeys(
        ("state", "retries", "split", "resumable_unit"), "pass")
    retries = _question(report, "retries")
    landed, _, tried = retries.evidence["in_flight_409"].partition(" of ")
    assert int(landed) > 0 and int(tried) >= int(landed)  # the 409 experiment landed
    assert "another hash seed" in retries.summary


def test_two_workers_get_pauses_past_their_lease_and_the_fenced_reference_passes() -> None:
    report = check_design("reference-2w", experiments=("lease",))
    state = _question(report, "state")
    assert state.verdict == "pass" and state.evidence["lease_pauses"] > 50


# (design, experiments it needs, question, what the finding says inline, and with
# process isolation, where a crash is a real process death: the flaw itself shows)
TRAPS = [
    ("module-state", ("crash",), "state", "process-local-state", "after a crash it redid"),
    ("thread", ("crash",), "state", "thread-started", "the design started a thread"),
    ("mark-done-first", ("crash",), "state", "a crash changed the outcome",
     "a crash changed the outcome"),
    ("unfenced-2w", ("lease",), "state", "frozen past its lease", "frozen past its lease"),
    ("hash-keys", ("crash", "hash-seed"), "retries", "under another hash seed",
     "changed across a restart"),
    ("import-clock", ("retry", "late-retry"), "retries", "the retry repeated the effect",
     "the retry repeated the effect"),
]


@pytest.mark.parametrize("isolation", ["inline", "process"])
@pytest.mark.parametrize(("design", "experiments", "qid", "says_inline", "says_process"),
                         TRAPS, ids=[t[0] for t in TRAPS])
def test_trap_fails_the_question_its_flaw_touches(design: str, experiments: tuple[str, ...],
                                                  qid: str, says_inline: str,
                                                  says_process: str, isolation: str) -> None:
    report = check_design(design, experiments, isolation)
    q = _question(report, qid)
    assert q.verdict == "fail", q.summary
    assert (says_inline if isolation == "inline" else says_process) in q.summary
    assert q.repro and f"--design {design}" in q.repro and q.seed == 1
    # The same experiments pass the reference: the finding is the trap's flaw.
    assert _question(check_design("reference", experiments, isolation), qid).verdict \
        == "pass"


def test_module_state_names_the_module_and_the_global() -> None:
    q = _question(check_design("module-state", ("crash",), "inline"), "state")
    assert "reference_agent.flawed._module_state" in q.summary and "STEPS" in q.summary
    assert "--isolation process" in q.summary


def test_mark_done_first_reports_an_order_paid_and_never_charged() -> None:
    q = _question(check_design("mark-done-first", experiments=("crash",)), "state")
    # The silent loss first: the outcome is the fault-free one, the world is not.
    assert '"status": "paid"' in q.summary
    assert q.evidence["invariant"] == "resume-equivalence"
    assert q.evidence["crash_points_changed"] >= 1


def test_import_clock_key_changes_only_on_a_late_retry() -> None:
    early = check_design("import-clock", experiments=("retry",))
    assert _question(early, "retries").verdict == "pass"  # within the minute: same key
    late = _question(check_design("import-clock", experiments=("retry", "late-retry")),
                     "retries")
    assert late.plan is not None
    assert {f["kind"] for f in late.plan["faults"]} == {"lose_response", "pause"}


def test_hash_keys_passes_state_inline_and_names_both_keys() -> None:
    report = check_design("hash-keys", ("crash", "hash-seed"), "inline")
    assert _question(report, "state").verdict == "pass"  # one process: one hash seed
    change = _question(report, "retries").evidence["key_change"]
    assert change["key_here"] != change["key_there"]


def test_a_retry_interrupted_by_a_restart_is_the_retries_question_too() -> None:
    # Decided in the fifth session (docs/architecture.md, "check"): a key made from the
    # step is only as stable as the step. This design does not record the model's
    # answers, so the process that restarts between a lost charge and its retry asks
    # again, may number the charge as another step, and charges under a new key. A
    # "pass" for retries would be contradicted by production; so it fails both.
    report = check_design("unrecorded-model", experiments=("crash", "retry"))
    assert _question(report, "state").verdict == "fail"
    retries = _question(report, "retries")
    assert retries.verdict == "fail"
    assert retries.plan is not None
    assert [f["kind"] for f in retries.plan["faults"]] == ["lose_response", "crash"]


def test_durable_example_fails_only_retries_past_the_key_lifetime() -> None:
    report = check_design("examples.durable_design:design",
                          experiments=("crash", "retry", "late-retry", "key-lifetime",
                                       "split"))
    assert _verdicts(report) == {"state": "pass", "retries": "fail", "split": "pass",
                                 "resumable_unit": "pass"}
    assert "24 h key lifetime" in _question(report, "retries").summary


def test_a_design_failing_without_faults_in_one_scenario_says_so() -> None:
    # naive-loop sleeps through each subscription's month in turn: it cannot finish
    # subscription-renewal even without faults; checkout's questions are still answered.
    report = check_design("naive-loop", experiments=("crash",))
    retries = _question(report, "retries")
    assert retries.verdict == "fail"
    assert "without faults, in subscription-renewal" in retries.summary
    state = _question(report, "state")
    assert state.verdict == "fail" and "without faults" not in state.summary


def test_unknown_experiment_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown experiments"):
        check_design("reference", experiments=("crash", "nope"))
