"""The ``ninelives check`` subcommand: argument parsing and the reports."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ._check import QUESTIONS, CheckReport, check_design, experiments_planned, to_markdown


def add_check_parser(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "check",
        help="answer the four questions about a design, with evidence",
        description="Answer, by experiment, where a design keeps its state, what happens "
                    "when a side-effecting step retries, whether model output can cause a "
                    "side effect with no executor in between, and what its resumable unit "
                    "is. Exit 0 if all four pass, 1 if any fails, 2 on bad input.")
    parser.add_argument("design", help="a registered design name, or package.module:attr")
    parser.add_argument("--seed", type=int, default=1, help="the seed of the experiments "
                        "(default 1)")
    parser.add_argument("--json", metavar="PATH", help="write the report as JSON")
    parser.add_argument("--markdown", metavar="PATH",
                        help="write the report as Markdown (e.g. $GITHUB_STEP_SUMMARY)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(func=run_check)


def _render(report: CheckReport) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    table = Table(title=f"ninelives check: {report.design}", show_lines=True)
    table.add_column("question")
    table.add_column("verdict")
    table.add_column("finding")
    for q in report.questions:
        verdict = "[green]pass[/green]" if q.verdict == "pass" else "[bold red]FAIL[/bold red]"
        table.add_row(f"{q.id}\n[dim]{QUESTIONS[q.id]}[/dim]", verdict, q.summary)
    console.print(table)
    for q in report.questions:
        if q.verdict == "fail":
            console.print(f"[bold red]{q.id}[/bold red]: {q.summary}")
            console.print(f"  seed {q.seed}, minimal plan: {q.plan}", markup=False)
            console.print(f"  reproduce: {q.repro}", markup=False, soft_wrap=True)


def run_check(args: argparse.Namespace) -> int:
    from reference_agent import DesignError, load_design

    if args.seed < 0:
        raise DesignError(f"--seed must be a non-negative integer, not {args.seed}")
    load_design(args.design)  # a bad design is bad input: exit 2 before any work
    for path in (args.json, args.markdown):
        if path and not Path(path).parent.exists():
            raise DesignError(f"cannot write {path}: no such directory")
    show = not args.no_progress and sys.stderr.isatty()
    if show:
        from rich.progress import Progress

        with Progress(transient=True) as progress:
            task = progress.add_task("experiments", total=experiments_planned(
                args.design, args.seed))
            report = check_design(args.design, seed=args.seed,
                                  progress=lambda _what, n: progress.advance(task, n))
    else:
        report = check_design(args.design, seed=args.seed)
    _render(report)
    if args.json:
        Path(args.json).write_text(report.model_dump_json(indent=2) + "\n")
    if args.markdown:
        Path(args.markdown).write_text(to_markdown(report))
    return 0 if report.ok else 1
