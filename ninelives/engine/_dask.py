"""Distributed sweeps on a Dask cluster: ``ninelives run --dask tcp://HOST:PORT``.

Optional: ``pip install 'ninelives[dask]'``; nothing here imports dask until a sweep
asks for it, so ``ninelives`` works without it and ``--dask`` then says how to get it.

What travels (docs/scale.md):

- **to the workers**, batches of seeds (``Job``s: an index, a seed, and a plan only for
  ``explore``'s crash plans) plus the scenario and design *names*; each worker loads the
  harness itself, so the design must be importable there (registered designs always are;
  a ``package.module:attr`` design must be installed on every worker);
- **back**, per run, only what the report needs (``RunOutcome``: violations with their
  evidence, fault kinds planned and fired, situations reached): no world, no trace. A
  failure's trace is rebuilt by replaying its seed locally (``ninelives replay``), which
  is exact because a run is a pure function of (scenario, design, seed, plan).

Why each Dask worker runs its batches in a child process of its own: a Dask worker runs
tasks in threads beside its event loop, while a simulated run installs determinism shims
process-wide (``time.monotonic``, ``uuid.uuid4``, ``os.urandom``... read the virtual
clock and the run's random streams, simulator/_shims.py). In a thread, the worker's own
heartbeats would read virtual time and could draw from the run's streams, changing the
run; and the harness's hang watchdog (SIGALRM) only works in a main thread. So the task
hands its batch to one long-lived, single-threaded child per worker process (started on
first use with the harness imported once, like the local pool's initializer), runs
there in its main thread, and returns the small outcomes. One batch at a time per worker
process: start workers with ``--nthreads 1`` and as many processes as cores.
"""

from __future__ import annotations

import itertools
import math
import os
import pickle
import signal
import subprocess
import sys
import threading
from collections.abc import Iterable, Iterator, Sequence
from typing import IO, TYPE_CHECKING, Any

from ..errors import DaskUnavailable as DaskUnavailable
from ._sweep import (
    AHEAD_PER_SLOT,
    BATCHES_PER_PROCESS,
    BatchResult,
    Job,
    PoolStats,
    Progress,
    RunOutcome,
    batch_size_for,
    batches_of,
)

if TYPE_CHECKING:
    from distributed import Client

#: seconds to reach the scheduler (and to wait for its first worker) before giving up
CONNECT_TIMEOUT_S = 5.0
INSTALL_HINT = "pip install 'ninelives[dask]'"


def connect(address: str, timeout: float | None = None) -> Client:
    """A client of the Dask scheduler at ``address`` that has at least one worker.

    Raises ``DaskUnavailable`` (an ``InputError``: one line, exit 2) if dask is not
    installed, the address is malformed, the scheduler cannot be reached within
    ``timeout`` seconds (default ``CONNECT_TIMEOUT_S``), or no worker joins it within that
    time.
    """
    timeout = CONNECT_TIMEOUT_S if timeout is None else timeout
    try:
        from distributed import Client
    except ImportError:
        raise DaskUnavailable(f"--dask needs dask.distributed, which is not installed: "
                           f"{INSTALL_HINT}") from None
    from distributed.comm import get_address_host_port

    # Checked before a Client exists: a Client that fails on a malformed address lingers
    # and complains when collected.
    try:
        get_address_host_port(address)
    except (ValueError, TypeError) as exc:
        raise DaskUnavailable(f"--dask {address}: not a scheduler address "
                           f"(like tcp://HOST:8786): {exc}") from None
    try:
        client = Client(address, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError) as exc:
        raise DaskUnavailable(f"--dask {address}: cannot reach the Dask scheduler "
                           f"within {timeout:g} s ({exc})") from None
    try:
        client.wait_for_workers(1, timeout=timeout)
    except (OSError, TimeoutError):
        client.close()
        raise DaskUnavailable(f"--dask {address}: the Dask scheduler has no workers "
                           f"(none joined within {timeout:g} s)") from None
    return client


def iter_jobs_dask(dask: str | Client, scenario_name: str, design_spec: str,
                   jobs: Iterable[Job], *, total: int, progress: Progress | None = None,
                   batch_size: int | None = None,
                   stats: PoolStats | None = None) -> Iterator[RunOutcome]:
    """``_sweep.iter_jobs`` on a Dask cluster: ``dask`` is a scheduler address (connected
    to and closed here) or a ``distributed.Client`` (left open). Outcomes in ``Job.index``
    order; ``progress`` advances per finished batch."""
    client = connect(dask) if isinstance(dask, str) else dask
    try:
        yield from _run(client, scenario_name, design_spec, jobs, total, progress,
                        batch_size, stats)
    finally:
        if isinstance(dask, str):
            client.close()


def run_jobs_dask(dask: str | Client, scenario_name: str, design_spec: str,
                  jobs: Sequence[Job], *, progress: Progress | None = None,
                  batch_size: int | None = None,
                  stats: PoolStats | None = None) -> list[RunOutcome]:
    """Every job's outcome, sorted by ``Job.index`` (``iter_jobs_dask``, kept whole)."""
    jobs = sorted(jobs, key=lambda j: j.index)
    return list(iter_jobs_dask(dask, scenario_name, design_spec, jobs, total=len(jobs),
                               progress=progress, batch_size=batch_size, stats=stats))


def _run(client: Client, scenario_name: str, design_spec: str, jobs: Iterable[Job],
         total: int, progress: Progress | None, batch_size: int | None,
         stats: PoolStats | None) -> Iterator[RunOutcome]:
    import uuid

    from distributed import as_completed

    from ._defaults import version

    __version__ = version()
    if not total:
        return
    # One batch at a time per worker process (see the module docstring), so slots are
    # processes, not threads.
    slots = max(1, len(client.nthreads()))
    size = batch_size or batch_size_for(total, slots)
    if stats is not None:
        stats.batch_size, stats.batches = size, math.ceil(total / size)
    token = uuid.uuid4().hex  # names this sweep in the workers' state
    batches = enumerate(batches_of(jobs, size))
    submitted: dict[str, tuple[Any, int]] = {}  # future key -> (future, batch number)
    arrived: dict[int, BatchResult] = {}  # batches done before their turn
    due = 0
    running = as_completed([], loop=client.loop)

    def hand_out() -> None:
        # As the local pool does (``_sweep.AHEAD_PER_SLOT``): a few batches ahead only.
        room = slots * AHEAD_PER_SLOT - running.count() - len(arrived)
        for i, batch in itertools.islice(batches, max(0, room)):
            future = client.submit(_dask_batch, __version__, scenario_name, design_spec,
                                   token, batch, key=f"ninelives-{scenario_name}-{token}-{i}",
                                   pure=False)
            submitted[future.key] = (future, i)
            running.add(future)

    try:
        hand_out()
        while True:
            if due in arrived:
                yield from arrived.pop(due).outcomes
                due += 1
                hand_out()
                continue
            if running.is_empty():
                break
            future = next(running)
            batch: BatchResult = future.result()
            arrived[submitted.pop(future.key)[1]] = batch
            if stats is not None:
                stats.add(batch)
            if progress is not None:
                progress(len(batch.outcomes))
            future.release()
            hand_out()
    except BaseException:  # an error, Ctrl-C, or the consumer stopped early
        running.clear()
        client.cancel([future for future, _ in submitted.values()])
        raise


# -- on a Dask worker -------------------------------------------------------------------

def _dask_batch(client_version: str, scenario_name: str, design_spec: str, token: str,
                jobs: list[Job]) -> BatchResult:
    """The Dask task: run one batch in this worker process's child."""
    from ._defaults import version

    __version__ = version()
    if client_version != __version__:
        raise RuntimeError(f"this Dask worker has ninelives {__version__}, the client "
                           f"{client_version}: install the same version on both")
    return _CHILD.run((scenario_name, design_spec, token, jobs))


# The child: ``python -c`` this, so that nothing it defines is pickled as ``__main__.*``.
_CHILD_CODE = "from ninelives.engine._dask import _child_main; _child_main()"


class _Child:
    """The single-threaded process beside this Dask worker process that runs its
    batches; started on first use, restarted if it died."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        #: batches the running child has served; it is renewed after
        #: ``BATCHES_PER_PROCESS``, as the local pool's processes are, for its memory
        self._served = 0

    def _start(self) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen([sys.executable, "-c", _CHILD_CODE], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, cwd=os.getcwd())
        assert proc.stdin is not None
        # The worker's import path (it may have been extended at run time).
        pickle.dump([p for p in sys.path if isinstance(p, str)], proc.stdin)
        proc.stdin.flush()
        return proc

    def run(self, request: tuple[str, str, str, list[Job]]) -> BatchResult:
        with self._lock:  # one batch at a time: the child is single-threaded
            if self._proc is None or self._proc.poll() is not None:
                self._proc, self._served = self._start(), 0
            proc = self._proc
            assert proc.stdin is not None and proc.stdout is not None
            try:
                pickle.dump(request, proc.stdin)
                proc.stdin.flush()
                status, value = pickle.load(proc.stdout)
            except (OSError, EOFError, pickle.UnpicklingError):
                self._proc = None
                proc.kill()
                raise RuntimeError(f"the ninelives child of Dask worker {os.getpid()} "
                                   f"died (exit status {proc.wait()})") from None
            self._served += 1
            if self._served >= BATCHES_PER_PROCESS:  # end of input: the child returns
                self._proc = None
                proc.stdin.close()
                proc.wait()
                proc.stdout.close()
        if status == "error":
            raise value
        return value


_CHILD = _Child()


def _child_main() -> None:
    """The child's loop: load the harness once, then run each batch it is sent."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the worker decides when we stop
    # The protocol owns the real stdout; whatever a design prints goes to stderr.
    out: IO[bytes] = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    inp = sys.stdin.buffer
    sys.path[:] = pickle.load(inp)
    from . import _sweep  # the harness: scenarios, designs, simulator, faults

    while True:
        try:
            request = pickle.load(inp)
        except EOFError:  # the worker is gone
            return
        reply: tuple[str, Any]
        try:
            reply = ("ok", _sweep._run_batch(*request))
        except Exception as exc:
            reply = ("error", exc)
        try:
            data = pickle.dumps(reply)
        except Exception:
            data = pickle.dumps(("error", RuntimeError(f"{type(reply[1]).__name__}: "
                                                       f"{reply[1]}")))
        out.write(data)
        out.flush()
