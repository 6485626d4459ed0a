"""What the commands print: rich tables and timelines a person can read.

Rules every printer here keeps (``tests/ninelives/test_cli_run.py`` checks them):

- a failure always names the invariant, the compact evidence, the seed, the plan size
  and the one-line reproduction command, and the command is never wrapped, so it can be
  copied whole from any terminal width or CI log;
- coverage that is zero is said in words ("never fired", "never reached"), in yellow, and
  a sweep with no violations but gaps in coverage does not end on a plain green line:
  a sweep that exercised nothing must not look like a pass;
- text from runs (messages, evidence) is printed as ``Text``, never parsed as markup.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable, Sequence
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from scenarios import SITUATIONS
from simulator import TraceKind

from ..engine import Replay, RunOutcome, Sweep
from ._describe import KEY_KINDS, compact, describe, implicated

#: failing runs printed per sweep before "... and N more"
MAX_FAILURES = 10


#: width when the output is not a terminal (CI logs, pipes): wide enough that the
#: tables keep scenario and situation names whole; ``COLUMNS`` overrides it
PIPE_WIDTH = 132


def make_console(stderr: bool = False) -> Console:
    """A console on the *current* ``sys.stdout`` (so capsys sees it), without markup
    guessing (``highlight``) that would colour numbers in evidence at random."""
    file = sys.stderr if stderr else sys.stdout
    console = Console(file=file, highlight=False)
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console = Console(file=file, highlight=False, width=PIPE_WIDTH)
    return console


def print_violation(console: Console, v: Any, *, indent: str = "  ") -> None:
    """One violation in three lines: invariant and message; seed, plan size, evidence;
    the reproduction command (unwrapped)."""
    head = Text(indent)
    head.append("✗ ", style="bold red")
    head.append(v.invariant, style="bold red")
    head.append(": " + v.message)
    console.print(head)
    detail = Text(f"{indent}  seed {v.seed} · plan size {v.plan_size} · evidence: ",
                  style="dim")
    detail.append(compact(v.evidence))
    console.print(detail)
    repro = Text(f"{indent}  repro: ", style="dim")
    repro.append(v.repro, style="cyan")
    console.print(repro, soft_wrap=True)


def print_failures(console: Console, title: str, failing: Sequence[RunOutcome],
                   limit: int = MAX_FAILURES, total: int | None = None) -> None:
    """The first ``limit`` of the failing runs a sweep kept (``failing``), of ``total``
    failing runs (default: as many as were kept)."""
    total = len(failing) if total is None else total
    if not total:
        return
    console.print()
    console.print(Text(f"Failures: {title} ({total} failing "
                       f"run{'s' if total != 1 else ''})", style="bold red"))
    for outcome in failing[:limit]:
        for v in outcome.violations:
            print_violation(console, v)
    shown = min(limit, len(failing))
    if total > shown:
        where = ("every one is in --json" if total == len(failing) else
                 f"--json lists {len(failing)} of them, the first ones of each invariant")
        console.print(Text(f"  ... and {total - shown} more failing runs ({where})",
                           style="dim"))


def _coverage_cell(fired: int, planned: int, runs: int) -> Text:
    if fired:
        return Text(f"{fired}", style="green") + Text(f" / {planned}", style="dim")
    if planned:
        return Text(f"never fired (planned {planned})", style="yellow")
    return Text("never planned", style="dim yellow")


def _situation_cell(reached: int | None, runs: int) -> Text:
    if reached is None:
        return Text("n/a", style="dim")
    if reached:
        return Text(f"{reached}", style="green") + Text(f" / {runs}", style="dim")
    return Text("never reached", style="yellow")


def _col(s: Sweep) -> str:
    return f"{s.scenario}\n{s.design}"


def sweep_tables(sweeps: Sequence[Sweep]) -> list[tuple[str, Table]]:
    """The summary, the fault coverage and the situations, one column per sweep."""
    summary = Table()
    summary.add_column("scenario", no_wrap=True)
    summary.add_column("design", no_wrap=True)
    summary.add_column("runs (seeds)", justify="right", no_wrap=True)
    summary.add_column("failing runs", justify="right")
    summary.add_column("violations by invariant (runs)")
    summary.add_column("runs/s", justify="right")
    for s in sweeps:
        by_inv = s.by_invariant()
        failing = s.failing_runs
        seeds = f"{s.first_seed}..{s.first_seed + s.seeds - 1}" if s.seeds > 1 else str(
            s.first_seed)
        summary.add_row(
            s.scenario, s.design, f"{s.runs} ({seeds})",
            Text(str(failing), style="bold red" if failing else "green"),
            Text(", ".join(f"{k}: {n}" for k, n in by_inv.items()), style="red")
            if by_inv else Text("—", style="dim"),
            f"{s.runs_per_s:.1f}",
        )

    faults = Table()
    faults.add_column("fault kind", no_wrap=True)
    for s in sweeps:
        faults.add_column(_col(s), justify="right")
    coverage = [(s.fault_coverage(), s.fault_planned()) for s in sweeps]
    for kind in coverage[0][0] if coverage else []:
        faults.add_row(kind, *(_coverage_cell(fired[kind], planned[kind], s.runs)
                               for s, (fired, planned) in zip(sweeps, coverage, strict=True)))

    situations = Table()
    situations.add_column("situation", no_wrap=True)
    for s in sweeps:
        situations.add_column(_col(s), justify="right")
    reached = [s.situations() for s in sweeps]
    for name in [n for n in SITUATIONS if any(n in r for r in reached)]:
        situations.add_row(name, *(_situation_cell(r.get(name), s.runs)
                                   for s, r in zip(sweeps, reached, strict=True)))
    return [("Sweep", summary),
            ("Fault coverage: runs each kind fired in / runs whose plan had it", faults),
            ("Situations reached: runs that reached each / runs", situations)]


def verdict(sweeps: Sequence[Sweep]) -> Text:
    """The last line: red with the count of failing runs, yellow when nothing failed
    but coverage has gaps, green only when nothing failed and everything was exercised."""
    runs = sum(s.runs for s in sweeps)
    failing = sum(s.failing_runs for s in sweeps)
    unreproducible = sum(1 for s in sweeps if s.nondeterminism)
    if failing:
        by_inv: dict[str, int] = {}
        for s in sweeps:
            for k, n in s.by_invariant().items():
                by_inv[k] = by_inv.get(k, 0) + n
        detail = ", ".join(f"{k}: {n}" for k, n in by_inv.items())
        also = (f"; in {unreproducible} sweep(s) a seed did not reproduce"
                if unreproducible else "")
        return Text(f"✗ {failing} of {runs} runs violated an invariant ({detail}){also}",
                    style="bold red")
    if unreproducible:
        return Text(f"✗ no violations in {runs} runs, but in {unreproducible} sweep(s) a "
                    "seed did not reproduce: a seed does not name one run of this design",
                    style="bold red")
    if all(s.exercised_nothing() for s in sweeps):
        return Text(f"! no violations in {runs} runs, but no fault fired in any run: "
                    "nothing was exercised", style="bold yellow")
    never_fired = sorted({k for s in sweeps for k, n in s.fault_coverage().items()
                          if n == 0})
    sampled = [s for s in sweeps if s.situation_gaps]
    never_reached = sorted({k for s in sampled for k, n in s.situations().items() if n == 0})
    if never_fired or never_reached:
        gaps = []
        if never_fired:
            gaps.append(f"never fired somewhere: {', '.join(never_fired)}")
        if never_reached:
            gaps.append(f"never reached somewhere: {', '.join(never_reached)}")
        return Text(f"✓ no violations in {runs} runs; coverage gaps: {'; '.join(gaps)}",
                    style="yellow")
    if not sampled:  # explore: one run per plan; a plan that never fired is the gap
        unfired = sum(s.tally.unfired_plans for s in sweeps)
        if unfired:
            return Text(f"✓ no violations in {runs} runs; coverage gaps: {unfired} plan(s) "
                        "never fired", style="yellow")
        return Text(f"✓ no violations in {runs} runs; every plan fired a fault",
                    style="bold green")
    return Text(f"✓ no violations in {runs} runs; every fault kind fired and every "
                "situation was reached", style="bold green")


def print_sweeps(console: Console, sweeps: Sequence[Sweep], limit: int = MAX_FAILURES) -> None:
    for title, table in sweep_tables(sweeps):
        console.print()
        console.print(Text(title, style="bold"))
        console.print(table)
    for s in sweeps:
        print_failures(console, f"{s.scenario} x {s.design}", s.failing(), limit,
                       s.failing_runs)
    for s in sweeps:
        if s.nondeterminism:
            console.print()
            console.print(Text(f"✗ {s.scenario} x {s.design}: {s.nondeterminism}",
                               style="bold red"), soft_wrap=True)
    console.print()
    console.print(verdict(sweeps), soft_wrap=True)


def _t(t_ns: int) -> str:
    return f"{t_ns / 1e9:10.3f}s"


_STYLE = {
    TraceKind.FAULT_FIRED: "bold magenta", TraceKind.CRASH: "bold red",
    TraceKind.PROCESS_ERROR: "red", TraceKind.RESPONSE_LOST: "magenta",
    TraceKind.REQUEST_LOST: "magenta", TraceKind.TOOL_TIMEOUT: "yellow",
    TraceKind.MODEL_ANSWER: "blue", TraceKind.TOOL_REQUEST: "cyan",
    TraceKind.TOOL_RESPONSE: "green", TraceKind.PROCESS_START: "bold",
    TraceKind.WORKFLOW_COMPLETE: "bold green", TraceKind.PAUSE: "yellow",
    TraceKind.RESUME: "yellow", TraceKind.STORE_CONFLICT: "yellow",
    TraceKind.STORE_ROLLBACK: "yellow", TraceKind.FENCED: "yellow",
}


def print_timeline(console: Console, rep: Replay, all_events: bool = False) -> None:
    events = rep.events
    marked = implicated(events, rep.result.violations)
    table = Table(title=f"Timeline ({'every event' if all_events else 'events that matter'}; "
                        "◆ = named by a violation's evidence)",
                  title_justify="left", title_style="bold", show_lines=False)
    table.add_column("", width=1)
    table.add_column("virtual t", justify="right", no_wrap=True)
    table.add_column("who", no_wrap=True)
    table.add_column("event", no_wrap=True)
    table.add_column("what")
    for i, event in enumerate(events):
        t, component, kind, _d = event
        if not all_events and kind not in KEY_KINDS and i not in marked:
            continue
        style = _STYLE.get(kind, "")
        table.add_row(Text("◆", style="bold red") if i in marked else "", _t(t),
                      component, Text(kind, style=style),
                      Text(describe(event, rep.result.plan)),
                      style="on grey15" if i in marked else None)
    console.print(table)


def print_replay(console: Console, rep: Replay, all_events: bool = False) -> None:
    r = rep.result
    head = Text("replay ", style="bold")
    head.append(f"{r.scenario} x {rep.design_spec}, seed {r.seed}")
    console.print(head, soft_wrap=True)
    console.print(Text(f"  trace hash {rep.trace_hash}"), soft_wrap=True)
    console.print(Text(f"  {len(rep.events)} events, {r.virtual_ns / 1e9:.3f} s of virtual "
                       f"time, {'finished' if r.finished else 'NOT finished'}"))
    plan_from = f" from {rep.plan_path}" if rep.plan_path else " (the seed's swarm plan)"
    n = len(r.plan.faults)
    console.print(Text(f"  plan{plan_from}: {n} fault{'' if n == 1 else 's'}, "
                       f"{len(r.fired)} fired"), soft_wrap=True)
    for i, line in enumerate(r.plan.describe()):
        mark = "fired" if i in r.fired else "did not fire"
        console.print(Text(f"    #{i} {line} ({mark})", style="" if i in r.fired else "dim"))
    console.print()
    print_timeline(console, rep, all_events)
    console.print()
    if r.violations:
        console.print(Text(f"Violations ({len(r.violations)})", style="bold red"))
        for v in r.violations:
            print_violation(console, v)
            print_evidence(console, v.evidence)
    else:
        console.print(Text("✓ every invariant held", style="bold green"))
    console.print(Text(f"repro: {rep.repro}", style="dim"), soft_wrap=True)


def print_evidence(console: Console, evidence: dict[str, Any], max_lines: int = 30) -> None:
    lines = json.dumps(evidence, indent=2, sort_keys=False, default=str).splitlines()
    for line in lines[:max_lines]:
        console.print(Text("      " + line, style="dim"), soft_wrap=True)
    if len(lines) > max_lines:
        console.print(Text(f"      ... {len(lines) - max_lines} more lines (--json has it all)",
                           style="dim"))


def print_lines(console: Console, lines: Iterable[str], style: str = "") -> None:
    for line in lines:
        console.print(Text(line, style=style), soft_wrap=True)
