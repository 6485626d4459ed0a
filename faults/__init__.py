"""What can go wrong, as data: fault kinds, plans, and where plans come from.

Faults are pydantic models addressed by logical points (a process's n-th port
operation, a tool's n-th call, the n-th model call). A ``FaultPlan`` is a list of them;
``PlanHooks`` applies one to a ``simulator.World``. Plans come from a seed
(``swarm_plan``), a file (``FaultPlan.from_file``), a Hypothesis strategy
(``fault_plans``), exhaustive enumeration (``crash_points``, ``crash_pairs``), or a
coverage-guided search that steers later runs toward what earlier ones reached
(``Guide``), and a failing one shrinks with ``shrink``.

Everything here is re-exported from private modules; import from ``faults``.
"""

from ._enumerate import crash_pairs as crash_pairs
from ._enumerate import crash_points as crash_points
from ._guide import Feedback as Feedback
from ._guide import Guide as Guide
from ._guide import GuideConfig as GuideConfig
from ._guide import Trial as Trial
from ._guide import feedback_of as feedback_of
from ._guide import generations as generations
from ._guide import run_features as run_features
from ._hooks import PlanHooks as PlanHooks
from ._plan import FaultPlan as FaultPlan
from ._plan import PlanError as PlanError
from ._shrink import shrink as shrink
from ._shrink import shrink_candidates as shrink_candidates
from ._strategies import fault_plans as fault_plans
from ._strategies import fault_strategies as fault_strategies
from ._strategies import seeds as seeds
from ._swarm import FaultSpace as FaultSpace
from ._swarm import SwarmConfig as SwarmConfig
from ._swarm import swarm_plan as swarm_plan
from ._types import ClockJump as ClockJump
from ._types import Crash as Crash
from ._types import Delay as Delay
from ._types import Duplicate as Duplicate
from ._types import Fault as Fault
from ._types import FaultKind as FaultKind
from ._types import LoseRequest as LoseRequest
from ._types import LoseResponse as LoseResponse
from ._types import ModelFault as ModelFault
from ._types import Pause as Pause
from ._types import ServiceError as ServiceError
from ._types import kind_names as kind_names
from ._types import kinds as kinds
