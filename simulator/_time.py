"""Virtual time is integer nanoseconds: float seconds drift (ten 0.1 s sleeps end at
0.9999999999999996), integers do not."""

from __future__ import annotations

NS_PER_US = 1_000
NS_PER_MS = 1_000_000
NS_PER_S = 1_000_000_000
NS_PER_MINUTE = 60 * NS_PER_S
NS_PER_HOUR = 60 * NS_PER_MINUTE
NS_PER_DAY = 24 * NS_PER_HOUR


def seconds_to_ns(seconds: float) -> int:
    """Seconds (int or float) to integer nanoseconds, rounded to the nearest."""
    if isinstance(seconds, int):
        return seconds * NS_PER_S
    return round(seconds * NS_PER_S)


def ns_to_seconds(ns: int) -> float:
    """Nanoseconds to float seconds, for display and for ``time.time`` shims only."""
    return ns / NS_PER_S
