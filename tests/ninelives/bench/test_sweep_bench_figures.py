"""The scale figures of ``make bench`` (ninelives/_bench_figures.py): registered with the
targets docs/scale.md gives, measured as defined, and written by ``python -m
ninelives.bench`` itself. No timing is asserted here: speed lives in the bench."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from faults import FaultPlan, crash_points
from ninelives.bench import _bench as bench
from ninelives.bench import _figures as _bench_figures
from reference_agent import FLAWED, load_design
from scenarios import SCENARIOS, get_scenario, run_seed


def test_figures_are_registered_with_their_targets() -> None:
    figures = {f.name: f for f in bench.FIGURES}
    assert set(_bench_figures.FLAWED_DESIGNS) == set(FLAWED)
    for design in FLAWED:
        slug = design.replace("-", "_")
        assert f"detect_seeds_{slug}" in figures
        assert figures[f"detect_seconds_{slug}"].ok(1.9)
        assert not figures[f"detect_seconds_{slug}"].ok(2.1)
        assert figures[f"shrunk_faults_{slug}"].ok(2)
        assert not figures[f"shrunk_faults_{slug}"].ok(3)
    assert figures["sweep_speedup_2_workers"].ok(1.8)
    assert not figures["sweep_speedup_2_workers"].ok(1.7)
    assert "exhaustive_crash_points_checkout" in figures
    assert "exhaustive_seconds_checkout" in figures


def test_detection_is_the_first_failing_seed_of_the_quickest_scenario() -> None:
    design = "fresh-uuid-keys"
    found = _bench_figures.detect(design, max_seeds=50)
    assert found["seeds"] == found["seed"] + 1
    the_design = load_design(design)
    scenario = get_scenario(found["scenario"])
    first = run_seed(scenario, the_design, found["seed"])
    assert first.violations[0].invariant == found["invariant"]
    assert all(run_seed(scenario, the_design, s).ok for s in range(found["seed"]))
    # No scenario listed before it fails sooner; none after it fails strictly sooner.
    order = list(SCENARIOS)
    here = order.index(found["scenario"])
    for i, name in enumerate(order):
        if name == found["scenario"]:
            continue
        sooner = range(found["seeds"] if i < here else found["seeds"] - 1)
        assert all(run_seed(get_scenario(name), the_design, s).ok for s in sooner), name


def test_bench_writes_the_figures_when_run_as_a_module(tmp_path: Path) -> None:
    # Under ``python -m ninelives.bench`` the registry is ``__main__``'s, not a second
    # import of ninelives.bench: the figures must land in the table and the file.
    out = tmp_path / "bench.json"
    proc = subprocess.run([sys.executable, "-m", "ninelives.bench", "--only",
                           "exhaustive_crash_points", "--repeat", "1", "--json", str(out)],
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "exhaustive_crash_points_checkout" in proc.stdout
    points = json.loads(out.read_text())["exhaustive_crash_points_checkout"]
    fault_free = run_seed(get_scenario("checkout"), load_design("reference"), 0,
                          FaultPlan(faults=[]), keep_world=True)
    assert fault_free.world is not None
    ops = {name: proc.ops for name, proc in fault_free.world.processes.items()}
    fault_free.world.dispose()
    assert points == len(crash_points(ops)) > 0
