"""Real mode's commands use the command line's exit codes and argument types: bad input
is one line and exit 2 before anything starts, a failure of the harness itself is one
line and exit 2 (not 1, which means a violation), and a worker that cannot reach its
services says so instead of waiting in silence."""

from __future__ import annotations

import os
import select
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ninelives.cli import main

REPO = Path(__file__).resolve().parents[3]
ENV = {**os.environ, "PYTHONPATH": str(REPO)}


@pytest.mark.parametrize(("argv", "needle"), [
    (["services", "--scenario", "checkout", "--port", "99999"],
     "argument --port: must be a TCP port, 0..65535 (0: any free one), got 99999"),
    (["services", "--scenario", "checkout", "--port", "http"],
     "argument --port: must be an integer, got 'http'"),
    (["services", "--scenario", "checkout", "--ledger", "/no/such/dir/l.db"],
     "argument --ledger: /no/such/dir/l.db: directory '/no/such/dir' does not exist"),
    (["services", "--scenario", "checkout", "--drop-response", "1.5"],
     "argument --drop-response: must be between 0 and 1, got 1.5"),
    (["services", "--scenario", "checkout", "--model-latency-ms", "50,10"],
     "argument --model-latency-ms: must be MIN,MAX with 0 <= MIN <= MAX, got '50,10'"),
    (["services", "--scenario", "checkout", "--seed", "-1"],
     "argument --seed: must be >= 0, got -1"),
    (["agent", "--db", "/no/such/dir/w.db", "--services", "http://127.0.0.1:8123"],
     "argument --db: /no/such/dir/w.db: directory '/no/such/dir' does not exist"),
    (["agent", "--db", "w.db", "--services", "127.0.0.1:8123"],
     "argument --services: must be a URL such as http://127.0.0.1:8123, got '127.0.0.1:8123'"),
    (["agent", "--db", "w.db", "--services", "http://h:1", "--incarnation", "x"],
     "argument --incarnation: must be an integer, got 'x'"),
    (["agent", "--db", "w.db", "--services", "http://h:1", "--time-scale", "0"],
     "argument --time-scale: must be > 0, got 0"),
    (["agent", "--db", "w.db", "--services", "http://h:1", "--epoch", "soon"],
     "argument --epoch: must be a number, got 'soon'"),
    (["torture", "--scenario", "checkout", "--kills", "-1"],
     "argument --kills: must be >= 0, got -1"),
    (["torture", "--scenario", "checkout", "--kills", "2", "--timeout", "nan"],
     "argument --timeout: must be a finite number, got 'nan'"),
    (["torture", "--scenario", "checkout", "--kills", "2", "--json", "/no/such/dir/t.json"],
     "argument --json: /no/such/dir/t.json: directory '/no/such/dir' does not exist"),
    (["demo", "--time-scale", "-2"], "argument --time-scale: must be > 0, got -2"),
])
def test_bad_arguments_are_one_line_and_exit_2(capsys: pytest.CaptureFixture[str],
                                               argv: list[str], needle: str) -> None:
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == ""
    [line] = err.strip().splitlines()
    assert line.startswith(f"ninelives: error: {needle}")
    assert "invalid" not in line  # argparse's wording for a type that raised ValueError


@pytest.mark.parametrize(("argv", "needle"), [
    (["torture", "--scenario", "no-such-scenario", "--kills", "1"], "unknown scenario"),
    (["torture", "--scenario", "subscription-renewal", "--kills", "1"],
     "real mode does not run subscription-renewal"),
    (["torture", "--scenario", "checkout", "--kills", "1", "--design", "no-such-design"],
     "unknown design"),
    (["services", "--scenario", "subscription-renewal"],
     "real mode does not run subscription-renewal"),
])
def test_bad_names_are_bad_input(capsys: pytest.CaptureFixture[str], argv: list[str],
                                 needle: str) -> None:
    # Refused before any process starts (a torture would print its table first).
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == ""
    [line] = err.strip().splitlines()
    assert line.startswith("ninelives: error: ") and needle in line


def test_a_torture_whose_processes_fail_is_a_harness_failure_exit_2(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    from ninelives.real import _torture

    def services_do_not_start(self: object) -> None:
        raise RuntimeError("the services process did not start:\nTraceback (most recent...\n"
                           "OSError: [Errno 98] Address already in use")

    monkeypatch.setattr(_torture.Torture, "run", services_do_not_start)
    assert main(["torture", "--scenario", "checkout", "--kills", "1"]) == 2
    err = capsys.readouterr().err
    [line] = err.strip().splitlines()
    assert line.startswith("ninelives: error: torture failed: the services process did not "
                           "start:")
    assert "Traceback" not in err


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A port on 127.0.0.1 some other socket is listening on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)
        yield int(sock.getsockname()[1])


def test_services_that_cannot_listen_exit_2_in_one_line(busy_port: int,
                                                        tmp_path: Path) -> None:
    # A real process, through the door the worker processes use (python -m ninelives.real).
    proc = subprocess.run(
        [sys.executable, "-m", "ninelives.real", "services", "--scenario", "checkout",
         "--port", str(busy_port), "--ledger", str(tmp_path / "ledger.db")],
        capture_output=True, text=True, cwd=REPO, env=ENV, timeout=60)
    assert proc.returncode == 2, proc.stderr
    [line] = proc.stderr.strip().splitlines()
    assert line.startswith("ninelives: error: services failed: ")
    assert "in use" in line


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_an_agent_without_services_says_it_is_waiting(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "ninelives.real", "agent", "--db", str(tmp_path / "w.db"),
         "--services", url], stderr=subprocess.PIPE, text=True, cwd=REPO,
        start_new_session=True, env=ENV)
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
