"""A complete user scenario in one file, written only against ``ninelives``'s public API.

A team's refund worker calls its own order service: ``orders.refund`` (pays the money
back; honours the caller's ``Idempotency-Key``) and ``orders.close`` (marks the order
done; harmless twice, so it takes no key). The scenario declares that service in a few lines, seeds
three orders, submits one refund workflow each, and checks that no order is refunded
twice, whatever crashes, lost responses and duplicates the swarm plans throw.

Run it (from the repository root)::

    ninelives list --scenario examples.refund_scenario:Refunds
    ninelives run --scenario examples.refund_scenario:Refunds \\
        --design examples.refund_scenario:durable --seeds 50      # passes
    ninelives run --scenario examples.refund_scenario:Refunds \\
        --design examples.refund_scenario:careless --seeds 50     # a double refund

``durable`` sends each refund with a key made of durable facts (the workflow and step),
so a retry after a lost response is recognised; ``careless`` sends none, so the retry
refunds again. ``tests/test_examples_refund.py`` runs both. docs/scenarios.md explains
each part.
"""

from __future__ import annotations

from typing import Any

from ninelives import (
    Design,
    Env,
    FakeService,
    Scenario,
    ToolError,
    ToolTimeout,
    Violation,
    World,
    at_most_once,
    route,
)

# -- the user's own service, as a fake --------------------------------------------------


class Orders(FakeService):
    """The team's order service: orders by id, refunds, closing an order."""

    name = "orders"

    def __init__(self, orders: dict[str, int]) -> None:
        super().__init__()
        self.totals = dict(orders)  # order id -> total in cents
        self.refunded: dict[str, int] = {}
        self.closed: set[str] = set()

    @route(args={"order_id": str})
    def get(self, order_id: str) -> Any:
        if order_id not in self.totals:
            return self.error(404, "not_found", f"no order {order_id}")
        return {"order_id": order_id, "total_cents": self.totals[order_id],
                "refunded_cents": self.refunded.get(order_id, 0),
                "closed": order_id in self.closed}

    @route(effect=True, keyed=True, args={"order_id": str, "amount_cents": int})
    def refund(self, order_id: str, amount_cents: int) -> Any:
        if order_id not in self.totals:
            return self.error(404, "not_found", f"no order {order_id}")
        self.refunded[order_id] = self.refunded.get(order_id, 0) + amount_cents
        return {"order_id": order_id, "refunded_cents": self.refunded[order_id]}

    @route(effect=True, args={"order_id": str})
    def close(self, order_id: str) -> Any:  # closing twice is harmless: no key needed
        self.closed.add(order_id)
        return {"order_id": order_id, "closed": True}


# -- the scenario -----------------------------------------------------------------------


class Refunds(Scenario):
    """Three orders to refund in full; each refunded exactly once."""

    name = "refunds"
    description = "3 orders refunded in full over the team's order service, then closed"
    tools = ("orders.refund", "orders.close")
    keyed_tools = ("orders.refund",)
    invariants = ("at-most-once-orders.refund",)
    fault_window_s = 300.0
    liveness_bound_s = 3600.0

    def build(self, world: World) -> None:
        rng = world.kernel.rng.stream("workload")  # seeded: one seed, one world
        totals = {f"order-{n}": rng.randrange(500, 20_000) for n in range(1, 4)}
        world.services["orders"] = Orders(totals)
        for order_id, total in totals.items():
            world.workflows.submit(f"refund-{order_id}", "refund",
                                   {"order_id": order_id, "amount_cents": total})

    def final_state(self, world: World) -> dict[str, Any]:
        orders: Orders = world.services["orders"]  # type: ignore[assignment]
        return {"refunded": dict(sorted(orders.refunded.items())),
                "closed": sorted(orders.closed),
                "outcomes": dict(sorted(world.workflows.outcomes.items()))}

    def check_safety(self, world: World) -> list[Violation]:
        return at_most_once(world, "orders", "refund", per="order_id")


# -- two versions of the team's worker --------------------------------------------------


async def _worker(env: Env, keyed: bool) -> None:
    for workflow in await env.tasks.list():
        wid, order = workflow["id"], workflow["input"]
        outcome = {"status": "refunded", "order": order["order_id"]}
        if await env.store.get("done", wid) is not None:
            # Done before a crash, perhaps before it was reported: report it (again;
            # the first report counts).
            await env.tasks.complete(wid, outcome)
            continue
        for step, tool, args in (
                ("refund", "orders.refund", {"order_id": order["order_id"],
                                             "amount_cents": order["amount_cents"]}),
                ("close", "orders.close", {"order_id": order["order_id"]})):
            if await env.store.get("steps", f"{wid}/{step}") is not None:
                continue  # done before a crash
            attempt = await env.store.get("attempts", f"{wid}/{step}") or 1
            while True:
                key = f"{wid}/{step}/{attempt}" if keyed and step == "refund" else None
                try:
                    await env.tools.call(tool, args, timeout=10.0, idempotency_key=key)
                    break
                except ToolTimeout:
                    pass  # outcome unknown: the same request (the same key) again
                except ToolError as error:
                    if error.status < 500 and error.status not in (409, 429):
                        raise
                    if error.status >= 500 and key is not None:
                        # The 5xx is stored against the key: look before a new attempt.
                        if await _refunded(env, order["order_id"]):
                            break
                        attempt += 1
                        async with env.store.transaction() as tx:
                            tx.put("attempts", f"{wid}/{step}", attempt)
                await env.clock.sleep(2.0)
            async with env.store.transaction() as tx:
                tx.put("steps", f"{wid}/{step}", True)
        async with env.store.transaction() as tx:
            tx.put("done", wid, True)
        await env.tasks.complete(wid, outcome)


async def _refunded(env: Env, order_id: str) -> bool:
    """Whether the order service already shows the refund (asked until it answers)."""
    while True:
        try:
            order = await env.tools.call("orders.get", {"order_id": order_id}, timeout=10.0)
            return bool(order["refunded_cents"])
        except (ToolTimeout, ToolError):
            await env.clock.sleep(2.0)


async def _durable(env: Env) -> None:
    await _worker(env, keyed=True)


async def _careless(env: Env) -> None:
    await _worker(env, keyed=False)


durable = Design(name="refund-durable", main=_durable,
                 description="refund worker: durable journal, durable idempotency keys")
careless = Design(name="refund-careless", main=_careless,
                  description="refund worker that sends no idempotency key")
