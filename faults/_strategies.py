"""Hypothesis strategies for fault plans and seeds.

``fault_plans`` is a list of faults drawn with ``st.one_of`` over one strategy per kind,
so Hypothesis's shrinker can do what it does best: drop faults, move them to earlier
logical points, and make their numbers small. The kinds come in the same order as
``kinds()``, crashes first, so a failing plan also shrinks towards a crash (the simplest
fault to reason about).

Hypothesis is imported when a strategy is built, not with ``faults``: a CLI run that
never uses a strategy should not pay for importing it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._plan import FaultPlan
from ._swarm import FaultSpace
from ._types import (
    ClockJump,
    Crash,
    Delay,
    Duplicate,
    LoseRequest,
    LoseResponse,
    ModelFault,
    Pause,
    ServiceError,
    _Fault,
)

if TYPE_CHECKING:
    from hypothesis.strategies import SearchStrategy

#: bounds of the numbers the strategies draw (shrinking moves them to the low end)
RESTART_AFTER_MS_MAX = 10_000
DELAY_MS_MAX = 60_000
PAUSE_MS_MAX = 180_000
CLOCK_JUMP_MS_MAX = 24 * 3_600_000


def fault_strategies(space: FaultSpace) -> list[SearchStrategy[_Fault]]:
    """One strategy per fault kind that ``space`` allows, in ``kinds()`` order."""
    from hypothesis import strategies as st

    found: list[SearchStrategy[_Fault]] = []
    if space.processes and space.max_ops_per_process > 0:
        process = st.sampled_from(space.processes)
        at_op = st.integers(1, space.max_ops_per_process)
        found.append(st.builds(Crash, process=process, at_op=at_op,
                               restart_after_ms=st.integers(0, RESTART_AFTER_MS_MAX),
                               after_ms=st.integers(0, 60)))
        found.append(st.builds(Pause, process=process, at_op=at_op,
                               duration_ms=st.integers(1, PAUSE_MS_MAX)))
    if space.tools and space.max_calls_per_tool > 0:
        tool = st.sampled_from(space.tools)
        call = st.integers(1, space.max_calls_per_tool)
        found.append(st.builds(LoseRequest, tool=tool, call=call))
        found.append(st.builds(LoseResponse, tool=tool, call=call))
        found.append(st.builds(Delay, tool=tool, call=call,
                               delay_ms=st.integers(1, DELAY_MS_MAX),
                               leg=st.sampled_from(["response", "request"])))
        if space.keyed_tools:
            found.append(st.builds(Duplicate, tool=st.sampled_from(space.keyed_tools),
                                   call=call))
        found.append(st.builds(ServiceError, tool=tool, call=call,
                               status=st.sampled_from([500, 429])))
    if space.max_model_calls > 0:
        found.append(st.builds(ModelFault, call=st.integers(1, space.max_model_calls),
                               fault=st.sampled_from(["malformed", "hallucinated", "slow"])))
    if space.processes and space.max_ops_per_process > 0:
        jump = st.integers(1, CLOCK_JUMP_MS_MAX) | st.integers(-CLOCK_JUMP_MS_MAX, -1)
        found.append(st.builds(ClockJump, process=st.sampled_from(space.processes),
                               at_op=st.integers(1, space.max_ops_per_process),
                               jump_ms=jump))
    return found


def fault_plans(space: FaultSpace, max_faults: int = 6) -> SearchStrategy[FaultPlan]:
    """Plans of 0 to ``max_faults`` faults of the kinds ``space`` allows; they shrink
    towards fewer faults, earlier points and smaller numbers."""
    from hypothesis import strategies as st

    kinds = fault_strategies(space)
    if not kinds:
        return st.just(FaultPlan(faults=[]))
    return st.lists(st.one_of(kinds), max_size=max_faults).map(
        lambda faults: FaultPlan(faults=faults))


def seeds() -> SearchStrategy[int]:
    """Run seeds: any unsigned 32-bit integer."""
    from hypothesis import strategies as st

    return st.integers(0, 2**32 - 1)
