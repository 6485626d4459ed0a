"""A disposed world pins nothing big, and its killed tasks never run their handlers."""

from __future__ import annotations

import gc
import subprocess
import sys
import textwrap

from faults import Crash, FaultPlan
from reference_agent import DESIGNS
from scenarios import get_scenario, run_seed
from simulator import SimStore, Trace, World, graveyard_size

HANDLERS_RAN: list[str] = []


async def stubborn(env) -> None:
    try:
        while True:
            async with env.store.transaction() as tx:
                tx.put("t", "k", {"big": "x" * 10_000})
            await env.clock.sleep(1)
    except BaseException:
        HANDLERS_RAN.append("except")
        raise
    finally:
        HANDLERS_RAN.append("finally")


def test_killed_tasks_never_run_handlers_even_after_dispose_and_gc() -> None:
    world = World(5)
    process = world.add_process("worker", stubborn)
    before = graveyard_size()
    world.run(0, 0)  # start the process; nothing runs past time 0 yet
    world.kernel.scheduler.call_at(3_500_000_000, process.crash)
    world.kernel.run(until=10)
    assert graveyard_size() > before
    world.dispose()
    del world, process
    gc.collect()
    assert HANDLERS_RAN == []


def test_sweep_with_crashes_leaves_no_world_state_alive() -> None:
    scenario, design = get_scenario("checkout"), DESIGNS["reference"]
    gc.collect()
    # (other tests may legitimately keep worlds alive: only new ones count)
    old = {id(o) for o in gc.get_objects() if isinstance(o, Trace | SimStore)}
    for seed in range(30):
        plan = FaultPlan(faults=[Crash(process="worker", at_op=5 + seed, after_ms=seed % 3)])
        assert run_seed(scenario, design, seed, plan=plan).ok
    gc.collect()
    # Killed tasks stay frozen forever, but what their frames still reach is emptied.
    new = [o for o in gc.get_objects() if isinstance(o, Trace | SimStore) and id(o) not in old]
    live_traces = [o for o in new if isinstance(o, Trace) and len(o)]
    live_stores = [o for o in new if isinstance(o, SimStore) and o.dump()]
    assert new, "the crashed runs' frozen frames should still reach (empty) shells"
    assert live_traces == []
    assert live_stores == []


def test_not_even_at_interpreter_exit(tmp_path) -> None:
    script = textwrap.dedent("""
        from simulator import World

        async def main(env):
            try:
                await env.clock.sleep(100)
            finally:
                print("FINALLY RAN")

        world = World(1)
        process = world.add_process("worker", main)
        world.run(0, 0)
        world.kernel.scheduler.call_at(1_000_000_000, process.crash)
        world.kernel.run(until=5)
        world.dispose()
        print("done")
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "done"
    assert "Exception ignored" not in proc.stderr and "FINALLY" not in proc.stderr
