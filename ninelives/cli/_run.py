"""``ninelives run``: sweep seeds over every scenario x design (docs/cli.md)."""

from __future__ import annotations

import argparse
from typing import Any

from ..engine import DEFAULT_SEEDS
from ._args import (
    add_isolation_flag,
    add_progress_flag,
    count_arg,
    default_workers,
    output_path,
    seed_arg,
)
from ._output import progress_bar, write_output


def add_run_parser(subparsers: Any) -> None:
    """Register ``ninelives run`` and its arguments on ``subparsers``."""
    p = subparsers.add_parser(
        "run", help="sweep seeds: every scenario x design, each seed with its swarm plan",
        description="Run scenario x design for seeds K..K+N-1, each seed with its own swarm "
                    "fault plan; print violations, fault coverage and situations reached. "
                    "Exit 1 if any invariant was violated.")
    p.add_argument("--scenario", action="append", metavar="S",
                   help="scenario to run (repeatable; default: every scenario)")
    p.add_argument("--design", action="append", metavar="D",
                   help="design: a registered name or package.module:attr (repeatable; "
                        "default: reference)")
    p.add_argument("--seeds", type=count_arg, default=DEFAULT_SEEDS, metavar="N",
                   help=f"how many seeds (default {DEFAULT_SEEDS})")
    p.add_argument("--first-seed", type=seed_arg, default=0, metavar="K",
                   help="the first seed (default 0)")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--workers", type=count_arg, default=default_workers(), metavar="N",
                       help="worker processes (default: this machine's cores, "
                            f"{default_workers()}); results do not depend on it")
    where.add_argument("--dask", metavar="tcp://HOST:PORT",
                       help="run the seeds on the Dask cluster with this scheduler instead "
                            "(pip install 'ninelives[dask]'; docs/scale.md)")
    p.add_argument("--json", type=output_path, metavar="PATH",
                   help="write the results as JSON (schema in docs/cli.md)")
    p.add_argument("--max-failures", type=count_arg, default=10, metavar="N",
                   help="failing runs printed per scenario x design (default 10)")
    # Opt-in, by measurement (docs/scale.md, "Rare bugs"): the guided sweep needs some
    # 2.5x fewer runs to find the planted rare bug, but its runs cost about twice as
    # much, so it is not yet faster in seconds, and a uniform sweep of N seeds is what
    # users and CI read "--seeds N" as.
    p.add_argument("--guided", action="store_true",
                   help="coverage-guided: after the first 50 runs, half the runs are plans "
                        "derived from earlier runs that reached something new (each failing "
                        "run's repro line carries its plan)")
    add_isolation_flag(p)
    add_progress_flag(p)
    p.set_defaults(handler=cmd_run)


def cmd_run(args: argparse.Namespace) -> int:
    """``ninelives run``: 0, or 1 if any sweep found a violation or a seed that does not
    reproduce."""
    from reference_agent import load_design
    from scenarios import SCENARIOS, get_scenario

    from .. import reports as _report
    from ..engine import RunReport, sweep

    scenarios = args.scenario or list(SCENARIOS)
    designs = args.design or ["reference"]
    for name in scenarios:  # every name checked before the first run
        get_scenario(name)
    for spec in designs:
        load_design(spec)
    console = _report.make_console()
    last = args.first_seed + args.seeds - 1
    console.print(f"ninelives run: {len(scenarios)} scenario(s) x {len(designs)} design(s), "
                  f"seeds {args.first_seed}..{last}"
                  + (" (guided), " if args.guided else ", ")
                  + (f"on Dask {args.dask}" if args.dask else f"{args.workers} worker(s)"),
                  style="bold", soft_wrap=True)
    sweeps = []
    with progress_bar(console, args.no_progress) as progress:
        for design in designs:
            for scenario in scenarios:
                task = progress.add_task(f"{scenario} x {design}", total=args.seeds)
                sweeps.append(sweep(scenario, design, args.seeds, args.first_seed,
                                    workers=args.workers, dask=args.dask,
                                    guided=args.guided,
                                    progress=lambda n, t=task: progress.advance(t, n),
                                    isolation=args.isolation))
                progress.remove_task(task)
    _report.print_sweeps(console, sweeps, args.max_failures)
    if args.json:
        report = RunReport(results=[s.result() for s in sweeps])
        write_output(args.json, report.model_dump_json(indent=2) + "\n")
        console.print(f"wrote {args.json}", style="dim", soft_wrap=True)
    return 1 if any(s.failed() for s in sweeps) else 0
