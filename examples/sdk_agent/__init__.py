"""The checkout agent written as a person writes it, with the official ``openai`` and
``stripe`` SDKs: ``naive`` (a first version) and ``durable`` (the fixed one). Both run
unchanged against the real APIs (``python -m examples.sdk_agent.naive``, docs/real-agents.md)
and under ninelives (``ninelives check examples.sdk_agent.naive:design``)."""
