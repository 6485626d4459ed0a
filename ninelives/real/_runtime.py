"""The reference agent's real runtime: the ports of ``simulator._ports`` on trio.

- ``env.clock``: wall time (``time.time``), so that durable times (leases, attempt
  ages, chat intents) mean the same in every incarnation and process; ``sleep`` is
  ``trio.sleep``.
- ``env.store``: ``reference_agent._sqlite_store.SqliteStore`` (WAL, synchronous=FULL).
- ``env.tools``: HTTP to the services process with ``httpx.AsyncClient``. No answer
  within the timeout, or a broken connection, is ``ToolTimeout`` (outcome unknown); an
  error status is ``ToolError`` with the service's body — the exceptions the simulated
  network raises (``tests/ninelives/real/test_real_tools.py``).
- ``env.model``: ``POST /model`` (the scenario's scripted policy, in the services
  process); no answer in time is ``ModelTimeout``.
- ``env.tasks``: ``GET /tasks``, ``POST /tasks/complete``, retried until they get through
  (the services process outlives every worker).

**Time scale.** The reference's durations are sized for production: a 30 s lease, a
10 s tool timeout, capped exponential backoff from 1 s, and a 120 s wait for in-flight
chat posts to land before searching for them. ``time_scale`` runs the agent's clock
faster: ``now()`` advances ``time_scale`` seconds per real second and every duration the
agent asks for (sleeps, timeouts) lasts ``1/time_scale`` as long in real time. The
services, the network, SQLite and the kills stay real. The default is 1 (real time);
``torture`` and ``demo`` use more so that a run takes seconds, not minutes.

The worker (``reference_agent.reference_main``) runs on these ports unchanged.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

import httpx
import trio

from simulator import ModelTimeout, ToolError, ToolTimeout

from ..engine import require_positive


class RealClock:
    """``now()``: seconds since ``epoch`` (unix time), times ``time_scale``."""

    def __init__(self, time_scale: float = 1.0, epoch: float = 0.0) -> None:
        self.time_scale = require_positive(time_scale, "time_scale")
        self.epoch = epoch

    def now(self) -> float:
        return (time.time() - self.epoch) * self.time_scale

    async def sleep(self, seconds: float) -> None:
        await trio.sleep(max(0.0, seconds) / self.time_scale)


class _Http:
    """What the HTTP ports share: the client and who is calling."""

    def __init__(self, client: httpx.AsyncClient, name: str, incarnation: str,
                 time_scale: float = 1.0) -> None:
        self.client = client
        self.name = name
        self.incarnation = incarnation
        self.time_scale = time_scale

    def headers(self, timeout_s: float) -> dict[str, str]:
        return {"x-caller": self.name, "x-incarnation": self.incarnation,
                "x-timeout": f"{timeout_s:.6f}"}

    async def post(self, path: str, body: dict[str, Any], timeout_s: float,
                   headers: dict[str, str] | None = None) -> httpx.Response:
        """POST within ``timeout_s`` real seconds, end to end (httpx's own timeouts are
        per phase); raises trio.TooSlowError or httpx.TransportError."""
        all_headers = self.headers(timeout_s)
        all_headers.update(headers or {})
        with trio.fail_after(timeout_s):
            return await self.client.post(path, json=body, headers=all_headers,
                                          timeout=timeout_s)


def _body(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        return body
    return {"error": {"type": "api_error", "message": response.text[:500]}}


class HttpTools(_Http):
    """``env.tools`` over HTTP."""

    async def call(self, name: str, args: dict[str, Any], *, idempotency_key: str | None = None,
                   timeout: float = 10.0) -> dict[str, Any]:
        """Call ``service.endpoint``; raises ToolTimeout (outcome unknown) or ToolError."""
        try:
            json.dumps(args)
        except (TypeError, ValueError):
            # As the services answer arguments that could not cross a network.
            raise ToolError(name, 400, {"error": {
                "type": "invalid_request_error",
                "message": "arguments must be a JSON object"}}) from None
        headers = {} if idempotency_key is None else {"idempotency-key": idempotency_key}
        try:
            response = await self.post(f"/tools/{name}", {"args": args},
                                       timeout / self.time_scale, headers)
        except (trio.TooSlowError, httpx.TransportError):
            # No answer: the request may have been lost, or executed with its answer lost.
            raise ToolTimeout(name, timeout) from None
        body = _body(response)
        if 200 <= response.status_code < 300:
            return body
        raise ToolError(name, response.status_code, body)


class HttpModel(_Http):
    """``env.model`` over HTTP."""

    async def complete(self, request: dict[str, Any], *, timeout: float = 60.0) -> str:
        """Ask the model; ``request["decision"]`` names the decision being made."""
        try:
            response = await self.post("/model", {"request": request},
                                       timeout / self.time_scale)
        except (trio.TooSlowError, httpx.TransportError):
            raise ModelTimeout(f"model did not answer within {timeout:g} s") from None
        if response.status_code != 200:
            # Nothing was decided; the worker asks again, as after a timeout.
            raise ModelTimeout(f"model answered HTTP {response.status_code}")
        text = _body(response).get("text")
        if not isinstance(text, str):
            raise ModelTimeout("model answered without text")
        return text


#: how long one tasks request may take, and the retry pause bounds (real seconds)
TASKS_TIMEOUT_S = 10.0
TASKS_RETRY_S = (0.05, 2.0)


class HttpTasks(_Http):
    """``env.tasks`` over HTTP, retried until the services answer."""

    async def _retrying(self, method: str, path: str, body: dict[str, Any] | None) -> Any:
        pause = TASKS_RETRY_S[0]
        told = False
        while True:
            try:
                with trio.fail_after(TASKS_TIMEOUT_S):
                    response = await self.client.request(
                        method, path, json=body, headers=self.headers(TASKS_TIMEOUT_S),
                        timeout=TASKS_TIMEOUT_S)
                if response.status_code == 200:
                    return response.json()
                if 400 <= response.status_code < 500:
                    raise RuntimeError(f"{method} {path}: HTTP {response.status_code} "
                                       f"{response.text[:200]}")
            except (trio.TooSlowError, httpx.TransportError) as error:
                if not told:  # services restart in torture: wait for them, but say so
                    told = True
                    print(f"ninelives agent: the services at {self.client.base_url} do not "
                          f"answer ({type(error).__name__}); retrying until they do",
                          file=sys.stderr, flush=True)
            await trio.sleep(pause)
            pause = min(TASKS_RETRY_S[1], pause * 2)

    async def list(self) -> list[dict[str, Any]]:
        """Every workflow submitted: ``{"id", "kind", "input"}``."""
        return list((await self._retrying("GET", "/tasks", None))["workflows"])

    async def complete(self, workflow_id: str, outcome: dict[str, Any]) -> None:
        """Report a workflow finished with ``outcome`` (the services keep the first)."""
        await self._retrying("POST", "/tasks/complete",
                             {"workflow": workflow_id, "outcome": outcome})


class RealEnv:
    """What a design's process is handed in real mode: the same ports as ``Env``."""

    def __init__(self, *, store: Any, client: httpx.AsyncClient, name: str = "worker",
                 incarnation: int = 1, time_scale: float = 1.0, epoch: float = 0.0) -> None:
        self.process_name = name
        self.incarnation = incarnation
        who = incarnation_id(name, incarnation)
        self.clock = RealClock(time_scale, epoch)
        self.store = store
        self.tools = HttpTools(client, name, who, time_scale)
        self.model = HttpModel(client, name, who, time_scale)
        self.tasks = HttpTasks(client, name, who, time_scale)


def incarnation_id(name: str, incarnation: int) -> str:
    """How the services tell one life of a process from the next."""
    return f"{name}#{incarnation}"


async def run_agent(db: str | os.PathLike[str], services_url: str, *, name: str = "worker",
                    incarnation: int = 1, time_scale: float = 1.0, epoch: float = 0.0,
                    design: str = "reference") -> None:
    """One worker process: ``design``'s main (the reference by default) on real ports,
    until it returns (every workflow finished and reported)."""
    from reference_agent import SqliteStore, load_design

    main = load_design(design).main
    store = SqliteStore(db)
    try:
        limits = httpx.Limits(max_connections=16, max_keepalive_connections=4)
        async with httpx.AsyncClient(base_url=services_url, limits=limits) as client:
            env = RealEnv(store=store, client=client, name=name, incarnation=incarnation,
                          time_scale=time_scale, epoch=epoch)
            await main(env)  # type: ignore[arg-type]  # RealEnv has Env's ports
    finally:
        store.close()
