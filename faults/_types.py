"""The fault kinds: what can go wrong, as data.

Each fault is a frozen pydantic model with a ``kind`` tag, so a list of them is a
discriminated union that round-trips through JSON. Faults are addressed by *logical
points* — "the 7th port operation of ``worker``", "the 2nd call of
``payments.charge``", "the 3rd model call" — never by wall or virtual times, so removing
one fault from a plan leaves every other fault pointing at the same place (a time-based
address would drift as soon as one crash changes the schedule). Every knob is a field
whose name carries its unit (``_ms``); nothing is implicit.

Counting rules (the simulator's, restated here because plans depend on them):

- ``at_op`` is 1-based and counts the process's port operations across incarnations
  (``Process.ops``): after a crash at op 7 the restarted process's first operation is 8.
- ``call`` is 1-based and counts calls of one tool name over the whole run, by every
  caller (``Network.calls[tool]``).
- a model ``call`` is 1-based and counts every model call of the run (``FakeModel.calls``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

#: What a ``Delay`` holds up: the request on its way to the service, or the response
#: on its way back (after the service acted).
Leg = Literal["request", "response"]
#: The statuses a ``ServiceError`` can make a service answer.
ErrorStatus = Literal[500, 429]
#: What a ``ModelFault`` does to one model answer.
ModelFaultKind = Literal["malformed", "hallucinated", "slow"]


class _Fault(BaseModel):
    """Common configuration: immutable (safe to share and hash), no unknown fields
    (a misspelt knob in a plan file is an error, not a silently defaulted value)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    def describe(self) -> str:  # pragma: no cover - every kind overrides it
        """One line, for humans (timelines, ``ninelives list``, shrink reports)."""
        raise NotImplementedError


class Crash(_Fault):
    """kill -9 a process as one of its port operations begins, then restart it."""

    kind: Literal["crash"] = "crash"
    #: the process to kill (a name given to ``World.add_process``)
    process: str
    #: the 1-based port operation, counted across incarnations, that never happens
    at_op: int = Field(ge=1)
    #: how long the process stays dead before a supervisor restarts it
    restart_after_ms: int = Field(default=1000, ge=0)
    #: 0 kills the process before the operation happens; more lets the operation start
    #: and kills it this much later — a tool call is then on the wire (in flight)
    after_ms: int = Field(default=0, ge=0)

    def describe(self) -> str:
        when = f"{self.after_ms} ms into op {self.at_op}" if self.after_ms else \
            f"at op {self.at_op}"
        return f"crash {self.process} {when} (restart after {self.restart_after_ms} ms)"


class Pause(_Fault):
    """Freeze a process (GC pause, stopped VM) at a port operation, then resume it.

    The default outlasts a typical lease (30 s), so a paused worker wakes up to find its
    work claimed by another: the zombie-worker case.
    """

    kind: Literal["pause"] = "pause"
    process: str
    #: the 1-based port operation at which the process stops (it runs after the resume)
    at_op: int = Field(ge=1)
    #: how long the process stays frozen
    duration_ms: int = Field(default=60_000, ge=1)

    def describe(self) -> str:
        return f"pause {self.process} at op {self.at_op} for {self.duration_ms} ms"


class _CallFault(_Fault):
    """A fault on one tool call, addressed by tool name and call number."""

    #: each kind narrows this to its literal (declared here so ``kind`` leads in JSON)
    kind: str
    #: ``service.endpoint``, e.g. ``payments.charge``
    tool: str
    #: the 1-based call of ``tool`` in the run
    call: int = Field(ge=1)


class LoseRequest(_CallFault):
    """The request of one tool call never reaches the service (it does not act)."""

    kind: Literal["lose_request"] = "lose_request"

    def describe(self) -> str:
        return f"lose the request of {self.tool} call {self.call}"


class LoseResponse(_CallFault):
    """The service acts on one tool call, but its response never reaches the caller."""

    kind: Literal["lose_response"] = "lose_response"

    def describe(self) -> str:
        return f"lose the response of {self.tool} call {self.call} (the service acted)"


class Delay(_CallFault):
    """Hold up one leg of a tool call, typically past the caller's timeout."""

    kind: Literal["delay"] = "delay"
    #: added to the leg's ordinary network latency
    delay_ms: int = Field(default=30_000, ge=1)
    #: ``request``: the service acts late; ``response``: it acted on time, the answer is late
    leg: Leg = "response"

    def describe(self) -> str:
        return f"delay the {self.leg} of {self.tool} call {self.call} by {self.delay_ms} ms"


class Duplicate(_CallFault):
    """Deliver the request of one tool call twice (a retrying proxy, a replayed packet).

    Only meaningful for keyed tools: without an idempotency key even a correct design
    would act twice, so swarm plans and strategies only target ``FaultSpace.keyed_tools``.
    """

    kind: Literal["duplicate"] = "duplicate"

    def describe(self) -> str:
        return f"deliver the request of {self.tool} call {self.call} twice"


class ServiceError(_CallFault):
    """The service answers one tool call with an error: 500 (stored under the
    idempotency key, like Stripe) or 429 (rejected before executing, never stored)."""

    kind: Literal["service_error"] = "service_error"
    #: the HTTP status the service answers with
    status: ErrorStatus = 500

    def describe(self) -> str:
        return f"{self.tool} call {self.call} answers HTTP {self.status}"


class ModelFault(_Fault):
    """One model answer is malformed (not JSON), hallucinated (well-formed but wrong:
    an unknown tool, an absurd amount) or slow (late past a typical timeout)."""

    kind: Literal["model_fault"] = "model_fault"
    #: the 1-based model call in the run
    call: int = Field(ge=1)
    fault: ModelFaultKind = "malformed"

    def describe(self) -> str:
        return f"model call {self.call} is {self.fault}"


class ClockJump(_Fault):
    """A process's clock jumps (NTP step, VM migration) from one port operation on.

    The jump is cumulative and survives restarts (it is the host's clock, not the
    process's memory). Negative ``jump_ms`` moves the clock back.
    """

    kind: Literal["clock_jump"] = "clock_jump"
    process: str
    #: the 1-based port operation from which the process's clock reads differently
    at_op: int = Field(ge=1)
    #: how far the clock jumps; negative jumps go back in time
    jump_ms: int = 3_600_000

    def describe(self) -> str:
        sign = "+" if self.jump_ms >= 0 else ""
        return f"clock of {self.process} jumps {sign}{self.jump_ms} ms at op {self.at_op}"


#: Any fault; pydantic picks the class by the ``kind`` tag.
Fault = Annotated[
    Crash | Pause | LoseRequest | LoseResponse | Delay | Duplicate | ServiceError
    | ModelFault | ClockJump,
    Field(discriminator="kind"),
]

#: Faults that act on a process at one of its port operations.
ProcessFault = Crash | Pause | ClockJump
#: Faults that act on one tool call.
CallFault = LoseRequest | LoseResponse | Delay | Duplicate | ServiceError


@dataclass(frozen=True, slots=True)
class FaultKind:
    """One entry of the registry: the ``kind`` tag, its model, a one-line summary."""

    kind: str
    model: type[_Fault]
    summary: str


_MODELS: tuple[type[_Fault], ...] = (
    Crash, Pause, LoseRequest, LoseResponse, Delay, Duplicate, ServiceError, ModelFault,
    ClockJump,
)


def _summary(model: type[_Fault]) -> str:
    doc = model.__doc__ or ""
    first = doc.strip().split("\n\n", 1)[0]
    return " ".join(first.split())


_KINDS: tuple[FaultKind, ...] = tuple(
    FaultKind(m.model_fields["kind"].default, m, _summary(m)) for m in _MODELS
)


def kinds() -> list[FaultKind]:
    """Every fault kind, in a stable order, with a one-line summary (``ninelives list``)."""
    return list(_KINDS)


def kind_names() -> list[str]:
    """The ``kind`` tags, in the same order as ``kinds()``."""
    return [k.kind for k in _KINDS]
