"""The store's snapshot format: fast, sorted, and exact on every value that stored before."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simulator._json import load_snapshot, snapshot

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text()
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda children: st.lists(children) | st.dictionaries(st.text(), children),
    max_leaves=20,
)


@given(json_values)
def test_round_trip_is_what_the_standard_library_gives(value: object) -> None:
    assert load_snapshot(snapshot(value)) == json.loads(json.dumps(value))


@given(st.dictionaries(st.text(), st.integers(), min_size=2))
def test_same_value_same_text_whatever_the_insertion_order(value: dict[str, int]) -> None:
    assert snapshot(value) == snapshot(dict(reversed(list(value.items()))))


@pytest.mark.parametrize("value", [2**70, -(10**19), {1: "int key"}, [{"n": 2**64}]])
def test_values_orjson_refuses_fall_back_exactly(value: object) -> None:
    # orjson refuses these; a big integer read back by orjson would be a float.
    assert load_snapshot(snapshot(value)) == json.loads(json.dumps(value))


def test_not_json_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        snapshot({"when": object()})
