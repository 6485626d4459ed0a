"""Speed as ratios, each measured side by side in one run (docs/scale.md, "Ratios"), and
how fast the default sweep finds a rare bug against uniform swarm sampling.

A wall-clock figure on a shared machine moves with whatever else runs; two measurements
taken back to back in one process mostly move together, so their ratio says something
about ninelives itself. Timed parts run in a fresh interpreter (``_figures._in_child``),
after a warm-up, as every timed figure of the bench does.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from ._figures import WARMUP_SEED, _warm_up
from ._registry import REPO_ROOT, figure, in_child

#: checkout seeds the overhead ratio times, fully checked and bare
OVERHEAD_SEEDS = range(0, 60)
#: the seed whose workflows run in the simulation and in real mode
REAL_SEED = 1
#: the rare bug, and the sweep bases its detection figures take the median over
RARE = ("sre-incident", "reference-settle-reckoned")
RARE_BASES = (0, 100_000, 200_000)
#: a sweep that has not found it by then counts as this many seeds (and its time)
RARE_MAX_SEEDS = {"guided": 4_000, "uniform": 20_000}
#: checkout seeds the Dask speed-up sweeps, as ``sweep_speedup_2_workers`` does
DASK_SWEEP = ("checkout", "reference", 1_000)


def _in_child(function: str, *args: Any) -> dict[str, Any]:
    """``function(*args)`` of this module, in a fresh interpreter (``_registry.in_child``)."""
    return in_child("ninelives.bench._ratios", function, *args)


# -- overhead: a fully checked seed over a bare run -------------------------------------------

def overhead(seeds: list[int]) -> dict[str, Any]:
    """(In a child.) Wall seconds of a bare run (``_bare.run_bare``) and of a fully
    checked run (``run_seed`` as a sweep makes it: the seed's swarm plan, every invariant,
    the fault-free baseline when the plan touched the run) of the same checkout seeds,
    alternating seed by seed so that both see the same machine."""
    from reference_agent import load_design
    from scenarios import Baselines, get_scenario, run_seed

    from ._bare import run_bare

    scenario, design = get_scenario("checkout"), load_design("reference")
    _warm_up("checkout", "reference")
    run_bare(scenario, design, WARMUP_SEED)
    bare = checked = 0.0
    baselines = Baselines()
    for seed in seeds:
        start = time.perf_counter()
        run_bare(scenario, design, seed)
        middle = time.perf_counter()
        run_seed(scenario, design, seed, baselines=baselines)
        checked += time.perf_counter() - middle
        bare += middle - start
    return {"bare_s": bare, "checked_s": checked}


@figure("overhead_ratio_checkout", unit="x", target=2.5, higher_is_better=False)
def overhead_ratio() -> float:
    """A fully checked checkout seed (its swarm plan, every check, its fault-free
    baseline) over a bare run of the same design and seed (ports as direct calls, no
    faults, no trace, no checks), over checkout seeds 0-59."""
    result = _in_child("overhead", list(OVERHEAD_SEEDS))
    print(f"  overhead: bare {result['bare_s'] / len(OVERHEAD_SEEDS) * 1e3:.2f} ms, checked "
          f"{result['checked_s'] / len(OVERHEAD_SEEDS) * 1e3:.2f} ms a seed", file=sys.stderr)
    return float(result["checked_s"] / result["bare_s"])


# -- the same workflows in the simulation and in real mode -------------------------------------

def simulated(scenario: str, seed: int) -> dict[str, Any]:
    """(In a child.) Wall seconds of one fault-free, fully checked run of ``seed``."""
    from faults import FaultPlan
    from reference_agent import load_design
    from scenarios import get_scenario, run_seed

    _warm_up(scenario, "reference")
    start = time.perf_counter()
    result = run_seed(get_scenario(scenario), load_design("reference"), seed,
                      FaultPlan(faults=[]))
    return {"seconds": time.perf_counter() - start, "virtual_s": result.virtual_ns / 1e9,
            "ok": result.ok}


def real(scenario: str, seed: int) -> float:
    """Wall seconds of the same workflows in real mode at time scale 1, as a user's own
    end-to-end test would run them: start the services (HTTP, the scripted model with
    the simulated model's latency) and one worker (trio, SQLite), wait for the worker
    to finish every workflow and exit. Process start-up included: the test pays it."""
    real_cli = [sys.executable, "-m", "ninelives.real"]
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        services = subprocess.Popen(
            [*real_cli, "services", "--scenario", scenario, "--seed", str(seed),
             "--ledger", str(Path(tmp) / "ledger.sqlite"), "--model-latency-ms", "200,2000"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=REPO_ROOT)
        try:
            assert services.stdout is not None
            line = services.stdout.readline()
            if "http://" not in line:
                raise RuntimeError(f"the services did not start: {line!r}")
            url = line.strip().split()[-1]
            worker = subprocess.run(
                [*real_cli, "agent", "--db", str(Path(tmp) / "worker.sqlite"),
                 "--services", url], capture_output=True, text=True, cwd=REPO_ROOT,
                timeout=600, check=False)
            if worker.returncode != 0:
                raise RuntimeError(f"the real worker failed: {worker.stderr[-300:]}")
            return time.perf_counter() - start
        finally:
            services.terminate()
            services.wait(timeout=10)


_REAL: list[float] = []


@figure("sim_vs_real_speedup_checkout", unit="x", target=1_000)
def sim_vs_real() -> float:
    """Wall time of checkout's workflows (seed 1, reference design, no faults) in real
    mode at time scale 1 over the same in the simulation (fully checked). Real mode is
    run once per bench (it takes tens of seconds); the simulation each time."""
    sim = _in_child("simulated", "checkout", REAL_SEED)
    if not _REAL:
        _REAL.append(real("checkout", REAL_SEED))
        print(f"  real mode: {_REAL[0]:.1f} s; simulation {sim['seconds'] * 1e3:.1f} ms "
              f"({sim['virtual_s']:.1f} virtual s)", file=sys.stderr)
    return _REAL[0] / sim["seconds"]


# -- sweeps on a local two-worker Dask cluster ---------------------------------------------------

def dask_rate(scenario: str, design: str, seeds: int) -> dict[str, Any]:
    """(In a child.) Runs per wall second of the same sweep on one local worker and on a
    local two-process Dask cluster (started before the clock, as a standing cluster is;
    one warm-up batch on it first)."""
    from distributed import Client, LocalCluster

    from ..engine import sweep

    _warm_up(scenario, design)
    start = time.perf_counter()
    sweep(scenario, design, seeds, workers=1, check_reproducible=False)
    one = seeds / (time.perf_counter() - start)
    with LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        sweep(scenario, design, 4, WARMUP_SEED, dask=client, check_reproducible=False)
        start = time.perf_counter()
        sweep(scenario, design, seeds, dask=client, check_reproducible=False)
        two = seeds / (time.perf_counter() - start)
    return {"one": one, "two": two}


@figure("sweep_speedup_dask_2_workers", unit="x", target=1.8)
def dask_speedup() -> float:
    """Runs per second of the default sweep (checkout, reference, 1,000 runs) on a local
    two-worker Dask cluster over one local worker, back to back in one process."""
    rates = _in_child("dask_rate", *DASK_SWEEP)
    print(f"  runs/s: 1 worker {rates['one']:.1f}, Dask 2 workers {rates['two']:.1f}",
          file=sys.stderr)
    return float(rates["two"] / rates["one"])


# -- the rare bug: the coverage-guided sweep against uniform sampling ---------------

def rare_detect(mode: str, base: int) -> dict[str, Any]:
    """(In a child.) Runs of the sweep from ``base`` (one worker) until the rare bug's
    first violation, and the wall seconds they took: ``guided`` is ``ninelives run
    --guided``, generation by generation; ``uniform`` is the default sweep."""
    from reference_agent import load_design
    from scenarios import Baselines, get_scenario

    from ..engine import GuidedJobs, Job, run_jobs_here

    scenario_name, design_name = RARE
    scenario, design = get_scenario(scenario_name), load_design(design_name)
    _warm_up(scenario_name, design_name)
    limit = RARE_MAX_SEEDS[mode]
    baselines = Baselines()
    start = time.perf_counter()
    if mode == "uniform":
        for i in range(limit):
            [outcome] = run_jobs_here(scenario, design, scenario_name, design_name,
                                      [Job(index=i, seed=base + i)], baselines)
            if outcome.violations:
                return {"seeds": i + 1, "seconds": time.perf_counter() - start}
        return {"seeds": limit, "seconds": time.perf_counter() - start, "missed": True}
    plans = GuidedJobs(scenario_name, design_name, limit, base)
    jobs = plans.first()
    while jobs:
        outcomes = run_jobs_here(scenario, design, scenario_name, design_name, jobs,
                                 baselines)
        for outcome in outcomes:
            if outcome.violations:
                return {"seeds": outcome.index + 1, "seconds": time.perf_counter() - start}
        _, jobs = plans.next(outcomes)
    return {"seeds": limit, "seconds": time.perf_counter() - start, "missed": True}


_RARE: dict[str, list[dict[str, Any]]] = {}


def _rare(mode: str) -> list[dict[str, Any]]:
    # Measured once per bench: the seeds are deterministic, and the uniform sweeps take
    # minutes (thousands of seeds from each base).
    if mode not in _RARE:
        _RARE[mode] = [_in_child("rare_detect", mode, base) for base in RARE_BASES]
        print(f"  rare bug, {mode}: seeds {[r['seeds'] for r in _RARE[mode]]}, seconds "
              f"{[round(r['seconds'], 2) for r in _RARE[mode]]} from bases "
              f"{list(RARE_BASES)}", file=sys.stderr)
    return _RARE[mode]


def _register_rare(mode: str, what: str) -> None:
    def seeds() -> float:
        return float(statistics.median(r["seeds"] for r in _rare(mode)))

    def seconds() -> float:
        return float(statistics.median(r["seconds"] for r in _rare(mode)))

    seeds.__doc__ = (f"{what}: runs until the first violation of reference-settle-reckoned "
                     f"in sre-incident, median over sweep bases {RARE_BASES}.")
    seconds.__doc__ = f"{what}: wall seconds of those runs (one worker), median."
    target_seeds = 400 if mode == "guided" else None
    target_seconds = 3.0 if mode == "guided" else None
    figure(f"detect_seeds_rare_{mode}", unit="seeds", target=target_seeds,
           higher_is_better=False)(seeds)
    figure(f"detect_seconds_rare_{mode}", unit="s", target=target_seconds,
           higher_is_better=False)(seconds)


_register_rare("guided", "the coverage-guided sweep (ninelives run --guided)")
_register_rare("uniform", "uniform swarm sampling (the default sweep)")
