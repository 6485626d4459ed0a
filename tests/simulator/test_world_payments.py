"""A real ``World`` with the real ``PaymentProvider``, driven by tiny designs: what a
caller sees through the simulated network when responses are lost, keys collide in
flight, keys expire, and the provider answers 500 or 429.

These are the provider semantics the reference design relies on
(``docs/facts/stripe-idempotency.md``), checked end to end through ports, network and
fault hooks rather than on the service alone.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Coroutine
from typing import Any

import pytest

from fakes import PaymentProvider, make_customers
from faults import FaultPlan, LoseResponse, PlanHooks, ServiceError
from simulator import Env, NetworkConfig, ToolError, ToolTimeout, World

DAY_S = 86_400.0
CHARGE = {"customer": "cus_1", "amount_cents": 1_250, "currency": "usd"}

Main = Callable[[Env], Coroutine[Any, Any, Any]]


def payments_world(mains: dict[str, Main], faults: list[Any] | None = None, *,
                   seed: int = 0, network: NetworkConfig | None = None,
                   window_s: float = 3 * DAY_S) -> tuple[World, PaymentProvider]:
    """A world with one PaymentProvider and the given processes, run to the end."""
    hooks = PlanHooks(FaultPlan(faults=faults)) if faults else None
    world = World(seed, hooks=hooks, network=network)
    provider = PaymentProvider(make_customers(random.Random(seed), 2))
    world.services["payments"] = provider
    for name, main in mains.items():
        world.add_process(name, main)
    assert world.run(fault_window_s=window_s, liveness_bound_s=60.0)
    return world, provider


async def charge(env: Env, key: str | None, timeout: float = 10.0) -> tuple[str, Any]:
    """One charge; ("ok", body), ("error", (status, body)) or ("timeout", None)."""
    try:
        return "ok", await env.tools.call("payments.charge", dict(CHARGE),
                                          idempotency_key=key, timeout=timeout)
    except ToolTimeout:
        return "timeout", None
    except ToolError as error:
        return "error", (error.status, error.body)


def test_lost_response_after_commit_then_retry_replays_without_second_charge() -> None:
    seen: list[tuple[str, Any]] = []

    async def main(env: Env) -> None:
        seen.append(await charge(env, "order-1/charge"))
        seen.append(await charge(env, "order-1/charge"))

    world, provider = payments_world({"worker": main},
                                     [LoseResponse(tool="payments.charge", call=1)])
    # The provider charged on the first call; the caller only saw a timeout.
    assert seen[0] == ("timeout", None)
    assert [c.idempotency_key for c in provider.ledger] == ["order-1/charge"]
    lost = world.kernel.trace.of_kind("response.lost")
    assert len(lost) == 1 and lost[0][3]["status"] == 200
    # The retry got the stored response: the same charge, and no second ledger entry.
    status, body = seen[1]
    assert status == "ok"
    assert body["id"] == provider.ledger[0].id
    assert provider.stats["replayed"] == 1
    assert provider.stats["executed"] == 1


def test_retry_arriving_while_the_first_request_executes_gets_409() -> None:
    # Fixed 5 ms latency: the first request lands at 5 ms and executes until 35 ms; the
    # second, sent at 10 ms, lands at 15 ms - inside the 30 ms processing window.
    seen: dict[str, list[tuple[str, Any]]] = {"a": [], "b": []}

    async def first(env: Env) -> None:
        seen["a"].append(await charge(env, "k-409"))

    async def second(env: Env) -> None:
        await env.clock.sleep(0.010)
        seen["b"].append(await charge(env, "k-409"))
        await env.clock.sleep(1.0)  # the first request has finished by now
        seen["b"].append(await charge(env, "k-409"))

    _, provider = payments_world({"a": first, "b": second},
                                 network=NetworkConfig(latency_ms_min=5.0, latency_ms_max=5.0))
    assert seen["a"][0][0] == "ok"
    kind, (status, body) = seen["b"][0]
    assert (kind, status) == ("error", 409)
    assert body["error"]["code"] == "idempotency_key_in_use"
    assert body["should_retry"] is True
    # Not stored: the later retry gets the first request's stored success.
    assert seen["b"][1] == ("ok", seen["a"][0][1])
    assert len(provider.ledger) == 1
    assert provider.stats["conflict_409"] == 1


@pytest.mark.parametrize(("retry_after_s", "charges", "expired"), [
    (23 * 3600.0, 1, 0),          # within the key's 24 h: replayed
    (DAY_S + 1.0, 2, 1),          # after it: the provider has forgotten the key
])
def test_key_expiry_after_24h_of_virtual_time(retry_after_s: float, charges: int,
                                              expired: int) -> None:
    seen: list[tuple[str, Any]] = []

    async def main(env: Env) -> None:
        seen.append(await charge(env, "renewal-1/step-0/a1"))
        await env.clock.sleep(retry_after_s)
        seen.append(await charge(env, "renewal-1/step-0/a1"))

    _, provider = payments_world({"worker": main})
    assert [s[0] for s in seen] == ["ok", "ok"]
    assert len(provider.ledger) == charges
    assert provider.stats["expired_key_reused"] == expired
    assert (seen[0][1]["id"] == seen[1][1]["id"]) == (charges == 1)


@pytest.mark.parametrize(("status", "retry", "stored_500", "rejected_429"), [
    # 500: executed (and failed) - the response is stored, the retry replays the 500
    (500, ("error", 500), 1, 0),
    # 429: rejected before executing - nothing stored, the retry charges
    (429, ("ok", None), 0, 1),
])
def test_service_error_500_is_stored_and_replayed_429_is_not(
        status: int, retry: tuple[str, int | None], stored_500: int,
        rejected_429: int) -> None:
    seen: list[tuple[str, Any]] = []

    async def main(env: Env) -> None:
        seen.append(await charge(env, "k-err"))
        seen.append(await charge(env, "k-err"))

    world, provider = payments_world(
        {"worker": main}, [ServiceError(tool="payments.charge", call=1, status=status)])
    assert seen[0][0] == "error" and seen[0][1][0] == status
    kind, payload = seen[1]
    assert kind == retry[0]
    if kind == "error":
        # the same stored body, status and all, without acting
        assert payload == seen[0][1]
        assert provider.ledger == []
        assert provider.stats["replayed"] == 1
    else:
        assert len(provider.ledger) == 1
        assert provider.stats["replayed"] == 0
    assert provider.stats["stored_500"] == stored_500
    assert provider.stats["rejected_429"] == rejected_429
    # Only the first call was faulted, and the fault fired.
    fired = world.kernel.trace.of_kind("fault.fired")
    assert [e[3]["fault"]["call"] for e in fired] == [1]
