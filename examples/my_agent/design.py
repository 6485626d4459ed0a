"""An example user design: a checkout agent, written the way ninelives expects one.

This is "your" code in the pytest examples (``examples/test_my_agent.py``): a worker
that runs the ``checkout`` scenario's workflows (charge the order total, reserve each
item, email a receipt) through the ports it is handed, ``env.tools``, ``env.store``,
``env.clock`` and ``env.tasks``. It keeps the two rules that let such a worker be killed at
any instant and restarted:

1. Every step's result is written to durable storage before the next step starts, and a
   restarted worker reads the results back instead of doing the steps again.
2. Every side-effecting call carries an idempotency key made of durable facts (the
   workflow id, the step name and a durably recorded attempt number), so a retry after a
   timeout or a crash is recognised by the service as the same request.

For brevity it does not consult a model (its steps are fixed) and runs as a single
worker (two workers would need leases; see ``reference_agent``). Point the ninelives
marker at it with ``design="my_agent.design:design"``.

``design_with_random_keys`` is the same worker with rule 2 broken (a fresh UUID per
request, the classic mistake); the example tests show ninelives catching it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from simulator import Design, Env, ToolError, ToolTimeout

TIMEOUT_S = 10.0
#: retry statuses after which the same request may simply be sent again
RETRY_SAME_KEY = frozenset({409, 429, 502, 503, 504})

KeyFn = Callable[[str, str, int], str]


def durable_key(workflow_id: str, step: str, attempt: int) -> str:
    """The same key for the same step and attempt, in every incarnation of the worker."""
    return f"{workflow_id}/{step}/attempt-{attempt}"


def random_key(workflow_id: str, step: str, attempt: int) -> str:
    """The classic mistake: a new key for every request, so a retry is a new charge."""
    return str(uuid.uuid4())


def checkout_steps(order: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(step name, tool, arguments) for one order, in the order they run."""
    steps = [("charge", "payments.charge", {
        "customer": order["customer"], "amount_cents": order["total_cents"],
        "currency": order["currency"],
        # durable facts the charge can be found by (see ``_already_charged``)
        "metadata": {"order": order["order_id"]}})]
    for item in order["items"]:
        steps.append((f"reserve-{item['sku']}", "inventory.reserve", {
            "order_id": order["order_id"], "sku": item["sku"],
            "quantity": item["quantity"]}))
    steps.append(("receipt", "email.send", {
        "to": order["email"], "subject": f"Receipt for {order['order_id']}",
        "body": f"We charged {order['total_cents'] / 100:.2f} "
                f"{order['currency'].upper()}. Thank you!"}))
    return steps


class CheckoutWorker:
    def __init__(self, env: Env, key: KeyFn) -> None:
        self.env = env
        self.key = key

    async def main(self) -> None:
        for workflow in await self.env.tasks.list():
            if workflow["kind"] != "checkout":
                continue
            wid = workflow["id"]
            done = await self.env.store.get("outcomes", wid)
            if done is None:
                done = {"outcome": await self.checkout(wid, workflow["input"]),
                        "reported": False}
                await self._put("outcomes", wid, done)
            if not done["reported"]:
                # Reporting twice (after a crash right here) is harmless: the first
                # report of a workflow's outcome is the one that counts.
                await self.env.tasks.complete(wid, done["outcome"])
                await self._put("outcomes", wid, {**done, "reported": True})

    async def checkout(self, wid: str, order: dict[str, Any]) -> dict[str, Any]:
        for name, tool, args in checkout_steps(order):
            result = await self.step(wid, name, tool, args)
            if not result["ok"]:
                # Only a business refusal gets here (a declined card); nothing after
                # the charge runs for an unpaid order.
                return {"status": "declined", "order": order["order_id"]}
        return {"status": "paid", "order": order["order_id"],
                "charged_cents": order["total_cents"]}

    async def step(self, wid: str, name: str, tool: str,
                   args: dict[str, Any]) -> dict[str, Any]:
        """Run one step to a definite result, once, and record it durably."""
        journal_key = f"{wid}/{name}"
        recorded = await self.env.store.get("journal", journal_key)
        if recorded is not None:
            return recorded  # done before a crash: do not do it again
        attempt = await self.env.store.get("attempts", journal_key) or 1
        retry = 0
        while True:
            try:
                response = await self.env.tools.call(
                    tool, args, idempotency_key=self.key(wid, name, attempt),
                    timeout=TIMEOUT_S)
                result = {"ok": True, "response": response}
                break
            except ToolTimeout:
                pass  # outcome unknown: send the same request (same key) again
            except ToolError as error:
                if error.status >= 500:
                    # The service stored this error against the key, so the same key
                    # would only replay it. Make sure nothing happened, then move on to
                    # a new attempt number, recorded before it is used.
                    charged = (await self._already_charged(args)
                               if tool == "payments.charge" else False)
                    if charged:
                        result = {"ok": True, "response": {"reconciled": True}}
                        break
                    if charged is False:
                        attempt += 1
                        await self._put("attempts", journal_key, attempt)
                    # charged is None (cannot tell yet): same key, ask again later
                elif error.status not in RETRY_SAME_KEY:
                    result = {"ok": False, "status": error.status}  # e.g. card declined
                    break
            retry += 1
            await self.env.clock.sleep(min(60.0, 2.0 ** retry))  # capped backoff
        await self._put("journal", journal_key, result)
        return result

    async def _already_charged(self, args: dict[str, Any]) -> bool | None:
        """Whether a charge for this order exists; None when the search failed."""
        try:
            found = await self.env.tools.call("payments.search", {
                "metadata": args["metadata"]}, timeout=TIMEOUT_S)
        except (ToolTimeout, ToolError):
            return None
        return any(c.get("status") == "succeeded" for c in found.get("data", []))

    async def _put(self, table: str, key: str, value: Any) -> None:
        async with self.env.store.transaction() as tx:
            tx.put(table, key, value)


async def main(env: Env) -> None:
    """The worker's entry point: ``async def main(env)``."""
    await CheckoutWorker(env, durable_key).main()


async def main_with_random_keys(env: Env) -> None:
    await CheckoutWorker(env, random_key).main()


design = Design(name="my-agent", main=main,
                description="example checkout worker: durable journal, durable keys")
design_with_random_keys = Design(name="my-agent-random-keys", main=main_with_random_keys,
                                 description="the example worker with a fresh UUID per "
                                             "request")
