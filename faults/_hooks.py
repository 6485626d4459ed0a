"""``PlanHooks``: a fault plan acting on a ``simulator.World``.

It implements the simulator's ``WorldHooks`` protocol. The world calls ``on_op`` at the
start of every port operation, ``call_fate`` for every tool call and ``model_fate`` for
every model call; each looks its logical point up in a dict built once from the plan, so
a hook call costs one or two dict lookups (``on_op`` runs on every port operation of
thousands of runs a second). After ``quiet()`` nothing fires any more (the liveness
phase); what a fault already set in motion — a pending restart or resume — still
happens.

Every fault that fires is recorded in the trace as ``faults/fault.fired`` with the
fault's JSON and its index in the plan, and appended to ``fired``: the CLI reads that
for fault coverage (which faults were reached) and for shrinking (a fault that never
fired can be dropped without a run).

A fault *fires* when it takes effect. Each logical point happens at most once in a run,
so each fault fires at most once. When several faults share a point:

- process faults at one op act in the order clock jumps, crashes, pauses; a pause of a
  process a crash just killed does not fire;
- call faults on one call are merged into one ``CallFate`` (losses and duplication
  or-ed, delays of the same leg added); of several ``ServiceError`` the first in the
  plan fires, the others do not;
- of several ``ModelFault`` on one call the first in the plan fires.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from simulator import NS_PER_MS, CallFate, TraceKind

from ._plan import FaultPlan
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
)

if TYPE_CHECKING:
    from simulator import Process, Trace, World

# Order in which faults sharing one op act (see the module docstring).
_OP_PRIORITY = {"clock_jump": 0, "crash": 1, "pause": 2}


class PlanHooks:
    """Apply ``plan`` to one run of a world: pass it as ``World(..., hooks=...)``.

    One instance serves one run (``install`` resets what fired). Attributes read after
    the run: ``fired`` (plan indexes in firing order) and ``fire_counts`` (per plan
    index, 0 or 1).
    """

    def __init__(self, plan: FaultPlan) -> None:
        self.plan = plan
        faults = plan.faults
        self._faults = faults
        # process name -> op index -> [(plan index, fault)], in acting order
        ops: dict[str, dict[int, list[tuple[int, Crash | Pause | ClockJump]]]] = {}
        # tool -> call -> [(plan index, fault)], in plan order
        calls: dict[str, dict[int, list[tuple[int, Any]]]] = {}
        # model call -> (plan index, fault): the first in the plan wins
        model: dict[int, tuple[int, ModelFault]] = {}
        for index, fault in enumerate(faults):
            if isinstance(fault, Crash | Pause | ClockJump):
                at = ops.setdefault(fault.process, {}).setdefault(fault.at_op, [])
                at.append((index, fault))
            elif isinstance(fault, ModelFault):
                model.setdefault(fault.call, (index, fault))
            else:
                calls.setdefault(fault.tool, {}).setdefault(fault.call, []).append(
                    (index, fault))
        for per_op in ops.values():
            for entries in per_op.values():
                entries.sort(key=lambda e: (_OP_PRIORITY[e[1].kind], e[0]))
        self._ops = ops
        self._calls = calls
        self._model = model
        self._trace: Trace | None = None
        self._world: World | None = None
        self.quieted = False
        #: plan indexes of the faults that fired, in firing order
        self.fired: list[int] = []
        #: how many times each fault fired (0 or 1), by plan index
        self.fire_counts: list[int] = [0] * len(faults)
        #: where each fired fault fired, parallel to ``fired``: the process it struck
        #: (or whose call or model request it was) and that process's port operations so
        #: far; ``faults.Guide`` aims new faults near these points
        self.fired_at: list[tuple[str, int]] = []
        #: per process, the trace's length as each of its port operations began (how
        #: the guide maps a trace position to an operation number)
        self.op_marks: dict[str, list[int]] = {}
        #: whether the plan changed the run at all: a fault fired, or a late crash's
        #: timer was set (a timer draws from the scheduler's tie stream even if it then
        #: fires nothing). While False, the run is exactly the fault-free run.
        self.touched = False

    # --- bookkeeping ---------------------------------------------------------------------
    def unfired(self) -> list[int]:
        """Plan indexes of the faults that never fired (their point was not reached)."""
        return [i for i, n in enumerate(self.fire_counts) if n == 0]

    def _fire(self, index: int, caller: str = "") -> None:
        self.fired.append(index)
        process = self._world.processes.get(caller) if self._world is not None else None
        self.fired_at.append((caller, process.ops if process is not None else 0))
        self.fire_counts[index] += 1
        self.touched = True
        trace = self._trace
        if trace is not None:
            trace.record("faults", TraceKind.FAULT_FIRED,
                         fault=self._faults[index].model_dump(mode="json"), index=index)

    # --- WorldHooks ----------------------------------------------------------------------
    def install(self, world: World) -> None:
        """Called by ``World.run`` before the fault phase."""
        self._world = world
        self._trace = world.kernel.trace
        self.quieted = False
        self.fired = []
        self.fire_counts = [0] * len(self.plan.faults)
        self.fired_at = []
        self.op_marks = {}
        self.touched = False

    def quiet(self, world: World) -> None:
        """Called by ``World.run`` when the fault phase ends: nothing fires after this."""
        self.quieted = True

    def on_op(self, process: Process, op_index: int, kind: str, detail: dict[str, Any]) -> None:
        """At the start of each port operation: crash, pause or shift the clock."""
        marks = self.op_marks.get(process.name)
        if marks is None:
            marks = self.op_marks[process.name] = []
        marks.append(len(self._trace) if self._trace is not None else 0)
        per_op = self._ops.get(process.name)
        if per_op is None or self.quieted:
            return
        entries = per_op.get(op_index)
        if entries is None:
            return
        for index, fault in entries:
            if isinstance(fault, ClockJump):
                self._fire(index, process.name)
                process.clock_offset_ns += fault.jump_ms * NS_PER_MS
            elif isinstance(fault, Crash):
                if not process.alive:
                    continue
                if fault.after_ms:
                    # Let the operation begin; the kill lands while it is under way.
                    self.touched = True
                    scheduler = process.kernel.scheduler
                    scheduler.call_at(scheduler.now_ns + fault.after_ms * NS_PER_MS,
                                      self._late_crash, index, fault, process,
                                      process.incarnation)
                    continue
                self._fire(index, process.name)
                process.crash("fault")
                process.restart_after_ns(fault.restart_after_ms * NS_PER_MS)
            else:  # Pause
                inc = process.incarnation
                if inc is None or not inc.alive:
                    continue
                self._fire(index, process.name)
                process.pause()
                scheduler = process.kernel.scheduler
                scheduler.call_at(scheduler.now_ns + fault.duration_ms * NS_PER_MS,
                                  _resume_if_same, process, inc)

    def _late_crash(self, index: int, fault: Crash, process: Process, inc: Any) -> None:
        if self.quieted or process.incarnation is not inc or not process.alive:
            return
        self._fire(index, process.name)
        process.crash("fault")
        process.restart_after_ns(fault.restart_after_ms * NS_PER_MS)

    def call_fate(self, tool: str, call: int, caller: str, key: str | None) -> CallFate | None:
        """The fate of the ``call``-th call of ``tool``: the merge of the faults on it."""
        per_tool = self._calls.get(tool)
        if per_tool is None or self.quieted:
            return None
        entries = per_tool.get(call)
        if entries is None:
            return None
        fate = CallFate()
        for index, fault in entries:
            if isinstance(fault, LoseRequest):
                fate.lose_request = True
            elif isinstance(fault, LoseResponse):
                fate.lose_response = True
            elif isinstance(fault, Delay):
                if fault.leg == "request":
                    fate.request_delay_ns += fault.delay_ms * NS_PER_MS
                else:
                    fate.response_delay_ns += fault.delay_ms * NS_PER_MS
            elif isinstance(fault, Duplicate):
                fate.duplicate = True
            elif isinstance(fault, ServiceError):
                if fate.inject_status is not None:
                    continue
                fate.inject_status = fault.status
            self._fire(index, caller)
        return fate

    def model_fate(self, call: int, decision: str, caller: str) -> str | None:
        """``malformed``/``hallucinated``/``slow`` for the ``call``-th model call, or None."""
        entry = self._model.get(call)
        if entry is None or self.quieted:
            return None
        index, fault = entry
        self._fire(index, caller)
        return fault.fault


def _resume_if_same(process: Process, inc: Any) -> None:
    # Resume only the incarnation this pause froze: if it was killed and another started
    # meanwhile, that one is not ours to wake.
    if process.incarnation is inc:
        process.resume()
