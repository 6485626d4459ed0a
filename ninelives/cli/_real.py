"""Real mode's subcommands: ``agent``, ``services``, ``torture`` and ``demo``
(docs/real-mode.md). The commands themselves are ``ninelives.real``'s; this module gives
them their arguments, with the argument types every other subcommand uses, and lets
``main`` map their errors to exit codes as for every other subcommand.

``python -m ninelives.real ...`` is this same command line (``ninelives/real/__main__.py``):
the worker processes real mode starts are ``python -m ninelives.real agent``.
"""

from __future__ import annotations

from typing import Any

from ..real import cmd_agent, cmd_demo, cmd_services, cmd_torture
from ._args import (
    nonnegative_arg,
    number_arg,
    output_dir,
    output_path,
    port_arg,
    positive_number_arg,
    probability_arg,
    range_arg,
    seed_arg,
    url_arg,
)


def add_real_parsers(subparsers: Any) -> None:
    """Register ``agent``, ``services``, ``torture`` and ``demo`` on ``subparsers``."""
    _add_agent_parser(subparsers)
    _add_services_parser(subparsers)
    _add_torture_parser(subparsers)
    _add_demo_parser(subparsers)


def _add_agent_parser(subparsers: Any) -> None:
    agent = subparsers.add_parser(
        "agent", help="real mode: one worker (the reference agent on trio + SQLite + HTTP)",
        description=cmd_agent.__doc__)
    agent.add_argument("--db", required=True, type=output_path, metavar="PATH",
                       help="the worker's SQLite file (its log)")
    agent.add_argument("--services", required=True, metavar="URL", type=url_arg,
                       help="the services process, e.g. http://127.0.0.1:8123")
    agent.add_argument("--name", default="worker",
                       help="process name: the lease owner; keep it across restarts")
    agent.add_argument("--incarnation", type=nonnegative_arg, default=None, metavar="N",
                       help="which life of the process this is, >= 0 (default: its pid)")
    agent.add_argument("--time-scale", type=positive_number_arg, default=1.0, metavar="X",
                       help="agent seconds per real second (default 1)")
    agent.add_argument("--epoch", type=number_arg, default=0.0, metavar="T",
                       help="unix time the agent's clock counts from (default 0)")
    agent.add_argument("--design", default="reference", metavar="D",
                       help="design to run (a registered name or package.module:attr)")
    agent.set_defaults(handler=cmd_agent)


def _add_services_parser(subparsers: Any) -> None:
    services = subparsers.add_parser(
        "services", help="real mode: the fake services over HTTP on 127.0.0.1",
        description=cmd_services.__doc__)
    services.add_argument("--scenario", required=True, metavar="S")
    services.add_argument("--seed", type=seed_arg, default=1, metavar="N")
    services.add_argument("--ledger", default=None, type=output_path, metavar="PATH",
                          help="SQLite file for the ledger")
    services.add_argument("--port", type=port_arg, default=0,
                          help="port on 127.0.0.1 (default 0: any free port)")
    services.add_argument("--drop-response", type=probability_arg, default=0.0, metavar="P",
                          help="probability a side-effecting call's answer is dropped "
                               "after the effect committed")
    services.add_argument("--late-response", type=probability_arg, default=0.0, metavar="P",
                          help="probability a side-effecting call is answered past the "
                               "client's timeout")
    services.add_argument("--fault-tools", default="",
                          help="comma-separated tools the two faults may hit (default all "
                               "side-effecting ones)")
    services.add_argument("--model-latency-ms", type=range_arg, default=(0.0, 0.0),
                          metavar="MIN,MAX", help="model answer latency (default 0)")
    services.add_argument("--time-scale", type=positive_number_arg, default=1.0, metavar="X",
                          help="run the services' processing times this many times "
                               "faster, as the agents' clocks (default 1)")
    services.set_defaults(handler=cmd_services)


def _add_torture_parser(subparsers: Any) -> None:
    torture = subparsers.add_parser(
        "torture", help="real mode: SIGKILL workers at seeded moments, check the ledgers",
        description=cmd_torture.__doc__)
    torture.add_argument("--scenario", required=True, metavar="S",
                         help="checkout or sre-incident")
    torture.add_argument("--kills", type=nonnegative_arg, required=True, metavar="N",
                         help="how many times to SIGKILL the worker (>= 0)")
    torture.add_argument("--seed", type=seed_arg, default=1, metavar="N")
    torture.add_argument("--json", default=None, type=output_path, metavar="PATH",
                         help="write the result as JSON")
    torture.add_argument("--time-scale", type=positive_number_arg, default=10.0, metavar="X",
                         help="agent seconds per real second (default 10)")
    torture.add_argument("--drop-response", type=probability_arg, default=0.1, metavar="P",
                         help="probability a side-effecting answer is dropped (default 0.1)")
    torture.add_argument("--late-response", type=probability_arg, default=0.05, metavar="P",
                         help="probability a side-effecting answer comes too late "
                              "(default 0.05)")
    torture.add_argument("--timeout", type=positive_number_arg, default=300.0, metavar="S",
                         help="give up after this many real seconds (default 300)")
    torture.add_argument("--design", default="reference", metavar="D",
                         help="design the workers run (default reference)")
    torture.add_argument("--workdir", default=None, type=output_dir, metavar="DIR",
                         help="keep the SQLite files and logs here (default: a temporary "
                              "directory, removed unless the run fails)")
    torture.add_argument("--quiet", action="store_true", help="no live progress")
    torture.set_defaults(handler=cmd_torture)


def _add_demo_parser(subparsers: Any) -> None:
    demo = subparsers.add_parser(
        "demo", help="real mode: kill the SRE agent mid-investigation, watch it resume",
        description=cmd_demo.__doc__)
    demo.add_argument("--seed", type=seed_arg, default=7, metavar="N")
    demo.add_argument("--time-scale", type=positive_number_arg, default=20.0, metavar="X",
                      help="agent seconds per real second (default 20)")
    demo.add_argument("--workdir", default=None, type=output_dir, metavar="DIR")
    demo.set_defaults(handler=cmd_demo)

