"""Real mode: the reference agent as real processes you can ``kill -9`` and watch resume.

The simulation can only model what we think storage and networks do; real mode runs the
same worker (``reference_agent.reference_main``, unchanged) on trio with SQLite and HTTP
(``_runtime``), against the same service objects served over HTTP by uvicorn in their
own process (``_app``), kills it with SIGKILL at seeded moments, restarts it, and checks
the services' own SQLite ledger (``_ledger``, ``_torture``). ``docs/real-mode.md``.

Commands (``add_real_parsers`` registers them on any argparse subparsers; also
``python -m ninelives.real ...``):

- ``agent --db PATH --services URL``: one worker process;
- ``services --scenario S --seed K``: the fake services on 127.0.0.1 (prints its URL);
- ``torture --scenario S --kills N [--seed K] [--json PATH]``: kill workers, check ledgers;
- ``demo``: the SRE agent killed mid-investigation, narrated as it resumes.

This module imports nothing heavy: the CLI can register the commands cheaply.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

#: scenarios real mode runs, and why the others do not
UNSUPPORTED = {
    "subscription-renewal": "subscription-renewal sleeps 30 days between charges and "
                            "depends on a provider outage longer than the 24 h key "
                            "lifetime; it runs only in the simulation",
}

EXIT_OK, EXIT_VIOLATION, EXIT_BAD_INPUT = 0, 1, 2


def _positive_float(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def _probability(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {text}")
    return value


def _nonnegative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return value


def _port(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"a TCP port is 0..65535 (0: any free one), got {text}")
    return value


def _url(text: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise argparse.ArgumentTypeError(
            f"want the services' URL, e.g. http://127.0.0.1:8123, got {text!r}")
    return text


def _sqlite_file(text: str) -> str:
    """A SQLite file that can be opened or created: its directory must exist."""
    import os
    from pathlib import Path

    path = Path(text)
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text}: is a directory")
    if not path.parent.is_dir():
        raise argparse.ArgumentTypeError(
            f"{text}: directory {str(path.parent)!r} does not exist")
    if not os.access(path.parent, os.W_OK):
        raise argparse.ArgumentTypeError(f"{text}: directory not writable")
    return text


def _latency(text: str) -> tuple[float, float]:
    low, _, high = text.partition(",")
    pair = (float(low), float(high or low))
    if pair[0] < 0 or pair[1] < pair[0]:
        raise argparse.ArgumentTypeError(f"want MIN,MAX with 0 <= MIN <= MAX, got {text}")
    return pair


def _fail(message: str) -> int:
    print(f"ninelives: {message}", file=sys.stderr)
    return EXIT_BAD_INPUT


def _scenario(name: str) -> Any:
    """The scenario object, or raises ValueError with a one-line message."""
    from scenarios import ScenarioError, get_scenario

    if name in UNSUPPORTED:
        raise ValueError(f"real mode does not run {name}: {UNSUPPORTED[name]}")
    try:
        return get_scenario(name)
    except ScenarioError as error:
        raise ValueError(str(error)) from None


def cmd_agent(args: argparse.Namespace) -> int:
    """One worker process on the real ports, until every workflow is finished."""
    import os

    import trio

    from reference_agent import DesignError

    from ._procs import die_with_parent
    from ._runtime import run_agent

    die_with_parent()
    incarnation = args.incarnation if args.incarnation is not None else os.getpid()
    try:
        trio.run(lambda: run_agent(args.db, args.services, name=args.name,
                                   incarnation=incarnation, time_scale=args.time_scale,
                                   epoch=args.epoch, design=args.design))
    except DesignError as error:
        return _fail(str(error))
    except KeyboardInterrupt:
        return 130
    return EXIT_OK


def cmd_services(args: argparse.Namespace) -> int:
    """The fake services on 127.0.0.1; prints ``listening on URL`` once bound."""
    import os

    from ._app import ServiceFaults, ServicesApp, serve
    from ._procs import die_with_parent

    die_with_parent()
    try:
        scenario = _scenario(args.scenario)
    except ValueError as error:
        return _fail(str(error))
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
    except KeyboardInterrupt:
        pass
    return EXIT_OK


def cmd_torture(args: argparse.Namespace) -> int:
    """SIGKILL workers at seeded moments, over as many seeds' workflows as the kills need
    (one round per seed, --timeout each); check every round's ledger."""
    import httpx

    from reference_agent import DesignError, load_design

    from ._torture import Torture, TortureConfig

    try:
        _scenario(args.scenario)
        # Bad input, said once before any process starts, instead of every worker
        # incarnation dying on it and the run reported as lost workflows.
        load_design(args.design)
    except (ValueError, DesignError) as error:
        return _fail(str(error))
    config = TortureConfig(
        scenario=args.scenario, kills=args.kills, seed=args.seed, time_scale=args.time_scale,
        drop_response=args.drop_response, late_response=args.late_response,
        timeout_s=args.timeout, design=args.design, workdir=args.workdir,
        quiet=args.quiet)
    try:
        result = Torture(config).run()
    except KeyboardInterrupt:  # every child was stopped on the way out
        print("ninelives: torture interrupted", file=sys.stderr)
        return 130
    except (RuntimeError, OSError, httpx.HTTPError) as error:  # a process failed us
        print(f"ninelives: torture failed: {str(error).splitlines()[0]}", file=sys.stderr)
        return EXIT_VIOLATION
    if args.json:
        result.write_json(args.json)
    return EXIT_OK if result.ok else EXIT_VIOLATION


def cmd_demo(args: argparse.Namespace) -> int:
    """Kill the SRE agent mid-investigation and narrate how it resumes."""
    from ._demo import run_demo

    try:
        return run_demo(seed=args.seed, time_scale=args.time_scale, workdir=args.workdir)
    except KeyboardInterrupt:  # every child was stopped on the way out
        print("ninelives: demo interrupted", file=sys.stderr)
        return 130


def add_real_parsers(subparsers: Any) -> None:
    """Register ``agent``, ``services``, ``torture`` and ``demo`` on ``subparsers``
    (from ``ArgumentParser.add_subparsers()``); each sets ``func(args) -> exit code``."""
    agent = subparsers.add_parser(
        "agent", help="real mode: one worker (the reference agent on trio + SQLite + HTTP)",
        description=cmd_agent.__doc__)
    agent.add_argument("--db", required=True, type=_sqlite_file,
                       help="the worker's SQLite file (its log)")
    agent.add_argument("--services", required=True, metavar="URL", type=_url,
                       help="the services process, e.g. http://127.0.0.1:8123")
    agent.add_argument("--name", default="worker",
                       help="process name: the lease owner; keep it across restarts")
    agent.add_argument("--incarnation", type=_nonnegative_int, default=None,
                       help="which life of the process this is (default: its pid)")
    agent.add_argument("--time-scale", type=_positive_float, default=1.0,
                       help="agent seconds per real second (default 1)")
    agent.add_argument("--epoch", type=float, default=0.0,
                       help="unix time the agent's clock counts from (default 0)")
    agent.add_argument("--design", default="reference",
                       help="design to run (a registered name or package.module:attr)")
    agent.set_defaults(func=cmd_agent)

    services = subparsers.add_parser(
        "services", help="real mode: the fake services over HTTP on 127.0.0.1",
        description=cmd_services.__doc__)
    services.add_argument("--scenario", required=True)
    services.add_argument("--seed", type=int, default=1)
    services.add_argument("--ledger", default=None, type=_sqlite_file,
                          help="SQLite file for the ledger")
    services.add_argument("--port", type=_port, default=0,
                          help="port on 127.0.0.1 (default 0: any free port)")
    services.add_argument("--drop-response", type=_probability, default=0.0,
                          help="probability a side-effecting call's answer is dropped "
                               "after the effect committed")
    services.add_argument("--late-response", type=_probability, default=0.0,
                          help="probability a side-effecting call is answered past the "
                               "client's timeout")
    services.add_argument("--fault-tools", default="",
                          help="comma-separated tools the two faults may hit (default all "
                               "side-effecting ones)")
    services.add_argument("--model-latency-ms", type=_latency, default=(0.0, 0.0),
                          metavar="MIN,MAX", help="model answer latency (default 0)")
    services.add_argument("--time-scale", type=_positive_float, default=1.0,
                          help="run the services' processing times this many times "
                               "faster, as the agents' clocks (default 1)")
    services.set_defaults(func=cmd_services)

    torture = subparsers.add_parser(
        "torture", help="real mode: SIGKILL workers at seeded moments, check the ledgers",
        description=cmd_torture.__doc__)
    torture.add_argument("--scenario", required=True,
                         help="checkout or sre-incident")
    torture.add_argument("--kills", type=_nonnegative_int, required=True,
                         help="how many times to SIGKILL the worker")
    torture.add_argument("--seed", type=int, default=1)
    torture.add_argument("--json", default=None, metavar="PATH",
                         help="write the result as JSON")
    torture.add_argument("--time-scale", type=_positive_float, default=10.0,
                         help="agent seconds per real second (default 10)")
    torture.add_argument("--drop-response", type=_probability, default=0.1,
                         help="probability a side-effecting answer is dropped (default 0.1)")
    torture.add_argument("--late-response", type=_probability, default=0.05,
                         help="probability a side-effecting answer comes too late "
                              "(default 0.05)")
    torture.add_argument("--timeout", type=_positive_float, default=300.0,
                         help="give up after this many real seconds (default 300)")
    torture.add_argument("--design", default="reference",
                         help="design the workers run (default reference)")
    torture.add_argument("--workdir", default=None,
                         help="keep the SQLite files and logs here (default: a temporary "
                              "directory, removed unless the run fails)")
    torture.add_argument("--quiet", action="store_true", help="no live progress")
    torture.set_defaults(func=cmd_torture)

    demo = subparsers.add_parser(
        "demo", help="real mode: kill the SRE agent mid-investigation, watch it resume",
        description=cmd_demo.__doc__)
    demo.add_argument("--seed", type=int, default=7)
    demo.add_argument("--time-scale", type=_positive_float, default=20.0,
                      help="agent seconds per real second (default 20)")
    demo.add_argument("--workdir", default=None)
    demo.set_defaults(func=cmd_demo)


def main(argv: list[str] | None = None) -> int:
    """``python -m ninelives.real <agent|services|torture|demo> ...``."""
    parser = argparse.ArgumentParser(prog="python -m ninelives.real",
                                     description=__doc__.split("\n\n")[0])
    subparsers = parser.add_subparsers(dest="command", required=True)
    add_real_parsers(subparsers)
    args = parser.parse_args(argv)
    return int(args.func(args))
