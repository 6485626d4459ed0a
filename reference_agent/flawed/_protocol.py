"""The design the trap designs start from: one written from the README's protocol alone.

``examples/durable_design.py`` as a class, one method per part a user might get wrong,
so that each trap (``_module_state``, ``_hash_keys``, ``_import_clock``,
``_mark_done_first``, ``_thread``, ``_unfenced``) swaps exactly one part and is caught
for that part alone. Nothing here knows how ninelives works inside: it uses ``env`` and
the public helpers of ``reference_agent`` (the agents' specs, the proposal parser, the
policy gate), as the README's example does.
"""

from __future__ import annotations

import json
from typing import Any

from simulator import Design, Env, ModelTimeout, ToolError, ToolTimeout

from .._agents import AGENTS
from .._gate import review
from .._proposals import ProposalError, parse_proposal


class ProtocolWorker:
    """One worker: takes every workflow as far as it can, records each step durably."""

    def __init__(self, env: Env) -> None:
        self.env = env

    @classmethod
    def design(cls, name: str, description: str, workers: int = 1) -> Design:
        async def main(env: Env) -> None:
            await cls(env).main()

        main.__qualname__ = main.__name__ = f"{cls.__name__}.main"
        return Design(name=name, main=main, workers=workers, description=description)

    # -- the parts a trap swaps ------------------------------------------------------

    async def load_step(self, wid: str, step: int) -> dict[str, Any] | None:
        return await self.env.store.get("steps", f"{wid}/{step}")

    async def save_step(self, wid: str, step: int, record: dict[str, Any]) -> None:
        async with self.env.store.transaction() as tx:
            tx.put("steps", f"{wid}/{step}", record)

    def key(self, wid: str, step: int) -> str:
        """The idempotency key of a step's call: from the workflow and the step."""
        return f"{wid}/step-{step}"

    async def claim(self, wid: str) -> float | None:
        """``None`` if this worker may run ``wid`` now (one worker: always), else when
        to look again."""
        return None

    async def release(self, wid: str) -> None:
        """``wid`` waits on a timer: let another worker take it meanwhile."""

    async def act(self, wid: str, step: int, record: dict[str, Any]) -> None:
        """Run the recorded call, then record its result."""
        record["result"] = await self.call(record["proposal"], wid, step)
        await self.save_step(wid, step, record)

    # -- the loop ------------------------------------------------------------------------

    async def main(self) -> None:
        env = self.env
        reported: set[str] = set()
        while True:
            timers: list[float] = []
            for wf in await env.tasks.list():
                wid = wf["id"]
                if wid in reported:
                    continue
                done = await env.store.get("done", wid)
                if done is None:
                    busy_until = await self.claim(wid)
                    if busy_until is not None:
                        timers.append(busy_until)  # another worker has it: look again
                        continue
                    done = await self.run(wf)
                if isinstance(done, float):
                    await self.release(wid)
                    timers.append(done)
                    continue
                await env.tasks.complete(wid, done)
                reported.add(wid)
            if not timers:
                return
            await env.clock.sleep(max(0.0, min(timers) - env.clock.now()))

    async def run(self, wf: dict[str, Any]) -> dict[str, Any] | float:
        """Run ``wf`` until it finishes (its outcome) or waits on a timer (when)."""
        env = self.env
        wid, history, step = wf["id"], [], 0
        spec = AGENTS[wf["kind"]]
        while True:
            record = await self.load_step(wid, step)
            if record is None:
                request = {"decision": f"{wid}/step-{step}", "agent": wf["kind"],
                           "workflow": wid, "input": wf["input"], "history": history}
                try:
                    proposal = parse_proposal(await env.model.complete(request, timeout=60))
                except (ModelTimeout, ProposalError):
                    continue
                if review(spec, wf["input"], proposal, history) is not None:
                    continue
                record = {"proposal": proposal.model_dump(mode="json")}
                if proposal.action == "wait":
                    record["wake_at"] = env.clock.now() + proposal.seconds
                await self.save_step(wid, step, record)
            action = record["proposal"]
            if "result" not in record:
                if action["action"] == "finish":
                    async with env.store.transaction() as tx:
                        tx.put("done", wid, action["outcome"])
                    return action["outcome"]  # type: ignore[no-any-return]
                if action["action"] == "wait":
                    if env.clock.now() < record["wake_at"]:
                        return record["wake_at"]  # type: ignore[no-any-return]
                    record["result"] = {"ok": True}
                    await self.save_step(wid, step, record)
                else:
                    await self.act(wid, step, record)
            item: dict[str, Any] = {"step": step, "ok": record["result"]["ok"]}
            if action["action"] == "call":
                item.update(tool=action["tool"], args=action["args"], **{
                    k: v for k, v in record["result"].items() if k in ("response", "error")})
            else:
                item["wait"] = action.get("seconds")
            history.append(item)
            step += 1

    async def call(self, action: dict[str, Any], wid: str, step: int) -> dict[str, Any]:
        """One tool call; a timeout means "unknown": retry with the step's key."""
        delay = 1.0
        while True:
            key = self.key(wid, step)
            try:
                response = await self.env.tools.call(action["tool"], action["args"],
                                                     idempotency_key=key, timeout=10)
                return {"ok": True, "response": response}
            except ToolTimeout:
                pass
            except ToolError as error:
                if error.status not in (409, 429, 503):
                    return {"ok": False, "error": json.loads(json.dumps(error.body))}
            await self.env.clock.sleep(delay)
            delay = min(delay * 2, 60.0)
