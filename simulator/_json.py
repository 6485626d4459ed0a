"""Fast sorted-key JSON for the simulator's own text (stored rows, idempotency
fingerprints, the fake model's answers): orjson, which is several times faster than the
standard encoder on the small values a run writes thousands of times.

The text is compared and parsed back, not hashed or reported, so its exact form (UTF-8
rather than ``\\u`` escapes, ``1e16`` rather than ``1e+16``) does not matter. What is
hashed and what reports print stays ``canonical_json``.

What matters is that the simulated store accepts exactly what the standard encoder
(and so ``SqliteStore``) accepts, and gives back exactly what it would. orjson is more
lenient (UUIDs, enums, dataclasses and datetimes become strings; NaN becomes ``null``)
and stricter elsewhere (integers past 64 bits, non-string keys). So orjson only gets
values made of plain dicts, lists, tuples, strings, ints, bools, None and finite floats
(a walk over the value, cheaper than reading the text back), and everything else goes
through ``canonical_json``, which raises ``TypeError`` for what is not JSON
(``tests/simulator/test_json.py``).
"""

from __future__ import annotations

import json
from typing import Any

import orjson

from ._trace import canonical_json

_OPTIONS = orjson.OPT_SORT_KEYS
_SCALARS = frozenset({str, int, bool, type(None)})
_dumps = orjson.dumps
_loads = orjson.loads
# The fallback text is a single canonical JSON value without surrounding whitespace, for
# which the standard decoder's scanner alone gives what ``json.loads`` gives.
_scan_once = json.JSONDecoder().scan_once


def _plain(value: Any) -> bool:
    """Whether ``value`` is made only of types orjson writes exactly as ``json`` does
    (keys are left to orjson: it refuses non-string ones)."""
    kind = type(value)
    if kind is dict:
        items: Any = value.values()
    elif kind is list or kind is tuple:
        items = value
    else:
        return kind in _SCALARS or (kind is float and value - value == 0.0)
    for item in items:
        kind = type(item)
        if kind in _SCALARS:
            continue
        if kind is float:
            if item - item != 0.0:  # NaN or an infinity
                return False
        elif not _plain(item):
            return False
    return True


def _fast(value: Any) -> bytes | None:
    """orjson's text for ``value`` if it is exactly the standard encoder's value."""
    try:
        if not _plain(value):
            return None
        return _dumps(value, option=_OPTIONS)
    except (TypeError, RecursionError):  # orjson.JSONEncodeError is a TypeError
        return None


def snapshot(value: Any) -> bytes | str:
    """``value`` as sorted-key JSON; the same value always gives the same text.
    Raises ``TypeError`` for what is not JSON, as ``json.dumps`` does."""
    text = _fast(value)
    return canonical_json(value) if text is None else text


def load_snapshot(text: bytes | str) -> Any:
    """The value ``snapshot`` gave ``text`` for."""
    if type(text) is bytes:
        return _loads(text)
    return _scan_once(text, 0)[0]


def is_strict_json(value: Any) -> bool:
    """Whether ``json.dumps(value, allow_nan=False)`` would succeed."""
    if _fast(value) is not None:
        return True
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        return False
    return True
