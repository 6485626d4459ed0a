"""The figures of process isolation (docs/architecture.md, "Process isolation"): what
an incarnation and a port operation cost across processes, and a checkout sweep with
process isolation beside the same sweep inline, measured back to back in one run.

The two trivial designs below are at module level because a zygote imports them.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

from ._registry import figure

#: zero-length sleeps per run of ``_pings``: the port operations one figure averages over
PINGS = 200
#: runs per measurement of the incarnation and port-operation figures (the median is kept:
#: a 2-core machine shared with other work has outliers)
RUNS = 40
#: seeds of the paired checkout sweeps (each run in both modes)
PAIRED_SEEDS = range(60)


async def idle(env: Any) -> None:
    """Returns at once: a run of it is one incarnation and nothing else."""


async def pings(env: Any) -> None:
    """``PINGS`` zero-length sleeps: port operations with nothing between them."""
    for _ in range(PINGS):
        await env.clock.sleep(0)


async def aio_ticks(env: Any) -> None:
    """``PINGS`` ``asyncio.sleep(0)``: loop callbacks with nothing between them (each a
    core event in the harness, run in the child: one round trip)."""
    import asyncio

    for _ in range(PINGS):
        await asyncio.sleep(0)


def _run_s(main: Any, isolation: str) -> float:
    from simulator import World

    world = World(1, isolation=isolation)
    world.add_process("worker", main)
    start = time.perf_counter()
    world.run(1.0, 1.0)
    elapsed = time.perf_counter() - start
    world.dispose()
    return elapsed


def _median_s(main: Any, isolation: str) -> float:
    _run_s(main, isolation)  # warm-up: the zygote starts outside the clock
    return statistics.median(_run_s(main, isolation) for _ in range(RUNS))


@figure("incarnation_start_ms", unit="ms", target=2.0, higher_is_better=False)
def incarnation_start_ms() -> float:
    """One incarnation in process isolation, as the harness waits for it: a child taken
    from a warm zygote (its pipes handed over), started, and its exit received."""
    return (_median_s(idle, "process") - _median_s(idle, "inline")) * 1e3


@figure("port_op_cross_process_us", unit="us", target=30.0, higher_is_better=False)
def port_op_cross_process_us() -> float:
    """One port operation across processes (a request, the kernel's work, the answer),
    less the same operation inline."""
    cross = (_median_s(pings, "process") - _median_s(idle, "process")) / PINGS
    inline = (_median_s(pings, "inline") - _median_s(idle, "inline")) / PINGS
    return (cross - inline) * 1e6


@figure("aio_callback_cross_process_us", unit="us", target=30.0, higher_is_better=False)
def aio_callback_cross_process_us() -> float:
    """One asyncio loop callback of a process-isolated child (the harness's core event,
    the command, the callback in the child, its answer), less the same callback inline."""
    cross = (_median_s(aio_ticks, "process") - _median_s(idle, "process")) / PINGS
    inline = (_median_s(aio_ticks, "inline") - _median_s(idle, "inline")) / PINGS
    return (cross - inline) * 1e6


_PAIRED: list[tuple[float, float]] = []


def paired_checkout_sweeps() -> tuple[float, float]:
    """(inline, process) checkout seeds fully checked per second, the reference design,
    the same seeds back to back (each with its own ``Baselines``)."""
    from reference_agent import DESIGNS
    from scenarios import SCENARIOS, Baselines, run_seed

    scenario, design = SCENARIOS["checkout"], DESIGNS["reference"]
    rates = []
    for isolation in ("inline", "process"):
        for warm in range(1000, 1006):  # imports, and every zygote of the palette
            run_seed(scenario, design, warm, isolation=isolation)
        baselines = Baselines()
        start = time.perf_counter()
        for seed in PAIRED_SEEDS:
            run_seed(scenario, design, seed, baselines=baselines, isolation=isolation)
        rates.append(len(PAIRED_SEEDS) / (time.perf_counter() - start))
    result = (rates[0], rates[1])
    _PAIRED.append(result)
    return result


@figure("runs_per_s_checkout_process", unit="runs/s")
def runs_per_s_checkout_process() -> float:
    """checkout with process isolation: seeds fully checked per wall second (one worker)."""
    return paired_checkout_sweeps()[1]


@figure("runs_per_s_checkout_inline_paired", unit="runs/s")
def runs_per_s_checkout_inline_paired() -> float:
    """checkout inline, measured beside runs_per_s_checkout_process (same seeds, same
    minute of the machine)."""
    return (_PAIRED.pop(0) if _PAIRED else paired_checkout_sweeps())[0]


@figure("process_isolation_slowdown_checkout", unit="x", target=3.0, higher_is_better=False)
def process_isolation_slowdown_checkout() -> float:
    """How many times slower a checkout sweep is with process isolation than inline,
    from one paired measurement."""
    inline, process = paired_checkout_sweeps()
    return inline / process
