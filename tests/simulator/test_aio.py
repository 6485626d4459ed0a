"""asyncio on the simulation's core (``simulator/_aio.py``): production behaviour on
virtual time, exact replay, crashes that run no ``finally``, ports from asyncio tasks,
and a named finding for every way out of the simulation."""

from __future__ import annotations

import asyncio
import gc
import json
import os
import random
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import aio_workload  # tests/simulator is on sys.path (pytest's rootdir import)
import pytest

from fakes import PaymentProvider, make_customers
from faults import Crash, FaultPlan, PlanHooks
from reference_agent import DESIGNS
from scenarios import SCENARIOS, run_seed
from simulator import (
    Design,
    Env,
    Kernel,
    Process,
    RunAborted,
    Shims,
    SimLoop,
    SimTimeout,
    SimulationEscape,
    World,
)

CHARGE = {"customer": "cus_1", "amount_cents": 1_250, "currency": "usd"}


def run_sim(main: Callable[[Process], Coroutine[Any, Any, Any]], seed: int = 1,
            ) -> tuple[Kernel, Process]:
    """Run ``main`` as a process's entry point to quiescence, inside the run's shims."""
    kernel = Kernel(seed)
    process = Process(kernel, "worker", main)
    with Shims(kernel):
        process.start()
        assert kernel.run(until=10 * 86_400)
    return kernel, process


def payments_world(main: Callable[[Env], Coroutine[Any, Any, Any]], faults: list[Any] | None
                   = None, seed: int = 0) -> tuple[World, PaymentProvider]:
    hooks = PlanHooks(FaultPlan(faults=faults)) if faults else None
    world = World(seed, hooks=hooks)
    provider = PaymentProvider(make_customers(random.Random(seed), 2))
    world.services["payments"] = provider
    world.add_process("worker", main)
    world.run(fault_window_s=3600, liveness_bound_s=60)
    return world, provider


# --- asyncio behaves as in production ------------------------------------------------------

UNIT = 0.02  # far apart enough that a real loop's output does not depend on its timing


async def production_program(log: list[Any]) -> None:
    """sleep, gather, wait_for, timeout, TaskGroup, Lock, Semaphore, Queue, as_completed,
    Event, shield: what a real loop prints for it does not depend on scheduling noise."""
    u = UNIT

    async def worker(name: str, ticks: int) -> str:
        await asyncio.sleep(ticks * u)
        log.append(("done", name))
        return name

    log.append(("gather", await asyncio.gather(worker("a", 3), worker("b", 1), worker("c", 2))))
    try:
        await asyncio.wait_for(worker("slow", 5), 2 * u)
    except TimeoutError:
        log.append("wait_for timed out")
    log.append(("wait_for", await asyncio.wait_for(worker("quick", 1), 5 * u)))
    try:
        async with asyncio.timeout(u):
            await asyncio.sleep(10 * u)
    except TimeoutError:
        log.append("timeout fired")

    async def boom() -> None:
        await asyncio.sleep(u)
        raise ValueError("boom")

    async def long(name: str) -> None:
        try:
            await asyncio.sleep(10 * u)
        except asyncio.CancelledError:
            log.append(("cancelled", name))
            raise

    try:
        async with asyncio.TaskGroup() as group:
            group.create_task(boom())
            group.create_task(long("x"))
    except* ValueError as errors:
        log.append(("taskgroup", [str(e) for e in errors.exceptions]))

    lock = asyncio.Lock()

    async def locked(n: int, ticks: int) -> None:
        async with lock:
            log.append(("lock", n))
            await asyncio.sleep(ticks * u)
            log.append(("unlock", n))

    await asyncio.gather(locked(1, 2), locked(2, 1), locked(3, 1))
    semaphore = asyncio.Semaphore(2)
    inside: list[int] = []

    async def limited(n: int) -> int:
        async with semaphore:
            inside.append(n)
            peak = len(inside)
            await asyncio.sleep(u * (1 + n))
            inside.remove(n)
            return peak

    log.append(("semaphore peaks", await asyncio.gather(*(limited(n) for n in range(4)))))
    queue: asyncio.Queue[int | None] = asyncio.Queue(maxsize=1)

    async def producer() -> None:
        for i in range(4):
            await queue.put(i)
        await queue.put(None)

    async def consumer() -> list[int]:
        out = []
        while (item := await queue.get()) is not None:
            out.append(item)
            await asyncio.sleep(u)
        return out

    log.append(("queue", (await asyncio.gather(producer(), consumer()))[1]))
    log.append(("as_completed", [await f for f in asyncio.as_completed(
        [worker("p", 3), worker("q", 1), worker("r", 2)])]))
    event = asyncio.Event()

    async def waiter(n: int) -> None:
        await event.wait()
        log.append(("woke", n))

    waiters = [asyncio.create_task(waiter(n)) for n in range(3)]
    await asyncio.sleep(u)
    event.set()
    await asyncio.gather(*waiters)
    inner = asyncio.create_task(worker("shielded", 2))
    try:
        await asyncio.wait_for(asyncio.shield(inner), u)
    except TimeoutError:
        log.append(("shield kept it running", await inner))
    log.append(("to_thread", await asyncio.to_thread(sorted, [3, 1, 2])))


def test_asyncio_behaves_as_on_a_real_loop() -> None:
    real: list[Any] = []
    asyncio.run(production_program(real))
    simulated: list[Any] = []

    async def main(process: Process) -> None:
        await production_program(simulated)

    kernel, _ = run_sim(main)
    assert simulated == real
    assert ("taskgroup", ["boom"]) in real and "timeout fired" in real  # it exercised them
    assert kernel.now_ns > 0


def test_an_hour_of_sleep_costs_no_wall_time() -> None:
    seen: list[float] = []

    async def main(process: Process) -> None:
        for _ in range(10):
            await asyncio.sleep(360)
        seen.append(asyncio.get_running_loop().time())
        seen.append(time.monotonic())  # the shimmed clock agrees with the loop's

    start = time.perf_counter()
    kernel, _ = run_sim(main)
    assert time.perf_counter() - start < 5  # a real loop would take the hour
    assert kernel.now_ns == 3600 * 10**9  # integer nanoseconds: ten sleeps, no drift
    assert seen == [3600.0, 3600.0]


def test_cancelled_timer_does_not_hold_time() -> None:
    # wait_for arms an hour-long timeout and cancels it when the sleep ends at 1 s:
    # the world is then quiescent at 1 s, not an hour later.
    async def main(process: Process) -> None:
        await asyncio.wait_for(asyncio.sleep(1), 3600)

    kernel, _ = run_sim(main)
    assert kernel.now_ns == 10**9


def test_call_soon_is_fifo_within_a_loop() -> None:
    order: list[int] = []

    async def main(process: Process) -> None:
        loop = asyncio.get_running_loop()
        for i in range(20):
            loop.call_soon(order.append, i)
        await asyncio.sleep(0)
        await asyncio.sleep(0)

    for seed in range(3):
        order.clear()
        run_sim(main, seed)
        assert order == list(range(20))


def test_equal_deadlines_are_broken_by_the_seed() -> None:
    def order(seed: int) -> list[int]:
        fired: list[int] = []

        async def main(process: Process) -> None:
            loop = asyncio.get_running_loop()
            for i in range(8):
                loop.call_later(1, fired.append, i)
            await asyncio.sleep(2)

        run_sim(main, seed)
        return fired

    orders = {tuple(order(seed)) for seed in range(6)}
    assert len(orders) > 1  # not insertion order, nor one fixed heap order
    assert order(4) == order(4)


def test_task_names_count_per_incarnation() -> None:
    names: list[str] = []

    async def main(process: Process) -> None:
        names.append(asyncio.current_task().get_name())  # type: ignore[union-attr]
        names.append(asyncio.create_task(asyncio.sleep(0)).get_name())
        await asyncio.sleep(1)

    kernel = Kernel(1)
    process = Process(kernel, "worker", main)
    with Shims(kernel):
        process.start()
        kernel.run(until=0.5)
        process.restart()
        kernel.run()
    assert names == ["Task-1", "Task-2", "Task-1", "Task-2"]


# --- replay is exact -------------------------------------------------------------------


def test_set_order_replays_exactly_in_one_process() -> None:
    runs = [aio_workload.run(3) for _ in range(4)]
    assert all(r == runs[0] for r in runs)
    kinds = [entry[1] for entry in runs[0]["log"]]
    for kind in ("wait.done", "as_completed", "taskgroup.cancelled", "queue"):
        assert kind in kinds
    # The ties really were ties: the seed changes the order of as_completed.
    others = {json.dumps(aio_workload.run(seed)["log"]) for seed in range(4, 8)}
    assert len(others) > 1


def _run_workload_in_subprocess(seed: int, hash_seed: str) -> dict[str, Any]:
    root = Path(aio_workload.__file__).resolve().parents[2]
    env = dict(os.environ, PYTHONHASHSEED=hash_seed,
               PYTHONPATH=os.pathsep.join(p for p in (str(root), os.environ.get(
                   "PYTHONPATH", "")) if p))
    proc = subprocess.run([sys.executable, aio_workload.__file__, str(seed)], cwd=root,
                          env=env, capture_output=True, text=True, check=True, timeout=120)
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


def test_same_seed_same_trace_across_processes_and_hash_seeds() -> None:
    a = _run_workload_in_subprocess(5, "0")
    b = _run_workload_in_subprocess(5, "12345")
    assert a == b
    assert json.loads(json.dumps(aio_workload.run(5))) == a  # and this process agrees


PINNED = {
    # Trace hashes of dialect designs computed on main before the asyncio loop existed
    # (every main(env) now starts as an asyncio task): crashes, fencing, pauses, two
    # workers. 282 runs were compared when the loop was added; these must not move.
    ("checkout", "reference", 1):
        "93802127d3009e9efb66581b85494b053baeee591ef3da6ba6a0c1be740d578e",
    ("checkout", "reference-2w", 110):
        "8b522407251b852cdb8a80de66690592295722de3f653b041cd2a8776d24db7f",
    ("sre-incident", "reference", 120):
        "2a36b28822009c8d0deb3c5fc25bf1687f3f4cd06d9966007d763a31bf787d36",
    ("subscription-renewal", "naive-loop", 1):
        "58be2915ce2bb3bafca1b352fcba301aa78f24af6ee070b47743488ee51b3c34",
}


@pytest.mark.parametrize(("scenario", "design", "seed"), sorted(PINNED))
def test_dialect_designs_keep_their_trace_hashes(scenario: str, design: str,
                                                  seed: int) -> None:
    result = run_seed(SCENARIOS[scenario], DESIGNS[design], seed, keep_world=True)
    assert result.world is not None
    assert result.world.kernel.trace.hash() == PINNED[(scenario, design, seed)]
    result.world.dispose()


# --- crashes: asyncio callbacks are fenced like dialect tasks ---------------------------------


def test_crash_mid_gather_runs_no_finally() -> None:
    events: list[str] = []

    async def charge(env: Env, i: int) -> None:
        try:
            await env.tools.call("payments.charge", dict(CHARGE),
                                 idempotency_key=f"k{env.incarnation}-{i}")
            events.append(f"charged {env.incarnation}-{i}")
        finally:
            events.append(f"finally {env.incarnation}-{i}")

    async def main(env: Env) -> None:
        # A task nobody references but the loop (weakly): only the graveyard keeps it.
        asyncio.create_task(charge(env, 9))  # noqa: RUF006 -- that is the point
        try:
            await asyncio.gather(*(charge(env, i) for i in range(3)))
        finally:
            events.append(f"main finally {env.incarnation}")

    # Op 2 is the second tool call; 5 ms later all four are on the wire.
    world, provider = payments_world(main, [Crash(process="worker", at_op=2, after_ms=5)])
    assert world.processes["worker"].crashes == 1
    # The dead incarnation's wakeups came due and were dropped...
    assert len(world.kernel.trace.of_kind("fenced")) >= 4
    assert len(provider.ledger) == 8  # ...though its requests, on the wire, landed
    world.dispose()
    gc.collect()
    first_life = [e for e in events if e.split()[-1].split("-")[0] == "1"]
    assert first_life == []  # no finally, no except, not even after a collection
    assert {f"finally 2-{i}" for i in (0, 1, 2, 9)} <= set(events)
    assert "main finally 2" in events


def test_ports_from_asyncio_tasks() -> None:
    seen: list[Any] = []

    async def main(env: Env) -> None:
        bodies = await asyncio.gather(*(
            env.tools.call("payments.charge", dict(CHARGE), idempotency_key=f"o{i}")
            for i in range(3)))
        seen.append(sorted(b["id"] for b in bodies))
        try:  # asyncio's own timeout cancels a port call waiting at a kernel trap
            await asyncio.wait_for(env.tools.call("payments.charge", dict(CHARGE),
                                                  idempotency_key="late"), 0.0001)
        except TimeoutError:
            seen.append("wait_for cancelled the port call")
        async with env.store.transaction() as tx:
            tx.put("t", "k", {"v": 1})
        seen.append(await env.store.get("t", "k"))
        await env.clock.sleep(5)
        seen.append(env.clock.now() >= 5)

    world, provider = payments_world(main)
    assert seen[0] == sorted(c.id for c in provider.ledger[:3])
    assert seen[1:] == ["wait_for cancelled the port call", {"v": 1}, True]
    assert not world.processes["worker"].failures


def test_kernel_cancel_scope_around_an_asyncio_await() -> None:
    seen: list[Any] = []

    async def main(process: Process) -> None:
        try:
            with process.kernel.fail_after(1):
                await asyncio.sleep(5)
        except SimTimeout:
            seen.append(asyncio.get_running_loop().time())
        await asyncio.sleep(1)
        seen.append("still running")

    run_sim(main)
    assert seen == [1.0, "still running"]


def test_uncaught_exception_in_main_is_a_process_failure() -> None:
    async def child() -> None:
        await asyncio.sleep(1)
        raise KeyError("child")  # not awaited: asyncio keeps it, the process goes on

    children: list[asyncio.Task[None]] = []

    async def main(process: Process) -> None:
        children.append(asyncio.create_task(child()))
        await asyncio.sleep(2)
        raise ValueError("main")

    _, process = run_sim(main)
    assert process.failures == ["ValueError: main"]  # the child's KeyError killed nothing
    assert isinstance(children[0].exception(), KeyError)
    assert not process.alive


def test_watchdog_abort_inside_a_task_stops_the_run() -> None:
    async def spin() -> None:
        await asyncio.sleep(0)
        raise RunAborted("watchdog")  # as the harness's SIGALRM handler would

    async def main(process: Process) -> None:
        await asyncio.gather(spin())

    kernel = Kernel(1)
    Process(kernel, "worker", main).start()
    with Shims(kernel), pytest.raises(RunAborted):
        kernel.run()


# --- executors run inline ------------------------------------------------------------


def test_run_in_executor_runs_inline() -> None:
    seen: list[Any] = []

    async def main(process: Process) -> None:
        loop = asyncio.get_running_loop()
        fut = loop.run_in_executor(None, lambda: seen.append(threading.get_ident()) or 7)
        seen.append(fut.done())  # ran at the call, before any await
        seen.append(await fut)
        with pytest.raises(ZeroDivisionError):
            await loop.run_in_executor(None, lambda: 1 / 0)
        before = loop.time()
        seen.append(await asyncio.to_thread(time.time) == time.time())
        seen.append(loop.time() - before)

    run_sim(main)
    assert seen == [threading.get_ident(), True, 7, True, 0.0]


# --- findings: every way out of the simulation is named ------------------------------------


def _escapes(body: Callable[[], Coroutine[Any, Any, Any]]) -> tuple[list[str], list[str]]:
    """Run ``body`` in a design; return (kernel.escapes, what the design caught)."""
    caught: list[str] = []

    async def main(process: Process) -> None:
        try:
            await body()
        except SimulationEscape as escape:
            caught.append(escape.what)

    kernel, _ = run_sim(main)
    return kernel.escapes, caught


def test_foreign_thread_call_soon_threadsafe_is_a_finding() -> None:
    raised: list[BaseException] = []

    async def body() -> None:
        loop = asyncio.get_running_loop()
        fut = loop.create_future()

        def elsewhere() -> None:
            try:
                loop.call_soon_threadsafe(fut.set_result, 1)
            except BaseException as exc:
                raised.append(exc)

        thread = threading.Thread(target=elsewhere, name="intruder")
        thread.start()
        thread.join()
        await asyncio.sleep(1)
        assert not fut.done()

    escapes, _ = _escapes(body)
    assert escapes == ["loop.call_soon_threadsafe from thread 'intruder'"]
    assert isinstance(raised[0], SimulationEscape)


def test_real_socket_is_a_finding() -> None:
    async def body() -> None:
        socket.create_connection(("api.example.com", 443), timeout=1)

    escapes, caught = _escapes(body)
    assert escapes == caught == ["socket connect to ('api.example.com', 443)"]

    async def raw() -> None:
        with socket.socket() as sock:
            sock.connect(("10.1.2.3", 80))

    assert _escapes(raw)[0] == ["socket connect to ('10.1.2.3', 80)"]
    # Outside a run, sockets are real again (the guard answers only the run's thread).
    assert socket.socket.connect is not None and socket.getaddrinfo("localhost", None)


def test_getaddrinfo_is_a_finding() -> None:
    async def body() -> None:
        await asyncio.get_running_loop().getaddrinfo("api.openai.com", 443)

    assert _escapes(body)[0] == ["getaddrinfo('api.openai.com', 443)"]

    async def blocking() -> None:
        socket.getaddrinfo("api.stripe.com", 443)

    assert _escapes(blocking)[0] == ["getaddrinfo ('api.stripe.com', 443)"]


def test_asyncio_connection_and_subprocess_are_findings() -> None:
    async def connect() -> None:
        await asyncio.open_connection("hooks.slack.com", 443)

    assert _escapes(connect)[0] == ["create_connection to hooks.slack.com:443"]

    async def spawn() -> None:
        await asyncio.create_subprocess_exec("ls", "-l")

    assert _escapes(spawn)[0] == ["subprocess 'ls'"]


def test_a_swallowed_escape_is_still_recorded() -> None:
    async def body() -> None:
        try:
            await asyncio.get_running_loop().getaddrinfo("db.internal", 5432)
        except BaseException:
            pass

    escapes, caught = _escapes(body)
    assert escapes == ["getaddrinfo('db.internal', 5432)"] and caught == []


def test_the_loop_is_not_left_running_after_a_run() -> None:
    async def main(process: Process) -> None:
        assert isinstance(asyncio.get_running_loop(), SimLoop)
        await asyncio.sleep(1)

    run_sim(main)
    with pytest.raises(RuntimeError):
        asyncio.get_running_loop()
    assert asyncio.run(asyncio.sleep(0, "real")) == "real"


# --- through the harness ----------------------------------------------------------------


def _asyncio_wrapped_reference(leak: bool) -> Design:
    """The reference design run from asyncio code: its dialect coroutine inside a
    TaskGroup beside an asyncio heartbeat, under asyncio.timeout."""
    reference = DESIGNS["reference"]

    async def main(env: Env) -> None:
        beats: list[float] = []

        async def heartbeat() -> None:
            while True:
                await asyncio.sleep(30)
                beats.append(asyncio.get_running_loop().time())

        async with asyncio.timeout(6 * 3600):
            async with asyncio.TaskGroup() as group:
                beat = group.create_task(heartbeat())
                if leak:
                    try:
                        socket.getaddrinfo("api.stripe.com", 443)
                    except SimulationEscape:
                        pass  # a design that hides it is still reported
                await reference.main(env)
                beat.cancel()

    return Design(name="asyncio-reference" + ("-leaky" if leak else ""), main=main)


def test_asyncio_design_through_the_harness() -> None:
    scenario = SCENARIOS["checkout"]
    clean = [run_seed(scenario, _asyncio_wrapped_reference(False), seed) for seed in (1, 2)]
    assert all(r.ok and r.finished for r in clean), [r.violations for r in clean]
    assert any(r.fired for r in clean)  # with faults (the seeds' swarm plans)
    again = run_seed(scenario, _asyncio_wrapped_reference(False), 1, keep_world=True)
    first = run_seed(scenario, _asyncio_wrapped_reference(False), 1, keep_world=True)
    assert again.world is not None and first.world is not None
    assert again.world.kernel.trace.hash() == first.world.kernel.trace.hash()
    again.world.dispose()
    first.world.dispose()
    leaky = run_seed(scenario, _asyncio_wrapped_reference(True), 1)
    assert [v.invariant for v in leaky.violations] == ["stays-in-simulation"]
    assert "getaddrinfo ('api.stripe.com', 443)" in leaky.violations[0].message
