"""``fused``: planner and doer fused — the model's output is executed as it comes.

There is no policy gate between the proposal and the tool: a hallucinated amount, tool
or account goes straight to the service.
"""

from __future__ import annotations

from simulator import Design, Env

from .._worker import Worker


class FusedWorker(Worker):
    use_gate = False  # the flaw


async def fused_main(env: Env) -> None:
    await FusedWorker(env).main()


FUSED = Design(
    name="fused",
    main=fused_main,
    description="model output executed directly: no policy gate between model and tools",
)
