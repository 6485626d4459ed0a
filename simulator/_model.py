"""The fake language model: a scripted, seeded policy that is not the same twice.

A scenario supplies a ``ModelPolicy`` that proposes the next action for a request. The
answer for a decision depends on the seed, the decision id and how many answers for that
decision were already *consumed* — so a design that acted on an answer (committed
something after receiving it), crashed, and asks again gets a different (still valid)
answer and diverges. An answer is not consumed if it was malformed, hallucinated, late,
or lost with its process before that process committed anything: such an answer was, as
far as the world can tell, never given — which is what lets a correct design that
records answers promptly resume to exactly the fault-free final state
(``tests/simulator/test_world_model.py``).

Faults (from a hook): ``malformed`` (unparseable text), ``hallucinated`` (the policy's
idea of a plausible but wrong action: an unknown tool, an amount far above the total, an
unknown account), ``slow`` (the answer arrives after ``slow_ms``).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from ._errors import ModelTimeout
from ._json import snapshot
from ._rng import derive_seed
from ._tasks import SimTimeout
from ._time import NS_PER_MS
from ._vocabulary import TraceKind

if TYPE_CHECKING:
    from ._kernel import Kernel
    from ._process import Process


class ModelPolicy(Protocol):
    def propose(self, request: dict[str, Any], rng: random.Random) -> dict[str, Any]:
        """A valid next action for ``request`` (JSON-able dict)."""
        ...

    def hallucinate(self, request: dict[str, Any], action: dict[str, Any],
                    rng: random.Random) -> dict[str, Any]:
        """A well-formed but wrong variant of ``action`` that a policy gate must refuse."""
        ...


class ModelHook(Protocol):
    def model_fate(self, call: int, decision: str, caller: str) -> str | None:
        """``None`` or one of ``malformed``, ``hallucinated``, ``slow``."""
        ...


@dataclass(frozen=True, slots=True)
class ModelAnswer:
    """One answer as chosen when asked: the ``call``-th model call, for ``decision``,
    the ``index``-th answer to it, with its fault (``None``, ``malformed``,
    ``hallucinated``, ``slow``), the proposed ``action``, its ``text`` (what the dialect
    model says: the action's JSON, cut if malformed) and how long it takes to come."""

    call: int
    decision: str
    caller: str
    index: int
    fate: str | None
    action: dict[str, Any]
    text: str
    latency_ns: int


class FakeModel:
    """Answers ``complete`` requests from a policy; counts answers per decision."""

    def __init__(
        self,
        kernel: Kernel,
        policy: ModelPolicy | None,
        hook: ModelHook | None = None,
        *,
        latency_ms_min: float = 200.0,
        latency_ms_max: float = 2_000.0,
        slow_ms: float = 120_000.0,
    ) -> None:
        self.kernel = kernel
        self.policy = policy
        self.hook = hook
        self.calls = 0
        #: answers acted on, per decision: the index of the next answer to that decision
        self.consumed: dict[str, int] = {}
        # process -> decisions answered since that process last committed (a dict, so
        # that one commit consumes one answer per decision however often it was asked)
        self._unacted: dict[str, dict[str, None]] = {}
        self._rng = kernel.rng.stream("model")
        self._lat_min = int(latency_ms_min * NS_PER_MS)
        self._lat_span = int((latency_ms_max - latency_ms_min) * NS_PER_MS)
        self._slow_ns = int(slow_ms * NS_PER_MS)

    def answer_rng(self, decision: str, index: int) -> random.Random:
        return random.Random(derive_seed(self.kernel.seed, f"model:{decision}:{index}"))

    def ask(self, caller: str, request: dict[str, Any]) -> ModelAnswer:
        """A request arrives: choose the answer, its fault and its latency (sans-I/O).

        What ``complete`` does before it waits, for front doors that wait themselves (the
        HTTP doors of ``fakes.wire``). Records ``model.request``; the door reports the
        answer's fate with ``answered`` (it reached the caller) or ``timed_out``.
        """
        if self.policy is None:
            raise RuntimeError("this world has no model policy")
        decision = str(request.get("decision", ""))
        self.calls += 1
        call = self.calls
        fate = self.hook.model_fate(call, decision, caller) if self.hook else None
        # Consumed, not merely delivered: an answer held by a process that has not acted
        # on it yet (a worker frozen before recording it) does not move another asker on
        # to a different answer (tests/simulator/test_world_model.py).
        index = self.consumed.get(decision, 0)
        action = self.policy.propose(request, self.answer_rng(decision, index))
        if fate == "hallucinated":
            action = self.policy.hallucinate(request, action, self.answer_rng(decision, -1))
        text = snapshot(action)  # compact sorted-key JSON, as a model might answer
        if type(text) is bytes:
            text = text.decode()
        if fate == "malformed":
            text = text[: max(1, len(text) // 2)]  # cut mid-token: not JSON any more
        latency = self._lat_min + int(self._rng.random() * self._lat_span)
        if fate == "slow":
            latency += self._slow_ns
        self.kernel.trace.record(caller, TraceKind.MODEL_REQUEST, decision=decision, call=call)
        return ModelAnswer(call, decision, caller, index, fate, action, text, latency)

    def answered(self, answer: ModelAnswer) -> None:
        """The answer reached its caller: it counts as given (``model.answer``)."""
        if answer.fate is None:
            self._unacted.setdefault(answer.caller, {})[answer.decision] = None
        self.kernel.trace.record(answer.caller, TraceKind.MODEL_ANSWER, decision=answer.decision,
                                 call=answer.call, index=answer.index, fault=answer.fate,
                                 action=answer.action if answer.fate != "malformed"
                                 else None)

    def timed_out(self, answer: ModelAnswer) -> None:
        """The caller stopped waiting before the answer came."""
        self.kernel.trace.record(answer.caller, TraceKind.MODEL_TIMEOUT, decision=answer.decision,
                                 call=answer.call)

    async def complete(self, caller: Process, request: dict[str, Any], timeout_ns: int) -> str:
        answer = self.ask(caller.name, request)
        try:
            with self.kernel.fail_after_ns(timeout_ns):
                await self.kernel.sleep_ns(answer.latency_ns)
        except SimTimeout:
            self.timed_out(answer)
            raise ModelTimeout(f"model did not answer within {timeout_ns / 1e9:g} s") from None
        self.answered(answer)
        return answer.text

    def acted(self, process_name: str) -> None:
        """The process committed: answers it received so far are consumed."""
        decisions = self._unacted.pop(process_name, None)
        if decisions:
            consumed = self.consumed
            for decision in decisions:
                consumed[decision] = consumed.get(decision, 0) + 1

    def lost(self, process_name: str) -> None:
        """The process died, or rolled a transaction back: answers it has not acted on
        were never given (it gave up on them before recording anything)."""
        self._unacted.pop(process_name, None)
