"""Holding off a second Ctrl-C while ninelives stops after the first.

Impatient users press Ctrl-C twice. The first one stops a sweep: queued batches are
cancelled, running workers killed, one line printed, exit 130. A second one landing in
that cleanup would cut it short, leave workers running and print a traceback
(tests/ninelives/engine/test_sweep_workers.py::test_ctrl_c_twice_ends_with_one_line_and_no_worker_left).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def sigint_ignored() -> Iterator[None]:
    """Ignore SIGINT inside the block, then restore the handler that was there. Only the
    main thread may change signal handlers; elsewhere this does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def ignore_sigint() -> None:
    """Ignore SIGINT from now on (main thread only): for a program that is exiting."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)
