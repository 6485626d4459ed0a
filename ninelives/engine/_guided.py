"""The coverage-guided sweep of ``ninelives run``: ``faults.Guide`` plans each generation
of runs from what the earlier generations reached, and ``_sweep.run_jobs`` runs them.

The search itself is ``faults/_guide.py`` (pure: features in, plans out). This module
only feeds it: it turns the guide's trials into jobs that ask for feedback, hands each
finished generation's feedback back to the guide in index order (so the sweep does not
depend on the number of workers or where the runs were made), drops the feedback once
read (a sweep keeps no trace-sized data per run), and gives every run the guide
planned a repro line that carries its plan: its seed alone would replay the seed's own
swarm plan instead (docs/scale.md, "Guided sweeps").
"""

from __future__ import annotations

import dataclasses

from faults import Feedback, Guide, GuideConfig, Trial
from reference_agent import load_design
from scenarios import fault_space, get_scenario, repro_command

from ._sweep import Job, RunOutcome


class GuidedJobs:
    """The jobs of one guided sweep of ``seeds`` runs, generation by generation:
    ``first()``, then ``next(outcomes)`` after each generation (``_sweep.sweep``)."""

    def __init__(self, scenario: str, design_spec: str, seeds: int, first_seed: int = 0,
                 config: GuideConfig = GuideConfig(), isolation: str = "inline") -> None:
        space = fault_space(get_scenario(scenario), load_design(design_spec))
        self.guide = Guide(space, first_seed, config)
        self.scenario = scenario
        self.design_spec = design_spec
        self.seeds = seeds
        #: the isolation mode of every job (``scenarios.run_seed``)
        self.isolation = isolation
        self._start = 0
        self._trials: dict[int, Trial] = {}

    def _generation(self) -> list[Job]:
        start = self._start
        stop = min(self.seeds, start + self.guide.config.generation)
        if start >= stop:
            return []
        trials = self.guide.trials(start, stop)
        self._trials = dict(zip(range(start, stop), trials, strict=True))
        self._start = stop
        return [Job(index=i, seed=t.seed, plan=t.plan, feedback=True,
                    isolation=self.isolation)
                for i, t in self._trials.items()]

    def first(self) -> list[Job]:
        """The first generation's jobs."""
        return self._generation()

    def next(self, outcomes: list[RunOutcome]) -> tuple[list[RunOutcome], list[Job]]:
        """Feed the guide one generation's outcomes (in index order); the outcomes to
        keep (feedback dropped, repro lines with their plans) and the next jobs."""
        kept = []
        for outcome in outcomes:
            trial = self._trials[outcome.index]
            self.guide.observe(outcome.index, trial, outcome.feedback or Feedback(features=()))
            if outcome.plan is not None:
                repro = repro_command(self.scenario, self.design_spec, outcome.seed,
                                      plan=outcome.plan)
                for v in outcome.violations:
                    v.repro = repro
            kept.append(dataclasses.replace(outcome, feedback=None))
        return kept, self._generation()
