"""The orchestrator is pure: ``fold`` rebuilds a workflow's state from its log entries
and ``decide`` picks the next step from that state alone - same entries, same decision;
no environment, no kernel, no clock, no randomness, no I/O. That is what makes resuming
after a crash safe: the restarted worker decides exactly what the dead one would have."""

from __future__ import annotations

import builtins
import copy
import random
import socket
import time
from typing import Any

import pytest

from reference_agent import AGENTS, CallAction, decide, fold
from reference_agent._agents import AgentSpec
from reference_agent._orchestrator import AskModel, Execute, Finish, Sleep
from simulator import KernelError, current_kernel

WF = "checkout-1"
CHARGE = {"action": "call", "tool": "payments.charge",
          "args": {"customer": "cus_1", "amount_cents": 4_300, "currency": "usd"}}
RESERVE = {"action": "call", "tool": "inventory.reserve",
           "args": {"order_id": "order-1", "sku": "sku-mug", "quantity": 2}}
WAIT = {"action": "wait", "seconds": 2_592_000.0}
FINISH = {"action": "finish", "outcome": {"status": "paid", "order": "order-1"}}


def key(step: int, entry: str) -> str:
    return f"{WF}/{step:04d}/{entry}"


def ok(action: dict[str, Any]) -> dict[str, Any]:
    return {"ok": True, "response": {"id": "x"}, "action": action}


CASES: list[tuple[str, list[tuple[str, Any]], Any]] = [
    ("empty log: ask for step 0", [], AskModel(0, f"{WF}/step-0")),
    ("recorded decision: execute it",
     [(key(0, "decision"), {"proposal": CHARGE})],
     Execute(0, CallAction.model_validate(CHARGE))),
    ("attempt recorded, no result: execute it again (same step)",
     [(key(0, "attempt-001"), {"n": 1, "key": f"{WF}/step-0/a1", "first_sent_at": 1.0}),
      (key(0, "decision"), {"proposal": CHARGE})],
     Execute(0, CallAction.model_validate(CHARGE))),
    ("step done: ask for the next",
     [(key(0, "decision"), {"proposal": CHARGE}), (key(0, "result"), ok(CHARGE))],
     AskModel(1, f"{WF}/step-1")),
    ("refused proposals only: ask again for the same step",
     [(key(0, "rejected-001"), {"reason": "no", "answer": "{"}),
      (key(0, "rejected-002"), {"reason": "no", "answer": "{"})],
     AskModel(0, f"{WF}/step-0")),
    ("a durable timer", [(key(0, "decision"), {"proposal": WAIT, "wake_at": 99.5})],
     Sleep(0, 99.5, WAIT)),
    ("finish",
     [(key(0, "decision"), {"proposal": RESERVE}), (key(0, "result"), ok(RESERVE)),
      (key(1, "decision"), {"proposal": FINISH})],
     Finish(1, "done", FINISH["outcome"])),
]


@pytest.mark.parametrize(("name", "entries", "expected"), CASES, ids=[c[0] for c in CASES])
def test_decide_from_the_log(name: str, entries: list[tuple[str, Any]], expected: Any) -> None:
    entries = sorted(entries)  # the store scans in key order
    assert decide(fold(WF, entries), AGENTS["checkout"]) == expected


def test_too_many_refusals_fail_the_workflow() -> None:
    spec = AgentSpec(kind="checkout", tools=frozenset(), max_rejections=2)
    entries = [(key(0, f"rejected-{n:03d}"), {"reason": "no", "answer": ""}) for n in (1, 2)]
    decision = decide(fold(WF, entries), spec)
    assert isinstance(decision, Finish) and decision.status == "failed"
    assert decide(fold(WF, entries[:1]), spec) == AskModel(0, f"{WF}/step-0")


def test_fold_collects_attempts_and_intents_in_log_order() -> None:
    entries = sorted([
        (key(0, "decision"), {"proposal": CHARGE}),
        (key(0, "attempt-001"), {"n": 1, "key": f"{WF}/step-0/a1", "first_sent_at": 1.0}),
        (key(0, "attempt-002"), {"n": 2, "key": f"{WF}/step-0/a2", "first_sent_at": 9.0}),
        (key(0, "intent-001"), {"at": 3.0}),
    ])
    state = fold(WF, entries)
    assert [a["key"] for a in state.steps[0].attempts] == [f"{WF}/step-0/a1", f"{WF}/step-0/a2"]
    assert state.steps[0].intents == [{"at": 3.0}]
    assert state.steps[0].result is None


def _forbid(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the orchestrator did I/O, read a clock or drew randomness")

    for mod, name in [(time, "time"), (time, "monotonic"), (time, "time_ns"),
                      (time, "perf_counter"), (random, "random"), (random, "choice"),
                      (random.Random, "random"), (builtins, "open"), (socket, "socket")]:
        monkeypatch.setattr(mod, name, boom)


@pytest.mark.parametrize(("name", "entries", "expected"), CASES, ids=[c[0] for c in CASES])
def test_fold_and_decide_are_pure(name: str, entries: list[tuple[str, Any]], expected: Any,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    entries = sorted(entries)
    frozen = copy.deepcopy(entries)
    # No simulated run, no env: there is nothing to do I/O with...
    with pytest.raises(KernelError):
        current_kernel()
    # ...and clocks, randomness, files and sockets all raise if touched.
    _forbid(monkeypatch)
    first = decide(fold(WF, entries), AGENTS["checkout"])
    second = decide(fold(WF, copy.deepcopy(entries)), AGENTS["checkout"])
    monkeypatch.undo()
    assert first == second == expected
    assert entries == frozen  # the log it was handed is untouched
