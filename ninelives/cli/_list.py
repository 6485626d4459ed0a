"""``ninelives list``: what ninelives knows, one line each (docs/cli.md)."""

from __future__ import annotations

import argparse
from typing import Any


def add_list_parser(subparsers: Any) -> None:
    """Register ``ninelives list`` and its arguments on ``subparsers``."""
    p = subparsers.add_parser(
        "list", help="scenarios, designs, fault kinds, invariants, situations",
        description="List what ninelives knows, one line each; with --scenario, what one "
                    "scenario defines.")
    p.add_argument("--scenario", metavar="S", default=None,
                   help="show what this scenario defines (a name or package.module:attr): "
                        "its services and tools, fault window, liveness bound, invariants")
    p.set_defaults(handler=cmd_list)


def _scenario_rows(spec: str) -> list[tuple[str, str]]:
    """What scenario ``spec`` defines, one (field, value) row each. Its world is built
    once (seed 0, no design) to list the services it starts and their endpoints."""
    from scenarios import INVARIANTS, ScenarioFault, get_scenario
    from simulator import World

    scenario = get_scenario(spec)
    world = World(0)
    try:
        scenario.build(world)
        services = []
        for name, service in world.services.items():
            keyed = set(getattr(service, "keyed", ()))
            effects = set(getattr(service, "side_effecting", ()))
            marks = [e + ("[effect" + (", keyed]" if e in keyed else "]")
                          if e in effects else "")
                     for e in service.endpoints]
            services.append((f"service {name}", ", ".join(marks)))
    except ScenarioFault:
        raise
    finally:
        world.dispose()
    shared = ", ".join(INVARIANTS)
    own = ", ".join(getattr(scenario, "invariants", ())) or "(none declared)"
    return [
        ("name", scenario.name),
        ("description", scenario.description or "(none)"),
        *services,
        ("tools", ", ".join(scenario.tools) or "(none listed: faults aim at observed tools)"),
        ("keyed tools", ", ".join(scenario.keyed_tools) or "(none)"),
        ("fault window", f"{scenario.fault_window_s:g} s (virtual)"),
        ("liveness bound", f"{scenario.liveness_bound_s:g} s after faults stop"),
        ("invariants", own),
        ("all invariants", shared),
    ]


def cmd_list(args: argparse.Namespace) -> int:
    """``ninelives list``: print every table (or one scenario's); 0."""
    from rich.table import Table
    from rich.text import Text

    from .. import reports as _report

    console = _report.make_console()
    if args.scenario is not None:
        sections = [(f"scenario {args.scenario}", _scenario_rows(args.scenario))]
    else:
        sections = _everything()
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


def _everything() -> list[tuple[str, list[tuple[str, str]]]]:
    """Every table ``ninelives list`` prints without --scenario."""
    from faults import kinds
    from reference_agent import DESIGNS, FLAWED, RARE_FLAWED, TRAPS
    from scenarios import INVARIANTS, SCENARIOS, SITUATIONS

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
    return sections
