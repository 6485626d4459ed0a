"""The reference design (decider split from doer, durable log, recorded model,
idempotent executor) and, in ``reference_agent.flawed``, the designs it is measured
against. Import from ``reference_agent``."""

from ._agents import AGENTS as AGENTS
from ._agents import AgentSpec as AgentSpec
from ._executor import Executor as Executor
from ._gate import review as review
from ._log import LeaseLost as LeaseLost
from ._log import WorkflowLog as WorkflowLog
from ._orchestrator import decide as decide
from ._orchestrator import fold as fold
from ._proposals import CallAction as CallAction
from ._proposals import FinishAction as FinishAction
from ._proposals import ProposalError as ProposalError
from ._proposals import WaitAction as WaitAction
from ._proposals import parse_proposal as parse_proposal
from ._registry import DESIGNS as DESIGNS
from ._registry import FLAWED as FLAWED
from ._registry import PROCESS_LOCAL as PROCESS_LOCAL
from ._registry import RARE_FLAWED as RARE_FLAWED
from ._registry import TRAPS as TRAPS
from ._registry import DesignError as DesignError
from ._registry import load_design as load_design
from ._sqlite_store import SqliteStore as SqliteStore
from ._worker import REFERENCE as REFERENCE
from ._worker import Worker as Worker
from ._worker import reference_main as reference_main
