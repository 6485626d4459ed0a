"""``ninelives replay``: reproduce one run exactly and show its timeline (docs/cli.md)."""

from __future__ import annotations

import argparse
from typing import Any

from ._args import output_path, seed_arg
from ._output import write_output


def add_replay_parser(subparsers: Any) -> None:
    """Register ``ninelives replay`` and its arguments on ``subparsers``."""
    p = subparsers.add_parser(
        "replay", help="reproduce one run exactly and show its timeline",
        description="Re-run one seed (with its swarm plan, or --plan) exactly; print the "
                    "trace hash, a timeline of the events that matter and the violations "
                    "with their evidence. Exit 1 if an invariant was violated.")
    p.add_argument("--scenario", required=True, metavar="S")
    p.add_argument("--design", default="reference", metavar="D",
                   help="a registered name or package.module:attr (default: reference)")
    p.add_argument("--seed", required=True, type=seed_arg, metavar="N")
    p.add_argument("--plan", metavar="PLAN.json",
                   help="a fault plan file (from shrink, explore or by hand) instead of the "
                        "seed's swarm plan")
    p.add_argument("--html", type=output_path, metavar="PATH",
                   help="write a self-contained HTML timeline (one swimlane per component)")
    p.add_argument("--json", type=output_path, metavar="PATH",
                   help="write the run (every trace event) as JSON")
    p.add_argument("--all-events", action="store_true",
                   help="show every trace event, not only those that matter")
    p.set_defaults(handler=cmd_replay)


def cmd_replay(args: argparse.Namespace) -> int:
    """``ninelives replay``: 0, or 1 if the run violated an invariant."""
    from faults import FaultPlan
    from reference_agent import load_design
    from scenarios import fault_targets, get_scenario

    from .. import reports as _report
    from ..engine import replay

    scenario = get_scenario(args.scenario)
    design = load_design(args.design)
    plan = FaultPlan.from_file(args.plan) if args.plan else None
    if plan is not None:
        plan.check_targets(*fault_targets(scenario, design), args.plan)
    rep = replay(args.scenario, args.design, args.seed, plan, plan_path=args.plan)
    try:
        console = _report.make_console()
        _report.print_replay(console, rep, args.all_events)
        if args.html:
            from ..reports import render_html as render

            write_output(args.html, render(rep))
            console.print(f"wrote {args.html}", style="dim", soft_wrap=True)
        if args.json:
            write_output(args.json, rep.report().model_dump_json(indent=2) + "\n")
            console.print(f"wrote {args.json}", style="dim", soft_wrap=True)
        return 1 if rep.result.violations else 0
    finally:
        rep.dispose()
