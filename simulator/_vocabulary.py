"""The trace vocabulary: every kind of event a run records, and the fields of each.

Writers (the kernel's processes, the network, the model, the store, the world, the fault
hooks) record ``trace.record(component, TraceKind.X, **fields)`` with exactly the fields
listed here; readers (the invariants, the situations, ``check``, the timelines, replay)
match ``TraceKind`` members and read only those fields. A kind or a field renamed here
and not in a reader would make a verdict wrong without an error, so
``tests/simulator/test_vocabulary.py`` fails on any bare kind string in the sources, on a
``record`` call whose fields differ from this table, on a reader that reads a field its
kinds do not have, and on a run that records anything else.

``TraceKind`` is a ``StrEnum``: a member *is* its string (``TraceKind.CRASH == "crash"``,
same hash, same JSON), so the trace's canonical JSON and hash are what they were when
kinds were bare strings (``tests/test_pinned_behaviour.py``).

Reading a member off the class costs about 100 ns on CPython 3.11 (an enum member is a
descriptor; ``timeit``), five times a string constant: a reader that runs on every event of every
seed (``scenarios/_invariants.py``, ``_situations.py``) binds the members it compares to
module-level names once, and compares against sets built once, not a tuple of members
(which is built anew at each comparison).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType


class PortOp(StrEnum):
    """The kinds of port operation a fault hook (``OpHook.on_op``) sees: one per port
    call of a design. Not trace kinds: a port operation is counted, and may be crashed
    or paused at, before anything is recorded."""

    CLOCK_SLEEP = "clock.sleep"
    MODEL_COMPLETE = "model.complete"
    STORE_COMMIT = "store.commit"
    STORE_GET = "store.get"
    STORE_SCAN = "store.scan"
    TASKS_COMPLETE = "tasks.complete"
    TASKS_LIST = "tasks.list"
    TOOL_CALL = "tool.call"


class TraceKind(StrEnum):
    """What happened. The part before the dot is the family (``tool.``, ``model.``...)."""

    # the process's life (component: the process's name)
    PROCESS_START = "process.start"
    CRASH = "crash"
    PAUSE = "pause"
    RESUME = "resume"
    PROCESS_ERROR = "process.error"
    PROCESS_EXIT = "process.exit"
    FENCED = "fenced"
    # one tool call on the simulated network
    TOOL_REQUEST = "tool.request"
    TOOL_UNKNOWN = "tool.unknown"
    REQUEST_LOST = "request.lost"
    SERVICE_BEGIN = "service.begin"
    SERVICE_DONE = "service.done"
    RESPONSE_LOST = "response.lost"
    TOOL_RESPONSE = "tool.response"
    TOOL_TIMEOUT = "tool.timeout"
    # one model call
    MODEL_REQUEST = "model.request"
    MODEL_TIMEOUT = "model.timeout"
    MODEL_ANSWER = "model.answer"
    # the durable store
    STORE_COMMIT = "store.commit"
    STORE_CONFLICT = "store.conflict"
    STORE_ROLLBACK = "store.rollback"
    # the workload and the run's phases
    WORKFLOW_SUBMIT = "workflow.submit"
    WORKFLOW_COMPLETE = "workflow.complete"
    QUIET = "quiet"
    # the fault injector
    FAULT_FIRED = "fault.fired"


@dataclass(frozen=True)
class EventSpec:
    """Who records one kind of event, and its fields (name -> meaning), all present in
    every event of the kind."""

    component: str
    fields: Mapping[str, str]
    doc: str


_INCARNATION = "the process's life it happened in (1 = first start)"
_REQUEST = "the network's id of the request, unique in the run (1, 2, ...)"
_TOOL = "``service.endpoint`` called"
_STATUS = "the HTTP-like status the service answered (200, 402, 409, 500...)"
_DECISION = "the design's id of the decision asked for (``wf-1/step-0``)"
_MODEL_CALL = "the run's count of model calls, this one included (1, 2, ...)"
_STORE = "the store's name"

_S = EventSpec
TRACE_VOCABULARY: Mapping[TraceKind, EventSpec] = MappingProxyType({
    TraceKind.PROCESS_START: _S("process", {"incarnation": _INCARNATION},
                                "an incarnation started from the design's entry point"),
    TraceKind.CRASH: _S("process", {
        "incarnation": _INCARNATION,
        "reason": "``fault`` (a Crash fault), ``restart`` (Process.restart) or another "
                  "caller's reason",
        "op": "the process's port operations so far, across incarnations"},
        "SIGKILL: the incarnation's tasks never run again"),
    TraceKind.PAUSE: _S("process", {"incarnation": _INCARNATION},
                        "the process stopped being scheduled (a GC pause, a frozen VM)"),
    TraceKind.RESUME: _S("process", {"incarnation": _INCARNATION},
                         "a paused process is scheduled again"),
    TraceKind.PROCESS_ERROR: _S("process", {
        "incarnation": _INCARNATION, "task": "the task's name",
        "error": "``ExceptionType: message``"},
        "an uncaught exception in the design killed the process"),
    TraceKind.PROCESS_EXIT: _S("process", {"incarnation": _INCARNATION},
                               "every task of the incarnation finished on its own"),
    TraceKind.FENCED: _S("process", {
        "incarnation": _INCARNATION,
        "what": "the dropped callback's name (a response, a timer)"},
        "a callback owned by a dead incarnation was dropped (a response to a dead "
        "process)"),
    TraceKind.TOOL_REQUEST: _S("process", {
        "tool": _TOOL, "call": "the run's count of calls of this tool (1, 2, ...)",
        "key": "the idempotency key sent, or null", "request": _REQUEST,
        "args": "the request's arguments"},
        "the process sent a request"),
    TraceKind.TOOL_UNKNOWN: _S("process", {"tool": _TOOL, "request": _REQUEST},
                               "no service of that name: the call fails with 404"),
    TraceKind.REQUEST_LOST: _S("network", {"tool": _TOOL, "request": _REQUEST},
                               "the request was lost: the service never saw it"),
    TraceKind.SERVICE_BEGIN: _S("service", {
        "endpoint": "the endpoint (the part of the tool after the dot)",
        "request": _REQUEST,
        "duplicate": "whether this is a duplicated delivery nobody waits for"},
        "the service received the request"),
    TraceKind.SERVICE_DONE: _S("service", {
        "endpoint": "the endpoint", "request": _REQUEST, "status": _STATUS},
        "the service answered (it acted, if it was going to)"),
    TraceKind.RESPONSE_LOST: _S("network", {
        "tool": _TOOL, "request": _REQUEST, "status": _STATUS},
        "the service's answer was lost on its way back"),
    TraceKind.TOOL_RESPONSE: _S("process", {
        "tool": _TOOL, "request": _REQUEST, "status": _STATUS},
        "the answer reached the process"),
    TraceKind.TOOL_TIMEOUT: _S("process", {"tool": _TOOL, "request": _REQUEST},
                               "the caller stopped waiting: outcome unknown"),
    TraceKind.MODEL_REQUEST: _S("process", {"decision": _DECISION, "call": _MODEL_CALL},
                                "the process asked the model"),
    TraceKind.MODEL_TIMEOUT: _S("process", {"decision": _DECISION, "call": _MODEL_CALL},
                                "the model did not answer in time"),
    TraceKind.MODEL_ANSWER: _S("process", {
        "decision": _DECISION, "call": _MODEL_CALL,
        "index": "answers to this decision consumed before this one (0: the first)",
        "fault": "null, or the ModelFault: ``malformed``, ``hallucinated``, ``slow``",
        "action": "the proposed action, or null when the text was malformed"},
        "the model answered"),
    TraceKind.STORE_COMMIT: _S("process", {
        "store": _STORE, "keys": "``table/key`` of each write, in order"},
        "a transaction with writes committed"),
    TraceKind.STORE_CONFLICT: _S("process", {"store": _STORE},
                                 "a commit was refused: a key it read changed meanwhile"),
    TraceKind.STORE_ROLLBACK: _S("process", {
        "store": _STORE, "error": "the exception type raised inside the transaction"},
        "a transaction rolled back: nothing written"),
    TraceKind.WORKFLOW_SUBMIT: _S("harness", {
        "workflow": "the workflow's id", "kind": "the workflow's kind (``checkout``)"},
        "the scenario submitted a workflow"),
    TraceKind.WORKFLOW_COMPLETE: _S("process", {
        "workflow": "the workflow's id", "outcome": "what the design reported"},
        "a process reported a workflow complete"),
    TraceKind.QUIET: _S("harness", {},
                        "faults stop; paused processes resume, dead ones restart"),
    TraceKind.FAULT_FIRED: _S("faults", {
        "fault": "the fault, as its JSON", "index": "its index in the plan"},
        "a fault of the plan acted"),
})


def trace_fields(kind: str) -> tuple[str, ...]:
    """The fields every event of ``kind`` has, in table order (KeyError: not a kind)."""
    return tuple(TRACE_VOCABULARY[TraceKind(kind)].fields)


def _family(prefix: str) -> frozenset[TraceKind]:
    return frozenset(k for k in TraceKind if k.startswith(prefix))


#: the model's events (each carries ``decision`` and ``call``)
MODEL_KINDS: frozenset[TraceKind] = _family("model.")
#: the events of one tool request, from sending to its fate (each carries ``request``)
REQUEST_KINDS: frozenset[TraceKind] = frozenset(
    k for k, spec in TRACE_VOCABULARY.items() if "request" in spec.fields)
#: a message lost on the network
LOST_KINDS: frozenset[TraceKind] = frozenset({TraceKind.REQUEST_LOST,
                                              TraceKind.RESPONSE_LOST})
#: the durable store's events
STORE_KINDS: frozenset[TraceKind] = _family("store.")
