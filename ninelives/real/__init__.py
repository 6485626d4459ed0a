"""Real mode: the reference agent as real processes you can ``kill -9`` and watch resume.

The simulation can only model what we think storage and networks do; real mode runs the
same worker (``reference_agent.reference_main``, unchanged) on trio with SQLite and HTTP
(``_runtime``), against the same service objects served over HTTP by uvicorn in their
own process (``_app``), kills it with SIGKILL at seeded moments, restarts it, and checks
the services' own SQLite ledger (``_ledger``, ``_torture``). ``docs/real-mode.md``.

The commands, each ``cmd_<name>(args) -> exit code``; their arguments and the mapping
of their errors to exit codes are the command line's (``ninelives.cli._real``), as for
every subcommand: ``ninelives <name> ...``, or ``python -m ninelives.real <name> ...``:

- ``agent --db PATH --services URL``: one worker process;
- ``services --scenario S --seed K``: the fake services on 127.0.0.1 (prints its URL);
- ``torture --scenario S --kills N [--seed K] [--json PATH]``: kill workers, check ledgers;
- ``demo``: the SRE agent killed mid-investigation, narrated as it resumes.

Bad input raises ``InputError`` (exit 2), a process of ours that fails raises
``HarnessError`` (exit 2, one line), a broken ledger is a violation (exit 1); the
commands print no error themselves (docs/errors.md). This module imports nothing heavy:
the CLI can register the commands cheaply.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..errors import HarnessError

#: scenarios real mode runs, and why the others do not
UNSUPPORTED = {
    "subscription-renewal": "subscription-renewal sleeps 30 days between charges and "
                            "depends on a provider outage longer than the 24 h key "
                            "lifetime; it runs only in the simulation",
}


def _scenario(name: str) -> Any:
    """The scenario object; ``ScenarioError`` (bad input) for one real mode cannot run."""
    from scenarios import ScenarioError, get_scenario

    if name in UNSUPPORTED:
        raise ScenarioError(f"real mode does not run {name}: {UNSUPPORTED[name]}")
    return get_scenario(name)


def _harness_failure(what: str, error: BaseException) -> HarnessError:
    """A process of ours failed (did not start, stopped answering): ninelives failed,
    not the design, so not a violation (exit 1) but a harness error (exit 2)."""
    first = (str(error).splitlines() or [type(error).__name__])[0]
    return HarnessError(f"{what} failed: {first}")


def cmd_agent(args: argparse.Namespace) -> int:
    """One worker process on the real ports, until every workflow is finished."""
    import os

    import trio

    from ._procs import die_with_parent
    from ._runtime import run_agent

    die_with_parent()
    incarnation = args.incarnation if args.incarnation is not None else os.getpid()
    # A bad --design raises DesignError (bad input: exit 2) from run_agent.
    trio.run(lambda: run_agent(args.db, args.services, name=args.name,
                               incarnation=incarnation, time_scale=args.time_scale,
                               epoch=args.epoch, design=args.design))
    return 0


def cmd_services(args: argparse.Namespace) -> int:
    """The fake services on 127.0.0.1; prints ``listening on URL`` once bound."""
    import os

    from ._app import ServiceFaults, ServicesApp, serve
    from ._procs import die_with_parent

    die_with_parent()
    scenario = _scenario(args.scenario)
    tools = frozenset(t for t in args.fault_tools.split(",") if t) if args.fault_tools \
        else None
    app = ServicesApp(scenario, args.seed, ledger_path=args.ledger,
                      faults=ServiceFaults(args.drop_response, args.late_response, tools),
                      model_latency_s=(args.model_latency_ms[0] / 1000,
                                       args.model_latency_ms[1] / 1000),
                      time_scale=args.time_scale)

    def announce(url: str) -> None:
        print(f"ninelives services ({args.scenario}, seed {args.seed}) listening on {url}",
              flush=True)
        if not sys.stdout.isatty():
            os.dup2(2, 1)  # nothing more on the pipe the parent read the URL from

    try:
        serve(app, port=args.port, announce=announce)
    except KeyboardInterrupt:  # how a services process is stopped by hand: not an error
        pass
    except OSError as error:  # e.g. --port already in use
        raise _harness_failure("services", error) from error
    return 0


def cmd_torture(args: argparse.Namespace) -> int:
    """SIGKILL workers at seeded moments, over as many seeds' workflows as the kills need
    (one round per seed, --timeout each); check every round's ledger."""
    import httpx

    from reference_agent import load_design

    from ._torture import Torture, TortureConfig

    _scenario(args.scenario)
    # Bad input, said once before any process starts, instead of every worker
    # incarnation dying on it and the run reported as lost workflows.
    load_design(args.design)
    config = TortureConfig(
        scenario=args.scenario, kills=args.kills, seed=args.seed, time_scale=args.time_scale,
        drop_response=args.drop_response, late_response=args.late_response,
        timeout_s=args.timeout, design=args.design, workdir=args.workdir,
        quiet=args.quiet)
    # Ctrl-C: every child is stopped on the way out; the command line says "interrupted"
    # and exits 130.
    try:
        result = Torture(config).run()
    except (RuntimeError, OSError, httpx.HTTPError) as error:  # a process failed us
        raise _harness_failure("torture", error) from error
    if args.json:
        result.write_json(args.json)
    return 0 if result.ok else 1


def cmd_demo(args: argparse.Namespace) -> int:
    """Kill the SRE agent mid-investigation and narrate how it resumes."""
    import httpx

    from ._demo import run_demo

    try:  # Ctrl-C: every child is stopped on the way out (exit 130, as torture)
        return run_demo(seed=args.seed, time_scale=args.time_scale, workdir=args.workdir)
    except (RuntimeError, OSError, httpx.HTTPError) as error:  # a process failed us
        raise _harness_failure("demo", error) from error
