"""``ninelives shrink``: cut a failing seed's fault plan down to the faults that matter
(docs/cli.md)."""

from __future__ import annotations

import argparse
from typing import Any

from ..engine import require_writable_file
from ._args import add_isolation_flag, add_progress_flag, count_arg, output_path, seed_arg
from ._output import progress_bar, write_output


def add_shrink_parser(subparsers: Any) -> None:
    """Register ``ninelives shrink`` and its arguments on ``subparsers``."""
    p = subparsers.add_parser(
        "shrink", help="cut a failing seed's fault plan down to the faults that matter",
        description="Run the seed's swarm plan; if it violates an invariant, greedily "
                    "shrink the plan to a smaller one that still violates the same "
                    "invariant, write it, and print the replay command that reproduces it. "
                    "Exit 1 if the seed fails (0 if it does not: nothing to shrink).")
    p.add_argument("--scenario", required=True, metavar="S")
    p.add_argument("--design", default="reference", metavar="D",
                   help="a registered name or package.module:attr (default: reference)")
    p.add_argument("--seed", required=True, type=seed_arg, metavar="N")
    p.add_argument("--out", type=output_path, metavar="PLAN.json",
                   help="where to write the shrunk plan "
                        "(default: ninelives-<scenario>-<design>-<seed>.plan.json)")
    p.add_argument("--max-attempts", type=count_arg, default=500, metavar="N",
                   help="runs the shrinker may make (default 500)")
    p.add_argument("--json", type=output_path, metavar="PATH",
                   help="write the outcome as JSON")
    add_isolation_flag(p)
    add_progress_flag(p)
    p.set_defaults(handler=cmd_shrink)


def _default_plan_name(scenario: str, design: str, seed: int) -> str:
    def safe(name: str) -> str:  # a package.module:attr is no file name everywhere
        return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)

    return f"ninelives-{safe(scenario)}-{safe(design)}-{seed}.plan.json"


def cmd_shrink(args: argparse.Namespace) -> int:
    """``ninelives shrink``: 0, or 1 if the seed fails (its shrunk plan is written)."""
    from rich.text import Text

    from reference_agent import load_design
    from scenarios import get_scenario

    from .. import reports as _report
    from ..engine import shrink_seed

    get_scenario(args.scenario)
    load_design(args.design)
    out = args.out or require_writable_file(
        _default_plan_name(args.scenario, args.design, args.seed), "--out")
    console = _report.make_console()
    with progress_bar(console, args.no_progress) as progress:
        task = progress.add_task("shrinking", total=None)
        outcome = shrink_seed(args.scenario, args.design, args.seed, out,
                              max_attempts=args.max_attempts, isolation=args.isolation,
                              on_attempt=lambda n: progress.update(
                                  task, description=f"shrinking: {n} runs"))
    if outcome.original is None:
        console.print(Text(f"✓ {args.scenario} x {args.design} seed {args.seed} held every "
                           "invariant: nothing to shrink", style="green"), soft_wrap=True)
        if args.json:
            write_output(args.json, outcome.report().model_dump_json(indent=2) + "\n")
        return 0
    console.print(Text(f"seed {args.seed} of {args.scenario} x {args.design} violates "
                       f"{outcome.invariant}:", style="bold"))
    _report.print_violation(console, outcome.original)
    plural = "" if outcome.size_after == 1 else "s"
    console.print(Text(f"shrunk the plan from {outcome.size_before} to {outcome.size_after} "
                       f"fault{plural} in {outcome.attempts} runs:", style="bold"))
    _report.print_lines(console, (f"  #{i} {line}" for i, line
                                  in enumerate(outcome.plan.describe())))
    console.print(Text(f"wrote {out}", style="dim"), soft_wrap=True)
    console.print(Text("the shrunk plan still violates it:", style="bold"))
    for v in outcome.violations:
        _report.print_violation(console, v)
    console.print(Text("reproduce: ", style="bold") + Text(outcome.repro, style="cyan"),
                  soft_wrap=True)
    if args.json:
        write_output(args.json, outcome.report().model_dump_json(indent=2) + "\n")
    return 1
