"""Real mode's commands refuse bad arguments in one line (exit 2) before starting
anything, and a worker that cannot reach its services says so instead of waiting in
silence."""

from __future__ import annotations

import os
import select
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from ninelives.cli import main

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("argv", "needle"), [
    (["services", "--scenario", "checkout", "--port", "99999"], "a TCP port is 0..65535"),
    (["services", "--scenario", "checkout", "--ledger", "/no/such/dir/l.db"],
     "directory '/no/such/dir' does not exist"),
    (["agent", "--db", "/no/such/dir/w.db", "--services", "http://127.0.0.1:8123"],
     "directory '/no/such/dir' does not exist"),
    (["agent", "--db", "w.db", "--services", "127.0.0.1:8123"],
     "want the services' URL, e.g. http://127.0.0.1:8123"),
])
def test_bad_arguments_are_one_line_and_exit_2(capsys: pytest.CaptureFixture[str],
                                               argv: list[str], needle: str) -> None:
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == ""
    [line] = err.strip().splitlines()
    assert line.startswith("ninelives: error: argument ") and needle in line


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_an_agent_without_services_says_it_is_waiting(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "ninelives.real", "agent", "--db", str(tmp_path / "w.db"),
         "--services", url], stderr=subprocess.PIPE, text=True, cwd=REPO,
        start_new_session=True, env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        assert proc.stderr is not None
        # Wait for a line, at most a minute (a silent agent must fail, not hang, this test).
        readable, _, _ = select.select([proc.stderr], [], [], 60)
        line = proc.stderr.readline() if readable else ""
        assert proc.poll() is None  # still waiting for the services, as it should
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert line.startswith(f"ninelives agent: the services at {url} do not answer")
    assert "retrying until they do" in line
