"""The checkout agent of ``examples/sdk_agent`` as a DBOS durable workflow: a
``@DBOS.workflow`` whose ``@DBOS.step``s ask the model (``AsyncOpenAI``) and charge with
the ``stripe`` SDK, on a SQLite system database in the machine's data directory; a
restart is ``DBOS.launch()``, which recovers the pending workflows.

``design`` keys each charge by ``f"{DBOS.workflow_id}:{DBOS.step_id}"`` (stable: a step
recorded is not run again, one not recorded re-runs under the same id); ``flawed`` keys it
by a fresh UUID each time the step runs. What ninelives can and cannot see of it:
docs/frameworks.md (DBOS starts threads at launch).
"""

from __future__ import annotations

try:
    from .agent import make_design
except ModuleNotFoundError as error:  # pragma: no cover - the extra is not installed
    if (error.name or "").split(".")[0] not in ("dbos", "openai", "stripe", "sqlalchemy"):
        raise
    raise ModuleNotFoundError(
        f"examples.dbos_agent needs DBOS ({error.name} is missing): "
        "pip install 'ninelives[dbos]'", name=error.name) from None

design = make_design(keyed=True)
flawed = make_design(keyed=False)
