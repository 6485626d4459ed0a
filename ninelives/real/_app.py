"""The fake services' real front door: a plain ASGI app over the simulation's objects.

One implementation of each service's rules, two front doors: the simulated network
calls ``service.begin(request, now_ns)`` and, for an ``InFlight``, ``service.finish``
after its processing time; this app does exactly the same over HTTP, on real time, with
every call to a service serialised by one lock. The world (services, model policy,
workflows) is built by the scenario's own ``build`` on a ``World(seed)``, so the real
services hold the same customers, incident and workflows as the simulation of that seed.

Routes (JSON bodies):

- ``POST /tools/<service>.<endpoint>`` ``{"args"}``; headers ``Idempotency-Key``,
  ``X-Caller`` (process name), ``X-Incarnation`` (one life of a process), ``X-Timeout``
  (the client's real timeout, s). Answers the service's status and body.
- ``POST /model`` ``{"request"}`` → ``{"text"}``: the scenario's policy, answer index per
  decision as in ``simulator.FakeModel`` (see ``_answer`` for when an answer counts).
- ``GET /tasks`` → ``{"workflows"}``; ``POST /tasks/complete`` ``{"workflow", "outcome"}``.
- ``GET /admin/status``, ``GET /admin/events?after=N``, ``POST /admin/arm`` (kill an
  incarnation at a chosen request and phase), ``POST /admin/lost`` (an incarnation died).

Faults, seeded (``ServiceFaults``): drop a side-effecting request's response after the
effect committed (the server never answers; the client times out), or answer it past the
client's timeout. Every effect and completion is written to the SQLite ``Ledger`` before
the response leaves. Written on anyio so that it runs under uvicorn (asyncio) and, in
tests, in-process under trio (``httpx.ASGITransport``).
"""

from __future__ import annotations

import json
import os
import random
import signal
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import anyio

from fakes import InFlight, Request, Response, Service
from simulator import World, derive_seed

from ._ledger import Ledger, ledger_of

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

#: where in a request's life an armed kill fires: when it arrives; while its effect is
#: executing (side-effecting requests only; others use ``answered``); after the service
#: answered (effect committed, ledger written) but before the response is sent
PHASES = ("received", "executing", "answered")
#: how long a dropped response holds its connection at most, beyond the client's timeout
DROP_HOLD_S = 5.0
LATE_MARGIN_S = 0.25


@dataclass
class ServiceFaults:
    """What the services do to responses, with seeded probabilities per request."""

    drop_response: float = 0.0
    late_response: float = 0.0
    #: tools (``service.endpoint``) the faults may hit; None: every side-effecting one
    tools: frozenset[str] | None = None

    def applies(self, tool: str, service: Service, endpoint: str) -> bool:
        if endpoint not in service.side_effecting:
            return False
        return self.tools is None or tool in self.tools


@dataclass
class _Trigger:
    pid: int
    after: int
    phase: str
    kind: str | None = None
    name: str | None = None
    matched: int = 0


@dataclass
class _Caller:
    """One incarnation of a worker, as the services see it."""

    requests: int = 0
    first_seen: float | None = None
    dead: bool = False
    #: decisions answered since this incarnation's last later request
    unacted: list[str] = field(default_factory=list)
    trigger: _Trigger | None = None


def _is_agent(pid: int) -> bool:
    """Guard before a SIGKILL: the pid is a live ``ninelives.real agent`` process."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmdline = f.read()
    except FileNotFoundError:
        return False
    except OSError:
        return True  # no /proc to ask: trust the caller (our own parent)
    return b"ninelives.real" in cmdline and b"agent" in cmdline


class ServicesApp:
    """The ASGI app serving one scenario's world for one seed."""

    def __init__(
        self,
        scenario: Any,
        seed: int,
        *,
        ledger_path: str | os.PathLike[str] | None = None,
        faults: ServiceFaults | None = None,
        model_latency_s: tuple[float, float] = (0.0, 0.0),
        time_scale: float = 1.0,
        allow_kill: bool = True,
    ) -> None:
        world = World(seed)
        scenario.build(world)
        self.scenario = scenario
        self.seed = seed
        self.world = world
        self.services: dict[str, Service] = world.services
        self.workflows: list[dict[str, Any]] = world.workflows.submitted()
        self.faults = faults or ServiceFaults()
        self.model_latency_s = model_latency_s
        #: the services' processing times run this many times faster, like the agent's
        #: clock (``_runtime``), so that they keep their proportion to its timeouts
        self.time_scale = time_scale
        self.allow_kill = allow_kill
        self.ledger = Ledger(ledger_path) if ledger_path is not None else None
        #: answers given and not retracted, per decision (FakeModel's ``delivered``)
        self.delivered: dict[str, int] = {}
        self.completions: dict[str, dict[str, Any]] = {}
        self.events: list[dict[str, Any]] = []
        self.requests = 0
        self.kills = 0
        self.callers: dict[str, _Caller] = {}
        self._persisted: dict[str, int] = {}
        self._request_ids = 0
        self._fault_rng = random.Random(derive_seed(seed, "real:service-faults"))
        self._latency_rng = random.Random(derive_seed(seed, "real:model-latency"))
        self._t0 = time.monotonic_ns()
        self._lock: anyio.Lock | None = None

    # --- bookkeeping --------------------------------------------------------------------
    def now_ns(self) -> int:
        """Nanoseconds since the services started (the services' clock)."""
        return time.monotonic_ns() - self._t0

    @property
    def lock(self) -> anyio.Lock:
        if self._lock is None:
            self._lock = anyio.Lock()
        return self._lock

    def _event(self, kind: str, caller: str, **data: Any) -> None:
        self.events.append({"seq": len(self.events) + 1, "t": round(self.now_ns() / 1e9, 4),
                            "kind": kind, "caller": caller, **data})

    def _caller(self, incarnation: str) -> _Caller:
        caller = self.callers.get(incarnation)
        if caller is None:
            caller = self.callers[incarnation] = _Caller()
        return caller

    def _observe(self, incarnation: str, kind: str, name: str) -> tuple[_Caller, str | None]:
        """A request arrived: count it, consume earlier answers, find an armed kill.

        Returns the caller and the phase at which to kill during this request (or None).
        """
        self.requests += 1
        caller = self._caller(incarnation)
        caller.requests += 1
        if caller.first_seen is None:
            caller.first_seen = time.monotonic()
        if caller.dead:
            return caller, None
        # A later request means the worker went on after the answer: the reference
        # records an answer before any further I/O, so the answer was acted on (the
        # real-mode stand-in for FakeModel.acted, which fires on the next commit).
        caller.unacted.clear()
        trigger = caller.trigger
        if trigger is None:
            return caller, None
        if (trigger.kind is None or trigger.kind == kind) and (
                trigger.name is None or trigger.name == name):
            trigger.matched += 1
            if trigger.matched == trigger.after:
                return caller, trigger.phase
        return caller, None

    def _kill(self, incarnation: str, where: str) -> None:
        caller = self._caller(incarnation)
        trigger = caller.trigger
        if trigger is None or caller.dead:
            return
        caller.trigger = None
        if self.allow_kill and _is_agent(trigger.pid):
            os.kill(trigger.pid, signal.SIGKILL)
        self.kills += 1
        self._event("kill", incarnation, pid=trigger.pid, where=where)
        self.lose(incarnation)

    def lose(self, incarnation: str) -> None:
        """The incarnation died: answers it never acted on were never given (as
        ``FakeModel.lost``), and nothing it still sends counts as its acting."""
        caller = self._caller(incarnation)
        caller.dead = True
        caller.trigger = None
        for decision in caller.unacted:
            self.delivered[decision] -= 1
        if caller.unacted:
            self._event("lost", incarnation, decisions=list(caller.unacted))
        caller.unacted.clear()

    def _persist(self, name: str, service: Service) -> None:
        spec = ledger_of(service)
        if spec is None:
            return
        records = getattr(service, spec[0])
        done = self._persisted.get(name, 0)
        if len(records) > done and self.ledger is not None:
            self.ledger.add_effects(name, spec[0], records[done:])
        self._persisted[name] = len(records)

    # --- ASGI ---------------------------------------------------------------------------
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    self.close()
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1")
                   for k, v in scope.get("headers", [])}
        body = b""
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        try:
            payload = json.loads(body) if body else {}
        except ValueError:
            payload = None
        if not isinstance(payload, dict):
            await _send_json(send, 400, {"error": {"type": "invalid_request_error",
                                                   "message": "the body must be a JSON object"}})
            return
        method, path = scope["method"], scope["path"]
        if method == "POST" and path.startswith("/tools/"):
            await self._tool(path[len("/tools/"):], payload, headers, receive, send)
        elif method == "POST" and path == "/model":
            await self._model(payload, headers, send)
        elif method == "GET" and path == "/tasks":
            await self._tasks_list(headers, send)
        elif method == "POST" and path == "/tasks/complete":
            await self._tasks_complete(payload, headers, send)
        elif method == "GET" and path == "/admin/status":
            await _send_json(send, 200, self.status())
        elif method == "GET" and path == "/admin/events":
            query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
            after = int(query.get("after", ["0"])[0])
            await _send_json(send, 200, {"events": self.events[after:]})
        elif method == "POST" and path == "/admin/arm":
            self._caller(str(payload["incarnation"])).trigger = _Trigger(
                pid=int(payload["pid"]), after=int(payload["after"]),
                phase=str(payload.get("phase", "received")), kind=payload.get("kind"),
                name=payload.get("name"))
            await _send_json(send, 200, {"armed": True})
        elif method == "POST" and path == "/admin/lost":
            self.lose(str(payload["incarnation"]))
            await _send_json(send, 200, {"lost": True})
        else:
            await _send_json(send, 404, {"error": {"type": "invalid_request_error",
                                                   "message": f"no route {method} {path}"}})

    def status(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "kills": self.kills,
            "decisions": sum(self.delivered.values()),
            "workflows": [w["id"] for w in self.workflows],
            "completed": sorted(self.completions),
            "effects": dict(sorted(self._persisted.items())),
            "callers": {name: {"requests": c.requests, "dead": c.dead,
                               "first_seen_ago": None if c.first_seen is None
                               else round(time.monotonic() - c.first_seen, 4)}
                        for name, c in self.callers.items()},
        }

    async def _tool(self, tool: str, payload: dict[str, Any], headers: dict[str, str],
                    receive: Receive, send: Send) -> None:
        incarnation = headers.get("x-incarnation", "")
        _, kill_at = self._observe(incarnation, "tool", tool)
        if kill_at == "received":
            self._kill(incarnation, f"{tool} received")
        service_name, _, endpoint = tool.partition(".")
        service = self.services.get(service_name)
        key = headers.get("idempotency-key")
        args = payload.get("args")
        if service is None:  # as the simulated network answers an unknown tool
            self._event("tool", incarnation, name=tool, key=key, args=args, status=404)
            await _send_json(send, 404, {"error": {"type": "invalid_request_error",
                                                   "message": f"no such tool {tool}"}})
            return
        self._request_ids += 1
        # Arguments that are not an object reach the service as they are: it answers 400.
        request = Request(endpoint, args, key, self._request_ids, headers.get("x-caller", ""))
        arrived = time.monotonic()
        stats = getattr(service, "stats", {})
        async with self.lock:
            replays = stats.get("replayed", 0)
            outcome = service.begin(request, self.now_ns())
            replayed = stats.get("replayed", 0) > replays
        if isinstance(outcome, InFlight):
            if kill_at == "executing":
                self._kill(incarnation, f"{tool} executing")
            await anyio.sleep(outcome.processing_ns / 1e9 / self.time_scale)
            async with self.lock:
                response: Response = service.finish(outcome, self.now_ns())
                self._persist(service_name, service)
        else:
            response = outcome
        if kill_at in ("executing", "answered"):
            self._kill(incarnation, f"{tool} answered {response.status}")
        fate = None
        if self.faults.applies(tool, service, endpoint):
            draw = self._fault_rng.random()
            if draw < self.faults.drop_response:
                fate = "drop"
            elif draw < self.faults.drop_response + self.faults.late_response:
                fate = "late"
        timeout_s = float(headers.get("x-timeout", "10"))
        self._event("tool", incarnation, name=tool, key=key, args=args,
                    status=response.status, body=response.body, fate=fate, replayed=replayed,
                    late=time.monotonic() - arrived > timeout_s)
        if fate == "drop":
            with anyio.move_on_after(timeout_s + DROP_HOLD_S):
                while (await receive())["type"] != "http.disconnect":
                    pass
                return  # the client gave up: the response is never sent
        elif fate == "late":
            await anyio.sleep(timeout_s + LATE_MARGIN_S)
        await _send_json(send, response.status, response.body)

    async def _model(self, payload: dict[str, Any], headers: dict[str, str],
                     send: Send) -> None:
        incarnation = headers.get("x-incarnation", "")
        request = payload.get("request")
        if not isinstance(request, dict):
            await _send_json(send, 400, {"error": {"type": "invalid_request_error",
                                                   "message": "request must be an object"}})
            return
        decision = str(request.get("decision", ""))
        caller, kill_at = self._observe(incarnation, "model", decision)
        if kill_at == "received":
            self._kill(incarnation, f"model {decision} received")
        text, index = self._answer(incarnation, caller, decision, request)
        low, high = self.model_latency_s
        latency = low + self._latency_rng.random() * (high - low)
        if latency > 0:
            await anyio.sleep(latency)
        if kill_at in ("executing", "answered"):
            self._kill(incarnation, f"model {decision} answered")
        self._event("model", incarnation, name=decision, index=index, text=text)
        await _send_json(send, 200, {"text": text})

    def _answer(self, incarnation: str, caller: _Caller, decision: str,
                request: dict[str, Any]) -> tuple[str, int]:
        """The policy's answer for ``decision``, as ``FakeModel`` would give it: the
        index is the number of answers for it already given and not retracted. An answer
        counts once its incarnation makes a later request; it is retracted if the
        incarnation dies first (``lose``). A dead incarnation's answers never count."""
        model = self.world.model
        assert model.policy is not None
        index = self.delivered.get(decision, 0)
        action = model.policy.propose(request, model.answer_rng(decision, index))
        text = json.dumps(action, sort_keys=True)
        if not caller.dead:
            self.delivered[decision] = index + 1
            caller.unacted.append(decision)
            if self.ledger is not None:
                self.ledger.add_answer(decision, index, incarnation, text)
        return text, index

    async def _tasks_list(self, headers: dict[str, str], send: Send) -> None:
        incarnation = headers.get("x-incarnation", "")
        _, kill_at = self._observe(incarnation, "tasks", "list")
        if kill_at is not None:
            self._kill(incarnation, "tasks.list")
        await _send_json(send, 200, {"workflows": self.workflows})

    async def _tasks_complete(self, payload: dict[str, Any], headers: dict[str, str],
                              send: Send) -> None:
        incarnation = headers.get("x-incarnation", "")
        _, kill_at = self._observe(incarnation, "tasks", "complete")
        if kill_at == "received":
            self._kill(incarnation, "tasks.complete received")
        workflow = str(payload.get("workflow", ""))
        outcome = payload.get("outcome")
        if workflow not in {w["id"] for w in self.workflows} or not isinstance(outcome, dict):
            await _send_json(send, 400, {"error": {"type": "invalid_request_error",
                                                   "message": f"unknown workflow {workflow!r}"
                                                   " or outcome not an object"}})
            return
        async with self.lock:
            if self.ledger is not None:
                self.ledger.add_completion(workflow, headers.get("x-caller", ""), outcome)
            self.completions.setdefault(workflow, outcome)
        if kill_at is not None and kill_at != "received":
            self._kill(incarnation, "tasks.complete answered")
        self._event("complete", incarnation, name=workflow, outcome=outcome)
        await _send_json(send, 200, {"ok": True})

    def close(self) -> None:
        if self.ledger is not None:
            self.ledger.close()


async def _send_json(send: Send, status: int, body: Any) -> None:
    data = json.dumps(body, sort_keys=True).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(data)).encode())]})
    await send({"type": "http.response.body", "body": data})


def serve(app: ServicesApp, *, host: str = "127.0.0.1", port: int = 0,
          announce: Callable[[str], None] | None = None) -> None:
    """Serve ``app`` with uvicorn on ``host``; port 0 lets the OS choose a free one.

    The socket is bound before uvicorn starts, so the URL passed to ``announce`` is
    valid at once (connections wait in the listen backlog until uvicorn accepts).
    """
    import socket

    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    url = f"http://{host}:{sock.getsockname()[1]}"
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on",
                            loop="asyncio", http="h11", timeout_graceful_shutdown=1)
    server = uvicorn.Server(config)
    if announce is not None:
        announce(url)
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
        app.close()
