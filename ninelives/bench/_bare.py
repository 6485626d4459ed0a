"""A bare run of a design, for ``overhead_ratio_checkout``: the denominator of what the
harness costs.

The same scenario world is built (its services, its scripted model policy, its
workflows), and the design's ``main(env)`` is driven to the end with ports that are
direct calls: the clock is a number that sleeps add to, the store a dict of JSON text
with a transaction that applies its writes on exit, a tool call is the service's
``begin`` (and ``finish``) called in place, a model call the policy's answer for the
decision. No kernel, no network, no faults, no trace, no checks, no fault-free second
run. The design never awaits anything else, so the coroutine runs in one ``send``.

Kept honest in three ways: the answers are the simulated model's (same policy, same
per-decision random streams), JSON values are encoded on every write and decoded on
every read (what any durable store costs), and ``run_bare`` returns the workflows'
outcomes so the bench can check the bare run did the same work
(``tests/ninelives/bench/test_bench_ratios.py``).
"""

from __future__ import annotations

import random
from typing import Any

import orjson

from simulator import (
    Design,
    InFlight,
    Request,
    ToolError,
    World,
    derive_seed,
    snapshot,
)


class _Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def now(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        self.t += max(0.0, seconds)


class _Tx:
    def __init__(self, store: _Store) -> None:
        self._store = store
        self._writes: dict[tuple[str, str], bytes | None] = {}

    def get(self, table: str, key: str) -> Any:
        if (table, key) in self._writes:
            raw = self._writes[(table, key)]
        else:
            raw = self._store.tables.get(table, {}).get(key)
        return None if raw is None else orjson.loads(raw)

    def put(self, table: str, key: str, value: Any) -> None:
        self._writes[(table, key)] = orjson.dumps(value)

    def delete(self, table: str, key: str) -> None:
        self._writes[(table, key)] = None

    def scan(self, table: str, prefix: str = "") -> list[tuple[str, Any]]:
        rows = dict(self._store.tables.get(table, {}))
        for (t, key), raw in self._writes.items():
            if t == table:
                rows[key] = raw  # type: ignore[assignment]
        return [(k, orjson.loads(v)) for k, v in sorted(rows.items())
                if k.startswith(prefix) and v is not None]

    async def __aenter__(self) -> _Tx:
        return self

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is None:
            for (table, key), raw in self._writes.items():
                rows = self._store.tables.setdefault(table, {})
                if raw is None:
                    rows.pop(key, None)
                else:
                    rows[key] = raw


class _Store:
    def __init__(self) -> None:
        self.tables: dict[str, dict[str, bytes]] = {}

    def transaction(self) -> _Tx:
        return _Tx(self)

    async def get(self, table: str, key: str) -> Any:
        raw = self.tables.get(table, {}).get(key)
        return None if raw is None else orjson.loads(raw)

    async def scan(self, table: str, prefix: str = "") -> list[tuple[str, Any]]:
        return _Tx(self).scan(table, prefix)


class _Tools:
    def __init__(self, world: World, clock: _Clock) -> None:
        self._services = world.services
        self._clock = clock
        self._requests = 0

    async def call(self, name: str, args: dict[str, Any], *, idempotency_key: str | None = None,
                   timeout: float = 10.0) -> dict[str, Any]:
        service_name, _, endpoint = name.partition(".")
        service = self._services[service_name]
        self._requests += 1
        now_ns = int(self._clock.t * 1e9)
        request = Request(endpoint, orjson.loads(orjson.dumps(args)), idempotency_key,
                          self._requests, "worker")
        response = service.begin(request, now_ns)
        if isinstance(response, InFlight):
            response = service.finish(response, now_ns + response.processing_ns)
        if not response.ok:
            raise ToolError(name, response.status, response.body)
        return response.body


class _Model:
    def __init__(self, world: World) -> None:
        self._policy = world.model.policy
        self._seed = world.kernel.seed
        self._answers: dict[str, int] = {}

    async def complete(self, request: dict[str, Any], *, timeout: float = 60.0) -> str:
        decision = str(request.get("decision", ""))
        index = self._answers.get(decision, 0)
        self._answers[decision] = index + 1
        rng = random.Random(derive_seed(self._seed, f"model:{decision}:{index}"))
        text = snapshot(self._policy.propose(request, rng))  # type: ignore[union-attr]
        return text.decode() if isinstance(text, bytes) else text


class _Tasks:
    def __init__(self, world: World) -> None:
        self._workflows = world.workflows
        self.outcomes: dict[str, dict[str, Any]] = {}

    async def list(self) -> list[dict[str, Any]]:
        return self._workflows.submitted()

    async def complete(self, workflow_id: str, outcome: dict[str, Any]) -> None:
        self.outcomes.setdefault(workflow_id, orjson.loads(orjson.dumps(outcome)))


class BareEnv:
    """The five ports as direct calls on one scenario world's services."""

    def __init__(self, world: World, name: str = "worker") -> None:
        self.process_name = name
        self.incarnation = 1
        self.clock = _Clock()
        self.store = _Store()
        self.tools = _Tools(world, self.clock)
        self.model = _Model(world)
        self.tasks = _Tasks(world)


def run_bare(scenario: Any, design: Design, seed: int) -> dict[str, dict[str, Any]]:
    """Build ``scenario``'s world for ``seed`` and run ``design``'s one worker to the
    end on direct-call ports; the workflows' outcomes, by workflow id."""
    if design.workers != 1:
        raise ValueError("a bare run drives one worker")
    world = World(seed)
    scenario.build(world)
    env = BareEnv(world, design.worker_names()[0])
    coro = design.main(env)
    try:
        coro.send(None)
    except StopIteration:
        pass
    else:
        coro.close()
        raise RuntimeError(f"{design.name} awaited something other than its ports")
    world.dispose()
    return env.tasks.outcomes
