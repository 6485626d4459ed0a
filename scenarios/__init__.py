"""Workloads and the invariants they must keep, one file per scenario, registered by
name; and the harness that runs a scenario against a design for a seed and checks it."""

from ._abridge import EVIDENCE_CHARS as EVIDENCE_CHARS
from ._abridge import clip as clip
from ._abridge import one_line as one_line
from ._families import at_most_once as at_most_once
from ._families import exactly_once as exactly_once
from ._harness import Baselines as Baselines
from ._harness import RunResult as RunResult
from ._harness import build_world as build_world
from ._harness import execute as execute
from ._harness import fault_space as fault_space
from ._harness import fault_targets as fault_targets
from ._harness import observed_tools as observed_tools
from ._harness import populate as populate
from ._harness import run_seed as run_seed
from ._harness import watch_design as watch_design
from ._invariants import INVARIANTS as INVARIANTS
from ._invariants import liveness as liveness
from ._invariants import model_once_per_decision as model_once_per_decision
from ._invariants import resume_equivalence as resume_equivalence
from ._invariants import single_result_per_step as single_result_per_step
from ._isolation import check_isolation as check_isolation
from ._isolation import default_isolation as default_isolation
from ._registry import SCENARIOS as SCENARIOS
from ._registry import ScenarioError as ScenarioError
from ._registry import ScenarioFault as ScenarioFault
from ._registry import get_scenario as get_scenario
from ._repro import INLINE_PLAN_FILE as INLINE_PLAN_FILE
from ._repro import repro_command as repro_command
from ._repro import shell_command as shell_command
from ._scenario import Scenario as Scenario
from ._situations import SITUATIONS as SITUATIONS
from ._situations import applicable_situations as applicable_situations
from ._violation import Violation as Violation
