"""The ``ninelives check`` subcommand: argument parsing and the reports."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

from ._args import output_path, seed_arg
from ._output import write_output

if TYPE_CHECKING:
    from ..engine import CheckReport


def add_check_parser(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "check",
        help="answer the four questions about a design, with evidence",
        description="Answer, by experiment, where a design keeps its state, what happens "
                    "when a side-effecting step retries, whether model output can cause a "
                    "side effect with no executor in between, and what its resumable unit "
                    "is. Exit 0 if all four pass, 1 if any fails, 2 on bad input.")
    parser.add_argument("design", help="a registered design name, or package.module:attr")
    parser.add_argument("--seed", type=seed_arg, default=1, help="the seed of the experiments "
                        "(default 1)")
    parser.add_argument("--json", metavar="PATH", type=output_path,
                        help="write the report as JSON")
    parser.add_argument("--markdown", metavar="PATH", type=output_path,
                        help="write the report as Markdown (e.g. $GITHUB_STEP_SUMMARY)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(handler=run_check)


def _render(report: CheckReport) -> None:
    from rich.console import Console
    from rich.table import Table

    from ..engine import QUESTIONS

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
            console.print(f"  seed {q.seed}, minimal plan: {json.dumps(q.plan)}", markup=False,
                          soft_wrap=True)
            console.print(f"  reproduce: {q.repro}", markup=False, soft_wrap=True)


def run_check(args: argparse.Namespace) -> int:
    from reference_agent import load_design

    from ..engine import check_design
    from ..reports import to_markdown

    load_design(args.design)  # a bad design is bad input: exit 2 before any work
    show = not args.no_progress and sys.stderr.isatty()
    if show:
        from rich.progress import Progress

        with Progress(transient=True) as bar:
            task = bar.add_task("experiments", total=None)

            def progress(what: str, n: int) -> None:
                if what == "total":
                    bar.update(task, total=n)
                else:
                    bar.advance(task, n)

            report = check_design(args.design, seed=args.seed, progress=progress)
    else:
        report = check_design(args.design, seed=args.seed)
    _render(report)
    if args.json:
        write_output(args.json, report.model_dump_json(indent=2) + "\n")
    if args.markdown:
        write_output(args.markdown, to_markdown(report))
    return 0 if report.ok else 1
