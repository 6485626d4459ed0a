"""The engine: every way ninelives runs a design — sweeps over a process pool or a Dask
cluster, exhaustive exploration, shrinking, replay, the reproducibility check and the
four questions of ``check`` — the JSON documents their results are (``_schema``), and
the validators every front door checks its input with (``_validate``).

The engine raises domain errors (``ninelives.errors``) and prints nothing; the front
doors above it (``ninelives.cli``, ``ninelives.testing``, ``ninelives.bench``) decide
what a user sees and which exit code it is. Nothing here imports them
(``tests/ninelives/test_layers.py``).

Names are loaded on first access: the simulator, the scenarios and pydantic cost some
0.3 s to import, and the command line (``ninelives --help``) and the pytest plugin must
not pay that until they run something.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._check import QUESTIONS as QUESTIONS
    from ._check import CheckReport as CheckReport
    from ._check import QuestionResult as QuestionResult
    from ._check import check_design as check_design
    from ._defaults import DEFAULT_SEEDS as DEFAULT_SEEDS
    from ._defaults import default_isolation as default_isolation
    from ._defaults import version as version
    from ._explore import Exploration as Exploration
    from ._explore import explore as explore
    from ._guided import GuidedJobs as GuidedJobs
    from ._interrupt import ignore_sigint as ignore_sigint
    from ._interrupt import sigint_ignored as sigint_ignored
    from ._replay import Replay as Replay
    from ._replay import replay as replay
    from ._reproduce import check_seed as check_seed
    from ._reproduce import fingerprint as fingerprint
    from ._reproduce import pick as pick
    from ._schema import SCHEMA_VERSION as SCHEMA_VERSION
    from ._schema import ExploreReport as ExploreReport
    from ._schema import ReplayReport as ReplayReport
    from ._schema import RunReport as RunReport
    from ._schema import ShrinkReport as ShrinkReport
    from ._schema import SweepResult as SweepResult
    from ._schema import ViolationReport as ViolationReport
    from ._shrink import ShrinkOutcome as ShrinkOutcome
    from ._shrink import shrink_seed as shrink_seed
    from ._sweep import KEEP_PER_INVARIANT as KEEP_PER_INVARIANT
    from ._sweep import BatchResult as BatchResult
    from ._sweep import Job as Job
    from ._sweep import PoolStats as PoolStats
    from ._sweep import RunOutcome as RunOutcome
    from ._sweep import Sweep as Sweep
    from ._sweep import Tally as Tally
    from ._sweep import fix_repro as fix_repro
    from ._sweep import iter_jobs as iter_jobs
    from ._sweep import run_jobs as run_jobs
    from ._sweep import run_jobs_here as run_jobs_here
    from ._sweep import sweep as sweep
    from ._sweep import violation_report as violation_report
    from ._validate import parse_int as parse_int
    from ._validate import parse_number as parse_number
    from ._validate import parse_range as parse_range
    from ._validate import require_at_least as require_at_least
    from ._validate import require_count as require_count
    from ._validate import require_one_of as require_one_of
    from ._validate import require_port as require_port
    from ._validate import require_positive as require_positive
    from ._validate import require_probability as require_probability
    from ._validate import require_seed as require_seed
    from ._validate import require_url as require_url
    from ._validate import require_writable_dir as require_writable_dir
    from ._validate import require_writable_file as require_writable_file

_LAZY: dict[str, str] = {
    "QUESTIONS": "._check", "CheckReport": "._check", "QuestionResult": "._check",
    "check_design": "._check",
    "DEFAULT_SEEDS": "._defaults", "version": "._defaults",
    "default_isolation": "._defaults",
    "Exploration": "._explore", "explore": "._explore",
    "GuidedJobs": "._guided",
    "ignore_sigint": "._interrupt", "sigint_ignored": "._interrupt",
    "Replay": "._replay", "replay": "._replay",
    "check_seed": "._reproduce", "fingerprint": "._reproduce", "pick": "._reproduce",
    "SCHEMA_VERSION": "._schema", "ExploreReport": "._schema", "ReplayReport": "._schema",
    "RunReport": "._schema", "ShrinkReport": "._schema", "SweepResult": "._schema",
    "ViolationReport": "._schema",
    "ShrinkOutcome": "._shrink", "shrink_seed": "._shrink",
    "BatchResult": "._sweep", "Job": "._sweep", "KEEP_PER_INVARIANT": "._sweep",
    "PoolStats": "._sweep", "RunOutcome": "._sweep", "Sweep": "._sweep",
    "Tally": "._sweep", "fix_repro": "._sweep", "iter_jobs": "._sweep",
    "run_jobs": "._sweep", "run_jobs_here": "._sweep", "sweep": "._sweep",
    "violation_report": "._sweep",
    "parse_int": "._validate",
    "parse_number": "._validate",
    "parse_range": "._validate",
    "require_at_least": "._validate",
    "require_count": "._validate",
    "require_one_of": "._validate",
    "require_port": "._validate",
    "require_positive": "._validate",
    "require_probability": "._validate",
    "require_seed": "._validate",
    "require_url": "._validate",
    "require_writable_dir": "._validate",
    "require_writable_file": "._validate",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'ninelives.engine' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value
