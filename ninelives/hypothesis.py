"""Hypothesis strategies for fault plans and seeds, a helper that runs and checks one
seed, and a state machine that steps a simulated run (docs/pytest.md). The
implementation is ``ninelives.testing``."""

from .testing._hypothesis import SimulationFailure as SimulationFailure
from .testing._hypothesis import check_run as check_run
from .testing._hypothesis import fault_plans as fault_plans
from .testing._hypothesis import machine_settings as machine_settings
from .testing._hypothesis import seeds as seeds
from .testing._hypothesis import simulation_machine as simulation_machine

__all__ = ["SimulationFailure", "check_run", "fault_plans", "machine_settings", "seeds",
           "simulation_machine"]
