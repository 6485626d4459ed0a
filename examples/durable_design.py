"""A small design written to the ninelives design protocol, from scratch.

It passes all four questions of ``ninelives check examples.durable_design:design``:
state in a durable log, keys derived from workflow and step, the policy gate between the
model and the tools, one call as the resumable unit.
"""

from __future__ import annotations

import json

from reference_agent import AGENTS, ProposalError, parse_proposal, review
from simulator import Design, ModelTimeout, ToolError, ToolTimeout


async def main(env) -> None:
    # Each pass takes every unfinished workflow as far as it can go now, so one waiting
    # on a timer (a subscription waits a month between charges) holds up no other; then
    # sleep until the earliest timer is due.
    reported = set()
    while True:
        timers = []
        for wf in await env.tasks.list():
            wid = wf["id"]
            if wid in reported:
                continue
            done = await env.store.get("done", wid)
            if done is None:
                done = await run(env, wf)
            if isinstance(done, float):  # waiting until then
                timers.append(done)
                continue
            await env.tasks.complete(wid, done)
            reported.add(wid)
        if not timers:
            return
        await env.clock.sleep(max(0.0, min(timers) - env.clock.now()))


async def run(env, wf: dict) -> dict | float:
    """Run ``wf`` until it finishes (its outcome) or waits on a recorded timer (when)."""
    wid, history = wf["id"], []
    spec = AGENTS[wf["kind"]]
    step = 0
    while True:
        record = await env.store.get("steps", f"{wid}/{step}")
        if record is None:  # decide: ask the model, gate the answer, record it
            request = {"decision": f"{wid}/step-{step}", "agent": wf["kind"],
                       "workflow": wid, "input": wf["input"], "history": history}
            try:
                proposal = parse_proposal(await env.model.complete(request, timeout=60))
            except (ModelTimeout, ProposalError):
                continue
            if review(spec, wf["input"], proposal, history) is not None:
                continue  # refused by the policy: ask again
            record = {"proposal": proposal.model_dump(mode="json")}
            if proposal.action == "wait":
                record["wake_at"] = env.clock.now() + proposal.seconds
            async with env.store.transaction() as tx:
                tx.put("steps", f"{wid}/{step}", record)
        action = record["proposal"]
        if "result" not in record:  # act: run the recorded decision, record the result
            if action["action"] == "finish":
                async with env.store.transaction() as tx:
                    tx.put("done", wid, action["outcome"])
                return action["outcome"]
            if action["action"] == "wait":
                if env.clock.now() < record["wake_at"]:
                    return record["wake_at"]
                record["result"] = {"ok": True}
            else:
                record["result"] = await call(env, action, key=f"{wid}/step-{step}")
            async with env.store.transaction() as tx:
                tx.put("steps", f"{wid}/{step}", record)
        item = {"step": step, "ok": record["result"]["ok"]}
        if action["action"] == "call":
            item.update(tool=action["tool"], args=action["args"], **{
                k: v for k, v in record["result"].items() if k in ("response", "error")})
        else:
            item["wait"] = action.get("seconds")
        history.append(item)
        step += 1


async def call(env, action: dict, key: str) -> dict:
    """One tool call; a timeout means "unknown": retry with the SAME key."""
    delay = 1.0
    while True:
        try:
            response = await env.tools.call(action["tool"], action["args"],
                                            idempotency_key=key, timeout=10)
            return {"ok": True, "response": response}
        except ToolTimeout:
            pass
        except ToolError as error:
            if error.status not in (409, 429, 503):
                return {"ok": False, "error": json.loads(json.dumps(error.body))}
        await env.clock.sleep(delay)
        delay = min(delay * 2, 60.0)


design = Design(name="durable-example", main=main)
