"""``SimStore``'s sorted key index: a prefix scan returns what a full pass would."""

from __future__ import annotations

import random

import pytest

from simulator import Kernel, SimStore
from simulator._store import _DELETE
from simulator._trace import canonical_json


def _brute(store: SimStore, table: str, prefix: str) -> list[tuple[str, int, object]]:
    rows = store._tables.get(table, {})
    return [(k, rows[k][0], store.read(table, k)[1]) for k in sorted(rows)
            if k.startswith(prefix)]


@pytest.mark.parametrize("seed", range(5))
def test_scans_match_a_full_pass_under_random_writes_and_deletes(seed: int) -> None:
    rng = random.Random(seed)
    store = SimStore(Kernel(seed))
    alphabet = ["a", "ab", "b", "b/", "b/1", "b/10", "b/2", "c", "", "\u00e9"]
    for _ in range(300):
        writes: dict[tuple[str, str], object] = {}
        for _ in range(rng.randint(1, 3)):
            table = rng.choice(["t", "u"])
            key = rng.choice(alphabet) + rng.choice(alphabet)
            writes[(table, key)] = (_DELETE if rng.random() < 0.3
                                    else canonical_json(rng.randint(0, 9)))
        store.apply({}, writes)
        for table in ("t", "u", "never"):
            for prefix in ("", "a", "b", "b/", "b/1", "z", "\u00e9"):
                assert store.scan_committed(table, prefix) == _brute(store, table, prefix)
