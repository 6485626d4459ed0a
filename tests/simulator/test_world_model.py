"""The fake model in a real ``World``: an answer that was acted on is consumed, so asking
the same decision again gets the next answer (which, for the checkout policy, can be a
different valid step); an answer that was never acted on - lost with its process before
it committed, malformed, hallucinated, or still held by a live process that has not
committed - is not consumed, so the next ask gets the same answer again."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from faults import Crash, FaultPlan, ModelFault, PlanHooks
from scenarios.checkout import CheckoutPolicy
from simulator import Env, World, derive_seed

DECISION = "checkout-1/step-0"
ORDER = {"order_id": "order-1", "customer": "cus_1", "email": "a@example.com",
         "currency": "usd", "total_cents": 4_300,
         "items": [{"sku": "sku-mug", "quantity": 2}, {"sku": "sku-tee", "quantity": 1}]}
REQUEST = {"decision": DECISION, "agent": "checkout", "workflow": "checkout-1",
           "input": ORDER, "history": []}


def answer(seed: int, index: int) -> dict[str, Any]:
    """What the policy answers for DECISION as its ``index``-th answer under ``seed``."""
    rng = random.Random(derive_seed(seed, f"model:{DECISION}:{index}"))
    return CheckoutPolicy().propose(REQUEST, rng)


def diverging_seed() -> int:
    """A seed whose first and second answers differ (three valid first steps)."""
    return next(s for s in range(100) if answer(s, 0) != answer(s, 1))


def run(mains: dict[str, Any], faults: list[Any], seed: int) -> World:
    hooks = PlanHooks(FaultPlan(faults=faults)) if faults else None
    world = World(seed, hooks=hooks, policy=CheckoutPolicy())
    for name, main in mains.items():
        world.add_process(name, main)
    assert world.run(fault_window_s=600.0, liveness_bound_s=600.0)
    return world


def answers_in_trace(world: World) -> list[tuple[str, int, str | None]]:
    return [(c, d["index"], d["fault"]) for _, c, k, d in world.kernel.trace.raw()
            if k == "model.answer"]


@pytest.mark.parametrize(("first_fault", "indexes"), [
    (None, [0, 1]),             # acted on (committed after it): the re-ask moves on
    ("malformed", [0, 0]),      # never a usable answer: not consumed
    ("hallucinated", [0, 0]),
])
def test_reask_after_acting_gets_the_next_answer(first_fault: str | None,
                                                 indexes: list[int]) -> None:
    seed = diverging_seed()
    texts: list[str] = []

    async def main(env: Env) -> None:
        texts.append(await env.model.complete(REQUEST))
        async with env.store.transaction() as tx:  # act on it
            tx.put("log", "step-0", {"answer": texts[-1]})
        texts.append(await env.model.complete(REQUEST))

    faults = [] if first_fault is None else [ModelFault(call=1, fault=first_fault)]
    world = run({"worker": main}, faults, seed)
    assert [i for _, i, _ in answers_in_trace(world)] == indexes
    assert json.loads(texts[1]) == answer(seed, indexes[1])
    if first_fault is None:
        # the checkout policy really does diverge on the re-ask
        assert json.loads(texts[0]) != json.loads(texts[1])
        assert world.model.consumed == {DECISION: 1}  # the second is not acted on


def test_answer_lost_to_a_crash_before_any_commit_is_not_consumed() -> None:
    seed = diverging_seed()
    got: list[tuple[int, dict[str, Any]]] = []

    async def main(env: Env) -> None:
        text = await env.model.complete(REQUEST)  # op 1 (op 3 after the restart)
        got.append((env.incarnation, json.loads(text)))
        async with env.store.transaction() as tx:  # op 2: killed here, first time
            tx.put("log", "step-0", {"answer": text})

    world = run({"worker": main}, [Crash(process="worker", at_op=2)], seed)
    assert world.processes["worker"].crashes == 1
    # Asked twice, answered the same: the first answer was never acted on.
    assert got == [(1, answer(seed, 0)), (2, answer(seed, 0))]
    assert [i for _, i, _ in answers_in_trace(world)] == [0, 0]
    assert json.loads(world.store.dump()["log"]["step-0"]["answer"]) == answer(seed, 0)


def test_answer_held_by_a_live_process_that_has_not_acted_is_not_consumed() -> None:
    # "a" gets an answer and sits on it (a worker frozen before recording it); "b" asks
    # meanwhile and must get the same answer, not the next one. Once "a" commits, the
    # answer is consumed and b's next ask moves on.
    seed = diverging_seed()

    async def a(env: Env) -> None:
        await env.model.complete(REQUEST)
        await env.clock.sleep(100.0)
        async with env.store.transaction() as tx:
            tx.put("log", "a", 1)

    async def b(env: Env) -> None:
        await env.clock.sleep(10.0)
        await env.model.complete(REQUEST)
        await env.clock.sleep(200.0)
        await env.model.complete(REQUEST)

    world = run({"a": a, "b": b}, [], seed)
    assert answers_in_trace(world) == [("a", 0, None), ("b", 0, None), ("b", 1, None)]


class Fenced(Exception):
    """What a design raises inside a transaction when its lease is gone."""


def test_answer_given_up_in_a_rolled_back_transaction_is_not_consumed() -> None:
    # "a" gets an answer, tries to record it and gives up (its transaction raises: the
    # fencing check failed), then commits something else. It never acted on the
    # answer, so "b" asking afterwards gets the same answer, not the next one.
    seed = diverging_seed()

    async def a(env: Env) -> None:
        await env.model.complete(REQUEST)
        try:
            async with env.store.transaction() as tx:
                tx.put("log", "a", "the answer")
                raise Fenced
        except Fenced:
            pass
        async with env.store.transaction() as tx:  # e.g. claiming another workflow
            tx.put("log", "other", 1)

    async def b(env: Env) -> None:
        await env.clock.sleep(100.0)
        await env.model.complete(REQUEST)

    world = run({"a": a, "b": b}, [], seed)
    assert answers_in_trace(world) == [("a", 0, None), ("b", 0, None)]
    assert "log" in world.store.dump() and "a" not in world.store.dump()["log"]
    rollbacks = [(c, d["error"]) for _, c, k, d in world.kernel.trace.raw()
                 if k == "store.rollback"]
    assert rollbacks == [("a", "Fenced")]
