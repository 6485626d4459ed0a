"""The real-mode demo: killed while its chat message is on the wire, the SRE agent
resumes without asking again or posting twice."""

from __future__ import annotations

import io
import os

from rich.console import Console

from ninelives.real._demo import run_demo


def _children() -> set[int]:
    me = os.getpid()
    found = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    stat = f.read()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == me:
                found.add(int(entry))
    return found


def test_demo_resumes_and_posts_once() -> None:
    before = _children()
    out = io.StringIO()
    console = Console(file=out, width=200, highlight=False, color_system=None)
    status = run_demo(seed=7, time_scale=20.0, console=console)
    text = out.getvalue()
    assert status == 0, text
    assert "SIGKILL worker#1" in text
    assert "intent to post recorded, no result" in text
    assert "decisions asked again after the restart: none" in text
    assert "message posted once" in text
    # the restarted worker found the message instead of posting it again
    assert "chat.search → 1 message(s) found" in text
    assert "worker#2   chat.post" not in text
    assert _children() <= before
