"""``fused``: planner and doer fused — the model's output is executed as it comes.

There is no policy gate between the proposal and the tool: a hallucinated amount, tool
or account goes straight to the service.
"""

from __future__ import annotations

from .._worker import Worker


class FusedWorker(Worker):
    use_gate = False  # the flaw


FUSED = FusedWorker.design(
    "fused",
    "model output executed directly: no policy gate between model and tools",
)
