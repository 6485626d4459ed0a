"""The checkout agent of ``examples/sdk_agent`` on LangGraph: a model node (langchain-openai's
``ChatOpenAI``, the ``openai`` SDK underneath) and a ``ToolNode`` whose tools charge with
the ``stripe`` SDK and reserve and email through the shop, checkpointed by
``AsyncSqliteSaver`` in the machine's data directory; the worker resumes an unfinished
thread with ``ainvoke(None, config)`` as a LangGraph deployment does.

``design`` keys each charge by the thread id and the tool call's id and checks every call
against the order; ``flawed`` leaves the keys to the stripe SDK (new after a restart) and
passes the model's arguments through. ``exit_mode``, ``async_mode``, ``sync_mode`` (and
``flawed_exit``, ...) are the same graphs run with that ``durability``. docs/frameworks.md.
"""

from __future__ import annotations

try:
    from .agent import make_design
except ModuleNotFoundError as error:  # pragma: no cover - the extra is not installed
    if (error.name or "").split(".")[0] not in ("langgraph", "langchain_core",
                                                "langchain_openai", "openai", "stripe"):
        raise
    raise ModuleNotFoundError(
        f"examples.langgraph_agent needs LangGraph ({error.name} is missing): "
        "pip install 'ninelives[langgraph]'", name=error.name) from None

design = make_design(durability="async", keyed=True)
flawed = make_design(durability="async", keyed=False)
exit_mode = make_design(durability="exit", keyed=True)
async_mode = design
sync_mode = make_design(durability="sync", keyed=True)
flawed_exit = make_design(durability="exit", keyed=False)
flawed_sync = make_design(durability="sync", keyed=False)
