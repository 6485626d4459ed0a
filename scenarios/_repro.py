"""The one line that reproduces a run, built in one place and safe to paste in a shell.

Every front door prints one (a sweep's failures, ``explore``, ``shrink``, ``check``, the
pytest plugin, the Hypothesis helper), and a user pastes it into bash, zsh or sh. Each
argument is quoted with ``shlex.quote``: a design named ``package.module:attr``, a plan
path with a space, a plan inlined as JSON whose note holds a quote. An inlined plan is
written with ``printf '%s\\n'``, never ``echo``: zsh's and dash's ``echo`` turn the
backslashes of JSON escapes into control characters (``tests/scenarios/test_repro.py``).
"""

from __future__ import annotations

import shlex

from faults import FaultPlan

#: the file an inlined plan is written to before ``ninelives replay --plan`` reads it
INLINE_PLAN_FILE = "plan.json"


def shell_command(*argv: str | int) -> str:
    """``argv`` as one line a POSIX shell splits back into exactly ``argv``."""
    return " ".join(shlex.quote(str(arg)) for arg in argv)


def repro_command(scenario: str, design: str, seed: int, plan_path: str | None = None,
                  *, plan: FaultPlan | None = None) -> str:
    """``ninelives replay`` of one run of ``seed``: with its swarm plan, the plan in
    ``plan_path``, or ``plan`` inlined (the line writes it to ``plan.json`` first, for
    runs whose plan is no file: ``explore`` without ``--plans-dir``, ``check``).

    ``design`` is what ``--design`` accepts (a registered name or ``package.module:attr``),
    which for a user's design may differ from its ``Design.name``."""
    if plan is not None:
        if plan_path is not None:
            raise ValueError("give a plan or a plan path, not both")
        write = shell_command("printf", "%s\\n", plan.model_dump_json())
        return (f"{write} > {shlex.quote(INLINE_PLAN_FILE)} && "
                + repro_command(scenario, design, seed, INLINE_PLAN_FILE))
    argv: list[str | int] = ["ninelives", "replay", "--scenario", scenario, "--design",
                             design, "--seed", seed]
    if plan_path:
        argv += ["--plan", plan_path]
    return shell_command(*argv)
