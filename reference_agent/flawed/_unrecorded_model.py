"""``unrecorded-model``: tool results are durable, model answers are not.

After a crash it asks the model again for a decision it had already acted on, gets a
different (equally valid) answer, and does something the first run did not.
"""

from __future__ import annotations

from .._worker import Worker


class UnrecordedModelWorker(Worker):
    record_model = False  # the flaw: the decision lives only in memory


UNRECORDED_MODEL = UnrecordedModelWorker.design(
    "unrecorded-model",
    "durable tool results, but model answers only in memory (re-asked on resume)",
)
