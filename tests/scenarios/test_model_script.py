"""``ModelScript`` (the public model-script API): a conversation read back from the fake
model's request, one of several valid next turns picked with the seeded stream, and a
hallucinated turn an executor must refuse. The built-in ``checkout`` script is written
on it, so ``tests/test_pinned_behaviour.py`` (dialect) and
``tests/examples/test_sdk_agent.py`` (OpenAI over HTTP) show it unchanged in behaviour."""

from __future__ import annotations

import random
from typing import Any

import pytest

from ninelives import Conversation, ModelScript, ToolResult, call, finish

REQUEST: dict[str, Any] = {
    "decision": "conv-1",
    "input": {"order_id": "order-1", "skus": ["a", "b"]},
    "history": [
        {"step": 0, "tool": "inventory.reserve", "args": {"sku": "a"}, "ok": True,
         "response": {"reserved": 1}},
        {"step": 1, "tool": "payments.charge", "args": {"amount_cents": 5}, "ok": False,
         "error": {"status": 402}},
    ],
}


class Reserve(ModelScript):
    """Reserve every sku not yet reserved, in any order, then finish."""

    def next_turn(self, conversation: Conversation,
                  rng: random.Random) -> list[dict[str, Any]] | dict[str, Any]:
        todo = [call("inventory.reserve", sku=sku) for sku in conversation.input["skus"]
                if not conversation.succeeded("inventory.reserve", sku=sku)]
        return todo or finish(status="reserved")


def test_the_conversation_reads_back_each_call_and_its_result() -> None:
    conversation = Conversation.of(REQUEST)
    assert conversation.input == {"order_id": "order-1", "skus": ["a", "b"]}
    assert conversation.decision == "conv-1"
    assert conversation.results == (
        ToolResult("inventory.reserve", {"sku": "a"}, True, {"reserved": 1}),
        ToolResult("payments.charge", {"amount_cents": 5}, False, {"status": 402}))
    assert conversation.succeeded("inventory.reserve", sku="a")
    assert not conversation.succeeded("inventory.reserve", sku="b")
    assert conversation.failed("payments.charge")
    assert not conversation.succeeded("payments.charge")
    assert conversation.last("payments.charge") == conversation.results[1]
    assert conversation.last("email.send") is None


def test_one_of_several_valid_turns_is_picked_by_the_seeded_stream() -> None:
    script = Reserve()
    request = {"decision": "d", "input": {"skus": ["a", "b", "c"]}, "history": []}
    picks = [script.propose(request, random.Random(seed))["args"]["sku"]
             for seed in range(40)]
    # the same stream, the same pick; over seeds, every valid step is taken
    assert picks == [script.propose(request, random.Random(seed))["args"]["sku"]
                     for seed in range(40)]
    assert set(picks) == {"a", "b", "c"}


def test_a_single_turn_is_returned_as_is() -> None:
    request = {"decision": "d", "input": {"skus": ["a"]}, "history": [
        {"tool": "inventory.reserve", "args": {"sku": "a"}, "ok": True, "response": {}}]}
    assert Reserve().propose(request, random.Random(0)) == {
        "action": "finish", "outcome": {"status": "reserved"}}


def test_the_default_wrong_turn_calls_a_tool_never_offered() -> None:
    proposed = call("inventory.reserve", sku="a")
    wrong = Reserve().hallucinate(REQUEST, proposed, random.Random(0))
    assert wrong["action"] == "call"
    assert wrong["tool"].startswith("inventory.") and wrong["tool"] != proposed["tool"]
    assert wrong["args"] == {"sku": "a"}


def test_a_script_that_offers_nothing_says_so() -> None:
    class Empty(ModelScript):
        def next_turn(self, conversation: Conversation,
                      rng: random.Random) -> list[dict[str, Any]]:
            return []

    with pytest.raises(ValueError, match=r"Empty\.next_turn offered no turn"):
        Empty().propose(REQUEST, random.Random(0))
    with pytest.raises(NotImplementedError, match="does not define next_turn"):
        ModelScript().propose(REQUEST, random.Random(0))
