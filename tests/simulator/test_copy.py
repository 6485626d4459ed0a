"""``simulator._copy.deep_copy`` makes the copy ``copy.deepcopy`` makes."""

from __future__ import annotations

import copy
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import pytest

from simulator._copy import deep_copy


@dataclass
class Box:
    items: list[Any]


class Text(str):
    pass


def _shape(value: Any, seen: dict[int, int] | None = None) -> Any:
    """A structural fingerprint: types, values, and which containers are the same object."""
    seen = {} if seen is None else seen
    if isinstance(value, dict | list | tuple | set | bytearray | Box):
        if id(value) in seen:
            return ("ref", seen[id(value)])
        seen[id(value)] = len(seen)
    if isinstance(value, dict):
        return (type(value).__name__, [(_shape(k, seen), _shape(v, seen))
                                       for k, v in value.items()])
    if isinstance(value, list | tuple):
        return (type(value).__name__, [_shape(v, seen) for v in value])
    if isinstance(value, Box):
        return ("Box", _shape(value.items, seen))
    return (type(value).__name__, repr(value))


def _shared() -> dict[str, Any]:
    inner = {"x": [1, 2]}
    return {"a": inner, "b": inner, "c": [inner, inner["x"]]}


def _cycle() -> list[Any]:
    loop: list[Any] = [1]
    loop.append({"back": loop})
    return loop


CASES = [
    {"ok": True, "response": {"id": "ch_1", "amount": 2400, "meta": {"step": "2"}}},
    [{"id": "checkout-1", "input": {"items": [{"sku": "s", "quantity": 2}]}}],
    {"f": -0.0, "inf": float("inf"), "big": 10**40, "none": None, "t": (1, [2])},
    _shared(),
    {"bytes": b"ab", "buf": bytearray(b"cd"), "sub": Text("t"), 3: {4, 5}},
    OrderedDict([("b", [1]), ("a", {"z": 1})]),
    {"box": Box([{"k": "v"}]), "boxes": [Box([]), Box([1])]},
    "plain", 7, None,
]


@pytest.mark.parametrize("value", [*CASES, _cycle()])
def test_same_copy_as_deepcopy(value: Any) -> None:
    ours, theirs = deep_copy(value), copy.deepcopy(value)
    assert _shape(ours) == _shape(theirs)
    assert _shape(ours) == _shape(value)


@pytest.mark.parametrize("value", CASES[:7])
def test_the_copy_shares_no_mutable_part(value: Any) -> None:
    ours = deep_copy(value)
    originals: dict[int, Any] = {}
    copies: dict[int, Any] = {}

    def mutables(v: Any, into: dict[int, Any]) -> None:
        if isinstance(v, dict | list | set | bytearray | Box) and id(v) not in into:
            into[id(v)] = v
            children = (v.items if isinstance(v, Box) else
                        [*v.keys(), *v.values()] if isinstance(v, dict) else v)
            for child in children:
                mutables(child, into)
        elif isinstance(v, tuple):
            for child in v:
                mutables(child, into)

    mutables(value, originals)
    mutables(ours, copies)
    assert originals and not set(originals) & set(copies)


def test_a_cycle_stays_a_cycle() -> None:
    ours = deep_copy(_cycle())
    assert ours[1]["back"] is ours
