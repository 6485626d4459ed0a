"""``ninelives explore``: crash at every port operation, or every pair (docs/cli.md)."""

from __future__ import annotations

import argparse
from typing import Any

from ._args import (
    add_isolation_flag,
    add_progress_flag,
    count_arg,
    default_workers,
    integer_arg,
    output_dir,
    output_path,
    seed_arg,
)
from ._output import progress_bar, write_output


def add_explore_parser(subparsers: Any) -> None:
    """Register ``ninelives explore`` and its arguments on ``subparsers``."""
    p = subparsers.add_parser(
        "explore", help="crash at every port operation (or every pair) exhaustively",
        description="Run the scenario once without faults, count each process's port "
                    "operations, then run one plan per crash point (--crashes 1) or per "
                    "pair of crash points (--crashes 2). Exit 1 if any plan violates an "
                    "invariant.")
    p.add_argument("--scenario", required=True, metavar="S")
    p.add_argument("--design", default="reference", metavar="D",
                   help="a registered name or package.module:attr (default: reference)")
    p.add_argument("--seed", type=seed_arg, default=0, metavar="N",
                   help="the seed every plan runs with (default 0)")
    p.add_argument("--crashes", type=integer_arg, choices=(1, 2), default=1,
                   help="1: every crash point; 2: every pair of crash points (default 1)")
    p.add_argument("--workers", type=count_arg, default=default_workers(), metavar="N",
                   help="worker processes (default: this machine's cores, "
                        f"{default_workers()}); results do not depend on it")
    p.add_argument("--json", type=output_path, metavar="PATH",
                   help="write the results as JSON (like run's, plus points)")
    p.add_argument("--plans-dir", type=output_dir, metavar="DIR",
                   help="write each failing plan here; repro lines then use --plan FILE "
                        "(without it, the plan is inlined in the repro line)")
    p.add_argument("--max-failures", type=count_arg, default=10, metavar="N",
                   help="failing plans printed (default 10)")
    add_isolation_flag(p)
    add_progress_flag(p)
    p.set_defaults(handler=cmd_explore)


def cmd_explore(args: argparse.Namespace) -> int:
    """``ninelives explore``: 0, or 1 if any crash plan violates an invariant."""
    from rich.text import Text

    from reference_agent import load_design
    from scenarios import get_scenario

    from .. import reports as _report
    from ..engine import explore

    get_scenario(args.scenario)
    load_design(args.design)
    console = _report.make_console()
    with progress_bar(console, args.no_progress) as progress:
        task = progress.add_task(f"explore {args.scenario} x {args.design}", total=None)

        def started(total: int) -> None:
            progress.update(task, total=total)

        result = explore(args.scenario, args.design, args.seed, args.crashes,
                         workers=args.workers, plans_dir=args.plans_dir,
                         on_total=started, progress=lambda n: progress.advance(task, n),
                         isolation=args.isolation)
    ops = ", ".join(f"{k} {n}" for k, n in result.op_counts.items())
    what = "crash points" if args.crashes == 1 else "pairs of crash points"
    console.print(Text(f"explored {result.points} {what} of {args.scenario} x {args.design} "
                       f"(seed {args.seed}; port ops in the fault-free run: {ops})",
                       style="bold"), soft_wrap=True)
    _report.print_sweeps(console, [result.sweep], args.max_failures)
    if args.json:
        write_output(args.json, result.report().model_dump_json(indent=2) + "\n")
        console.print(f"wrote {args.json}", style="dim", soft_wrap=True)
    return 1 if result.sweep.failing_runs else 0
