"""What the subcommands share to show their work: output files and the progress bar."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import OutputError

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress


def write_output(path: str, text: str) -> None:
    """Write an output file the user named (``--json``, ``--html``); a failure is bad
    input (exit 2), as the path was checked when parsed but may have changed since."""
    try:
        Path(path).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None


def progress_bar(console: Console, disabled: bool) -> Progress:
    """A transient progress bar: it disappears when done, leaving only the report. Off
    when the output is not a terminal (CI logs, pipes, tests) or with --no-progress."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=console, transient=True,
                    disable=disabled or not console.is_terminal)
