"""``naive-loop``: the while-loop every agent tutorial starts with; state lives in memory.

It asks the model, runs what the gate allows, keeps the history in a local list. Killed
mid-task, it starts every workflow over from the beginning — and charges again.
"""

from __future__ import annotations

from typing import Any

from simulator import Design, Env, ModelTimeout, ToolError, ToolTimeout

from .._agents import AGENTS
from .._gate import review
from .._proposals import FinishAction, ProposalError, WaitAction, parse_proposal


async def naive_main(env: Env) -> None:
    for workflow in await env.tasks.list():
        wid, spec = workflow["id"], AGENTS[workflow["kind"]]
        history: list[dict[str, Any]] = []
        while True:
            request = {"decision": f"{wid}/step-{len(history)}", "agent": workflow["kind"],
                       "workflow": wid, "input": workflow["input"], "history": history}
            try:
                proposal = parse_proposal(await env.model.complete(request, timeout=60.0))
            except (ModelTimeout, ProposalError):
                continue
            if review(spec, workflow["input"], proposal, history) is not None:
                continue
            if isinstance(proposal, FinishAction):
                await env.tasks.complete(wid, proposal.outcome)
                break
            if isinstance(proposal, WaitAction):
                await env.clock.sleep(proposal.seconds)
                history.append({"step": len(history), "wait": proposal.seconds, "ok": True})
                continue
            item: dict[str, Any] = {"step": len(history), "tool": proposal.tool,
                                    "args": proposal.args}
            try:
                item["response"] = await env.tools.call(proposal.tool, proposal.args,
                                                        timeout=10.0)
                item["ok"] = True
            except ToolTimeout:
                item.update(ok=False, error={"error": {"type": "timeout"}})
            except ToolError as error:
                item.update(ok=False, error=error.body)
            history.append(item)


NAIVE_LOOP = Design(
    name="naive-loop",
    main=naive_main,
    description="while-loop with state in memory: a restart starts every workflow over",
)
