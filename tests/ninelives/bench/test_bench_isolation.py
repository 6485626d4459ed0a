"""The process-isolation figures of ``make bench`` (ninelives/bench/_isolation.py):
registered with the issue's targets, and measuring what they say (speed itself is stated
by the bench, never asserted here)."""

from __future__ import annotations

from ninelives import bench
from ninelives.bench import _isolation


def test_figures_are_registered_with_their_targets() -> None:
    figures = {f.name: f for f in bench.FIGURES}
    assert figures["incarnation_start_ms"].ok(1.9)
    assert not figures["incarnation_start_ms"].ok(2.1)
    assert figures["port_op_cross_process_us"].ok(29)
    assert not figures["port_op_cross_process_us"].ok(31)
    assert figures["process_isolation_slowdown_checkout"].ok(2.9)
    assert not figures["process_isolation_slowdown_checkout"].ok(3.1)
    assert "runs_per_s_checkout_process" in figures
    assert "runs_per_s_checkout_inline_paired" in figures


def test_the_incarnation_and_port_figures_measure_process_runs(monkeypatch) -> None:
    from simulator import World

    monkeypatch.setattr(_isolation, "RUNS", 3)
    modes: list[str] = []
    real_init = World.__init__

    def spy(self, seed, **kwargs):  # type: ignore[no-untyped-def]
        modes.append(kwargs.get("isolation", "inline"))
        real_init(self, seed, **kwargs)

    monkeypatch.setattr(World, "__init__", spy)
    assert _isolation.incarnation_start_ms() > 0  # a fork and two messages cost something
    assert _isolation.port_op_cross_process_us() > 0
    assert set(modes) == {"inline", "process"}
