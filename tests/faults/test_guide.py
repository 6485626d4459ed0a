"""The coverage-guided planner (``faults.Guide``): features of a run's trace, what joins
the corpus, and plans that depend only on what was observed, in index order."""

from __future__ import annotations

import pytest

from faults import (
    ClockJump,
    Crash,
    Delay,
    FaultPlan,
    FaultSpace,
    Feedback,
    Guide,
    GuideConfig,
    Pause,
    Trial,
    generations,
    run_features,
)

SPACE = FaultSpace(processes=["worker"], tools=["chat.post", "chat.search"],
                   keyed_tools=[], max_ops_per_process=40, max_calls_per_tool=3,
                   max_model_calls=8)


def _post(request: int, late_after_timeout: bool) -> list[tuple[int, str, str, dict]]:
    events = [(0, "worker", "tool.request", {"tool": "chat.post", "call": 1,
                                             "request": request, "key": None})]
    service = [(1, "chat", "service.begin", {"endpoint": "post", "request": request,
                                             "duplicate": False})]
    timeout = [(2, "worker", "tool.timeout", {"tool": "chat.post", "request": request})]
    return events + (timeout + service if late_after_timeout else service + timeout)


def test_features_ignore_counters_and_what_was_injected() -> None:
    a = _post(3, late_after_timeout=False)
    b = [*_post(7, late_after_timeout=False),
         (3, "faults", "fault.fired", {"fault": {"kind": "delay"}, "index": 0}),
         (3, "network", "request.lost", {"tool": "chat.post", "request": 9})]
    assert run_features(a) == run_features(b)
    assert run_features(a) == tuple(sorted(run_features(a)))


def test_a_service_acting_after_its_caller_gave_up_is_new() -> None:
    on_time = set(run_features(_post(1, late_after_timeout=False)))
    late = set(run_features(_post(1, late_after_timeout=True)))
    assert late - on_time  # the late begin is a feature the on-time run lacks


def test_a_second_occurrence_is_a_new_feature() -> None:
    once = set(run_features(_post(1, False)))
    twice = set(run_features(_post(1, False) + _post(2, False)))
    assert once < twice


def test_the_first_generation_is_uniform_then_half_of_the_runs() -> None:
    guide = Guide(SPACE, first_seed=100, config=GuideConfig(generation=10))
    first = guide.trials(0, 10)
    assert first == [Trial(seed=100 + i) for i in range(10)]
    assert [guide.is_uniform(i) for i in range(10, 20)].count(True) == 5


def _feed(guide: Guide, trials: list[Trial], start: int) -> None:
    for i, trial in enumerate(trials, start=start):
        events = _post(1, late_after_timeout=i % 3 == 0) * (1 + i % 2)
        guide.observe(i, trial, Feedback(features=run_features(events),
                                         first=tuple(range(len(run_features(events)))),
                                         fired=((0, 0, "worker", 5),),
                                         ops=(("worker", (0, 1, 2, 3, 4, 5, 6)),)))


def test_plans_depend_only_on_what_was_observed_before() -> None:
    runs = []
    for _ in range(2):
        guide = Guide(SPACE, first_seed=7, config=GuideConfig(generation=6))
        out = []
        for start, stop in generations(0, 24, 6):
            trials = guide.trials(start, stop)
            _feed(guide, trials, start)
            out += trials
        runs.append(out)
    assert runs[0] == runs[1]
    guided = [t for t in runs[0] if t.plan is not None]
    assert guided  # the corpus was fed: later generations hold guided runs
    for trial in guided:  # every plan is a valid plan, and says where it came from
        assert FaultPlan.model_validate_json(trial.plan.model_dump_json()) == trial.plan
        assert trial.plan.note.startswith("guided: seed ")


def test_runs_must_be_observed_in_index_order_before_the_next_generation() -> None:
    guide = Guide(SPACE, config=GuideConfig(generation=4))
    trials = guide.trials(0, 4)
    with pytest.raises(ValueError, match="observe run 0 next"):
        guide.observe(1, trials[1], Feedback(features=()))
    with pytest.raises(ValueError, match="must be observed first"):
        guide.trials(4, 8)


def test_a_run_that_reached_nothing_new_does_not_join_the_corpus() -> None:
    guide = Guide(SPACE)
    events = _post(1, False)
    fb = Feedback(features=run_features(events), first=(0,) * len(run_features(events)))
    assert guide.observe(0, Trial(seed=0), fb) is True
    assert guide.observe(1, Trial(seed=1), fb) is False
    assert guide.corpus_size == 1


def test_a_paired_fault_lands_in_the_window_of_the_fault_before_it() -> None:
    # The parent: a delay that fired at the worker's op 14 (trace position 20); its new
    # behaviour at trace position 30, when the worker was at op 18. A process fault
    # paired with it lands between op 14 and a little after op 18.
    space = FaultSpace(processes=["worker"], tools=["chat.post"], max_ops_per_process=40,
                       max_calls_per_tool=3)
    guide = Guide(space, config=GuideConfig(generation=1, uniform_share=0.0, pair_share=1.0))
    delay = Delay(tool="chat.post", call=1, delay_ms=15_000, leg="request")
    marks = tuple(range(0, 36, 2))  # op n began at trace position 2 * (n - 1)
    guide.observe(0, Trial(seed=5, plan=FaultPlan(faults=[delay])),
                  Feedback(features=(1,), first=(30,), fired=((0, 20, "worker", 14),),
                           ops=(("worker", marks),),
                           calls=((20, "worker", "chat.post", 1),
                                  (32, "worker", "chat.post", 2))))
    trials = guide.trials(1, 400)
    assert {t.seed for t in trials} == {5}  # the parent's world, its baseline shared
    ops = [f.at_op for t in trials for f in t.plan.faults
           if isinstance(f, Crash | Pause | ClockJump)]
    assert ops and min(ops) >= 14 and max(ops) <= 16 + 2 + 2
    assert all(delay in t.plan.faults for t in trials)  # what fired before is kept
    calls = [f.call for t in trials for f in t.plan.faults
             if not isinstance(f, Crash | Pause | ClockJump) and f != delay
             and getattr(f, "tool", None) == "chat.post"]
    assert set(calls) <= {2}  # a call fault aims at the next call after the new behaviour
