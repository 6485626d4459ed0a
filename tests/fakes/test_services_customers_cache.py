"""``make_customers`` remembers what it made: a hit gives what a fresh make gives."""

from __future__ import annotations

import random

from fakes import _customers, make_customers


def _full(customers: list[_customers.Customer]) -> list[tuple[object, ...]]:
    return [(c.id, c.name, c.email, c.card_number, c.declines) for c in customers]


def test_a_remembered_make_equals_a_fresh_one_and_draws_the_same() -> None:
    rng_hit, rng_fresh = random.Random(21), random.Random(21)
    first = make_customers(random.Random(21), 6, 0.5)  # now remembered
    hit = make_customers(rng_hit, 6, 0.5)
    _customers._MADE.clear()
    fresh = make_customers(rng_fresh, 6, 0.5)
    assert _full(hit) == _full(fresh) == _full(first)
    assert rng_hit.getstate() == rng_fresh.getstate()


def test_the_caller_gets_its_own_list() -> None:
    a = make_customers(random.Random(4), 3)
    a[-1] = a[-1].model_copy(update={"declines": True})  # what checkout does
    assert not make_customers(random.Random(4), 3)[-1].declines


def test_the_memory_is_bounded() -> None:
    for seed in range(_customers._MADE_MAX + 10):
        make_customers(random.Random(seed), 1)
    assert len(_customers._MADE) == _customers._MADE_MAX
