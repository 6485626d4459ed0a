"""Metrics series and log lines are remembered per process: a hit gives what a fresh
generation gives, and nobody can change what the next caller gets."""

from __future__ import annotations

import random

from fakes import Logs, Metrics, _sre, make_incident


def _world(seed: int) -> tuple[Metrics, Logs, _sre.Incident]:
    inc = make_incident(random.Random(seed))
    return Metrics(inc, random.Random(seed + 1)), Logs(inc, random.Random(seed + 2)), inc


def test_remembered_series_and_lines_equal_fresh_ones() -> None:
    for seed in range(6):
        metrics, logs, inc = _world(seed)
        first = {(s, m): metrics.series(s, m) for s in inc.services for m in _sre.METRICS}
        lines = {s: logs.lines(s) for s in inc.services}
        again_metrics, again_logs, _ = _world(seed)  # another world, same seed: hits
        _sre._SERIES.clear()
        _sre._LINES.clear()
        fresh_metrics, fresh_logs, _ = _world(seed)
        for (s, m), points in first.items():
            assert again_metrics.series(s, m) == points == fresh_metrics.series(s, m)
            assert all(type(t) is int and type(v) is float for t, v in points)
        for s, got in lines.items():
            assert again_logs.lines(s) == got == fresh_logs.lines(s)


def test_callers_get_their_own_copies() -> None:
    metrics, logs, inc = _world(3)
    points = metrics.series(inc.service, "cpu")
    points[0][1] = -1.0
    points.append([0, 0.0])
    logs.lines(inc.service)[0]["message"] = "changed"
    other_metrics, other_logs, _ = _world(3)
    assert other_metrics.series(inc.service, "cpu") == metrics.series(inc.service, "cpu")
    assert other_metrics.series(inc.service, "cpu")[0][1] != -1.0
    assert other_logs.lines(inc.service)[0]["message"] != "changed"


def test_the_memory_is_bounded() -> None:
    for seed in range(_sre._MEMO_MAX + 5):
        metrics, _, inc = _world(seed)
        metrics.series(inc.service, "cpu")
    assert len(_sre._SERIES) == _sre._MEMO_MAX
