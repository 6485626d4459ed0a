"""Fast sorted-key JSON for the simulator's internal snapshots (stored rows,
idempotency fingerprints): orjson, which is several times faster than the standard
encoder on the small values a run writes thousands of times.

Internal only: the text is compared and parsed back, never shown, so its exact form
(UTF-8 rather than ``\\u`` escapes, ``1e16`` rather than ``1e+16``) does not matter.
What users read and what is hashed stays ``canonical_json``. Values orjson refuses but
the standard encoder takes (integers past 64 bits, non-string keys) fall back to it,
so any value that stored before still stores (``tests/simulator/test_json.py``).
One difference remains, for values that are not JSON anyway: NaN and infinities come
back as ``None`` (orjson writes ``null``), where the standard encoder's ``NaN`` came
back as NaN.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

from ._trace import canonical_json

_SORT = orjson.OPT_SORT_KEYS
_dumps = orjson.dumps
_loads = orjson.loads
# The fallback text is a single canonical JSON value without surrounding whitespace, for
# which the standard decoder's scanner alone gives what ``json.loads`` gives.
_scan_once = json.JSONDecoder().scan_once


def snapshot(value: Any) -> bytes | str:
    """``value`` as sorted-key JSON; the same value always gives the same text."""
    try:
        return _dumps(value, option=_SORT)
    except TypeError:
        # orjson.JSONEncodeError is a TypeError. The standard encoder takes a few more
        # shapes (int keys, big ints) and raises TypeError itself on what is not JSON.
        return canonical_json(value)


def load_snapshot(text: bytes | str) -> Any:
    """The value ``snapshot`` gave ``text`` for. Fallback text (a str) goes back through
    the standard decoder: orjson would read an integer past 64 bits as a float."""
    if type(text) is bytes:
        return _loads(text)
    return _scan_once(text, 0)[0]
