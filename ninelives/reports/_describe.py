"""Reading a trace in words: which events matter, what each one says, and which ones a
violation's evidence points at.

Shared by the terminal timeline (``_terminal``) and the HTML timeline (``_html``), so the
two always tell the same story.
"""

from __future__ import annotations

import json
from typing import Any

from faults import FaultPlan
from scenarios import Violation, clip, one_line
from simulator import MODEL_KINDS, REQUEST_KINDS, RawEvent, TraceKind

K = TraceKind

#: trace event kinds shown in the terminal timeline (and in the HTML by default):
#: decisions, tool calls, faults, crashes and restarts, lost messages, completions.
KEY_KINDS: frozenset[str] = frozenset({
    K.MODEL_ANSWER, K.MODEL_TIMEOUT, K.TOOL_REQUEST, K.TOOL_RESPONSE, K.TOOL_TIMEOUT,
    K.FAULT_FIRED, K.CRASH, K.PROCESS_START, K.PROCESS_ERROR, K.PAUSE, K.RESUME,
    K.RESPONSE_LOST, K.REQUEST_LOST, K.STORE_CONFLICT, K.STORE_ROLLBACK, K.FENCED,
    K.WORKFLOW_COMPLETE,
})
#: kinds whose events a violation naming their time points at
_AT_A_NAMED_TIME: frozenset[str] = frozenset({
    K.SERVICE_DONE, K.MODEL_REQUEST, K.MODEL_ANSWER, K.TOOL_REQUEST, K.WORKFLOW_COMPLETE})


def _compact(value: Any, depth: int) -> str:
    if isinstance(value, dict):
        if depth >= 4:
            return "{…}"
        return "{" + ", ".join(f"{k}: {_compact(v, depth + 1)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        if depth >= 4 and not (len(value) <= 3 and all(
                isinstance(v, str | int | float | bool) or v is None for v in value)):
            return f"[{len(value)} items]"
        items = [_compact(v, depth + 1) for v in value[:2]]
        if len(value) > 2:
            items.append(f"+{len(value) - 2} more")
        return "[" + ", ".join(items) + "]"
    if isinstance(value, str):
        return value if len(value) <= 24 else value[:12] + "…"
    return json.dumps(value)


def compact(evidence: dict[str, Any], limit: int = 220) -> str:
    """Evidence on one line: nested structures abridged, long strings cut."""
    if not evidence:
        return "(none)"
    return clip(_compact(evidence, 0)[1:-1], limit)


def describe(event: RawEvent, plan: FaultPlan) -> str:
    """One event in words."""
    _t, _component, kind, d = event
    if kind == K.MODEL_ANSWER:
        action = d.get("action") or {}
        fault = f" [{d['fault']} answer]" if d.get("fault") else ""
        if action.get("action") == "call":
            what = f"call {action.get('tool')} {one_line(action.get('args', {}), 70)}"
        elif action.get("action") == "finish":
            what = f"finish {one_line(action.get('outcome', {}), 70)}"
        elif action:
            what = one_line(action, 80)
        else:
            what = one_line({k: v for k, v in d.items() if k not in ("decision", "call")}, 80)
        return f"decision {d.get('decision')} (model call {d.get('call')}): {what}{fault}"
    if kind == K.MODEL_REQUEST:
        return f"ask the model: decision {d.get('decision')} (model call {d.get('call')})"
    if kind == K.MODEL_TIMEOUT:
        return f"model timed out on decision {d.get('decision')}"
    if kind == K.TOOL_REQUEST:
        key = d.get("key")
        return (f"{d.get('tool')} call {d.get('call')} (request {d.get('request')}) "
                f"key={key if key is not None else 'NONE'} {one_line(d.get('args', {}), 60)}")
    if kind == K.TOOL_RESPONSE:
        return f"{d.get('tool')} (request {d.get('request')}) answered {d.get('status')}"
    if kind == K.TOOL_TIMEOUT:
        return f"{d.get('tool')} (request {d.get('request')}) timed out: outcome unknown"
    if kind == K.FAULT_FIRED:
        index = d.get("index")
        if isinstance(index, int) and 0 <= index < len(plan.faults):
            return f"fault #{index}: {plan.faults[index].describe()}"
        return f"fault {one_line(d.get('fault'), 80)}"
    if kind == K.CRASH:
        return (f"killed (incarnation {d.get('incarnation')}, at op {d.get('op')}, "
                f"{d.get('reason')})")
    if kind == K.PROCESS_START:
        n = d.get("incarnation", 1)
        return "started" if n == 1 else f"restarted (incarnation {n})"
    if kind == K.PROCESS_EXIT:
        return f"exited (incarnation {d.get('incarnation')})"
    if kind == K.PROCESS_ERROR:
        return f"raised {one_line({k: v for k, v in d.items()}, 100)}"
    if kind == K.RESPONSE_LOST:
        return (f"response of {d.get('tool')} (request {d.get('request')}) lost "
                f"after the service answered {d.get('status')}")
    if kind == K.REQUEST_LOST:
        return f"request of {d.get('tool')} (request {d.get('request')}) lost: service never saw it"
    if kind == K.WORKFLOW_COMPLETE:
        return f"{d.get('workflow')} complete: {one_line(d.get('outcome', {}), 70)}"
    if kind == K.WORKFLOW_SUBMIT:
        return f"submit {d.get('workflow')} ({d.get('kind')})"
    if kind == K.SERVICE_BEGIN:
        dup = " (duplicate delivery)" if d.get("duplicate") else ""
        return f"{d.get('endpoint')} begins (request {d.get('request')}){dup}"
    if kind == K.SERVICE_DONE:
        return f"{d.get('endpoint')} done (request {d.get('request')}) → {d.get('status')}"
    if kind == K.STORE_COMMIT:
        return f"commit {one_line(d.get('keys', []), 80)}"
    if kind == K.STORE_CONFLICT:
        return "commit refused: a key it read changed meanwhile (nothing written)"
    if kind == K.STORE_ROLLBACK:
        return f"transaction rolled back: {d.get('error')} raised inside it (nothing written)"
    if kind == K.QUIET:
        return "faults stop: quiet phase (dead processes restarted)"
    return one_line(d, 100) if d else ""


def _leaves(value: Any, key: str = "") -> list[tuple[str, Any]]:
    if isinstance(value, dict):
        return [leaf for k, v in value.items() for leaf in _leaves(v, str(k))]
    if isinstance(value, list | tuple):
        return [leaf for v in value for leaf in _leaves(v, key)]
    return [(key, value)]


def implicated(events: list[RawEvent], violations: list[Violation]) -> set[int]:
    """Indexes of the events a violation's evidence points at: events at a time the
    evidence names (``*t_ns``), tool requests carrying a key it names (and everything of
    those requests: the service acting, the response, its loss), model events of a
    decision it names."""
    times: set[int] = set()
    names: set[str] = set()
    for v in violations:
        for key, value in _leaves(v.evidence):
            if key.endswith("t_ns") and isinstance(value, int):
                times.add(value)
            elif isinstance(value, str) and len(value) >= 6:
                names.add(value)
    hit: set[int] = set()
    requests: set[Any] = set()
    for i, (t, component, kind, d) in enumerate(events):
        if component in ("harness", "faults"):
            continue
        if kind == K.TOOL_REQUEST and d.get("key") in names:
            hit.add(i)
            requests.add(d.get("request"))
        elif kind in MODEL_KINDS and d.get("decision") in names:
            hit.add(i)
        elif t in times and kind in _AT_A_NAMED_TIME:
            hit.add(i)
            if kind in REQUEST_KINDS:
                requests.add(d.get("request"))
    if requests:
        for i, (_t, _c, kind, d) in enumerate(events):
            if kind in REQUEST_KINDS and d["request"] in requests:
                hit.add(i)
    return hit
