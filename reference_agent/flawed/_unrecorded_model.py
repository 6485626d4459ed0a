"""``unrecorded-model``: tool results are durable, model answers are not.

After a crash it asks the model again for a decision it had already acted on, gets a
different (equally valid) answer, and does something the first run did not.
"""

from __future__ import annotations

from simulator import Design, Env

from .._worker import Worker


class UnrecordedModelWorker(Worker):
    record_model = False  # the flaw: the decision lives only in memory


async def unrecorded_model_main(env: Env) -> None:
    await UnrecordedModelWorker(env).main()


UNRECORDED_MODEL = Design(
    name="unrecorded-model",
    main=unrecorded_model_main,
    description="durable tool results, but model answers only in memory (re-asked on resume)",
)
