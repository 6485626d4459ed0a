"""The JSON documents the ``ninelives`` commands write (``--json PATH``), as pydantic models.

These are the stable, documented schema (docs/cli.md): tools read them with
``RunReport.model_validate_json(text)`` and so do the CLI tests. Every document carries
``schema_version``; a field is only ever added, never renamed or retyped, without
bumping it.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from simulator import TraceEvent

SCHEMA_VERSION = 1


class _Doc(BaseModel):
    # Extra fields are refused so a test parsing a document also checks that the CLI
    # wrote nothing undocumented (tests/ninelives/test_cli_json.py).
    model_config = ConfigDict(extra="forbid")


class ViolationReport(_Doc):
    """One invariant broken in one run."""

    seed: int
    invariant: str
    message: str
    #: the one-line command that reproduces the run
    repro: str
    #: how many faults the run's plan had
    plan_size: int
    evidence: dict[str, Any] = Field(default_factory=dict)
    #: the fault plan (``FaultPlan`` JSON) when a seed alone does not reproduce the run
    #: (``explore``: the enumerated crash plan); ``null`` for a swarm seed's own plan
    plan: dict[str, Any] | None = None


class SweepResult(_Doc):
    """One scenario x design swept over ``seeds`` consecutive seeds from ``first_seed``."""

    scenario: str
    design: str
    seeds: int
    first_seed: int
    #: runs per second of wall time, in this sweep (depends on the machine and workers)
    runs_per_s: float
    #: how many runs broke at least one invariant
    failing_runs: int
    #: the violations of the failing runs kept, sorted by seed (a run may break several
    #: invariants): every failing run's, unless more than ``KEEP_PER_INVARIANT`` (1,000)
    #: runs broke one invariant; then the first 1,000 runs of each (docs/cli.md)
    violations: list[ViolationReport]
    #: violations of failing runs not listed in ``violations`` (0: the list is complete)
    violations_omitted: int = 0
    #: invariant -> how many runs broke it
    violations_by_invariant: dict[str, int]
    #: fault kind -> how many runs it actually fired in (every kind listed, 0 included)
    fault_coverage: dict[str, int]
    #: fault kind -> how many runs' plans contained it (fired or not)
    fault_planned: dict[str, int]
    #: situation -> how many runs reached it at least once (every situation listed)
    situations: dict[str, int]
    #: set when one of the sweep's seeds, run twice more, did not give the same run (the
    #: design reads something the simulation does not control): why, in one line
    nondeterminism: str | None = None


class RunReport(_Doc):
    """What ``ninelives run --json`` writes."""

    schema_version: int = SCHEMA_VERSION
    command: str = "run"
    #: one per scenario x design, in the order swept
    results: list[SweepResult]


class ExploreReport(SweepResult):
    """What ``ninelives explore --json`` writes: a sweep over crash plans of one seed
    (``seeds`` is 1 and ``first_seed`` the seed) plus how many points were explored."""

    schema_version: int = SCHEMA_VERSION
    command: str = "explore"
    #: 1: every single crash point; 2: every pair of crash points
    crashes: int
    #: how many plans (crash points or pairs) were run
    points: int
    #: each process's port operations in the fault-free run (what was enumerated)
    op_counts: dict[str, int]


class ReplayReport(_Doc):
    """What ``ninelives replay --json`` writes: one run, every event of its trace."""

    schema_version: int = SCHEMA_VERSION
    command: str = "replay"
    scenario: str
    design: str
    seed: int
    #: sha256 of the canonical trace: equal hashes mean byte-identical runs
    trace_hash: str
    #: the fault plan the run used (``FaultPlan`` JSON)
    plan: dict[str, Any]
    #: indexes into ``plan.faults`` of the faults that fired, in firing order
    fired: list[int]
    #: whether every workflow finished within the liveness bound
    finished: bool
    virtual_ns: int
    #: the whole trace, in order
    events: list[TraceEvent]
    violations: list[ViolationReport]


class ShrinkReport(_Doc):
    """What ``ninelives shrink --json`` writes."""

    schema_version: int = SCHEMA_VERSION
    command: str = "shrink"
    scenario: str
    design: str
    seed: int
    #: the invariant the shrunk plan still breaks (``null``: the seed did not fail)
    invariant: str | None
    size_before: int
    size_after: int
    #: the shrunk plan (``FaultPlan`` JSON); ``null`` when the seed did not fail
    plan: dict[str, Any] | None
    plan_path: str | None
    attempts: int
    violations: list[ViolationReport]
