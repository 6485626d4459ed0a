"""Swarm testing: a fault plan from a seed.

Following Groce et al., "Swarm Testing" (ISSTA 2012): rather than giving every run a bit
of every fault, each seed first *enables a random subset of fault kinds* at random
intensities, then draws faults of the enabled kinds only. A run with crashes and nothing
else finds the bugs that lost responses would have masked (a design that retries after a
lost response never reaches the crash path), and across seeds every combination gets its
turn. Some seeds get an empty plan: baseline runs, which must pass too.

Randomness comes from ``simulator.derive_seed(seed, "faults")`` alone (never the global
``random``), so a seed gives the same plan in any process under any ``PYTHONHASHSEED``.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from itertools import accumulate

from pydantic import BaseModel, ConfigDict, Field

from simulator import derive_seed

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
    _Fault,
)


class FaultSpace(BaseModel):
    """What a scenario can fault: its processes, its tools, and how far the logical
    points go (from a fault-free run of the scenario, with some headroom)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    #: process names (``World.add_process``) that crashes, pauses and clock jumps target
    processes: list[str] = []
    #: tool names (``service.endpoint``) that network faults and service errors target
    tools: list[str] = []
    #: the tools that accept an idempotency key: the only ones ``Duplicate`` targets (a
    #: duplicated unkeyed request makes even a correct design act twice, and real
    #: networks do not duplicate HTTP requests on their own)
    keyed_tools: list[str] = []
    #: the largest ``at_op`` drawn for a process fault
    max_ops_per_process: int = Field(default=0, ge=0)
    #: the largest ``call`` drawn for a tool fault
    max_calls_per_tool: int = Field(default=0, ge=0)
    #: the largest model ``call`` drawn for a model fault
    max_model_calls: int = Field(default=0, ge=0)


class SwarmConfig(BaseModel):
    """How ``swarm_plan`` draws plans. Probabilities are in [0, 1]; ranges are
    inclusive; every duration's unit is in its name."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    #: share of seeds that get an empty plan (baseline runs)
    baseline_probability: float = Field(default=0.1, ge=0, le=1)
    #: chance, per seed, that each kind is enabled (a seed enables at least one kind)
    crash_probability: float = Field(default=0.5, ge=0, le=1)
    pause_probability: float = Field(default=0.25, ge=0, le=1)
    lose_request_probability: float = Field(default=0.4, ge=0, le=1)
    #: (a lost response is the nastiest network fault: the service acted, nobody knows)
    lose_response_probability: float = Field(default=0.5, ge=0, le=1)
    delay_probability: float = Field(default=0.4, ge=0, le=1)
    duplicate_probability: float = Field(default=0.3, ge=0, le=1)
    service_error_probability: float = Field(default=0.4, ge=0, le=1)
    model_fault_probability: float = Field(default=0.4, ge=0, le=1)
    clock_jump_probability: float = Field(default=0.2, ge=0, le=1)
    #: faults per non-empty plan: drawn uniformly in [1, max_faults]
    max_faults: int = Field(default=8, ge=1)
    #: how long a crashed process stays down before its restart
    restart_after_ms_min: int = Field(default=0, ge=0)
    restart_after_ms_max: int = Field(default=5_000, ge=0)
    #: chance that a crash lands a little after its operation began (a request in flight)
    crash_in_flight_probability: float = Field(default=0.3, ge=0, le=1)
    #: how long after its operation began such a crash lands
    crash_in_flight_ms_max: int = Field(default=60, ge=1)
    #: how late a delayed leg arrives (past a 10 s tool timeout at the top of the range)
    delay_ms_min: int = Field(default=100, ge=1)
    delay_ms_max: int = Field(default=30_000, ge=1)
    #: how long a pause lasts (the default range straddles a 30 s lease)
    pause_ms_min: int = Field(default=5_000, ge=1)
    pause_ms_max: int = Field(default=120_000, ge=1)
    #: how far a clock jumps, in absolute value
    clock_jump_ms_max: int = Field(default=3_600_000, ge=1)
    #: chance that a clock jump goes backwards
    clock_jump_backward_probability: float = Field(default=0.3, ge=0, le=1)


_Draw = Callable[[random.Random, FaultSpace, SwarmConfig], _Fault]


def _op(rng: random.Random, space: FaultSpace) -> tuple[str, int]:
    return rng.choice(space.processes), rng.randint(1, space.max_ops_per_process)


def _call(rng: random.Random, space: FaultSpace, keyed: bool = False) -> tuple[str, int]:
    tools = space.keyed_tools if keyed else space.tools
    return rng.choice(tools), rng.randint(1, space.max_calls_per_tool)


def _draw_crash(rng: random.Random, space: FaultSpace, cfg: SwarmConfig) -> _Fault:
    process, at_op = _op(rng, space)
    restart = rng.randint(cfg.restart_after_ms_min,
                          max(cfg.restart_after_ms_min, cfg.restart_after_ms_max))
    return Crash(process=process, at_op=at_op, restart_after_ms=restart)


def _draw_pause(rng: random.Random, space: FaultSpace, cfg: SwarmConfig) -> _Fault:
    process, at_op = _op(rng, space)
    duration = rng.randint(cfg.pause_ms_min, max(cfg.pause_ms_min, cfg.pause_ms_max))
    return Pause(process=process, at_op=at_op, duration_ms=duration)


def _draw_clock_jump(rng: random.Random, space: FaultSpace, cfg: SwarmConfig) -> _Fault:
    process, at_op = _op(rng, space)
    jump = rng.randint(1, cfg.clock_jump_ms_max)
    if rng.random() < cfg.clock_jump_backward_probability:
        jump = -jump
    return ClockJump(process=process, at_op=at_op, jump_ms=jump)


def _draw_lose_request(rng: random.Random, space: FaultSpace, cfg: SwarmConfig) -> _Fault:
    tool, call = _call(rng, space)
    return LoseRequest(tool=tool, call=call)


def _draw_lose_response(rng: random.Random, space: FaultSpace, cfg: SwarmConfig) -> _Fault:
    tool, call = _call(rng, space)
    return LoseResponse(tool=tool, call=call)


def _draw_delay(rng: random.Random, space: FaultSpace, cfg: SwarmConfig) -> _Fault:
    tool, call = _call(rng, space)
    delay = rng.randint(cfg.delay_ms_min, max(cfg.delay_ms_min, cfg.delay_ms_max))
    leg = "request" if rng.random() < 0.5 else "response"
    return Delay(tool=tool, call=call, delay_ms=delay, leg=leg)


def _draw_duplicate(rng: random.Random, space: FaultSpace, cfg: SwarmConfig) -> _Fault:
    tool, call = _call(rng, space, keyed=True)
    return Duplicate(tool=tool, call=call)


def _draw_service_error(rng: random.Random, space: FaultSpace, cfg: SwarmConfig) -> _Fault:
    tool, call = _call(rng, space)
    return ServiceError(tool=tool, call=call, status=500 if rng.random() < 0.5 else 429)


def _draw_model_fault(rng: random.Random, space: FaultSpace, cfg: SwarmConfig) -> _Fault:
    call = rng.randint(1, space.max_model_calls)
    return ModelFault(call=call, fault=rng.choice(("malformed", "hallucinated", "slow")))


def _has_ops(space: FaultSpace) -> bool:
    return bool(space.processes) and space.max_ops_per_process > 0


def _has_calls(space: FaultSpace) -> bool:
    return bool(space.tools) and space.max_calls_per_tool > 0


def _has_keyed(space: FaultSpace) -> bool:
    return bool(space.keyed_tools) and space.max_calls_per_tool > 0


def _has_model(space: FaultSpace) -> bool:
    return space.max_model_calls > 0


# The kinds in a fixed order (the order of draws is part of what a seed means): the kind,
# whether a space allows it, how to draw one. ``SwarmConfig.<kind>_probability`` enables it.
_KINDS: tuple[tuple[str, Callable[[FaultSpace], bool], _Draw], ...] = (
    ("crash", _has_ops, _draw_crash),
    ("pause", _has_ops, _draw_pause),
    ("lose_request", _has_calls, _draw_lose_request),
    ("lose_response", _has_calls, _draw_lose_response),
    ("delay", _has_calls, _draw_delay),
    ("duplicate", _has_keyed, _draw_duplicate),
    ("service_error", _has_calls, _draw_service_error),
    ("model_fault", _has_model, _draw_model_fault),
    ("clock_jump", _has_ops, _draw_clock_jump),
)


def swarm_plan(seed: int, space: FaultSpace, config: SwarmConfig = SwarmConfig()) -> FaultPlan:
    """The fault plan of ``seed`` for a scenario whose faultable parts are ``space``.

    Deterministic: the same (seed, space, config) gives the same plan in any process.
    The plan's note records the seed and the kinds this seed enabled.
    """
    cfg = config
    rng = random.Random(derive_seed(seed, "faults"))
    possible = [k for k in _KINDS if k[1](space)]
    if rng.random() < cfg.baseline_probability or not possible:
        return FaultPlan(faults=[], note=f"swarm seed {seed}: baseline (no faults)")
    # Swarm: enable a random subset of the kinds, each at a random intensity (weight).
    enabled = [k for k in possible if rng.random() < getattr(cfg, f"{k[0]}_probability")]
    if not enabled:
        enabled = [rng.choice(possible)]
    cum_weights = list(accumulate(rng.uniform(0.1, 1.0) for _ in enabled))
    count = rng.randint(1, cfg.max_faults)
    faults: list[_Fault] = []
    drawn: set[_Fault] = set()
    for _ in range(count):
        fault = rng.choices(enabled, cum_weights=cum_weights)[0][2](rng, space, cfg)
        if fault not in drawn:  # the same fault twice is noise in a plan a human reads
            drawn.add(fault)
            faults.append(fault)
    if cfg.crash_in_flight_probability > 0:
        # A separate stream, so adding this knob shifted no earlier plan.
        late = random.Random(derive_seed(seed, "faults.crash_in_flight"))
        faults = [
            f.model_copy(update={"after_ms": late.randint(1, cfg.crash_in_flight_ms_max)})
            if isinstance(f, Crash) and late.random() < cfg.crash_in_flight_probability
            else f
            for f in faults
        ]
    names = ",".join(k[0] for k in enabled)
    return FaultPlan(faults=faults, note=f"swarm seed {seed}: {names}")
