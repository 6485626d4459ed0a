"""The speed of real agent code under ninelives: the durable SDK checkout example
(``examples/sdk_agent/durable.py``: ``AsyncOpenAI`` tools, ``stripe.StripeClient``, a
SQLite step log) fully checked, and over a bare run of the same code.

The **bare run** is that agent as its own end-to-end test would run it with the network
mocked: ``asyncio.run(main(env))`` on asyncio's own loop, every ``httpx``/``httpx2``
request answered at once by the same wire doors over the same scenario world (a trivial
in-memory transport), ``env`` the bench's direct-call ports and a scratch data
directory. No kernel, no simulated network, no faults, no trace, no checks, no baseline.
What is left is the agent and the SDKs, which are costly on their own (one
``chat.completions.create`` is about 1.7 ms of openai's argument transform here).
"""

from __future__ import annotations

import asyncio
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ._registry import figure, in_child

SDK_DESIGN = "examples.sdk_agent.durable:design"
#: checkout seeds both figures time (fewer than the dialect's: an SDK seed is ~20x dearer)
SDK_SEEDS = range(0, 20)


@contextmanager
def _in_memory_transports(router: Any) -> Iterator[None]:
    """Every httpx/httpx2 async transport answers from ``router``'s doors, at once."""
    import httpx

    from fakes.wire import HttpRequest, serve

    modules = [httpx]
    try:
        import httpx2

        modules.append(httpx2)
    except ImportError:  # pragma: no cover - httpx2 is in the sdk extra
        pass
    saved = []
    for module in modules:
        cls = module.AsyncHTTPTransport

        async def handle(self: Any, request: Any, module: Any = module) -> Any:
            body = await request.aread()
            wire = HttpRequest(request.method, str(request.url), dict(request.headers), body)
            door = router.door_for(wire)
            response, _ = serve(door, wire, 0)
            return module.Response(response.status, headers=list(response.headers.items()),
                                   content=response.body, request=request)

        saved.append((cls, cls.handle_async_request))
        cls.handle_async_request = handle
    try:
        yield
    finally:
        for cls, original in saved:
            cls.handle_async_request = original


def run_bare_sdk(scenario: Any, design: Any, seed: int) -> dict[str, Any]:
    """(The bare run.) The workflows' outcomes, by workflow id."""
    from fakes.wire import WireRouter, no_ca_loading
    from simulator import World

    from ._bare import BareEnv

    world = World(seed)
    scenario.build(world)
    router = WireRouter(scenario.http_doors(world))
    env = BareEnv(world, design.worker_names()[0])
    # on the same memory-backed disk as the simulation's data directories: a killed
    # process loses no page cache, so neither run pays for fsync
    shm = "/dev/shm" if Path("/dev/shm").is_dir() else None
    data = Path(tempfile.mkdtemp(prefix="ninelives-bare-", dir=shm))
    env.data_dir = data  # type: ignore[attr-defined]
    try:
        # no CA bundle either, as in the simulation: the ratio is the harness's cost
        with _in_memory_transports(router), no_ca_loading():
            asyncio.run(design.main(env))
    finally:
        shutil.rmtree(data, ignore_errors=True)
        world.dispose()
    return env.tasks.outcomes


def sdk_overhead(seeds: list[int], isolation: str) -> dict[str, Any]:
    """(In a child.) Wall seconds of bare and of fully checked runs (each seed's swarm
    plan, every invariant, its baseline) of the durable SDK example, seed by seed."""
    from reference_agent import load_design
    from scenarios import Baselines, get_scenario, run_seed

    scenario, design = get_scenario("checkout"), load_design(SDK_DESIGN)
    run_seed(scenario, design, 10_000, isolation=isolation)  # warm-up: imports, zygote
    run_bare_sdk(scenario, design, 10_000)
    bare = checked = 0.0
    baselines = Baselines()
    for seed in seeds:
        start = time.perf_counter()
        run_bare_sdk(scenario, design, seed)
        middle = time.perf_counter()
        run_seed(scenario, design, seed, baselines=baselines, isolation=isolation)
        checked += time.perf_counter() - middle
        bare += middle - start
    return {"bare_s": bare, "checked_s": checked, "seeds": len(seeds)}


#: the figures that read each isolation mode's measurement: one side-by-side measurement
#: serves them all in a repetition, and the next repetition measures anew (as
#: ``_bench._SWEEPS`` does for runs/s and time compression)
_READERS = {"process": 1, "inline": 2}
_PENDING: dict[str, tuple[dict[str, Any], int]] = {}


def _measure(isolation: str) -> dict[str, Any]:
    m, left = _PENDING.pop(isolation, ({}, 0))
    if not left:
        m = in_child("ninelives.bench._sdk", "sdk_overhead", list(SDK_SEEDS), isolation)
        left = _READERS[isolation]
        print(f"  sdk checkout ({isolation}): bare {m['bare_s'] / m['seeds'] * 1e3:.1f} ms, "
              f"checked {m['checked_s'] / m['seeds'] * 1e3:.1f} ms a seed", file=sys.stderr)
    if left > 1:
        _PENDING[isolation] = (m, left - 1)
    return m


@figure("runs_per_s_sdk_checkout", unit="runs/s")
def runs_per_s_sdk() -> float:
    """The durable SDK checkout example: seeds fully checked per wall second, one worker,
    in process isolation (the default for a user's design)."""
    m = _measure("process")
    return float(m["seeds"] / m["checked_s"])


@figure("runs_per_s_sdk_checkout_inline", unit="runs/s")
def runs_per_s_sdk_inline() -> float:
    """The same, inline (``--isolation inline``)."""
    m = _measure("inline")
    return float(m["seeds"] / m["checked_s"])


@figure("overhead_ratio_sdk_checkout", unit="x", target=3.0, higher_is_better=False)
def overhead_ratio_sdk() -> float:
    """A fully checked seed of the durable SDK example, inline, over a bare run of the
    same agent code (the SDKs on an in-memory transport, no faults, no trace, no checks)."""
    m = _measure("inline")
    return float(m["checked_s"] / m["bare_s"])
