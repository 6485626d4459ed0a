"""The store's snapshot format: fast, sorted, and exact on every value that stored before."""

from __future__ import annotations

import dataclasses
import datetime
import enum
import json
import math
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simulator._json import is_strict_json, load_snapshot, snapshot

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


class Colour(enum.Enum):
    RED = "red"


class Size(enum.IntEnum):
    BIG = 2


@dataclasses.dataclass
class Point:
    x: int


class Name(str):
    pass


NOT_JSON = {"uuid": uuid.UUID(int=7), "enum": Colour.RED, "dataclass": Point(1),
            "datetime": datetime.datetime(2026, 1, 1), "set": {1, 2}, "object": object(),
            "nested-uuid": {"nested": [uuid.UUID(int=8)]}}


@pytest.mark.parametrize("value", list(NOT_JSON.values()), ids=list(NOT_JSON))
def test_what_the_standard_encoder_refuses_is_refused(value: object) -> None:
    # orjson alone would store UUIDs, enums, dataclasses and datetimes as strings; the
    # simulated store must refuse them, as SQLite (canonical_json) does.
    with pytest.raises(TypeError):
        json.dumps(value)
    with pytest.raises(TypeError):
        snapshot(value)
    assert not is_strict_json(value)


@pytest.mark.parametrize("value", [(1, [2, (3,)]), Size.BIG, {"n": Name("x")},
                                   [float("inf")], -0.0],
                         ids=["tuples", "int-enum", "str-subclass", "infinity", "minus-zero"])
def test_what_the_standard_encoder_accepts_reads_back_as_it_would(value: object) -> None:
    assert load_snapshot(snapshot(value)) == json.loads(json.dumps(value))


def test_nan_reads_back_as_nan_and_is_not_strict_json() -> None:
    [back] = load_snapshot(snapshot([float("nan")]))
    assert math.isnan(back)
    assert not is_strict_json({"x": float("nan")})
    assert is_strict_json({"x": [1, "two", None, 3.5]})
