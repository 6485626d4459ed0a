"""Kernel semantics: ordering, virtual time, timeouts, cancellation, primitives.

Where the outcome could depend on how same-instant ties are broken, the test loops over
many seeds and asserts what must hold for every one of them.
"""

from __future__ import annotations

import types
from typing import Any

import pytest

from simulator import (
    NS_PER_S,
    Cancelled,
    Kernel,
    KernelError,
    SimTimeout,
    TimeTravelError,
    current_kernel,
)

SEEDS = range(40)


def tie_order(seed: int, n: int = 30) -> list[int]:
    """The order in which ``n`` tasks sleeping the same duration wake up."""
    k = Kernel(seed)
    order: list[int] = []

    async def sleeper(i: int) -> None:
        await k.sleep(1)
        order.append(i)

    for i in range(n):
        k.spawn(sleeper(i), name=f"s{i}")
    assert k.run() is True
    return order


# --- ordering -------------------------------------------------------------------------


def test_callbacks_run_in_time_order() -> None:
    k = Kernel(3)
    woke: list[tuple[int, int]] = []

    async def sleeper(ms: int) -> None:
        await k.sleep_ns(ms * 1_000_000)
        woke.append((ms, k.now_ns))

    for ms in [50, 10, 40, 30, 20, 60, 0]:
        k.spawn(sleeper(ms))
    k.run()
    assert woke == [(ms, ms * 1_000_000) for ms in [0, 10, 20, 30, 40, 50, 60]]


def test_same_instant_ties_follow_the_seed() -> None:
    orders = {seed: tie_order(seed) for seed in range(10)}
    for seed, order in orders.items():
        assert sorted(order) == list(range(30))
        # The same seed gives the same order, even with other objects allocated in
        # between (different ids, different memory layout).
        junk = [object() for _ in range(1000)]
        assert tie_order(seed) == order
        del junk
    # Different seeds explore different interleavings of the same workload.
    assert len({tuple(o) for o in orders.values()}) == 10
    # Ties are not broken by spawn order (sequence number) either.
    assert sum(order == list(range(30)) for order in orders.values()) <= 1


def test_tie_order_comes_from_the_scheduler_stream_only() -> None:
    baseline = tie_order(5)
    k = Kernel(5)
    order: list[int] = []

    async def sleeper(i: int) -> None:
        await k.sleep(1)
        order.append(i)

    # Draws from other named streams do not shift the scheduler's tie-breaks.
    for name in ("network", "model", "faults", "workload"):
        for _ in range(17):
            k.rng.stream(name).random()
    for i in range(30):
        k.spawn(sleeper(i))
    k.run()
    assert order == baseline


def test_spawned_task_first_runs_at_the_current_instant() -> None:
    k = Kernel(0)
    seen: list[int] = []

    async def child() -> None:
        seen.append(k.now_ns)

    async def parent() -> None:
        await k.sleep_ns(123)
        k.spawn(child())

    k.spawn(parent())
    k.run()
    assert seen == [123]
    assert k.tasks_spawned == 2


# --- virtual time -----------------------------------------------------------------------


def test_ten_tenth_second_sleeps_end_at_exactly_one_second() -> None:
    k = Kernel(0)

    async def main() -> None:
        for _ in range(10):
            await k.sleep(0.1)

    k.spawn(main())
    k.run()
    assert k.now_ns == 1_000_000_000
    assert type(k.now_ns) is int
    assert k.now() == 1.0


def test_virtual_time_never_goes_backwards() -> None:
    k = Kernel(11)
    stamps: list[int] = []
    draw = k.rng.stream("workload")

    async def wanderer() -> None:
        for _ in range(20):
            await k.sleep_ns(draw.randrange(0, 1000))
            stamps.append(k.now_ns)

    for _ in range(20):
        k.spawn(wanderer())
    k.run()
    assert len(stamps) == 400
    assert all(type(t) is int for t in stamps)
    assert stamps == sorted(stamps)


def test_time_cannot_be_moved_back() -> None:
    k = Kernel(0)
    k.spawn(k.sleep(100))  # something scheduled later, so that run(until) stops at 5 s
    assert k.run(until=5) is False
    assert k.now_ns == 5 * NS_PER_S
    with pytest.raises(TimeTravelError):
        k.scheduler.advance_to(NS_PER_S)
    # Running "until" an earlier time leaves the clock where it is.
    k.run(until=2)
    assert k.now_ns == 5 * NS_PER_S
    # A callback asked for in the past runs now, not in the past.
    ran_at: list[int] = []
    k.scheduler.call_at(NS_PER_S, lambda: ran_at.append(k.now_ns))
    k.run(until=6)
    assert ran_at == [5 * NS_PER_S]


def test_sleeping_a_negative_duration_does_not_go_back() -> None:
    k = Kernel(0)
    seen: list[int] = []

    async def main() -> None:
        await k.sleep(1)
        await k.sleep(-3)
        seen.append(k.now_ns)
        await k.sleep_until_ns(0)
        seen.append(k.now_ns)

    k.spawn(main())
    k.run()
    assert seen == [NS_PER_S, NS_PER_S]


def test_stepwise_run_until() -> None:
    k = Kernel(0)
    log: list[tuple[str, int]] = []

    async def ticker() -> None:
        for i in range(1, 5):
            await k.sleep(1)
            log.append(("tick", i))

    k.spawn(ticker())
    assert k.run(until=1.5) is False
    assert k.now_ns == 1_500_000_000
    assert log == [("tick", 1)]
    # A callback due exactly at ``until`` runs.
    assert k.run(until=3) is False
    assert k.now_ns == 3 * NS_PER_S
    assert log == [("tick", 1), ("tick", 2), ("tick", 3)]
    assert k.run() is True
    assert log[-1] == ("tick", 4)
    assert k.now_ns == 4 * NS_PER_S


def test_run_with_an_event_budget() -> None:
    k = Kernel(0)
    count = 0

    async def counter() -> None:
        nonlocal count
        for _ in range(10):
            count += 1
            await k.checkpoint()

    k.spawn(counter())
    assert k.run(max_events=3) is False
    assert count == 3
    assert k.scheduler.events_run == 3
    assert k.run() is True
    assert count == 10
    assert k.now_ns == 0


def test_current_kernel_inside_and_outside_a_run() -> None:
    k = Kernel(0)
    seen: list[Any] = []

    async def main() -> None:
        seen.append(current_kernel())
        seen.append(k.current_task)

    task = k.spawn(main(), name="m")
    with pytest.raises(KernelError):
        current_kernel()
    k.run()
    assert seen == [k, task]
    assert k.current_task is None
    with pytest.raises(KernelError):
        current_kernel()


def test_unknown_trap_is_a_kernel_error() -> None:
    k = Kernel(0)

    @types.coroutine
    def bogus() -> Any:
        yield ("no such trap",)

    async def main() -> None:
        await bogus()

    k.spawn(main())
    with pytest.raises(KernelError):
        k.run()


# --- timeouts ---------------------------------------------------------------------------


def test_fail_after_raises_at_the_overrunning_await() -> None:
    k = Kernel(0)
    log: list[Any] = []

    async def main() -> None:
        try:
            with k.fail_after(5) as scope:
                await k.sleep(1)
                log.append("first")
                await k.sleep(1)
                log.append("second")
                try:
                    await k.sleep(10)
                except Cancelled:
                    log.append(("cancelled at the third await", k.now_ns))
                    raise
                log.append("third")
            log.append("after the block")
        except SimTimeout:
            log.append(("timeout", k.now_ns, scope.cancelled_caught))

    k.spawn(main())
    k.run()
    assert log == [
        "first",
        "second",
        ("cancelled at the third await", 5 * NS_PER_S),
        ("timeout", 5 * NS_PER_S, True),
    ]


def test_fail_after_in_time_does_nothing_later() -> None:
    k = Kernel(0)
    log: list[Any] = []

    async def main() -> None:
        with k.fail_after(2) as scope:
            await k.sleep(1)
        # Well past the old deadline: its timer must be gone.
        await k.sleep(5)
        log.append((k.now_ns, scope.cancelled_caught))

    task = k.spawn(main())
    k.run()
    assert log == [(6 * NS_PER_S, False)]
    assert task.done and task.exception is None


def test_timeout_then_late_result() -> None:
    """A future resolved after the timeout does not resume the task a second time."""
    k = Kernel(0)
    fut = k.future()
    log: list[Any] = []

    async def waiter() -> None:
        try:
            with k.fail_after(1):
                await fut
            log.append("got it in time")
        except SimTimeout:
            log.append(("timeout", k.now_ns))
        await k.sleep(5)  # would be cut short if the late result woke the task
        log.append(("slept", k.now_ns))
        log.append(("late value", await fut, k.now_ns))

    async def resolver() -> None:
        await k.sleep(2)
        fut.set_result("late")

    task = k.spawn(waiter())
    k.spawn(resolver())
    k.run()
    assert log == [
        ("timeout", NS_PER_S),
        ("slept", 6 * NS_PER_S),
        ("late value", "late", 6 * NS_PER_S),
    ]
    assert task.done and task.exception is None


@pytest.mark.parametrize("seed", SEEDS)
def test_deadline_tied_with_a_wakeup_is_not_lost(seed: int) -> None:
    # The deadline and the end of the first sleep fall on the same instant. Whichever
    # runs first, the task must not get past its deadline inside the scope.
    k = Kernel(seed)
    log: list[Any] = []

    async def main() -> None:
        try:
            with k.fail_after(1):
                await k.sleep(1)
                await k.sleep(10)
            log.append("overran")
        except SimTimeout:
            log.append(("timeout", k.now_ns))

    k.spawn(main())
    k.run()
    assert log == [("timeout", NS_PER_S)]


def test_nested_scopes_inner_deadline_first() -> None:
    k = Kernel(0)
    log: list[Any] = []

    async def main() -> None:
        with k.fail_after(10) as outer:
            try:
                with k.fail_after(1):
                    await k.sleep(5)
            except SimTimeout:
                log.append(("inner timeout", k.now_ns))
            await k.sleep(2)
            log.append(("still inside outer", k.now_ns))
        log.append(("outer caught", outer.cancelled_caught))

    k.spawn(main())
    k.run()
    assert log == [
        ("inner timeout", NS_PER_S),
        ("still inside outer", 3 * NS_PER_S),
        ("outer caught", False),
    ]


def test_nested_scopes_outer_deadline_first() -> None:
    k = Kernel(0)
    log: list[Any] = []

    async def main() -> None:
        try:
            with k.fail_after(1):
                with k.fail_after(10) as inner:
                    await k.sleep(5)
                log.append("inner exited normally")
        except SimTimeout:
            log.append(("outer timeout", k.now_ns, inner.cancelled_caught))

    k.spawn(main())
    k.run()
    assert log == [("outer timeout", NS_PER_S, False)]


def test_nested_scopes_with_equal_deadlines() -> None:
    # Two timers due at the same instant fire in seeded order: the first to be thrown
    # wins. Either way the task stops at the deadline, and over many seeds both
    # outcomes are explored.
    outcomes = set()
    for seed in range(30):
        k = Kernel(seed)
        log: list[Any] = []

        async def main(k: Kernel = k, log: list[Any] = log) -> None:
            with k.move_on_after(1) as outer:
                with k.fail_after(1):
                    await k.sleep(5)
                log.append("inner block finished")
            log.append(("outer caught", k.now_ns, outer.cancelled_caught))

        task = k.spawn(main())
        k.run()
        if isinstance(task.exception, SimTimeout):
            assert log == []
            outcomes.add("inner")
        else:
            assert task.exception is None
            assert log == [("outer caught", NS_PER_S, True)]
            outcomes.add("outer")
    assert outcomes == {"inner", "outer"}


def test_move_on_after_swallows_the_timeout() -> None:
    k = Kernel(0)
    log: list[Any] = []

    async def main() -> None:
        with k.move_on_after(2) as scope:
            await k.sleep(1)
            log.append("one")
            await k.sleep(5)
            log.append("never")
        log.append((k.now_ns, scope.cancelled_caught))

    task = k.spawn(main())
    k.run()
    assert log == ["one", (2 * NS_PER_S, True)]
    assert task.exception is None


def test_fail_after_ns_and_zero_deadline() -> None:
    k = Kernel(0)
    log: list[Any] = []

    async def main() -> None:
        try:
            with k.fail_after_ns(250):
                await k.sleep_ns(1000)
        except SimTimeout:
            log.append(k.now_ns)
        try:
            with k.fail_after(0):
                await k.sleep(1)
        except SimTimeout:
            log.append(k.now_ns)

    k.spawn(main())
    k.run()
    assert log == [250, 250]


def test_a_scope_needs_a_running_task() -> None:
    k = Kernel(0)
    with pytest.raises(RuntimeError), k.fail_after(1):
        pass


def test_sim_timeout_is_a_timeout_error_and_cancelled_is_not_an_exception() -> None:
    assert issubclass(SimTimeout, TimeoutError)
    assert not issubclass(Cancelled, Exception)
    k = Kernel(0)
    log: list[str] = []

    async def main() -> None:
        try:
            with k.move_on_after(1):
                try:
                    await k.sleep(2)
                except Exception:  # a design's broad handler must not swallow it
                    log.append("swallowed")
            log.append("moved on")
        except BaseException:
            log.append("escaped")

    k.spawn(main())
    k.run()
    assert log == ["moved on"]


# --- cancellation -----------------------------------------------------------------------


def test_cancel_a_sleeping_task() -> None:
    k = Kernel(0)
    log: list[Any] = []

    async def victim() -> None:
        try:
            await k.sleep(100)
            log.append("woke")
        except Cancelled as exc:
            log.append(("cancelled", k.now_ns, exc.scope))
            raise

    async def killer(t: Any) -> None:
        await k.sleep(3)
        t.cancel()

    t = k.spawn(victim())
    k.spawn(killer(t))
    k.run()
    assert log == [("cancelled", 3 * NS_PER_S, None)]
    assert t.done and isinstance(t.exception, Cancelled)
    # The task's old sleep timer came due at 100 s and was ignored.
    assert k.now_ns == 100 * NS_PER_S


def test_cancel_a_task_waiting_on_a_future_and_join_it() -> None:
    k = Kernel(0)
    fut = k.future()
    log: list[Any] = []

    async def victim() -> str:
        await fut
        return "finished"

    async def joiner(t: Any) -> None:
        try:
            await t.join()
        except Cancelled:
            log.append(("join raised Cancelled", k.now_ns))

    async def killer(t: Any) -> None:
        await k.sleep(1)
        t.cancel()
        await k.sleep(1)
        fut.set_result("too late")

    t = k.spawn(victim())
    k.spawn(joiner(t))
    k.spawn(killer(t))
    k.run()
    assert log == [("join raised Cancelled", NS_PER_S)]
    assert isinstance(t.exception, Cancelled)
    assert t.result is None


def test_cancelled_task_may_catch_it_and_carry_on() -> None:
    k = Kernel(0)

    async def stubborn() -> str:
        try:
            await k.sleep(10)
        except Cancelled:
            pass
        await k.sleep(1)
        return f"done at {k.now_ns}"

    async def killer(t: Any) -> None:
        await k.sleep(2)
        t.cancel()

    t = k.spawn(stubborn())
    k.spawn(killer(t))
    k.run()
    assert t.result == f"done at {3 * NS_PER_S}"
    assert t.exception is None


def test_cancel_before_the_task_starts() -> None:
    for seed in range(10):
        k = Kernel(seed)
        log: list[str] = []

        async def victim(log: list[str] = log, k: Kernel = k) -> None:
            log.append("started")
            await k.sleep(1)
            log.append("not reached")

        t = k.spawn(victim())
        t.cancel()
        k.run()
        assert isinstance(t.exception, Cancelled)
        assert "not reached" not in log
        assert k.now_ns == 0 or log == ["started"]


def test_a_task_cancelling_itself_is_cancelled_at_its_next_await() -> None:
    k = Kernel(0)
    log: list[Any] = []

    async def main() -> None:
        me = k.current_task
        assert me is not None
        me.cancel()
        log.append("still running")
        try:
            await k.sleep(1)
        except Cancelled:
            log.append(("cancelled", k.now_ns))

    k.spawn(main())
    k.run()
    assert log == ["still running", ("cancelled", 0)]


def test_cancel_a_finished_task_is_a_no_op() -> None:
    k = Kernel(0)

    async def quick() -> int:
        return 7

    t = k.spawn(quick())
    k.run()
    t.cancel()
    assert k.run() is True
    assert t.result == 7 and t.exception is None


@pytest.mark.parametrize("seed", SEEDS)
def test_cancel_is_never_lost(seed: int) -> None:
    # The victim's future is resolved and the victim cancelled in the same step: its
    # wakeup and its cancellation are both due now. The value is delivered first, the
    # cancellation at the next await; neither may disappear.
    k = Kernel(seed)
    fut = k.future()
    log: list[Any] = []

    async def victim() -> None:
        try:
            log.append(("got", await fut))
            await k.sleep(100)
            log.append("finished")
        except Cancelled:
            log.append(("cancelled", k.now_ns))

    async def killer(t: Any) -> None:
        await k.sleep(1)
        fut.set_result(1)
        t.cancel()

    t = k.spawn(victim())
    k.spawn(killer(t))
    k.run()
    assert log == [("got", 1), ("cancelled", NS_PER_S)]


# --- futures, events, queues, join ------------------------------------------------------


def test_future_result_and_exception() -> None:
    k = Kernel(0)
    ok, bad = k.future(), k.future()
    log: list[Any] = []

    async def waiter() -> None:
        log.append(await ok)
        try:
            await bad
        except ValueError as exc:
            log.append(str(exc))

    async def resolver() -> None:
        await k.sleep(1)
        ok.set_result(42)
        bad.set_exception(ValueError("boom"))

    k.spawn(waiter())
    k.spawn(resolver())
    k.run()
    assert log == [42, "boom"]
    assert ok.done and ok.result() == 42
    with pytest.raises(ValueError):
        bad.result()
    with pytest.raises(RuntimeError):
        ok.set_result(43)
    assert ok.result() == 42


def test_future_not_resolved_yet() -> None:
    k = Kernel(0)
    fut = k.future()
    with pytest.raises(RuntimeError):
        fut.result()
    assert not fut.done


def test_awaiting_a_resolved_future_does_not_suspend() -> None:
    k = Kernel(0)
    fut = k.future()
    fut.set_result("ready")
    log: list[Any] = []

    async def main() -> None:
        log.append(await fut)
        log.append(await fut)

    k.spawn(main())
    k.run()
    assert log == ["ready", "ready"]
    assert k.scheduler.events_run == 1  # only the task's first step


def test_future_wakes_every_waiter_once() -> None:
    k = Kernel(0)
    fut = k.future()
    got: list[tuple[int, Any, int]] = []

    async def waiter(i: int) -> None:
        got.append((i, await fut, k.now_ns))

    for i in range(5):
        k.spawn(waiter(i))

    async def resolver() -> None:
        await k.sleep(2)
        fut.set_result("v")

    k.spawn(resolver())
    k.run()
    assert sorted(got) == [(i, "v", 2 * NS_PER_S) for i in range(5)]


def test_event_wakes_all_waiters() -> None:
    k = Kernel(0)
    ev = k.event()
    woke: list[tuple[int, int]] = []

    async def waiter(i: int) -> None:
        await ev.wait()
        woke.append((i, k.now_ns))

    for i in range(4):
        k.spawn(waiter(i))

    async def setter() -> None:
        await k.sleep(3)
        assert not ev.is_set()
        ev.set()
        ev.set()  # idempotent

    k.spawn(setter())
    k.run()
    assert sorted(woke) == [(i, 3 * NS_PER_S) for i in range(4)]
    assert ev.is_set()

    late: list[int] = []

    async def late_waiter() -> None:
        await ev.wait()
        late.append(k.now_ns)

    k.spawn(late_waiter())
    k.run()
    assert late == [3 * NS_PER_S]


def test_queue_is_fifo_and_get_waits() -> None:
    k = Kernel(0)
    q = k.queue()
    got: list[tuple[int, Any, int]] = []

    async def getter(i: int) -> None:
        await k.sleep_ns(i)  # line the getters up in a known order
        got.append((i, await q.get(), k.now_ns))

    for i in range(3):
        k.spawn(getter(i))

    async def putter() -> None:
        await k.sleep(1)
        for item in "abc":
            q.put(item)
        q.put("d")
        q.put("e")

    k.spawn(putter())
    k.run()
    assert sorted(got) == [(0, "a", NS_PER_S), (1, "b", NS_PER_S), (2, "c", NS_PER_S)]
    assert len(q) == 2
    assert q.get_nowait() == "d"
    assert q.get_nowait() == "e"
    with pytest.raises(IndexError):
        q.get_nowait()


def test_queue_get_with_items_does_not_suspend() -> None:
    k = Kernel(0)
    q = k.queue()
    for i in range(3):
        q.put(i)
    got: list[int] = []

    async def main() -> None:
        for _ in range(3):
            got.append(await q.get())

    k.spawn(main())
    k.run()
    assert got == [0, 1, 2]
    assert k.scheduler.events_run == 1


def test_queue_skips_a_getter_that_timed_out() -> None:
    k = Kernel(0)
    q = k.queue()
    log: list[Any] = []

    async def impatient() -> None:
        with k.move_on_after(1):
            log.append(("impatient", await q.get()))
        log.append("impatient gave up")

    async def patient() -> None:
        await k.sleep(2)
        log.append(("patient", await q.get()))

    async def putter() -> None:
        await k.sleep(3)
        q.put("item")

    k.spawn(impatient())
    k.spawn(patient())
    k.spawn(putter())
    k.run()
    assert log == ["impatient gave up", ("patient", "item")]


@pytest.mark.parametrize("seed", SEEDS)
def test_queue_item_is_never_lost_to_a_timeout_at_the_same_instant(seed: int) -> None:
    k = Kernel(seed)
    q = k.queue()
    got: list[Any] = []

    async def getter() -> None:
        with k.move_on_after(1):
            got.append(await q.get())

    async def putter() -> None:
        await k.sleep(1)
        q.put("x")

    k.spawn(getter())
    k.spawn(putter())
    k.run()
    # Either the getter received it before its deadline or it is still queued.
    assert got + list(q._items) == ["x"]


def test_join_returns_the_result_or_raises() -> None:
    k = Kernel(0)
    log: list[Any] = []

    async def worker(x: int) -> int:
        await k.sleep(x)
        if x == 2:
            raise ValueError("two")
        return x * 10

    async def boss() -> None:
        a = k.spawn(worker(1))
        b = k.spawn(worker(2))
        log.append(await a.join())
        try:
            await b.join()
        except ValueError as exc:
            log.append(("raised", str(exc), k.now_ns))
        log.append(await a.join())  # joining a finished task returns at once
        log.append(a.joined().result())

    k.spawn(boss())
    k.run()
    assert log == [10, ("raised", "two", 2 * NS_PER_S), 10, 10]


def test_many_joiners() -> None:
    k = Kernel(0)

    async def worker() -> str:
        await k.sleep(1)
        return "r"

    w = k.spawn(worker())
    results: list[str] = []

    async def joiner() -> None:
        results.append(await w.join())

    for _ in range(4):
        k.spawn(joiner())
    k.run()
    assert results == ["r"] * 4
