"""Replaying one run: the same seed (and plan) as a sweep ran, with its world and trace
kept for the timelines of ``ninelives.reports``."""

from __future__ import annotations

from dataclasses import dataclass

from faults import FaultPlan
from reference_agent import load_design
from scenarios import RunResult, get_scenario, repro_command, run_seed
from simulator import RawEvent

from ._schema import ReplayReport
from ._sweep import fix_repro, violation_report


@dataclass
class Replay:
    """One reproduced run, with its world kept for inspection."""

    result: RunResult
    design_spec: str
    plan_path: str | None

    @property
    def events(self) -> list[RawEvent]:
        assert self.result.world is not None
        return self.result.world.kernel.trace.raw()

    @property
    def trace_hash(self) -> str:
        assert self.result.world is not None
        return self.result.world.kernel.trace.hash()

    @property
    def repro(self) -> str:
        r = self.result
        return repro_command(r.scenario, self.design_spec, r.seed, self.plan_path)

    def report(self) -> ReplayReport:
        r = self.result
        assert r.world is not None
        return ReplayReport(
            scenario=r.scenario, design=self.design_spec, seed=r.seed,
            trace_hash=self.trace_hash, plan=r.plan.model_dump(mode="json"),
            fired=list(r.fired), finished=r.finished, virtual_ns=r.virtual_ns,
            events=r.world.kernel.trace.events(),
            violations=[violation_report(v) for v in r.violations],
        )

    def dispose(self) -> None:
        if self.result.world is not None:
            self.result.world.dispose()


def replay(scenario: str, design: str, seed: int, plan: FaultPlan | None = None,
           plan_path: str | None = None) -> Replay:
    """Run ``seed`` exactly as a sweep did (or with ``plan``), keeping the world."""
    result = run_seed(get_scenario(scenario), load_design(design), seed, plan,
                      keep_world=True, plan_path=plan_path)
    fix_repro(result.violations, scenario, design, seed, plan_path)
    return Replay(result=result, design_spec=design, plan_path=plan_path)
