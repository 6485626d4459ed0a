"""The ``ninelives`` command: run, replay, shrink, explore, list (docs/cli.md).

Exit codes: 0 every invariant held; 1 a violation was found; 2 bad input (an unknown
scenario or design, a malformed plan file, a bad seed, an unwritable output path) or an
unexpected error in the harness itself — always one line on stderr starting with
``ninelives: error:``, never a traceback (unless ``NINELIVES_DEBUG=1``). A design that
raises or hangs is not an error here: ``run_seed`` turns it into a violation (exit 1).

Adding a subcommand (``ninelives check`` is next): write one function
``add_check_parser(subparsers)`` — in its own module — that calls
``subparsers.add_parser("check", help=..., description=...)``, adds its arguments, and
``set_defaults(handler=...)`` with a function ``(args) -> int`` returning the exit code;
then append it to ``SUBCOMMANDS`` below. Raise ``UsageError`` (or ``ScenarioError``,
``DesignError``, ``PlanError``) for bad input; ``main`` maps those to exit 2. Use
``output_path`` as the argparse ``type`` of an output file option, ``write_output`` to
write it, and ``_report.make_console()`` to print.

Heavy imports (the simulator, scenarios, designs) happen inside the handlers, so that
``ninelives --help`` and ``import ninelives`` stay fast.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from ..engine import DEFAULT_SEEDS, ignore_sigint, sigint_ignored
from ..errors import InputError

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress

PROG = "ninelives"


class UsageError(InputError):
    """Bad command-line input: printed as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (``ninelives: error: ...``) and an
    exception ``main`` turns into exit 2, instead of usage text and ``sys.exit``."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see '{self.prog} --help')")


# -- argument types: reject bad input at parse time, with the value in the message ------

def _int_at_least(text: str, minimum: int, what: str) -> int:
    try:
        value = int(text, 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < minimum:
        raise argparse.ArgumentTypeError(f"{what} >= {minimum}, got {value}")
    return value


def seed_arg(text: str) -> int:
    """A seed: an integer >= 0."""
    return _int_at_least(text, 0, "a seed must be")


def positive_arg(text: str) -> int:
    """An integer >= 1 (a count)."""
    return _int_at_least(text, 1, "must be")


def output_path(text: str) -> str:
    """An output file we will be able to write: checked before any run starts, so a
    typo in ``--json`` does not waste a thousand-seed sweep."""
    path = Path(text)
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text}: is a directory")
    parent = path.parent
    if not parent.is_dir():
        raise argparse.ArgumentTypeError(f"{text}: directory {str(parent)!r} does not exist")
    if not os.access(parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise argparse.ArgumentTypeError(f"{text}: not writable")
    return text


def output_dir(text: str) -> str:
    path = Path(text)
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text}: not a directory")
    probe = path if path.exists() else path.parent
    if not probe.is_dir() or not os.access(probe, os.W_OK):
        raise argparse.ArgumentTypeError(f"{text}: not a writable directory")
    return text


def write_output(path: str, text: str) -> None:
    try:
        Path(path).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None


def _progress(console: Console, disabled: bool) -> Progress:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    # Transient: the bar disappears when done, leaving only the report. Off when the
    # output is not a terminal (CI logs, pipes, tests) or with --no-progress.
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=console, transient=True,
                    disable=disabled or not console.is_terminal)


def _add_progress_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument("--no-progress", action="store_true",
                   help="no progress bar (it is also off when stdout is not a terminal)")


# -- run --------------------------------------------------------------------------------

def default_workers() -> int:
    """Worker processes by default: the cores this process may run on."""
    count = getattr(os, "process_cpu_count", None)  # Python >= 3.13: honours affinity
    if count is not None:
        return count() or 1
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


def add_run_parser(subparsers: Any) -> None:
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
    p.add_argument("--seeds", type=positive_arg, default=DEFAULT_SEEDS, metavar="N",
                   help=f"how many seeds (default {DEFAULT_SEEDS})")
    p.add_argument("--first-seed", type=seed_arg, default=0, metavar="K",
                   help="the first seed (default 0)")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--workers", type=positive_arg, default=default_workers(), metavar="N",
                       help="worker processes (default: this machine's cores, "
                            f"{default_workers()}); results do not depend on it")
    where.add_argument("--dask", metavar="tcp://HOST:PORT",
                       help="run the seeds on the Dask cluster with this scheduler instead "
                            "(pip install 'ninelives[dask]'; docs/scale.md)")
    p.add_argument("--json", type=output_path, metavar="PATH",
                   help="write the results as JSON (schema in docs/cli.md)")
    p.add_argument("--max-failures", type=positive_arg, default=10, metavar="N",
                   help="failing runs printed per scenario x design (default 10)")
    _add_progress_flag(p)
    p.set_defaults(handler=cmd_run)


def cmd_run(args: argparse.Namespace) -> int:
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
                  f"seeds {args.first_seed}..{last}, "
                  + (f"on Dask {args.dask}" if args.dask else f"{args.workers} worker(s)"),
                  style="bold", soft_wrap=True)
    sweeps = []
    with _progress(console, args.no_progress) as progress:
        for design in designs:
            for scenario in scenarios:
                task = progress.add_task(f"{scenario} x {design}", total=args.seeds)
                sweeps.append(sweep(scenario, design, args.seeds, args.first_seed,
                                    workers=args.workers, dask=args.dask,
                                    progress=lambda n, t=task: progress.advance(t, n)))
                progress.remove_task(task)
    _report.print_sweeps(console, sweeps, args.max_failures)
    if args.json:
        report = RunReport(results=[s.result() for s in sweeps])
        write_output(args.json, report.model_dump_json(indent=2) + "\n")
        console.print(f"wrote {args.json}", style="dim", soft_wrap=True)
    return 1 if any(s.failed() for s in sweeps) else 0


# -- replay -----------------------------------------------------------------------------

def add_replay_parser(subparsers: Any) -> None:
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


# -- shrink -----------------------------------------------------------------------------

def add_shrink_parser(subparsers: Any) -> None:
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
    p.add_argument("--max-attempts", type=positive_arg, default=500, metavar="N",
                   help="runs the shrinker may make (default 500)")
    p.add_argument("--json", type=output_path, metavar="PATH",
                   help="write the outcome as JSON")
    _add_progress_flag(p)
    p.set_defaults(handler=cmd_shrink)


def _default_plan_name(scenario: str, design: str, seed: int) -> str:
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in design)
    return f"ninelives-{scenario}-{safe}-{seed}.plan.json"


def cmd_shrink(args: argparse.Namespace) -> int:
    from rich.text import Text

    from reference_agent import load_design
    from scenarios import get_scenario

    from .. import reports as _report
    from ..engine import shrink_seed

    get_scenario(args.scenario)
    load_design(args.design)
    out = args.out
    if out is None:
        try:
            out = output_path(_default_plan_name(args.scenario, args.design, args.seed))
        except argparse.ArgumentTypeError as exc:
            raise UsageError(f"--out: {exc}") from None
    console = _report.make_console()
    with _progress(console, args.no_progress) as progress:
        task = progress.add_task("shrinking", total=None)
        outcome = shrink_seed(args.scenario, args.design, args.seed, out,
                              max_attempts=args.max_attempts,
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


# -- explore ----------------------------------------------------------------------------

def add_explore_parser(subparsers: Any) -> None:
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
    p.add_argument("--crashes", type=int, choices=(1, 2), default=1,
                   help="1: every crash point; 2: every pair of crash points (default 1)")
    p.add_argument("--workers", type=positive_arg, default=default_workers(), metavar="N",
                   help="worker processes (default: this machine's cores, "
                        f"{default_workers()}); results do not depend on it")
    p.add_argument("--json", type=output_path, metavar="PATH",
                   help="write the results as JSON (like run's, plus points)")
    p.add_argument("--plans-dir", type=output_dir, metavar="DIR",
                   help="write each failing plan here; repro lines then use --plan FILE "
                        "(without it, the plan is inlined in the repro line)")
    p.add_argument("--max-failures", type=positive_arg, default=10, metavar="N",
                   help="failing plans printed (default 10)")
    _add_progress_flag(p)
    p.set_defaults(handler=cmd_explore)


def cmd_explore(args: argparse.Namespace) -> int:
    from rich.text import Text

    from reference_agent import load_design
    from scenarios import get_scenario

    from .. import reports as _report
    from ..engine import explore

    get_scenario(args.scenario)
    load_design(args.design)
    console = _report.make_console()
    with _progress(console, args.no_progress) as progress:
        task = progress.add_task(f"explore {args.scenario} x {args.design}", total=None)

        def started(total: int) -> None:
            progress.update(task, total=total)

        result = explore(args.scenario, args.design, args.seed, args.crashes,
                         workers=args.workers, plans_dir=args.plans_dir,
                         on_total=started, progress=lambda n: progress.advance(task, n))
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


# -- list -------------------------------------------------------------------------------

def add_list_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "list", help="scenarios, designs, fault kinds, invariants, situations",
        description="List what ninelives knows, one line each.")
    p.set_defaults(handler=cmd_list)


def cmd_list(args: argparse.Namespace) -> int:
    from rich.table import Table
    from rich.text import Text

    from faults import kinds
    from reference_agent import DESIGNS, FLAWED
    from scenarios import INVARIANTS, SCENARIOS, SITUATIONS

    from .. import reports as _report

    console = _report.make_console()
    sections: list[tuple[str, list[tuple[str, str]]]] = [
        ("scenarios", [(s.name, s.description) for s in SCENARIOS.values()]),
        ("designs", [(d.name, ("[flawed] " if d.name in FLAWED else "") + d.description
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


#: One function per subcommand, each adding its parser (see the module docstring to add
#: one: ``ninelives check`` appends ``add_check_parser`` here).
def add_check_parser(subparsers: Any) -> None:
    from ._check import add_check_parser as add

    add(subparsers)


def add_real_parsers(subparsers: Any) -> None:
    """Real mode (``agent``, ``services``, ``torture``, ``demo``): docs/real-mode.md."""
    from ..real import add_real_parsers as add

    before = set(subparsers.choices)
    add(subparsers)
    for name in sorted(set(subparsers.choices) - before):
        parser = subparsers.choices[name]
        func = parser.get_default("func")
        if func is not None and parser.get_default("handler") is None:
            parser.set_defaults(handler=func)


SUBCOMMANDS: list[Callable[[Any], None]] = [
    add_run_parser,
    add_replay_parser,
    add_shrink_parser,
    add_explore_parser,
    add_check_parser,
    add_list_parser,
    add_real_parsers,
]


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        description="Deterministic simulation testing for durable AI agents: crash them, "
                    "lose their responses, check they charge exactly once.",
        epilog="Exit status: 0 every invariant held, 1 a violation was found, 2 bad input. "
               "See docs/cli.md.")
    from ..engine import version

    parser.add_argument("--version", action="version", version=f"{PROG} {version()}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True,
                                       parser_class=_Parser)
    for add in SUBCOMMANDS:
        add(subparsers)
    return parser


def _error(message: str) -> None:
    print(f"{PROG}: error: {' '.join(str(message).split())}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` (default ``sys.argv[1:]``), run the command, return the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(list(argv) if argv is not None else None)
    except UsageError as exc:
        _error(str(exc))
        return 2
    except SystemExit as exc:  # --help, --version: argparse exits 0 after printing
        return exc.code if isinstance(exc.code, int) else 0
    try:
        code = int(args.handler(args))
    except KeyboardInterrupt:
        # Pressed twice: the second press must not cut this short with a traceback. The
        # program (no argv given) is ending, so it stays deaf from here on; called from
        # Python with argv, the caller's handler comes back after the line is printed.
        if argv is None:
            ignore_sigint()
        with sigint_ignored():
            _error("interrupted")
        code = 130
    except Exception as exc:
        if isinstance(exc, InputError):
            _error(str(exc))
            return 2
        if os.environ.get("NINELIVES_DEBUG") == "1":
            traceback.print_exc()
        _error(f"unexpected {type(exc).__name__}: {exc} "
               "(run with NINELIVES_DEBUG=1 for the traceback)")
        return 2
    if code == 130 and argv is None:  # a command that stopped on Ctrl-C by itself
        ignore_sigint()
    return code

