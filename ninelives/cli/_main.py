"""The ``ninelives`` command: the parser assembled from one module per subcommand, and
``main``, the one place where errors become exit codes (docs/cli.md, docs/errors.md).

Exit codes, the same for every subcommand (real mode's included):

- 0: every invariant held;
- 1: a violation was found (a design that raises or hangs is one: ``run_seed`` turns it
  into a violation, never an error here);
- 2: bad input (an ``InputError``: an unknown scenario or design, a malformed plan file,
  a bad seed, an unwritable output path), a failure of the harness itself (a
  ``HarnessError``: a real-mode process that did not start), or an unexpected error in
  ninelives — always one line on stderr starting with ``ninelives: error:``, never a
  traceback (unless ``NINELIVES_DEBUG=1``);
- 130: interrupted (Ctrl-C).

Adding a subcommand ``NAME``: write ``ninelives/cli/_NAME.py`` with a function
``add_NAME_parser(subparsers)`` that calls ``subparsers.add_parser("NAME", help=...,
description=...)``, adds its arguments — typed with the argument types of ``_args``
(``seed_arg``, ``count_arg``, ``output_path``...; never ``type=int``, whose error reads
``invalid int value``) — and ``set_defaults(handler=...)`` with a function
``(args) -> int`` returning 0 or 1; then append it to ``SUBCOMMANDS`` below. The handler
raises for anything else and prints no error: an ``InputError`` (``ScenarioError``,
``DesignError``, ``PlanError``, ``OutputError``... or one from a validator of
``ninelives.engine``) for bad input, a ``HarnessError`` when ninelives itself failed;
``main`` maps them. Write output files with ``_output.write_output``, draw progress with
``_output.progress_bar``, print with ``ninelives.reports.make_console()``.

Heavy imports (the simulator, scenarios, designs) happen inside the handlers, so that
``ninelives --help`` and ``import ninelives`` stay fast.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

from ..engine import DEFAULT_SEEDS as DEFAULT_SEEDS
from ..engine import ignore_sigint, sigint_ignored
from ..errors import HarnessError, InputError
from ._check import add_check_parser
from ._explore import add_explore_parser
from ._list import add_list_parser
from ._real import add_real_parsers
from ._replay import add_replay_parser
from ._run import add_run_parser
from ._shrink import add_shrink_parser

PROG = "ninelives"


class UsageError(InputError):
    """Bad command-line input: printed as one line, exit status 2."""

    __module__ = "ninelives.cli"


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (``ninelives: error: ...``) and an
    exception ``main`` turns into exit 2, instead of usage text and ``sys.exit``."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see '{self.prog} --help')")


#: One function per subcommand, each adding its parser (the module docstring says how
#: to add one).
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
    """The ``ninelives`` parser with every subcommand of ``SUBCOMMANDS``."""
    parser = _Parser(
        prog=PROG,
        description="Deterministic simulation testing for durable AI agents: crash them, "
                    "lose their responses, check they charge exactly once.",
        epilog="Exit status: 0 every invariant held, 1 a violation was found, 2 bad input "
               "or a failure of ninelives itself. See docs/cli.md.")
    from ..engine import version

    parser.add_argument("--version", action="version", version=f"{PROG} {version()}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True,
                                       parser_class=_Parser)
    for add in SUBCOMMANDS:
        add(subparsers)
    return parser


def _error(message: str) -> None:
    print(f"{PROG}: error: {' '.join(str(message).split())}", file=sys.stderr)


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [""])[0]


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
    except InputError as exc:  # its message is one line by contract
        _error(str(exc))
        return 2
    except Exception as exc:
        debug = os.environ.get("NINELIVES_DEBUG") == "1"
        if debug:
            traceback.print_exc()
        hint = "" if debug else " (run with NINELIVES_DEBUG=1 for the traceback)"
        if isinstance(exc, HarnessError):  # a known failure: its first line (the rest is
            # a log's tail, kept in the work directory)
            _error(_first_line(exc) + hint)
        else:
            _error(f"unexpected {type(exc).__name__}: {exc}{hint}")
        return 2
    if code == 130 and argv is None:  # a command that stopped on Ctrl-C by itself
        ignore_sigint()
    return code
