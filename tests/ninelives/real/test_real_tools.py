"""Real mode's HTTP ports raise what the simulated network raises, for the same reasons.

A design handles ``ToolTimeout`` (outcome unknown) and ``ToolError`` (an answer with an
error status) and nothing else; if the real ports mapped a 409, a 500 or a silence to
anything else, a design proven in the simulation could behave differently for real.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio

from ninelives.real._app import ServicesApp
from ninelives.real._ledger import read_ledger
from ninelives.real._procs import ServicesProcess
from ninelives.real._runtime import HttpModel, HttpTasks, HttpTools
from scenarios import get_scenario
from simulator import ModelTimeout, ToolError, ToolTimeout, World

ERROR_409 = {"error": {"type": "idempotency_error", "code": "idempotency_key_in_use",
                       "message": "in progress"}, "should_retry": True}
ERROR_500 = {"error": {"type": "api_error", "message": "An internal error occurred."},
             "should_retry": False}


def _children() -> list[int]:
    """Live or unreaped child processes of this process (Linux /proc)."""
    me = os.getpid()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == me:
            found.append(int(entry))
    return found


def _mock_tools(handler: Any, time_scale: float = 1.0) -> tuple[HttpTools, httpx.AsyncClient]:
    client = httpx.AsyncClient(transport=httpx.MockTransport(handler),
                               base_url="http://services.test")
    return HttpTools(client, "worker", "worker#1", time_scale), client


def _outcome(coro_fn: Any) -> Any:
    """Run a port call under trio; its result, or the exception it raised."""
    async def main() -> Any:
        try:
            return await coro_fn()
        except (ToolError, ToolTimeout, ModelTimeout) as error:
            return error

    return trio.run(main)


def _same(real: Any, sim: Any) -> None:
    assert type(real) is type(sim)
    assert str(real) == str(sim)
    if isinstance(sim, ToolError):
        assert (real.tool, real.status, real.body) == (sim.tool, sim.status, sim.body)
        assert (real.error_type, real.error_code) == (sim.error_type, sim.error_code)


@pytest.mark.parametrize("status, body", [(409, ERROR_409), (500, ERROR_500),
                                          (402, {"error": {"type": "card_error"}}),
                                          (429, {"error": {"type": "rate_limit_error"}})])
def test_error_status_is_tool_error_with_the_body(status: int, body: dict[str, Any]) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(status, json=body)

    async def call() -> Any:
        tools, client = _mock_tools(handler)
        async with client:
            return await tools.call("payments.charge", {"amount_cents": 5},
                                    idempotency_key="wf/step-0/a1", timeout=10.0)

    _same(_outcome(call), ToolError("payments.charge", status, body))
    assert seen[0].headers["idempotency-key"] == "wf/step-0/a1"
    assert json.loads(seen[0].content) == {"args": {"amount_cents": 5}}


def test_success_returns_the_body() -> None:
    async def call() -> Any:
        tools, client = _mock_tools(lambda request: httpx.Response(200, json={"id": "ch_1"}))
        async with client:
            return await tools.call("payments.charge", {}, timeout=10.0)

    assert _outcome(call) == {"id": "ch_1"}


def test_no_answer_in_time_is_tool_timeout_on_the_agents_clock() -> None:
    async def slow(request: httpx.Request) -> httpx.Response:
        await trio.sleep(5)
        return httpx.Response(200, json={})

    async def call() -> Any:
        # time scale 100: the design's 10 s timeout is 0.1 s of real time
        tools, client = _mock_tools(slow, time_scale=100.0)
        async with client:
            return await tools.call("chat.post", {"channel": "#x", "text": "y"}, timeout=10.0)

    _same(_outcome(call), ToolTimeout("chat.post", 10.0))


def test_broken_connection_is_tool_timeout_outcome_unknown() -> None:
    def reset(request: httpx.Request) -> httpx.Response:
        raise httpx.RemoteProtocolError("peer closed connection", request=request)

    async def call() -> Any:
        tools, client = _mock_tools(reset)
        async with client:
            return await tools.call("ops.restart", {"service": "a"}, idempotency_key="k",
                                    timeout=10.0)

    _same(_outcome(call), ToolTimeout("ops.restart", 10.0))


def test_model_silence_is_model_timeout() -> None:
    async def slow(request: httpx.Request) -> httpx.Response:
        await trio.sleep(5)
        return httpx.Response(200, json={"text": "{}"})

    async def call() -> Any:
        client = httpx.AsyncClient(transport=httpx.MockTransport(slow),
                                   base_url="http://services.test")
        async with client:
            return await HttpModel(client, "worker", "worker#1", 600.0).complete(
                {"decision": "d"}, timeout=60.0)

    assert isinstance(_outcome(call), ModelTimeout)


# --- against the real services process, compared with the simulation ---------------------

RESTART = ("ops.restart", {"service": "checkout"}, "incident-1/step-4/a1")


def _simulated_sequence() -> list[Any]:
    """In the simulation: a restart whose caller gives up after 0.2 s (it takes 0.5 s),
    the same key again at once (still in flight: 409), and once more after it ended."""
    world = World(3)
    get_scenario("sre-incident").build(world)
    outcomes: list[Any] = []

    async def main(env: Any) -> None:
        tool, args, key = RESTART
        for timeout, pause in ((0.2, 0.0), (5.0, 1.0), (5.0, 0.0)):
            try:
                outcomes.append(await env.tools.call(tool, args, idempotency_key=key,
                                                     timeout=timeout))
            except (ToolError, ToolTimeout) as error:
                outcomes.append(error)
            await env.clock.sleep(pause)

    world.add_process("worker", main)
    world.run(fault_window_s=10.0, liveness_bound_s=10.0)
    return outcomes


@pytest.fixture(scope="module")
def services() -> Iterator[ServicesProcess]:
    before = set(_children())
    with tempfile.TemporaryDirectory() as tmp:
        proc = ServicesProcess("sre-incident", 3, Path(tmp), drop_response=1.0,
                               fault_tools=["chat.post"])
        try:
            yield proc.start()
        finally:
            proc.stop()
            assert proc.proc is not None and proc.proc.poll() is not None
    assert set(_children()) <= before


def test_real_services_answer_as_the_simulation_does(services: ServicesProcess) -> None:
    async def sequence() -> list[Any]:
        outcomes: list[Any] = []
        async with httpx.AsyncClient(base_url=services.url) as client:
            tools = HttpTools(client, "worker", "worker#1")
            tool, args, key = RESTART
            for timeout, pause in ((0.2, 0.0), (5.0, 1.0), (5.0, 0.0)):
                try:
                    outcomes.append(await tools.call(tool, args, idempotency_key=key,
                                                     timeout=timeout))
                except (ToolError, ToolTimeout) as error:
                    outcomes.append(error)
                await trio.sleep(pause)
        return outcomes

    real, sim = trio.run(sequence), _simulated_sequence()
    assert [type(o).__name__ for o in sim] == ["ToolTimeout", "ToolError", "dict"]
    assert sim[1].status == 409
    for r, s in zip(real, sim, strict=True):
        if isinstance(s, dict):
            assert r == s  # the stored answer, replayed
        else:
            _same(r, s)
    assert services.status()["effects"].get("ops") == 1  # one restart, three requests


def test_dropped_answer_is_a_timeout_but_the_effect_happened(
        services: ServicesProcess) -> None:
    async def post() -> Any:
        async with httpx.AsyncClient(base_url=services.url) as client:
            tools = HttpTools(client, "worker", "worker#2", time_scale=20.0)
            try:
                return await tools.call("chat.post", {"channel": "#incidents",
                                                      "text": "hello"}, timeout=10.0)
            except ToolTimeout as error:
                return error

    _same(trio.run(post), ToolTimeout("chat.post", 10.0))
    posted = read_ledger(services.ledger_path)["effects"]["chat"]
    assert [m["text"] for m in posted] == ["hello"]


# --- the model's answer accounting, in-process ------------------------------------------

def test_an_answer_the_worker_died_with_is_given_again() -> None:
    """As ``FakeModel``: the index of an answer counts only once the worker went on."""
    app = ServicesApp(get_scenario("checkout"), 1, allow_kill=False)
    workflow = app.workflows[0]
    request = {"decision": f"{workflow['id']}/step-0", "agent": "checkout",
               "workflow": workflow["id"], "input": workflow["input"], "history": []}

    async def main() -> list[str]:
        transport = httpx.ASGITransport(app=app)
        texts = []
        async with httpx.AsyncClient(transport=transport, base_url="http://s") as client:
            a = HttpModel(client, "worker", "worker#1")
            texts.append(await a.complete(request))
            app.lose("worker#1")  # died before acting on it
            b = HttpModel(client, "worker", "worker#2")
            texts.append(await b.complete(request))
            await HttpTasks(client, "worker", "worker#2").list()  # went on: consumed
            texts.append(await HttpModel(client, "worker", "worker#3").complete(request))
        return texts

    texts = trio.run(main)
    indexes = [e["index"] for e in app.events if e["kind"] == "model"]
    assert indexes == [0, 0, 1]
    assert texts[0] == texts[1]
    assert app.delivered == {request["decision"]: 2}
