"""Starting, watching and stopping the real processes: the services and the workers.

Every child gets its own session (a Ctrl-C in the terminal reaches only the parent,
whose ``finally`` stops the children in order) and, on Linux, asks for a parent-death
signal (SIGKILL) as it starts (``die_with_parent``), so that no child outlives a parent
that was itself killed. It is set by the child, not in a ``preexec_fn``, which is not
safe in a parent with threads (a pytest-xdist worker has some).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Any

import httpx

_PR_SET_PDEATHSIG = 1
#: set by ``spawn``: the pid of the process the child must not outlive
PARENT_ENV = "NINELIVES_REAL_PARENT"


def die_with_parent() -> None:
    """In a child started by ``spawn``: be SIGKILLed when the parent dies (Linux), and
    exit at once if it already has."""
    parent = os.environ.get(PARENT_ENV)
    if not parent or sys.platform != "linux":
        return
    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != int(parent):  # the parent died before we asked
        os._exit(1)


def real_command(*args: str) -> list[str]:
    """``python -m ninelives.real ARGS`` with this interpreter."""
    return [sys.executable, "-m", "ninelives.real", *args]


def spawn(argv: list[str], log_path: Path, *, stdout_pipe: bool = False) -> subprocess.Popen[str]:
    """Start a child whose output (stderr, and stdout unless piped) goes to ``log_path``."""
    log = open(log_path, "ab")  # handed to the child, closed below
    try:
        env = dict(os.environ)
        env.setdefault("PYTHONUNBUFFERED", "1")
        env[PARENT_ENV] = str(os.getpid())
        return subprocess.Popen(
            argv, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE if stdout_pipe else log, stderr=log,
            start_new_session=True, env=env, text=True)
    finally:
        log.close()


def stop(proc: subprocess.Popen[Any], *, grace_s: float = 0.0) -> int | None:
    """Stop a child and reap it: SIGTERM then SIGKILL after ``grace_s`` (0: SIGKILL at
    once). Returns its exit status."""
    if proc.poll() is None:
        if grace_s > 0:
            proc.terminate()
            try:
                proc.wait(grace_s)
            except subprocess.TimeoutExpired:
                pass
        if proc.poll() is None:
            proc.kill()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:  # pragma: no cover - a process SIGKILL cannot stop
        pass
    for stream in (proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()
    return proc.returncode


def tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def _read_line(stream: IO[str], proc: subprocess.Popen[str], timeout_s: float) -> str | None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        ready, _, _ = select.select([stream], [], [], 0.1)
        if ready:
            return stream.readline()
        if proc.poll() is not None:
            return None
    return None


class ServicesProcess:
    """The services in their own OS process, and an admin client to them."""

    def __init__(self, scenario: str, seed: int, workdir: Path, *, drop_response: float = 0.0,
                 late_response: float = 0.0, fault_tools: list[str] | None = None,
                 model_latency_ms: tuple[float, float] = (0.0, 0.0),
                 time_scale: float = 1.0) -> None:
        self.workdir = workdir
        self.ledger_path = workdir / "services-ledger.sqlite"
        self.log_path = workdir / "services.log"
        argv = ["services", "--scenario", scenario, "--seed", str(seed),
                "--ledger", str(self.ledger_path), "--drop-response", str(drop_response),
                "--late-response", str(late_response),
                "--model-latency-ms", f"{model_latency_ms[0]},{model_latency_ms[1]}",
                "--time-scale", str(time_scale)]
        if fault_tools:
            argv += ["--fault-tools", ",".join(fault_tools)]
        self.argv = real_command(*argv)
        self.proc: subprocess.Popen[str] | None = None
        self.url = ""
        self._client: httpx.Client | None = None

    def start(self, timeout_s: float = 60.0) -> ServicesProcess:
        proc = self.proc = spawn(self.argv, self.log_path, stdout_pipe=True)
        assert proc.stdout is not None
        line = _read_line(proc.stdout, proc, timeout_s)
        if not line or "http://" not in line:
            raise RuntimeError("the services process did not start:\n" + tail(self.log_path))
        self.url = line.strip().split()[-1]
        self._client = httpx.Client(base_url=self.url, timeout=10.0)
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                self.status()
                return self
            except httpx.TransportError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("the services process does not answer:\n"
                                       + tail(self.log_path)) from None
                time.sleep(0.05)

    @property
    def client(self) -> httpx.Client:
        if self._client is None:
            raise RuntimeError("the services process is not started")
        return self._client

    def status(self) -> dict[str, Any]:
        response = self.client.get("/admin/status")
        response.raise_for_status()
        return dict(response.json())

    def events(self, after: int = 0) -> list[dict[str, Any]]:
        response = self.client.get("/admin/events", params={"after": after})
        response.raise_for_status()
        return list(response.json()["events"])

    def arm(self, incarnation: str, pid: int, *, after: int, phase: str,
            kind: str | None = None, name: str | None = None) -> None:
        """Have the services SIGKILL ``pid`` at the ``after``-th matching request of
        ``incarnation``, at ``phase`` (``_app.PHASES``)."""
        self.client.post("/admin/arm", json={
            "incarnation": incarnation, "pid": pid, "after": after, "phase": phase,
            "kind": kind, "name": name}).raise_for_status()

    def lost(self, incarnation: str) -> None:
        self.client.post("/admin/lost", json={"incarnation": incarnation}).raise_for_status()

    def stop(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
        if self.proc is not None:
            stop(self.proc, grace_s=5.0)


class WorkerProcess:
    """One incarnation of a worker: ``python -m ninelives.real agent``."""

    def __init__(self, db: Path, url: str, workdir: Path, *, name: str, incarnation: int,
                 time_scale: float, epoch: float, design: str = "reference") -> None:
        from ._runtime import incarnation_id

        self.name = name
        self.incarnation = incarnation
        self.id = incarnation_id(name, incarnation)
        self.log_path = workdir / f"{name}.log"
        with open(self.log_path, "a") as log:
            log.write(f"--- incarnation {incarnation}\n")
        self.proc = spawn(real_command(
            "agent", "--db", str(db), "--services", url, "--name", name,
            "--incarnation", str(incarnation), "--time-scale", str(time_scale),
            "--epoch", repr(epoch), "--design", design), self.log_path)
        self.started = time.monotonic()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def poll(self) -> int | None:
        return self.proc.poll()

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)

    def wait(self) -> int:
        status = stop(self.proc)
        assert status is not None
        return status
