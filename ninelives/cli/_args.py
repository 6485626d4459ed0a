"""The command line's argument types: every typed option of every subcommand uses one of
these (``tests/ninelives/cli/test_cli_args.py`` checks that no ``type=int`` is left).

Each is a validator of ``ninelives.engine`` (the same ones the pytest plugin and the
Python API use) wrapped for argparse: an ``InputError`` becomes an
``ArgumentTypeError``, which argparse prints after the option's name, so a bad value
reads ``argument --seeds: must be >= 1, got 0`` and never ``invalid int value``.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from typing import TypeVar

from ..engine import (
    parse_int,
    parse_number,
    parse_range,
    require_at_least,
    require_count,
    require_port,
    require_positive,
    require_probability,
    require_seed,
    require_url,
    require_writable_dir,
    require_writable_file,
)
from ..errors import InputError

T = TypeVar("T")


def _argparse(check: Callable[[], T]) -> T:
    try:
        return check()
    except InputError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def seed_arg(text: str) -> int:
    """A seed: an integer >= 0."""
    return _argparse(lambda: require_seed(parse_int(text)))


def count_arg(text: str) -> int:
    """A count (seeds, workers, runs): an integer >= 1."""
    return _argparse(lambda: require_count(parse_int(text)))


def nonnegative_arg(text: str) -> int:
    """An integer >= 0 (how many kills; an incarnation number)."""
    return _argparse(lambda: require_at_least(parse_int(text), 0))


def integer_arg(text: str) -> int:
    """Any integer (with ``choices=``, an integer from a fixed set)."""
    return _argparse(lambda: parse_int(text))


def number_arg(text: str) -> float:
    """Any finite number (a unix time)."""
    return _argparse(lambda: parse_number(text))


def positive_number_arg(text: str) -> float:
    """A number > 0 (a time scale, a timeout in seconds)."""
    return _argparse(lambda: require_positive(parse_number(text)))


def probability_arg(text: str) -> float:
    """A probability: a number between 0 and 1."""
    return _argparse(lambda: require_probability(parse_number(text)))


def port_arg(text: str) -> int:
    """A TCP port, 0..65535 (0: any free one)."""
    return _argparse(lambda: require_port(parse_int(text)))


def range_arg(text: str) -> tuple[float, float]:
    """``MIN,MAX``: two numbers, ``0 <= MIN <= MAX`` (one number: both)."""
    return _argparse(lambda: parse_range(text))


def url_arg(text: str) -> str:
    """An http(s) URL."""
    return _argparse(lambda: require_url(text))


def output_path(text: str) -> str:
    """An output file that can be written: checked before any run starts."""
    return _argparse(lambda: require_writable_file(text))


def output_dir(text: str) -> str:
    """An output directory that exists and is writable, or can be created."""
    return _argparse(lambda: require_writable_dir(text))


def default_workers() -> int:
    """Worker processes by default: the cores this process may run on."""
    count = getattr(os, "process_cpu_count", None)  # Python >= 3.13: honours affinity
    if count is not None:
        return count() or 1
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


def add_progress_flag(p: argparse.ArgumentParser) -> None:
    """``--no-progress``, for the subcommands that draw a progress bar."""
    p.add_argument("--no-progress", action="store_true",
                   help="no progress bar (it is also off when stdout is not a terminal)")
