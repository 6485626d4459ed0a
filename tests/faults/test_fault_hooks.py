"""PlanHooks on a real simulator.World: each fault acts at its logical point."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from faults import (
    ClockJump,
    Crash,
    Delay,
    Duplicate,
    FaultPlan,
    LoseRequest,
    LoseResponse,
    ModelFault,
    Pause,
    PlanHooks,
    ServiceError,
)
from simulator import (
    NS_PER_MS,
    NS_PER_S,
    Env,
    InFlight,
    ModelTimeout,
    Request,
    Response,
    Service,
    ToolError,
    ToolTimeout,
    World,
)

TOOL = "echo.act"


class Echo(Service):
    """A trivial keyed service: acts (appends to ``acted``) after 5 ms of processing;
    honours an injected status (429 before acting, 500 instead of acting)."""

    name = "echo"
    keyed = frozenset({"act"})
    side_effecting = frozenset({"act"})

    def __init__(self) -> None:
        self.acted: list[dict[str, Any]] = []
        self.injected: list[int | None] = []

    def begin(self, request: Request, now_ns: int) -> Response | InFlight:
        self.injected.append(request.inject_status)
        if request.inject_status == 429:
            return Response(429, {"error": {"type": "rate_limit_error"}})
        return InFlight(request, 5 * NS_PER_MS)

    def finish(self, flight: InFlight, now_ns: int) -> Response:
        request = flight.request
        if request.inject_status is not None:
            return Response(request.inject_status, {"error": {"type": "api_error"}})
        self.acted.append(dict(request.args))
        return Response(200, {"n": len(self.acted)})


class Policy:
    def propose(self, request: dict[str, Any], rng: random.Random) -> dict[str, Any]:
        return {"action": "echo", "n": 1}

    def hallucinate(self, request: dict[str, Any], action: dict[str, Any],
                    rng: random.Random) -> dict[str, Any]:
        return {"action": "launch_missiles"}


def design(log: list[tuple[Any, ...]], sleeps: int = 5, calls: int = 1,
           model_calls: int = 0, sleep_s: float = 1.0):
    """A design process: ``sleeps`` clock sleeps (one port op each, logging the clock),
    then ``calls`` tool calls and ``model_calls`` model calls (one op each)."""

    async def main(env: Env) -> None:
        inc = env.incarnation
        log.append(("start", inc))
        for i in range(sleeps):
            await env.clock.sleep(sleep_s)
            log.append(("slept", inc, i, env.clock.now()))
        for i in range(calls):
            try:
                result = await env.tools.call(TOOL, {"i": i}, idempotency_key=f"k{i}",
                                              timeout=5.0)
                log.append(("ok", inc, result))
            except ToolTimeout:
                log.append(("timeout", inc))
            except ToolError as exc:
                log.append(("error", inc, exc.status))
        for i in range(model_calls):
            try:
                text = await env.model.complete({"decision": f"d{i}"}, timeout=60.0)
                log.append(("answer", inc, text))
            except ModelTimeout:
                log.append(("model.timeout", inc))

    return main


def run(plan: FaultPlan, *, fault_window_s: float = 600.0, **kw: Any):
    log: list[tuple[Any, ...]] = []
    echo = Echo()
    hooks = PlanHooks(plan)
    world = World(7, services={"echo": echo}, policy=Policy(), hooks=hooks)
    world.add_process("w", design(log, **kw))
    done = world.run(fault_window_s=fault_window_s, liveness_bound_s=3600.0)
    assert done
    return world, hooks, echo, log


def events(world: World, kind: str) -> list[tuple[int, str, str, dict[str, Any]]]:
    return world.kernel.trace.of_kind(kind)


def test_no_faults_baseline() -> None:
    world, hooks, echo, log = run(FaultPlan())
    assert world.processes["w"].ops == 6
    assert hooks.fired == []
    assert events(world, "fault.fired") == []
    assert echo.acted == [{"i": 0}]
    assert log[-1][0] == "ok"


def test_crash_kills_at_exactly_that_op_and_restarts() -> None:
    crash = Crash(process="w", at_op=3, restart_after_ms=2_000)
    world, hooks, _, log = run(FaultPlan(faults=[crash]))
    process = world.processes["w"]
    (t_crash, who, _, data), = events(world, "crash")
    assert who == "w" and data["op"] == 3 and data["incarnation"] == 1
    assert data["reason"] == "fault"
    (_, comp, _, fired), = events(world, "fault.fired")
    assert comp == "faults"
    assert fired == {"fault": crash.model_dump(mode="json"), "index": 0}
    assert hooks.fired == [0] and hooks.fire_counts == [1] and hooks.unfired() == []
    # Incarnation 1 completed ops 1 and 2 only; op 3 never happened.
    assert [e for e in log if e[0] == "slept" and e[1] == 1] == [
        ("slept", 1, 0, 1.0), ("slept", 1, 1, 2.0)]
    # Restarted 2 s later; op counting continued across incarnations: 2 + 1 + 6.
    starts = [t for t, c, k, d in events(world, "process.start") if c == "w"]
    assert starts == [0, t_crash + 2_000 * NS_PER_MS]
    assert process.incarnations == 2
    assert process.ops == 9
    assert process.crashes == 1
    assert ("start", 2) in log and log[-1][:2] == ("ok", 2)


def test_crash_on_a_later_incarnation() -> None:
    # Op 8 is the 5th op of the second incarnation (ops 4..9).
    plan = FaultPlan(faults=[Crash(process="w", at_op=3), Crash(process="w", at_op=8)])
    world, hooks, _, _ = run(plan)
    assert [d["op"] for _, _, _, d in events(world, "crash")] == [3, 8]
    assert [d["incarnation"] for _, _, _, d in events(world, "crash")] == [1, 2]
    assert hooks.fired == [0, 1]
    assert world.processes["w"].incarnations == 3


def test_fault_on_an_unreached_point_does_not_fire() -> None:
    plan = FaultPlan(faults=[Crash(process="w", at_op=50), Crash(process="nobody", at_op=1),
                             LoseResponse(tool=TOOL, call=2), ModelFault(call=1)])
    world, hooks, _, _ = run(plan)
    assert hooks.fired == []
    assert hooks.unfired() == [0, 1, 2, 3]
    assert events(world, "crash") == []


def test_lose_response_caller_times_out_but_service_acted() -> None:
    world, hooks, echo, log = run(FaultPlan(faults=[LoseResponse(tool=TOOL, call=1)]))
    assert echo.acted == [{"i": 0}]
    assert log[-1] == ("timeout", 1)
    assert len(events(world, "response.lost")) == 1
    assert hooks.fired == [0]


def test_lose_request_service_never_acts() -> None:
    world, _, echo, log = run(FaultPlan(faults=[LoseRequest(tool=TOOL, call=1)]))
    assert echo.acted == []
    assert log[-1] == ("timeout", 1)
    assert len(events(world, "request.lost")) == 1


@pytest.mark.parametrize("status", [500, 429])
def test_service_error_reaches_the_service(status: int) -> None:
    _, hooks, echo, log = run(FaultPlan(faults=[ServiceError(tool=TOOL, call=2,
                                                                 status=status)]), calls=3)
    assert echo.injected == [None, status, None]
    assert log[-3:] == [("ok", 1, {"n": 1}), ("error", 1, status), ("ok", 1, {"n": 2})]
    assert hooks.fired == [0]


def test_response_delay_past_timeout() -> None:
    _, _, echo, log = run(FaultPlan(faults=[Delay(tool=TOOL, call=1, delay_ms=6_000)]))
    assert echo.acted == [{"i": 0}]
    assert log[-1] == ("timeout", 1)


def test_request_delay_acts_late() -> None:
    world, _, echo, log = run(FaultPlan(faults=[Delay(tool=TOOL, call=1, delay_ms=20_000,
                                                      leg="request")]))
    assert log[-1] == ("timeout", 1)
    assert echo.acted == [{"i": 0}]
    (t_begin, *_), = events(world, "service.begin")
    (t_request, *_), = events(world, "tool.request")
    assert t_begin - t_request >= 20_000 * NS_PER_MS


def test_duplicate_delivers_twice() -> None:
    world, _, echo, log = run(FaultPlan(faults=[Duplicate(tool=TOOL, call=1)]))
    begins = events(world, "service.begin")
    assert sorted(d["duplicate"] for _, _, _, d in begins) == [False, True]
    assert len(echo.acted) == 2  # Echo has no idempotency layer: it acts twice
    assert log[-1][0] == "ok"


def test_faults_on_one_call_merge() -> None:
    plan = FaultPlan(faults=[
        Delay(tool=TOOL, call=1, delay_ms=100, leg="request"),
        Delay(tool=TOOL, call=1, delay_ms=200, leg="request"),
        Delay(tool=TOOL, call=1, delay_ms=300, leg="response"),
        LoseResponse(tool=TOOL, call=1),
        Duplicate(tool=TOOL, call=1),
        ServiceError(tool=TOOL, call=1, status=429),
        ServiceError(tool=TOOL, call=1, status=500),
        LoseRequest(tool=TOOL, call=2),
    ])
    hooks = PlanHooks(plan)
    hooks.install(World(1))
    fate = hooks.call_fate(TOOL, 1, "w", "k")
    assert fate is not None
    assert fate.request_delay_ns == 300 * NS_PER_MS
    assert fate.response_delay_ns == 300 * NS_PER_MS
    assert fate.lose_response and fate.duplicate and not fate.lose_request
    assert fate.inject_status == 429  # the first ServiceError in the plan wins
    assert hooks.fired == [0, 1, 2, 3, 4, 5]
    assert hooks.call_fate(TOOL, 3, "w", "k") is None
    assert hooks.call_fate("other.tool", 1, "w", None) is None
    fate2 = hooks.call_fate(TOOL, 2, "w", None)
    assert fate2 is not None and fate2.lose_request
    assert hooks.fired == [0, 1, 2, 3, 4, 5, 7]
    assert hooks.unfired() == [6]


@pytest.mark.parametrize("kind", ["malformed", "hallucinated", "slow"])
def test_model_fault_reaches_model_fate(kind: str) -> None:
    world, hooks, _, log = run(FaultPlan(faults=[ModelFault(call=2, fault=kind)]),
                               sleeps=0, calls=0, model_calls=3)
    answers = events(world, "model.answer")
    assert [d["fault"] for _, _, _, d in answers] == (
        [None, None] if kind == "slow" else [None, kind, None])
    assert hooks.fired == [0]
    second = log[2]
    if kind == "malformed":
        with pytest.raises(json.JSONDecodeError):
            json.loads(second[2])
    elif kind == "hallucinated":
        assert json.loads(second[2]) == {"action": "launch_missiles"}
    else:
        assert second == ("model.timeout", 1)
    assert json.loads(log[1][2]) == {"action": "echo", "n": 1}


def test_no_fault_fires_after_quiet() -> None:
    # Ten 1 s sleeps, a fault window of 4.5 s: ops 1..5 start in the fault phase
    # (at 0..4 s), op 6 onwards in the quiet phase.
    plan = FaultPlan(faults=[
        Crash(process="w", at_op=7),
        ClockJump(process="w", at_op=8, jump_ms=1000),
        LoseResponse(tool=TOOL, call=1),
        ModelFault(call=1),
        Pause(process="w", at_op=4, duration_ms=1000),
    ])
    world, hooks, echo, log = run(plan, fault_window_s=4.5, sleeps=10, model_calls=1)
    assert hooks.quieted
    assert hooks.fired == [4]  # only the pause at op 4, inside the window
    assert events(world, "crash") == []
    assert all(e[1] == 1 for e in log)  # one incarnation throughout
    assert log[-2][0] == "ok" and echo.acted == [{"i": 0}]
    assert json.loads(log[-1][2]) == {"action": "echo", "n": 1}
    assert [d["index"] for _, _, _, d in events(world, "fault.fired")] == [4]


def test_quiet_stops_every_hook() -> None:
    plan = FaultPlan(faults=[LoseResponse(tool=TOOL, call=1), ModelFault(call=1)])
    hooks = PlanHooks(plan)
    world = World(1)
    hooks.install(world)
    hooks.quiet(world)
    assert hooks.call_fate(TOOL, 1, "w", None) is None
    assert hooks.model_fate(1, "d", "w") is None
    assert hooks.fired == []


def test_pause_parks_and_resumes() -> None:
    world, hooks, _, log = run(FaultPlan(faults=[Pause(process="w", at_op=2,
                                                       duration_ms=60_000)]))
    (t_pause, _, _, _), = events(world, "pause")
    (t_resume, _, _, _), = events(world, "resume")
    assert t_pause == 1 * NS_PER_S  # op 2 begins after the first 1 s sleep
    assert t_resume == t_pause + 60_000 * NS_PER_MS
    slept = [e for e in log if e[0] == "slept"]
    assert slept[0][3] == 1.0
    assert slept[1][3] == 62.0  # op 2 ran only after the resume, then slept 1 s
    assert world.processes["w"].incarnations == 1
    assert hooks.fired == [0]


def test_pause_past_the_fault_window_is_resumed_by_quiet() -> None:
    world, _, _, log = run(FaultPlan(faults=[Pause(process="w", at_op=2,
                                                   duration_ms=600_000)]),
                           fault_window_s=10.0)
    (t_resume, _, _, _), = events(world, "resume")
    assert t_resume == 10 * NS_PER_S
    assert log[-1][0] == "ok"


def test_crash_and_pause_at_one_op_crash_wins() -> None:
    plan = FaultPlan(faults=[Pause(process="w", at_op=2), Crash(process="w", at_op=2)])
    world, hooks, _, _ = run(plan)
    assert hooks.fired == [1]
    assert events(world, "pause") == []
    assert world.processes["w"].incarnations == 2


def test_clock_jump_shifts_env_clock_from_that_op_on() -> None:
    plan = FaultPlan(faults=[ClockJump(process="w", at_op=3, jump_ms=3_600_000)])
    world, hooks, _, log = run(plan)
    times = [e[3] for e in log if e[0] == "slept"]
    assert times == [1.0, 2.0, 3603.0, 3604.0, 3605.0]
    assert world.processes["w"].clock_offset_ns == 3_600 * NS_PER_S
    assert hooks.fired == [0]
    # Virtual time itself did not move: only this process's clock reads differently.
    (t_response, *_), = events(world, "tool.response")
    assert t_response < 10 * NS_PER_S


def test_clock_jump_backwards_survives_a_restart() -> None:
    plan = FaultPlan(faults=[ClockJump(process="w", at_op=2, jump_ms=-10_000),
                             Crash(process="w", at_op=4, restart_after_ms=1000)])
    _, hooks, _, log = run(plan)
    assert hooks.fired == [0, 1]
    second_life = [e[3] for e in log if e[0] == "slept" and e[1] == 2]
    # Crashed at op 4 (t=3 s), restarted at 4 s; its first sleep ends at 5 s, -10 s.
    assert second_life[0] == pytest.approx(-5.0)


def test_install_resets_what_fired() -> None:
    plan = FaultPlan(faults=[Crash(process="w", at_op=2)])
    hooks = PlanHooks(plan)
    for _ in range(2):
        world = World(3, services={"echo": Echo()}, hooks=hooks)
        world.add_process("w", design([]))
        assert world.run(fault_window_s=60, liveness_bound_s=600)
        assert hooks.fired == [0]


def test_same_seed_same_trace_with_faults() -> None:
    plan = FaultPlan(faults=[Crash(process="w", at_op=3), LoseResponse(tool=TOOL, call=1),
                             Pause(process="w", at_op=6, duration_ms=5_000)])
    first, *_ = run(plan)
    second, *_ = run(plan)
    assert first.kernel.trace.hash() == second.kernel.trace.hash()
