"""Shims: inside a run the standard library's clocks and randomness are virtual and
seeded; after the ``with Shims(kernel)`` block they are the real ones again."""

from __future__ import annotations

import datetime
import itertools
import os
import random
import secrets
import threading
import time
import uuid
from typing import Any

import pytest

from simulator import NS_PER_S, VIRTUAL_EPOCH_S, Kernel, Shims

#: every name the shims replace, as (module, attribute)
SHIMMED = [(time, "time"), (time, "time_ns"), (time, "monotonic"), (time, "monotonic_ns"),
           (time, "perf_counter"), (time, "perf_counter_ns"), (datetime, "datetime"),
           (random, "random"), (random, "randint"), (random, "choice"), (uuid, "uuid4"),
           (os, "urandom"), (secrets, "_sysrand"), (secrets, "choice"),
           (secrets, "randbits")]


def current() -> dict[str, Any]:
    return {f"{module.__name__}.{name}": getattr(module, name) for module, name in SHIMMED}


# The real functions, captured at import (before any test installs shims).
REAL = current()


def assert_real() -> None:
    now = current()
    for name, fn in REAL.items():
        assert now[name] is fn, name


def sample_run(seed: int) -> dict[str, Any]:
    """What a design sees through the standard library during a simulated run."""
    k = Kernel(seed)
    seen: dict[str, Any] = {}

    async def design() -> None:
        seen["t0"] = (time.time(), time.monotonic(), time.perf_counter())
        await k.sleep(2.5)
        seen["t1"] = (time.time(), time.monotonic(), time.perf_counter())
        seen["ns"] = (time.time_ns(), time.monotonic_ns(), time.perf_counter_ns())
        seen["now"] = datetime.datetime.now(datetime.UTC)
        seen["naive_now"] = datetime.datetime.now()
        seen["random"] = [random.random() for _ in range(3)]
        seen["randint"] = random.randint(0, 10**9)
        seen["choice"] = random.choice("abcdefghijklmnop")
        seen["uuid"] = uuid.uuid4()
        seen["urandom"] = os.urandom(8)
        seen["token_hex"] = secrets.token_hex(8)
        seen["secrets_choice"] = secrets.choice("abcdefghijklmnop")

    with Shims(k):
        k.spawn(design())
        k.run()
    return seen


def test_clocks_read_virtual_time() -> None:
    seen = sample_run(1)
    assert seen["t0"] == (VIRTUAL_EPOCH_S, 0.0, 0.0)
    assert seen["t1"] == (VIRTUAL_EPOCH_S + 2.5, 2.5, 2.5)
    assert seen["ns"] == (
        VIRTUAL_EPOCH_S * NS_PER_S + 2_500_000_000,
        2_500_000_000,
        2_500_000_000,
    )


def test_datetime_now_reads_virtual_time() -> None:
    seen = sample_run(1)
    expected = datetime.datetime(2026, 1, 1, 0, 0, 2, 500000, tzinfo=datetime.UTC)
    assert seen["now"] == expected
    assert isinstance(seen["now"], REAL["datetime.datetime"])
    # Without a tz, local time for the same instant.
    assert seen["naive_now"] == REAL["datetime.datetime"].fromtimestamp(VIRTUAL_EPOCH_S + 2.5)


def test_randomness_is_deterministic_per_seed() -> None:
    a, b, c = sample_run(7), sample_run(7), sample_run(8)
    keys = ["random", "randint", "choice", "uuid", "urandom", "token_hex", "secrets_choice"]
    for key in keys:
        assert a[key] == b[key], key
    # Another seed gives other values (the single-character choices may collide).
    for key in ["random", "randint", "uuid", "urandom", "token_hex"]:
        assert a[key] != c[key], key
    assert a["uuid"].version == 4
    assert len(a["urandom"]) == 8
    assert len(a["token_hex"]) == 16
    assert all(0.0 <= x < 1.0 for x in a["random"])
    assert len(set(a["random"])) == 3


def test_shim_streams_do_not_shift_other_streams() -> None:
    k1, k2 = Kernel(3), Kernel(3)
    with Shims(k1):
        for _ in range(10):
            random.random()
            uuid.uuid4()
    assert k1.rng.stream("network").random() == k2.rng.stream("network").random()


def test_the_real_functions_are_back_after_the_block() -> None:
    assert_real()
    k = Kernel(0)
    with Shims(k):
        assert time.time is not REAL["time.time"]
        assert datetime.datetime is not REAL["datetime.datetime"]
        assert random.random is not REAL["random.random"]
        assert uuid.uuid4 is not REAL["uuid.uuid4"]
        assert os.urandom is not REAL["os.urandom"]
        assert time.time() == VIRTUAL_EPOCH_S
    assert_real()
    # And the real ones behave as real ones: two real UUIDs differ; the real
    # monotonic clock is not the virtual zero.
    assert uuid.uuid4() != uuid.uuid4()
    assert time.monotonic() != 0.0


def test_the_real_functions_are_back_after_an_error() -> None:
    k = Kernel(0)

    async def boom() -> None:
        raise RuntimeError("design bug")

    with pytest.raises(RuntimeError), Shims(k):
        k.spawn(boom())
        k.run()
        raise RuntimeError("raised inside the block")
    assert_real()


def test_shims_nest() -> None:
    outer, inner = Kernel(0), Kernel(1)
    inner.spawn(inner.sleep(100))
    inner.run(until=10)
    with Shims(outer):
        assert time.monotonic() == 0.0
        with Shims(inner):
            assert time.monotonic() == 10.0
        assert time.monotonic() == 0.0
        outer_random = random.random
    assert_real()
    assert outer_random is not REAL["random.random"]


def test_clock_follows_stepwise_runs() -> None:
    k = Kernel(0)
    k.spawn(k.sleep(100))
    with Shims(k):
        k.run(until=1.25)
        assert time.monotonic() == 1.25
        assert time.time() == VIRTUAL_EPOCH_S + 1.25
        k.run(until=4)
        assert time.perf_counter_ns() == 4 * NS_PER_S


def test_a_shim_kept_past_its_run_is_the_real_function_again() -> None:
    k = Kernel(0)
    k.spawn(k.sleep(5))
    k.run(until=5)
    with Shims(k):
        kept_monotonic, kept_random, kept_uuid4 = time.monotonic, random.random, uuid.uuid4
        kept_datetime = datetime.datetime
        assert kept_monotonic() == 5.0
    # Called after the run: the real clock and the real generators, not run 0's.
    assert kept_monotonic() != 5.0
    assert abs(kept_monotonic() - REAL["time.monotonic"]()) < 60
    assert kept_uuid4() != kept_uuid4()
    assert 0.0 <= kept_random() < 1.0
    assert abs(kept_datetime.now().timestamp() - REAL["time.time"]()) < 60


def test_other_threads_read_real_time() -> None:
    """A watcher thread that reads the clock while a run moves virtual time sees the real
    clock, never a jump: the shims answer only the thread that entered the run."""
    readings: list[float] = []
    stop = threading.Event()
    started = threading.Event()

    def watch() -> None:
        started.set()
        while not stop.is_set():
            readings.append(time.monotonic())
            uuid.uuid4()
            time.sleep(0.0005)

    watcher = threading.Thread(target=watch)
    watcher.start()
    started.wait(5)
    try:
        k = Kernel(0)
        k.spawn(k.sleep(10_000))
        with Shims(k):
            for step in range(1, 50):
                k.run(until=step * 100)
                assert time.monotonic() == step * 100.0
                time.sleep(0.001)
    finally:
        stop.set()
        watcher.join(5)
    assert len(readings) > 5
    steps = [b - a for a, b in itertools.pairwise(readings)]
    # Real time: never backwards, never a virtual 100 s step.
    assert min(steps) >= 0.0
    assert max(steps) < 5.0


def test_two_threads_each_in_a_run_keep_their_own_clock() -> None:
    """Two threads each entering a run see their own kernel's time, and one leaving its
    run does not take the shims away from the other."""
    results: dict[str, list[float]] = {"a": [], "b": []}
    barrier = threading.Barrier(2, timeout=5)

    def run(name: str, at: float) -> None:
        k = Kernel(0)
        k.spawn(k.sleep(1000))
        k.run(until=at)
        with Shims(k):
            barrier.wait()
            results[name].append(time.monotonic())
            if name == "a":
                barrier.wait()  # a leaves first
            else:
                barrier.wait()
                time.sleep(0.01)
                results[name].append(time.monotonic())

    threads = [threading.Thread(target=run, args=("a", 3.0)),
               threading.Thread(target=run, args=("b", 7.0))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert results == {"a": [3.0], "b": [7.0, 7.0]}
    assert_real()
