"""Which isolation mode a run uses: the modes, and the default of the front doors.

``inline`` runs a design's code as coroutines on the kernel, in the harness's process;
``process`` runs each incarnation in a real OS process (``simulator/_isolation.py``).
"""

from __future__ import annotations

from ninelives.errors import InputError
from simulator import ISOLATION_MODES


def check_isolation(isolation: str) -> str:
    """``isolation`` if it names a mode (``inline``, ``process``); else ``InputError``."""
    if isolation not in ISOLATION_MODES:
        raise InputError(f"isolation must be one of {', '.join(ISOLATION_MODES)}, "
                         f"not {isolation!r}")
    return isolation


def default_isolation(design_spec: str, isolation: str | None = None) -> str:
    """The isolation mode a front door runs ``design_spec`` in when the user named none.

    A registered design keeps all its state in the store, and runs event for event the
    same in either mode (tests/simulator/test_isolation.py::test_same_trace_hash_as_inline),
    so it runs inline, several times faster; the traps whose flaw lives in their process
    (``reference_agent.PROCESS_LOCAL``) do not. Any other design may keep state in its
    process (a module global, ``hash()`` keys, a clock bound at import), which only a
    real process death exposes: it runs in process isolation, so that no verdict is
    silently wrong by default (docs/architecture.md, "Process isolation")."""
    if isolation is not None:
        return check_isolation(isolation)
    from reference_agent import DESIGNS, PROCESS_LOCAL  # a layer below: cheap here

    return "inline" if design_spec in DESIGNS and design_spec not in PROCESS_LOCAL \
        else "process"
