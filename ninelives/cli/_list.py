"""``ninelives list``: what ninelives knows, one line each (docs/cli.md)."""

from __future__ import annotations

import argparse
from typing import Any


def add_list_parser(subparsers: Any) -> None:
    """Register ``ninelives list`` and its arguments on ``subparsers``."""
    p = subparsers.add_parser(
        "list", help="scenarios, designs, fault kinds, invariants, situations",
        description="List what ninelives knows, one line each.")
    p.set_defaults(handler=cmd_list)


def cmd_list(args: argparse.Namespace) -> int:
    """``ninelives list``: print every table; always 0."""
    from rich.table import Table
    from rich.text import Text

    from faults import kinds
    from reference_agent import DESIGNS, FLAWED, RARE_FLAWED, TRAPS
    from scenarios import INVARIANTS, SCENARIOS, SITUATIONS

    from .. import reports as _report

    console = _report.make_console()
    sections: list[tuple[str, list[tuple[str, str]]]] = [
        ("scenarios", [(s.name, s.description) for s in SCENARIOS.values()]),
        ("designs", [(d.name, ("[flawed] " if d.name in FLAWED + TRAPS + RARE_FLAWED else "")
                      + d.description
                      + (f" ({d.workers} workers)" if d.workers > 1 else ""))
                     for d in DESIGNS.values()]),
        ("fault kinds", [(k.kind, k.summary) for k in kinds()]),
        ("invariants", list(INVARIANTS.items())),
        ("situations", list(SITUATIONS.items())),
    ]
    for title, rows in sections:
        table = Table(title=title, title_justify="left", title_style="bold",
                      show_header=False, box=None, padding=(0, 2))
        table.add_column(no_wrap=True, style="cyan")
        table.add_column()
        for name, text in rows:
            table.add_row(Text(name), Text(text))
        console.print(table)
        console.print()
    return 0
