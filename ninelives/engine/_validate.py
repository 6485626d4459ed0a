"""The one set of input validators every front door shares (docs/errors.md).

The command line's argument types (``ninelives.cli._args``), real mode's options, the
pytest plugin's options and marker, and ``check`` all validate through these, so the
same bad value gets the same one-line message everywhere. Each returns the value,
converted, or raises ``InputError`` with a plain message that names the value — and the
input when ``name`` is given (``--seeds: must be >= 1, got 0``). argparse names the
option itself (``argument --seeds: ...``), so its wrappers pass no ``name``. No message
shows a Python function or type name: ``invalid int value`` is argparse's wording for a
type that raised ``ValueError``, and these never let one escape
(``tests/ninelives/engine/test_validate.py``).

Pure functions of their input, apart from the path validators, which look at the file
system (they exist to fail before a long run, not after it).
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from urllib.parse import urlsplit

from ..errors import InputError


def _bad(name: str, problem: str) -> InputError:
    return InputError(f"{name}: {problem}" if name else problem)


def parse_int(text: str, name: str = "") -> int:
    """Decimal integer text (``"12"``, ``"-3"``) as an int."""
    try:
        return int(text.strip(), 10)
    except (ValueError, AttributeError):
        raise _bad(name, f"must be an integer, got {text!r}") from None


def parse_number(text: str, name: str = "") -> float:
    """Number text (``"2"``, ``"0.5"``, ``"1e3"``) as a finite float: ``nan`` and
    ``inf`` are refused, since no option means anything with them."""
    try:
        value = float(text)
    except (ValueError, TypeError):
        raise _bad(name, f"must be a number, got {text!r}") from None
    if not math.isfinite(value):
        raise _bad(name, f"must be a finite number, got {text!r}")
    return value


def require_at_least(value: object, minimum: int, name: str = "") -> int:
    """An int (a ``bool`` is not one) that is ``>= minimum``: a count, a seed, an index."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise _bad(name, f"must be an integer >= {minimum}, got {value!r}")
    if value < minimum:
        raise _bad(name, f"must be >= {minimum}, got {value}")
    return value


def require_seed(value: object, name: str = "") -> int:
    """A seed: an integer >= 0 (every seed names one run; negative ones are refused so
    that ``--first-seed -1`` is a typo caught, not a different run)."""
    return require_at_least(value, 0, name)


def require_count(value: object, name: str = "") -> int:
    """A count of something (seeds, workers, runs): an integer >= 1."""
    return require_at_least(value, 1, name)


def _number(value: object, name: str) -> float:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise _bad(name, f"must be a number, got {value!r}")
    return float(value)


def require_one_of(value: object, choices: tuple[object, ...], name: str = "") -> object:
    """One of a fixed set of values (``--crashes`` is 1 or 2)."""
    if value not in choices or isinstance(value, bool):
        listed = ", ".join(map(repr, choices[:-1])) + f" or {choices[-1]!r}" \
            if len(choices) > 1 else repr(choices[0])
        raise _bad(name, f"must be {listed}, got {value!r}")
    return value


def require_positive(value: object, name: str = "") -> float:
    """A number > 0 (a time scale, a timeout)."""
    number = _number(value, name)
    if not number > 0:
        raise _bad(name, f"must be > 0, got {number:g}")
    return number


def require_probability(value: object, name: str = "") -> float:
    """A number between 0 and 1, both included."""
    number = _number(value, name)
    if not 0.0 <= number <= 1.0:
        raise _bad(name, f"must be between 0 and 1, got {number:g}")
    return number


def require_port(value: object, name: str = "") -> int:
    """A TCP port, 0..65535 (0: any free one)."""
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 65535:
        raise _bad(name, f"must be a TCP port, 0..65535 (0: any free one), got {value!r}")
    return value


def parse_range(text: str, name: str = "") -> tuple[float, float]:
    """``MIN,MAX`` (or one number for both) with ``0 <= MIN <= MAX``."""
    low, _, high = text.partition(",")
    try:
        pair = (parse_number(low), parse_number(high or low))
    except InputError:
        raise _bad(name, f"must be MIN,MAX (two numbers), got {text!r}") from None
    if pair[0] < 0 or pair[1] < pair[0]:
        raise _bad(name, f"must be MIN,MAX with 0 <= MIN <= MAX, got {text!r}")
    return pair


def require_url(text: str, name: str = "") -> str:
    """An ``http://`` or ``https://`` URL with a host."""
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise _bad(name, f"must be a URL such as http://127.0.0.1:8123, got {text!r}")
    return text


def require_writable_file(text: str, name: str = "") -> str:
    """A file that can be written (created, or overwritten): not a directory, in a
    directory that exists and is writable. Checked before any run starts, so a typo in
    ``--json`` does not waste a thousand-seed sweep."""
    path = Path(text)
    if path.is_dir():
        raise _bad(name, f"{text}: is a directory")
    parent = path.parent
    if not parent.is_dir():
        raise _bad(name, f"{text}: directory {str(parent)!r} does not exist")
    if not os.access(parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise _bad(name, f"{text}: not writable")
    return text


def require_writable_dir(text: str, name: str = "") -> str:
    """A directory that exists and is writable, or can be created (with its missing
    parents, as its users do with ``mkdir(parents=True)``) under one that is."""
    path = Path(text)
    if path.exists() and not path.is_dir():
        raise _bad(name, f"{text}: not a directory")
    probe = path
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir() or not os.access(probe, os.W_OK):
        raise _bad(name, f"{text}: not a writable directory")
    return text
