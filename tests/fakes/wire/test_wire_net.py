"""HTTP into the simulated network: unchanged ``httpx``, ``AsyncOpenAI`` and
``stripe.StripeClient`` code in an inline simulated run reaches the wire doors over the
world's own services, with the network's faults, and replays exactly."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

httpx = pytest.importorskip("httpx")
openai = pytest.importorskip("openai")
stripe = pytest.importorskip("stripe")

from fakes import PaymentProvider, make_customers  # noqa: E402
from fakes.wire import OpenAIApi, StripeApi, attach_http, http_request  # noqa: E402
from faults import Crash, Delay, FaultPlan, LoseResponse, PlanHooks, ServiceError  # noqa: E402
from scenarios.checkout import CheckoutPolicy  # noqa: E402
from simulator import Env, TraceKind, World  # noqa: E402

ORDER = {"order_id": "order-1", "customer": "cus_1", "email": "a@example.com",
         "currency": "usd", "total_cents": 4_300,
         "items": [{"sku": "sku-mug", "quantity": 2}]}
PROMPT = f"Check out this order, one tool call at a time: {json.dumps(ORDER)}"
TOOLS = [{"type": "function", "function": {"name": n, "parameters": {"type": "object"}}}
         for n in ("payments_charge", "inventory_reserve", "email_send")]
CHARGE = {"amount": "1250", "currency": "usd", "customer": "cus_1",
          "payment_method": "pm_1", "confirm": "true"}
AUTH = {"Authorization": "Bearer sk_test_1"}
PI_CREATE = "payments.payment_intents.create"
CHAT = "openai.chat.completions"


def run(main: Any, faults: list[Any] | None = None, seed: int = 3) -> tuple[World, Any]:
    hooks = PlanHooks(FaultPlan(faults=faults)) if faults else None
    world = World(seed, policy=CheckoutPolicy(), hooks=hooks)
    provider = PaymentProvider(make_customers(random.Random(seed), 2))
    world.services["payments"] = provider
    attach_http(world, [StripeApi(provider), OpenAIApi(world.model)])
    world.add_process("agent", main)
    assert world.run(fault_window_s=120.0, liveness_bound_s=60.0)
    return world, provider


def kinds(world: World, kind: str, tool: str | None = None) -> list[dict[str, Any]]:
    return [e.data for e in world.kernel.trace.events()
            if e.kind == kind and (tool is None or e.data.get("tool") == tool)]


def test_httpx_reaches_the_stripe_door_through_the_network() -> None:
    seen: list[Any] = []

    async def main(env: Env) -> None:
        async with httpx.AsyncClient() as client:
            r = await client.post("https://api.stripe.com/v1/payment_intents", data=CHARGE,
                                  headers=AUTH)
            seen.append((r.status_code, r.json()["status"], r.json()["amount"]))

    world, provider = run(main)
    assert seen == [(200, "succeeded", 1250)]
    assert len(provider.ledger) == 1
    [request] = kinds(world, TraceKind.TOOL_REQUEST)
    assert request["tool"] == PI_CREATE and request["args"]["method"] == "POST"
    assert world.kernel.now_ns > 0  # the legs took virtual time
    assert world.kernel.escapes == []


def test_lost_response_after_the_charge_times_the_caller_out() -> None:
    seen: list[Any] = []

    async def main(env: Env) -> None:
        try:
            await http_request("POST", "https://api.stripe.com/v1/payment_intents",
                               {**AUTH, "Content-Type": "application/x-www-form-urlencoded"},
                               "amount=1250&currency=usd&customer=cus_1&payment_method=pm_1"
                               "&confirm=true", timeout_s=5.0)
        except TimeoutError:
            seen.append("timeout")

    world, provider = run(main, [LoseResponse(tool=PI_CREATE, call=1)])
    assert seen == ["timeout"]
    assert len(provider.ledger) == 1  # the service acted; the caller cannot know
    assert [e["status"] for e in kinds(world, TraceKind.RESPONSE_LOST, PI_CREATE)] == [200]


@pytest.mark.parametrize("fault, status", [
    (ServiceError(tool=PI_CREATE, call=1, status=500), 500),
    (ServiceError(tool=PI_CREATE, call=1, status=429), 429),
])
def test_injected_errors_reach_httpx_as_statuses(fault: Any, status: int) -> None:
    seen: list[int] = []

    async def main(env: Env) -> None:
        async with httpx.AsyncClient() as client:
            r = await client.post("https://api.stripe.com/v1/payment_intents", data=CHARGE,
                                  headers=AUTH)
            seen.append(r.status_code)

    _world, provider = run(main, [fault])
    assert seen == [status]
    assert provider.ledger == []


def test_delay_past_the_timeout_is_httpx_read_timeout() -> None:
    seen: list[str] = []

    async def main(env: Env) -> None:
        async with httpx.AsyncClient(timeout=2.0) as client:
            try:
                await client.post("https://api.stripe.com/v1/payment_intents", data=CHARGE,
                                  headers=AUTH)
            except httpx.ReadTimeout:
                seen.append("read timeout")

    world, _ = run(main, [Delay(tool=PI_CREATE, call=1, leg="response", delay_ms=10_000)])
    assert seen == ["read timeout"]
    assert kinds(world, TraceKind.TOOL_TIMEOUT, PI_CREATE)


async def openai_agent(out: list[Any]) -> None:
    client = openai.AsyncOpenAI(api_key="test", timeout=5.0)  # built the normal way
    r = await client.chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": PROMPT}], tools=TOOLS)
    out.append(r.choices[0].message.tool_calls[0].function.name)


def test_async_openai_gets_answers_and_its_own_retry_is_in_the_trace() -> None:
    seen: list[Any] = []

    async def main(env: Env) -> None:
        await openai_agent(seen)

    world, _ = run(main, [LoseResponse(tool=CHAT, call=1)])
    assert seen == ["payments_charge"]
    requests = kinds(world, TraceKind.TOOL_REQUEST, CHAT)
    assert [r["call"] for r in requests] == [1, 2]  # the SDK retried after its timeout
    assert kinds(world, TraceKind.TOOL_TIMEOUT, CHAT)
    # The lost answer was never given: one answer, to the retry.
    assert len(kinds(world, TraceKind.MODEL_ANSWER)) == 1


def test_an_answer_reaching_a_dead_incarnation_was_never_given() -> None:
    seen: list[Any] = []

    async def main(env: Env) -> None:
        await openai_agent(seen)

    # Killed 50 ms into its first request: the model answers, nobody is there.
    world, _ = run(main, [Crash(process="agent", at_op=1, after_ms=50)])
    assert seen == ["payments_charge"]  # the restarted incarnation asked again
    done = [e["request"] for e in kinds(world, TraceKind.SERVICE_DONE)]
    assert [r["request"] for r in kinds(world, TraceKind.TOOL_REQUEST, CHAT)] == done == [1, 2]
    assert [r["request"] for r in kinds(world, TraceKind.TOOL_RESPONSE, CHAT)] == [2]
    assert len(kinds(world, TraceKind.MODEL_ANSWER)) == 1


def test_stripe_async_client_over_httpx() -> None:
    seen: list[Any] = []

    async def main(env: Env) -> None:
        client = stripe.StripeClient("sk_test_1", http_client=stripe.HTTPXClient())
        pi = await client.v1.payment_intents.create_async(params={
            "amount": 990, "currency": "usd", "customer": "cus_1",
            "payment_method": "pm_1", "confirm": True})
        seen.append((pi.status, pi.amount))

    world, provider = run(main)
    assert seen == [("succeeded", 990)]
    assert len(provider.ledger) == 1
    [request] = kinds(world, TraceKind.TOOL_REQUEST, PI_CREATE)
    assert request["key"]  # stripe's own automatic idempotency key, from the run's stream


def test_unknown_host_is_a_finding_naming_the_url() -> None:
    async def main(env: Env) -> None:
        async with httpx.AsyncClient() as client:
            await client.get("https://api.example.org/v1/things?x=1")

    world = World(1)
    attach_http(world, [])
    world.add_process("agent", main)
    world.run(fault_window_s=10.0, liveness_bound_s=10.0)
    assert world.kernel.escapes[:1] == [
        "HTTP GET https://api.example.org/v1/things?x=1 (no fake serves api.example.org)"]


def sdk_run_hash(seed: int = 3) -> str:
    """The trace hash of a run in which openai retries twice and stripe draws its key."""
    async def main(env: Env) -> None:
        await openai_agent([])
        client = stripe.StripeClient("sk_test_1", http_client=stripe.HTTPXClient())
        await client.v1.payment_intents.create_async(params={
            "amount": 99, "currency": "usd", "customer": "cus_1",
            "payment_method": "pm_1", "confirm": True})

    world, _ = run(main, [LoseResponse(tool=CHAT, call=1),
                          ServiceError(tool=CHAT, call=2, status=500)], seed=seed)
    assert len(kinds(world, TraceKind.TOOL_REQUEST, CHAT)) == 3
    return world.kernel.trace.hash()


def test_same_seed_same_trace_with_sdk_retries() -> None:
    assert sdk_run_hash() == sdk_run_hash()


def test_same_seed_same_trace_across_processes_and_hash_seeds() -> None:
    root = Path(__file__).resolve().parents[3]
    here = sdk_run_hash(5)
    for hash_seed in ("0", "12345"):
        env = dict(os.environ, PYTHONHASHSEED=hash_seed,
                   PYTHONPATH=os.pathsep.join(p for p in (str(root), os.environ.get(
                       "PYTHONPATH", "")) if p))
        proc = subprocess.run([sys.executable, __file__, "5"], cwd=root, env=env,
                              capture_output=True, text=True, check=True, timeout=120)
        assert proc.stdout.strip() == here


def test_interception_is_restored_after_the_run() -> None:
    before = httpx.AsyncHTTPTransport.handle_async_request
    run(lambda env: openai_agent([]))
    assert httpx.AsyncHTTPTransport.handle_async_request is before


if __name__ == "__main__":  # the subprocess of the cross-process test
    print(sdk_run_hash(int(sys.argv[1])))
