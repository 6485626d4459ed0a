"""The reference executor, end to end in simulated worlds: idempotency keys derived
from durable facts (``<workflow>/step-<i>/a<n>``) - the same across a timeout retry and
across a crash and restart; after a stored 500 it reconciles, then moves to a new,
recorded attempt; past the key-safe age it reconciles instead of re-sending a key the
provider may have forgotten; and two workers back off instead of resetting each other's
backoff during a provider outage."""

from __future__ import annotations

import random
import re
from typing import Any

import pytest
from op_recorder import OpRecorder

import reference_agent._executor as executor_module
from fakes import PaymentProvider, make_customers
from faults import Crash, FaultPlan, LoseResponse, PlanHooks, ServiceError
from reference_agent import DESIGNS, reference_main
from scenarios import SCENARIOS, run_seed
from scenarios.subscription_renewal import Outage, RenewalPolicy
from simulator import NS_PER_DAY, NS_PER_HOUR, NS_PER_S, World

KEY = re.compile(r"^(?P<workflow>[a-z]+-\d+)/step-(?P<step>\d+)/a(?P<n>\d+)$")


def charge_requests(world: World) -> list[dict[str, Any]]:
    return [d for _, _, k, d in world.kernel.trace.raw()
            if k == "tool.request" and d["tool"] == "payments.charge"]


def steps(world: World) -> dict[str, Any]:
    return world.store.dump()["steps"]


def charge_step(world: World, workflow: str) -> int:
    """The step whose recorded decision is the workflow's charge."""
    for key, value in steps(world).items():
        wid, step, entry = key.split("/")
        if (wid == workflow and entry == "decision"
                and value["proposal"].get("tool") == "payments.charge"):
            return int(step)
    raise AssertionError(f"{workflow} never decided to charge")


def recorded_ops(seed: int, plan: FaultPlan) -> list[tuple[str, int, str, dict[str, Any]]]:
    scenario = SCENARIOS["checkout"]
    hooks = OpRecorder(plan)
    world = World(seed, hooks=hooks)
    scenario.build(world)
    world.add_process("worker", reference_main)
    world.run(scenario.fault_window_s, scenario.liveness_bound_s)
    world.dispose()
    return hooks.ops


LOST = LoseResponse(tool="payments.charge", call=1)


def test_timeout_retry_reuses_the_key_derived_from_the_log() -> None:
    result = run_seed(SCENARIOS["checkout"], DESIGNS["reference"], 0,
                      FaultPlan(faults=[LOST]), keep_world=True)
    assert result.violations == []
    world = result.world
    assert world is not None
    requests = charge_requests(world)
    first = KEY.match(requests[0]["key"])
    assert first is not None
    workflow, step = first["workflow"], int(first["step"])
    # The key is the workflow id, the step index of the recorded charge decision, and
    # attempt 1 - and that attempt, key included, is in the durable log.
    assert step == charge_step(world, workflow)
    assert requests[0]["key"] == f"{workflow}/step-{step}/a1"
    attempt = steps(world)[f"{workflow}/{step:04d}/attempt-001"]
    assert attempt["key"] == requests[0]["key"]
    # The response was lost; the retry went out with the very same key...
    same = [r for r in requests if r["key"].startswith(f"{workflow}/")]
    assert len(same) == 2 and same[0]["key"] == same[1]["key"]
    # ...and the provider replayed it: one charge, under that key.
    provider = world.services["payments"]
    assert isinstance(provider, PaymentProvider)
    customer = next(w["input"]["customer"] for w in world.workflows.submitted()
                    if w["id"] == workflow)
    assert [c.idempotency_key for c in provider.ledger if c.customer == customer] == [
        requests[0]["key"]]
    assert provider.stats["replayed"] == 1


def test_crash_and_restart_reuse_the_same_key() -> None:
    # Find the retry of the lost charge among the worker's port operations, and kill the
    # worker right there: the restarted worker has only the log to go by.
    seed = 0
    ops = recorded_ops(seed, FaultPlan(faults=[LOST]))
    charge_ops = [op for name, op, kind, d in ops
                  if kind == "tool.call" and d["tool"] == "payments.charge"]
    retry_op = charge_ops[1]
    result = run_seed(SCENARIOS["checkout"], DESIGNS["reference"], seed,
                      FaultPlan(faults=[LOST, Crash(process="worker", at_op=retry_op)]),
                      keep_world=True)
    assert result.fired == [0, 1]  # both faults took effect
    assert result.violations == []  # resume equivalence included
    world = result.world
    assert world is not None
    assert world.processes["worker"].incarnations == 2
    requests = charge_requests(world)
    key = requests[0]["key"]
    # the dead worker never sent its retry; the restarted one sent it with the same key
    after_restart = [r for r in requests[1:] if r["key"].split("/")[0] == key.split("/")[0]]
    assert [r["key"] for r in after_restart] == [key]
    provider = world.services["payments"]
    assert isinstance(provider, PaymentProvider)
    assert [c.idempotency_key for c in provider.ledger].count(key) == 1
    assert provider.stats["replayed"] == 1


def test_after_a_stored_500_it_reconciles_then_uses_a_new_recorded_attempt() -> None:
    plan = FaultPlan(faults=[ServiceError(tool="payments.charge", call=1, status=500)])
    result = run_seed(SCENARIOS["checkout"], DESIGNS["reference"], 0, plan, keep_world=True)
    assert result.violations == []
    world = result.world
    assert world is not None
    first = KEY.match(charge_requests(world)[0]["key"])
    assert first is not None
    workflow, step = first["workflow"], int(first["step"])
    # What the worker sent for that workflow, in order: the charge (500, stored against
    # a1), a search by the charge's metadata, then the charge again under a2.
    def mine(d: dict[str, Any]) -> bool:
        if d["tool"] == "payments.search":
            return d["args"]["metadata"]["workflow"] == workflow
        return d["tool"] == "payments.charge" and d["key"].startswith(f"{workflow}/")

    sent = [(d["tool"], d["key"]) for _, _, k, d in world.kernel.trace.raw()
            if k == "tool.request" and mine(d)]
    assert sent == [("payments.charge", f"{workflow}/step-{step}/a1"),
                    ("payments.search", None),
                    ("payments.charge", f"{workflow}/step-{step}/a2")]
    log = steps(world)
    assert log[f"{workflow}/{step:04d}/attempt-001"]["n"] == 1
    assert log[f"{workflow}/{step:04d}/attempt-002"]["key"] == f"{workflow}/step-{step}/a2"
    provider = world.services["payments"]
    assert isinstance(provider, PaymentProvider)
    assert provider.stats["stored_500"] == 1
    keys = [c.idempotency_key for c in provider.ledger]
    assert f"{workflow}/step-{step}/a2" in keys and f"{workflow}/step-{step}/a1" not in keys


def renewal_through_an_outage() -> tuple[World, PaymentProvider, Outage]:
    """One month's renewal whose charge response is lost just after the provider
    charged; then the provider is down (503 before executing) for 30 h - longer than
    the 24 h its idempotency keys live."""
    world = World(7, hooks=PlanHooks(FaultPlan(faults=[LOST])))
    provider = PaymentProvider(make_customers(random.Random(7), 1))
    outage = Outage(provider, 5 * NS_PER_S, 5 * NS_PER_S + 30 * NS_PER_HOUR)
    world.services["payments"] = outage
    world.model.policy = RenewalPolicy()
    world.workflows.submit("renewal-1", "subscription-renewal", {
        "subscription_id": "sub-1", "customer": "cus_1", "currency": "usd",
        "amount_cents": 900, "months": 1, "period_days": 30})
    world.add_process("worker", reference_main)
    assert world.run(fault_window_s=3 * 86_400.0, liveness_bound_s=86_400.0)
    return world, provider, outage


def test_past_the_key_safe_age_it_reconciles_instead_of_resending() -> None:
    world, provider, outage = renewal_through_an_outage()
    assert outage.rejected > 0  # the outage did get in the way
    assert len(provider.ledger) == 1
    charged_ns = provider.ledger[0].t_ns
    assert charged_ns < outage.start_ns  # charged before the outage, response lost
    # Every charge request went out with attempt 1's key while that key was young; after
    # that the worker only searched, and found the charge once the provider was back -
    # more than 24 h after the key was first used.
    requests = [(t, d) for t, _, k, d in world.kernel.trace.raw() if k == "tool.request"]
    charges = [t for t, d in requests if d["tool"] == "payments.charge"]
    assert all(t - charged_ns < 24 * NS_PER_HOUR for t in charges)
    searches = [t for t, d in requests if d["tool"] == "payments.search"]
    assert searches and searches[-1] >= outage.end_ns > charged_ns + NS_PER_DAY
    result = steps(world)["renewal-1/0000/result"]
    assert result["ok"] and result.get("reconciled") is True
    assert world.workflows.outcomes["renewal-1"] == {"status": "complete", "months_paid": 1}


def test_without_the_key_safe_age_the_same_world_charges_twice(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # The control: a design that keeps re-sending its key past the provider's 24 h
    # charges again once the provider is back - the world above really tests this.
    monkeypatch.setattr(executor_module, "KEY_SAFE_AGE_S", float("inf"))
    _, provider, _ = renewal_through_an_outage()
    assert len(provider.ledger) == 2
    assert provider.stats["expired_key_reused"] == 1


def test_two_workers_back_off() -> None:
    # A seed whose workload has a provider outage that renewals actually run into.
    scenario = SCENARIOS["subscription-renewal"]
    rejected: dict[str, int] = {}
    for seed in range(40):
        for design in ("reference", "reference-2w"):
            result = run_seed(scenario, DESIGNS[design], seed, FaultPlan(faults=[]),
                              keep_world=True)
            assert result.violations == []
            assert result.world is not None
            service = result.world.services["payments"]
            rejected[design] = service.rejected if isinstance(service, Outage) else 0
            result.world.dispose()
        if rejected["reference"]:
            break
    assert rejected["reference"] > 0, "no seed ran into an outage"
    # Each worker backs off exponentially for the workflow it holds: two workers cost at
    # most about what two workflows cost one worker - not thousands of requests.
    assert rejected["reference-2w"] <= 2 * rejected["reference"] + 10
