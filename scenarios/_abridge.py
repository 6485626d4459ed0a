"""Long values cut one way, for every place that shows them.

A violation's evidence, a trace event, an argument shown in a timeline: the terminal and
HTML reports, the pytest plugin's and the Hypothesis helper's failure messages and the
reproducibility check all cut them here, so a cut value looks the same everywhere and
never exceeds the space it was given: the first ``limit - 1`` characters and ``…``.
What was cut is never lost: ``--json`` (and ``ninelives replay``) has the whole value.
"""

from __future__ import annotations

import json
from typing import Any

#: characters of evidence in a failure message (pytest, Hypothesis)
EVIDENCE_CHARS = 800
#: what ends a cut text
ELLIPSIS = "…"


def clip(text: str, limit: int) -> str:
    """``text`` if it has at most ``limit`` characters, else its first ``limit - 1`` and
    ``…``: the result never has more than ``limit`` (at least 1)."""
    if limit < 1:
        raise ValueError(f"limit must be at least 1, not {limit}")
    return text if len(text) <= limit else text[: limit - 1] + ELLIPSIS


def one_line(value: Any, limit: int = EVIDENCE_CHARS) -> str:
    """``value`` on one line of at most ``limit`` characters: a string as it is, anything
    else as compact key-sorted JSON (what is not JSON, by ``str``), then ``clip``-ped."""
    text = value if isinstance(value, str) else json.dumps(
        value, sort_keys=True, separators=(",", ":"), default=str)
    return clip(text, limit)
