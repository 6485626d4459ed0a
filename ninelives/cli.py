"""The ``ninelives`` command."""

from __future__ import annotations


def main(argv: list[str] | None = None) -> int:
    print("ninelives: under construction")
    return 0
