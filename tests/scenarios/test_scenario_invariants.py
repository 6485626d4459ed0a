"""Each invariant, on hand-built worlds and traces: it reports a violation, with the
evidence that proves it, on a bad one - and nothing on a good one."""

from __future__ import annotations

import random
from typing import Any

import pytest

from fakes import (
    Chat,
    InFlight,
    Ops,
    PaymentProvider,
    Request,
    Response,
    Service,
    make_customers,
)
from scenarios import INVARIANTS, SCENARIOS
from scenarios._invariants import (
    exactly_once_charges,
    liveness,
    model_once_per_decision,
    resume_equivalence,
    single_result_per_step,
)
from simulator import NS_PER_DAY, NS_PER_HOUR, Env, World


def act(service: Service, endpoint: str, args: dict[str, Any], key: str | None = None,
        now_ns: int = 0) -> Response:
    """One request straight through a service's sans-I/O front door."""
    outcome = service.begin(Request(endpoint, args, key, 1, "test"), now_ns)
    if isinstance(outcome, InFlight):
        return service.finish(outcome, now_ns + outcome.processing_ns)
    return outcome


def charge(provider: Service, customer: str, amount: int, key: str | None = None,
           now_ns: int = 0) -> None:
    response = act(provider, "charge", {"customer": customer, "amount_cents": amount,
                                        "currency": "usd"}, key, now_ns)
    assert response.status == 200


def test_every_invariant_is_named_and_described() -> None:
    assert set(INVARIANTS) == {
        "exactly-once-charge", "at-most-once-chat", "no-effect-outside-gate",
        "single-result-per-step", "model-once-per-decision", "liveness",
        "process-local-state", "thread-started",
        "resume-equivalence", "stays-in-simulation"}
    assert all(line and "\n" not in line for line in INVARIANTS.values())


# --- exactly-once charges ----------------------------------------------------------------


@pytest.mark.parametrize(("keys", "allowed", "violated"), [
    (["k1"], 1, False),
    (["k1", "k1"], 1, False),       # the retry was replayed: one ledger entry
    (["k1", "k2"], 1, True),        # a fresh key: charged twice
    (["k1", "k2"], 2, False),       # two intended (two months)
])
def test_exactly_once_charges(keys: list[str], allowed: int, violated: bool) -> None:
    provider = PaymentProvider(make_customers(random.Random(0), 1))
    for key in keys:
        charge(provider, "cus_1", 900, key)
    found = exactly_once_charges(provider, {"cus_1": allowed}, lambda c: f"order of {c}")
    if not violated:
        assert found == []
        return
    (v,) = found
    assert v.invariant == "exactly-once-charge"
    assert "order of cus_1 was charged 2 times" in v.message
    # the evidence is both ledger entries
    assert [e["id"] for e in v.evidence["ledger"]] == ["ch_1", "ch_2"]
    assert [e["idempotency_key"] for e in v.evidence["ledger"]] == keys


def test_a_charge_nobody_intended_is_a_violation() -> None:
    provider = PaymentProvider(make_customers(random.Random(0), 2))
    charge(provider, "cus_2", 900)
    (v,) = exactly_once_charges(provider, {"cus_1": 1}, str)
    assert "at most 0 intended" in v.message


# --- single result per step --------------------------------------------------------------


@pytest.mark.parametrize(("second", "violated"), [
    ({"ok": True, "n": 1}, False),   # the same value again: a harmless rewrite
    ({"ok": False, "n": 2}, True),   # a different result for one step
])
def test_single_result_per_step(second: dict[str, Any], violated: bool) -> None:
    async def main(env: Env) -> None:
        for value in ({"ok": True, "n": 1}, second):
            async with env.store.transaction() as tx:
                tx.put("steps", "wf-1/0003/result", value)

    world = World(0)
    world.add_process("worker", main)
    world.run(10.0, 10.0)
    found = single_result_per_step(world)
    if not violated:
        assert found == []
        return
    (v,) = found
    assert v.invariant == "single-result-per-step"
    assert v.evidence["key"] == "wf-1/0003/result"
    assert (v.evidence["first"], v.evidence["second"]) == ({"ok": True, "n": 1}, second)


# --- model once per decision -------------------------------------------------------------

D = "wf-1/step-0"


def request(c: str, call: int) -> tuple[str, str, dict[str, Any]]:
    return (c, "model.request", {"decision": D, "call": call})


def answer(c: str, call: int, index: int, fault: str | None = None
           ) -> tuple[str, str, dict[str, Any]]:
    return (c, "model.answer", {"decision": D, "call": call, "index": index, "fault": fault})


def commit(c: str) -> tuple[str, str, dict[str, Any]]:
    return (c, "store.commit", {"store": "store", "keys": ["steps/x"]})


def crash(c: str) -> tuple[str, str, dict[str, Any]]:
    return (c, "crash", {"incarnation": 1, "reason": "fault", "op": 3})


def rollback(c: str) -> tuple[str, str, dict[str, Any]]:
    return (c, "store.rollback", {"store": "store", "error": "LeaseLost"})


def conflict(c: str) -> tuple[str, str, dict[str, Any]]:
    return (c, "store.conflict", {"store": "store"})


W, W1, W2 = "worker", "worker-1", "worker-2"
TRACES: list[tuple[str, list[tuple[str, str, dict[str, Any]]], bool]] = [
    ("asked once, acted on", [request(W, 1), answer(W, 1, 0), commit(W)], False),
    ("acted on, crashed, asked again and acted again (unrecorded model)",
     [request(W, 1), answer(W, 1, 0), commit(W), crash(W), request(W, 2), answer(W, 2, 1),
      commit(W)], True),
    ("answer lost in a crash before any commit, asked again",
     [request(W, 1), answer(W, 1, 0), crash(W), request(W, 2), answer(W, 2, 0), commit(W)],
     False),
    ("a malformed answer, then a real one",
     [request(W, 1), answer(W, 1, 0, "malformed"), commit(W), request(W, 2),
      answer(W, 2, 0), commit(W)], False),
    ("two workers asked at once (clock skew), the slower answer came after the first "
     "was acted on",
     [request(W1, 1), request(W2, 2), answer(W1, 1, 0), commit(W1), answer(W2, 2, 0),
      commit(W2)], False),
    ("a frozen worker asked after the other acted, and was fenced: never acted on",
     [request(W1, 1), answer(W1, 1, 0), commit(W1), request(W2, 2), answer(W2, 2, 1),
      crash(W2)], False),
    ("another worker asked after the first acted, and acted on its answer",
     [request(W1, 1), answer(W1, 1, 0), commit(W1), request(W2, 2), answer(W2, 2, 1),
      commit(W2)], True),
    # reference-2w, subscription-renewal seed 924: worker-2 frozen between renewing its
    # lease and asking; it wakes, asks, finds its lease gone when it records (the
    # transaction rolls back), then claims another workflow (a commit).
    ("a frozen worker asked after the other acted, was fenced, then committed elsewhere",
     [request(W1, 1), answer(W1, 1, 0), commit(W1), request(W2, 2), answer(W2, 2, 1),
      rollback(W2), commit(W2)], False),
    ("the same, its recording commit met a conflict",
     [request(W1, 1), answer(W1, 1, 0), commit(W1), request(W2, 2), answer(W2, 2, 1),
      conflict(W2), commit(W2)], False),
    ("a rollback before the answer arrived does not excuse acting on it",
     [request(W1, 1), answer(W1, 1, 0), commit(W1), request(W2, 2), rollback(W2),
      answer(W2, 2, 1), commit(W2)], True),
]


@pytest.mark.parametrize(("name", "events", "violated"), TRACES, ids=[t[0] for t in TRACES])
def test_model_once_per_decision(name: str, events: list[tuple[str, str, dict[str, Any]]],
                                 violated: bool) -> None:
    world = World(0)
    for component, kind, data in events:  # all at t=0: only their order matters
        world.kernel.trace.record(component, kind, **data)
    found = model_once_per_decision(world)
    if not violated:
        assert found == []
        return
    (v,) = found
    assert v.invariant == "model-once-per-decision"
    assert v.evidence["decision"] == D
    assert v.evidence["answer_index"] == 1
    assert v.evidence["process"] == events[-1][0]
    assert {"first_acted_t_ns", "asked_again_t_ns", "acted_again_t_ns"} <= set(v.evidence)


# --- liveness and resume equivalence -----------------------------------------------------


@pytest.mark.parametrize(("finished", "fragment"), [
    (False, "still unfinished when the liveness bound ran out"),
    (True, "never reported complete"),
])
def test_liveness(finished: bool, fragment: str) -> None:
    world = World(0)
    world.workflows.submit("wf-1", "checkout", {})
    world.workflows.submit("wf-2", "checkout", {})
    world.workflows.outcomes["wf-1"] = {"status": "paid"}
    (v,) = liveness(world, finished)
    assert v.invariant == "liveness" and fragment in v.message
    assert v.evidence["pending"] == ["wf-2"]
    world.workflows.outcomes["wf-2"] = {"status": "paid"}
    assert liveness(world, finished) == []


def test_resume_equivalence_names_what_differs() -> None:
    expected = {"order-1": {"charged": [900]}, "order-2": {"charged": [500]}}
    assert resume_equivalence(expected, expected) == []
    actual = {"order-1": {"charged": [900, 900]}, "order-2": {"charged": [500]}}
    (v,) = resume_equivalence(actual, expected)
    assert v.invariant == "resume-equivalence"
    assert v.evidence["diff"] == {"order-1": {"with_faults": {"charged": [900, 900]},
                                              "without_faults": {"charged": [900]}}}


# --- the scenarios' own checks -----------------------------------------------------------


def built(scenario: str, seed: int = 0) -> World:
    world = World(seed)
    SCENARIOS[scenario].build(world)
    return world


def test_checkout_safety() -> None:
    world = built("checkout")
    provider = world.services["payments"]
    orders = [w["input"] for w in world.workflows.submitted()]
    for order in orders:
        charge(provider, order["customer"], order["total_cents"], order["order_id"])
    assert SCENARIOS["checkout"].check_safety(world) == []
    first = orders[0]
    charge(provider, first["customer"], first["total_cents"], "fresh-key")
    charge(provider, orders[1]["customer"], orders[1]["total_cents"] * 100, "hallucinated")
    found = SCENARIOS["checkout"].check_safety(world)
    # The gate's finding first (the more specific one names the flaw), then one
    # exactly-once finding per order charged twice, each with both ledger entries.
    assert [v.invariant for v in found] == ["no-effect-outside-gate", "exactly-once-charge",
                                            "exactly-once-charge"]
    assert found[0].evidence["charge"]["amount_cents"] == orders[1]["total_cents"] * 100
    assert [v.message.split()[1] for v in found[1:]] == [first["order_id"],
                                                         orders[1]["order_id"]]
    assert [[e["idempotency_key"] for e in v.evidence["ledger"]] for v in found[1:]] == [
        [first["order_id"], "fresh-key"], [orders[1]["order_id"], "hallucinated"]]


def test_sre_safety() -> None:
    world = built("sre-incident")
    chat, ops = world.services["chat"], world.services["ops"]
    assert isinstance(chat, Chat) and isinstance(ops, Ops)
    policy: Any = world.model.policy
    act(chat, "post", {"channel": "#incidents", "text": "diagnosis: deadlock"})
    act(ops, "restart", {"service": policy.faulty_service}, "k1")
    assert SCENARIOS["sre-incident"].check_safety(world) == []
    act(chat, "post", {"channel": "#incidents", "text": "diagnosis: memory_leak"})
    healthy = next(s for s in world.workflows.submitted()[0]["input"]["services"]
                   if s != policy.faulty_service)
    act(ops, "restart", {"service": healthy}, "k2")
    found = {v.invariant: v for v in SCENARIOS["sre-incident"].check_safety(world)}
    assert set(found) == {"at-most-once-chat", "no-effect-outside-gate"}
    assert [m["text"] for m in found["at-most-once-chat"].evidence["messages"]] == [
        "diagnosis: deadlock", "diagnosis: memory_leak"]
    assert found["no-effect-outside-gate"].evidence["restart"] == healthy


@pytest.mark.parametrize(("charge_days", "violated"), [
    ([0, 30, 60], False),
    ([0, 30, 30.05], True),       # one month charged twice, an hour apart
    ([0, 30, 60, 90], True),      # a fourth month of a three-month plan
])
def test_subscription_safety(charge_days: list[float], violated: bool) -> None:
    world = built("subscription-renewal")
    service: Any = world.services["payments"]
    provider = getattr(service, "inner", service)
    sub = world.workflows.submitted()[0]["input"]
    for n, day in enumerate(charge_days):
        charge(provider, sub["customer"], sub["amount_cents"], f"k{n}",
               now_ns=int(day * NS_PER_DAY))
    found = SCENARIOS["subscription-renewal"].check_safety(world)
    assert bool(found) == violated
    assert all(v.invariant == "exactly-once-charge" for v in found)
    if charge_days[-1] - charge_days[-2] < 1:
        (v,) = found
        assert "twice for one month" in v.message
        assert len(v.evidence["ledger"]) == 2
        t = [e["t_ns"] for e in v.evidence["ledger"]]
        assert t[1] - t[0] < 2 * NS_PER_HOUR
