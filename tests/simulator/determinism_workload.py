"""A kernel workload full of same-instant ties, for the determinism check and the bench.

Many tasks sleeping equal durations, futures and an event resolved for many waiters at
once, a queue with competing consumers, equal deadlines, and two processes that crash
(one from a fault hook at a port operation, one from outside) and restart. Every step
that could be ordered differently records a trace event, so the trace hash pins down
the whole interleaving.

``python tests/simulator/determinism_workload.py SEED`` prints one JSON line:
``{"seed": ..., "hash": ..., "events": ..., "events_run": ...}``.
``tests/simulator/test_determinism.py`` runs it under two ``PYTHONHASHSEED`` values;
``ninelives.bench`` loads this file by path.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from simulator import NS_PER_MS, Kernel, Process, SimTimeout


class _CrashAtOp:
    def __init__(self, at_op: int) -> None:
        self.at_op = at_op

    def on_op(self, process: Process, op_index: int, kind: str, detail: dict[str, Any]) -> None:
        if op_index == self.at_op:
            process.crash("fault")
            process.restart_after_ns(2 * NS_PER_MS)


def build(seed: int, *, sleepers: int = 40, rounds: int = 5) -> Kernel:
    """Set up the workload on a fresh kernel (not yet run)."""
    k = Kernel(seed)
    rec = k.trace.record
    draw = k.rng.stream("workload")

    # 1. Sleepers with equal durations: every round is a many-way tie.
    async def sleeper(i: int) -> None:
        for r in range(rounds):
            await k.sleep_ns(NS_PER_MS)
            rec("workload", "tick", task=i, round=r)

    for i in range(sleepers):
        k.spawn(sleeper(i), name=f"sleeper{i}")

    # 2. Futures and an event resolved for many waiters at the same instant.
    futures = [k.future() for _ in range(8)]
    gate = k.event()

    async def waiter(i: int) -> None:
        value = await futures[i % len(futures)]
        rec("workload", "future", task=i, value=value)
        await gate.wait()
        rec("workload", "gate", task=i)

    async def resolver() -> None:
        await k.sleep_ns(2 * NS_PER_MS)
        for j, fut in enumerate(futures):
            fut.set_result(j * 10)
        await k.sleep_ns(NS_PER_MS)
        gate.set()

    for i in range(16):
        k.spawn(waiter(i), name=f"waiter{i}")
    k.spawn(resolver(), name="resolver")

    # 3. A queue with competing consumers and a bursty producer.
    q = k.queue()

    async def consumer(c: int) -> None:
        while True:
            with k.move_on_after(0.01) as scope:
                item = await q.get()
                rec("workload", "consume", consumer=c, item=item)
            if scope.cancelled_caught:
                rec("workload", "idle", consumer=c)
                return

    async def producer() -> None:
        for burst in range(4):
            await k.sleep_ns(NS_PER_MS)
            for n in range(5):
                q.put(burst * 100 + n)

    for c in range(4):
        k.spawn(consumer(c), name=f"consumer{c}")
    k.spawn(producer(), name="producer")

    # 4. Deadlines tied with wakeups.
    async def racer(i: int) -> None:
        try:
            with k.fail_after_ns(3 * NS_PER_MS):
                await k.sleep_ns(3 * NS_PER_MS)
                await k.sleep_ns(draw.randrange(0, 2) * NS_PER_MS)
            rec("workload", "made it", task=i)
        except SimTimeout:
            rec("workload", "timeout", task=i)

    for i in range(10):
        k.spawn(racer(i), name=f"racer{i}")

    # 5. A process whose fault hook kills it at its 17th port operation (restarted
    # 2 ms later), and one killed from outside, with timers and futures in flight.
    async def worker_main(p: Process) -> None:
        inc = p.incarnation
        number = inc.number if inc is not None else 0

        async def step_loop(t: int) -> None:
            for s in range(6):
                await p.port_op("store.write", {"t": t, "s": s})
                rec(p.name, "step", incarnation=number, task=t, step=s)
                await k.sleep_ns(NS_PER_MS)

        for t in range(4):
            p.spawn(step_loop(t), name=f"loop{t}")

    worker = Process(k, "worker", worker_main, op_hook=_CrashAtOp(17))
    worker.start()

    mailbox = k.future()

    async def sidecar_main(p: Process) -> None:
        inc = p.incarnation
        number = inc.number if inc is not None else 0
        if number == 1:
            rec(p.name, "got", value=await mailbox)  # resolved after the crash: fenced
        for s in range(3):
            await k.sleep_ns(NS_PER_MS)
            rec(p.name, "tick", incarnation=number, step=s)

    sidecar = Process(k, "sidecar", sidecar_main)
    sidecar.start()

    async def chaos() -> None:
        await k.sleep_ns(2 * NS_PER_MS)
        sidecar.crash("chaos")
        await k.sleep_ns(NS_PER_MS)
        mailbox.set_result("late")
        sidecar.start()

    k.spawn(chaos(), name="chaos")
    return k


def run(seed: int) -> dict[str, Any]:
    """Run the workload for ``seed``; the trace hash and sizes."""
    k = build(seed)
    k.run()
    return {
        "seed": seed,
        "hash": k.trace.hash(),
        "events": len(k.trace),
        "events_run": k.scheduler.events_run,
    }


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    seed = int(args[0]) if args else 0
    print(json.dumps(run(seed), sort_keys=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
