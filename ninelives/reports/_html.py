"""``ninelives replay --html``: one self-contained HTML file with the run's timeline.

One column (swimlane) per component — the harness, the fault injector, each worker
process (orchestrator and executor live in one process), the network, each service — and
one row per event in trace order, so time runs down the page. The violations are
described at the top with their evidence and repro command, and the events their
evidence names are highlighted. Inline CSS and a few lines of inline JS only (no
network: the file is read offline, attached to a bug, opened years later); every piece
of text from the run goes through ``html.escape``
(``tests/ninelives/test_cli_replay.py::test_html_is_well_formed_and_offline``).
"""

from __future__ import annotations

import json
from html import escape

from simulator import LOST_KINDS, MODEL_KINDS, STORE_KINDS, TraceKind

from ..engine import Replay
from ._describe import KEY_KINDS, compact, describe, implicated

_CSS = """
body{font:13px/1.4 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1d2330}
header{padding:16px 20px;background:#f4f6fa;border-bottom:1px solid #d7dce5}
h1{font-size:18px;margin:0 0 6px}
h2{font-size:15px;margin:14px 0 6px}
code,pre,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px}
.meta span{margin-right:18px}
.violation{border:2px solid #c62828;background:#fff5f5;border-radius:6px;padding:8px 12px;
 margin:8px 0}
.violation h3{margin:0 0 4px;color:#b71c1c;font-size:14px}
.ok{border:2px solid #2e7d32;background:#f3fbf3;border-radius:6px;padding:8px 12px}
pre{background:#fff;border:1px solid #e0e0e0;padding:6px 8px;overflow:auto;max-height:240px}
.repro{background:#263238;color:#e0f7fa;padding:4px 8px;border-radius:4px;display:inline-block}
.plan li.nofire{color:#888}
.controls{padding:8px 20px}
table.tl{border-collapse:collapse;margin:0 20px 40px;min-width:calc(100% - 40px)}
table.tl th{position:sticky;top:0;background:#37474f;color:#fff;padding:6px 8px;
 text-align:left;font-weight:600;z-index:1}
table.tl td{border-bottom:1px solid #eceff1;padding:2px 6px;vertical-align:top;
 max-width:360px}
table.tl td.t{color:#607d8b;white-space:nowrap;text-align:right}
table.tl td.lane{border-left:1px solid #eceff1}
.ev{border-radius:4px;padding:2px 6px;display:block;background:#eef2f7}
.ev b{display:block;font-size:11px;text-transform:uppercase;letter-spacing:.03em;opacity:.8}
.k-model{background:#e3f2fd}.k-call{background:#e0f7fa}.k-resp{background:#e8f5e9}
.k-fault{background:#f3e5f5;border:1px solid #8e24aa}.k-crash{background:#ffcdd2;
 border:1px solid #c62828}.k-lost{background:#fce4ec}.k-timeout{background:#fff8e1}
.k-done{background:#c8e6c9}.k-store{background:#f5f5f5;color:#666}
.k-violation{background:#c62828;color:#fff}
tr.hit td{background:#fff3e0}
tr.hit .ev{outline:2px solid #e65100}
body:not(.all) tr.minor{display:none}
.legend span{display:inline-block;margin-right:8px}
tr.gap td{color:#90a4ae;font-style:italic;font-size:11px;padding:0 8px;background:#fafafa}
"""

#: a pause in virtual time long enough to be shown as its own row
_GAP_NS = 1_000_000_000

_JS = """
document.getElementById('all').addEventListener('change', function (e) {
  document.body.classList.toggle('all', e.target.checked);
});
"""


#: kinds drawn as a pause in the story: a timeout, a frozen or fenced process, a refused
#: or rolled-back commit
_WAITS = frozenset({TraceKind.TOOL_TIMEOUT, TraceKind.PAUSE, TraceKind.RESUME,
                    TraceKind.STORE_CONFLICT, TraceKind.STORE_ROLLBACK, TraceKind.FENCED})


def _category(kind: str) -> str:
    if kind in MODEL_KINDS:
        return "k-model"
    if kind == TraceKind.TOOL_REQUEST:
        return "k-call"
    if kind in (TraceKind.TOOL_RESPONSE, TraceKind.SERVICE_DONE):
        return "k-resp"
    if kind == TraceKind.FAULT_FIRED:
        return "k-fault"
    if kind in (TraceKind.CRASH, TraceKind.PROCESS_ERROR):
        return "k-crash"
    if kind in LOST_KINDS:
        return "k-lost"
    if kind in _WAITS:
        return "k-timeout"
    if kind == TraceKind.WORKFLOW_COMPLETE:
        return "k-done"
    if kind in STORE_KINDS:
        return "k-store"
    return ""


def lanes(rep: Replay) -> list[str]:
    """Swimlanes in reading order: harness, faults, workers, network, services, others."""
    world = rep.result.world
    assert world is not None
    seen = list(dict.fromkeys(c for _t, c, _k, _d in rep.events))
    order = ["harness", "faults", *world.processes, "network", *world.services]
    out = list(dict.fromkeys(order))
    out += [c for c in seen if c not in out]
    return out


def _lane_title(name: str, rep: Replay) -> str:
    world = rep.result.world
    if world is not None and name in world.processes:
        return f"{name} (orchestrator + executor)"
    if world is not None and name in world.services:
        return f"{name} (service)"
    return name


def render(rep: Replay) -> str:
    """The whole HTML document, as a string."""
    r = rep.result
    events = rep.events
    marked = implicated(events, r.violations)
    names = lanes(rep)
    col = {name: i for i, name in enumerate(names)}
    e = escape
    out: list[str] = []
    w = out.append
    title = f"ninelives replay: {r.scenario} x {rep.design_spec}, seed {r.seed}"
    w("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
    w(f"<title>{e(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n<header>\n")
    w(f"<h1>{e(title)}</h1>\n<div class=\"meta\">")
    w(f"<span>trace hash <code>{e(rep.trace_hash)}</code></span>")
    w(f"<span>{len(events)} events</span>")
    w(f"<span>{r.virtual_ns / 1e9:.3f} s virtual time</span>")
    w(f"<span>{'finished' if r.finished else 'NOT finished'}</span></div>\n")
    if r.violations:
        for v in r.violations:
            w("<div class=\"violation\">\n")
            w(f"<h3>✗ {e(v.invariant)}</h3>\n<div>{e(v.message)}</div>\n")
            w(f"<div>seed {e(str(v.seed))} · plan size {v.plan_size} · "
              f"evidence: <span class=\"mono\">{e(compact(v.evidence))}</span></div>\n")
            evidence = json.dumps(v.evidence, indent=2, default=str)
            w(f"<pre>{e(evidence)}</pre>\n")
            w(f"<div>reproduce: <code class=\"repro\">{e(v.repro)}</code></div>\n</div>\n")
    else:
        w("<div class=\"ok\">✓ every invariant held</div>\n")
    plan_from = f"from {rep.plan_path}" if rep.plan_path else "the seed's swarm plan"
    n = len(r.plan.faults)
    w(f"<h2>Fault plan ({e(plan_from)}): {n} fault{'' if n == 1 else 's'}, "
      f"{len(r.fired)} fired</h2>\n<ol class=\"plan\" start=\"0\">\n")
    for i, line in enumerate(r.plan.describe()):
        fired = i in r.fired
        w(f"<li class=\"{'fired' if fired else 'nofire'}\">{e(line)}"
          f"{'' if fired else ' (did not fire)'}</li>\n")
    w("</ol>\n</header>\n")
    w("<div class=\"controls\"><label><input type=\"checkbox\" id=\"all\"> show every event "
      "(storage commits, service internals)</label> <span class=\"legend\">"
      "<span class=\"ev k-model\">decision</span><span class=\"ev k-call\">tool call</span>"
      "<span class=\"ev k-fault\">fault</span><span class=\"ev k-crash\">crash</span>"
      "<span class=\"ev k-lost\">lost</span><span class=\"ev k-timeout\">timeout</span>"
      "</span> highlighted rows are named by a violation's evidence</div>\n")
    w("<table class=\"tl\">\n<thead><tr><th>virtual time</th>")
    for name in names:
        w(f"<th>{e(_lane_title(name, rep))}</th>")
    w("</tr></thead>\n<tbody>\n")
    previous_t = 0
    for i, event in enumerate(events):
        t, component, kind, data = event
        if t - previous_t >= _GAP_NS:
            # Make long waits (timeouts, backoff, restarts) visible in a row-per-event
            # layout, where distance down the page is not distance in time.
            w(f"<tr class=\"gap\"><td class=\"t\"></td><td colspan=\"{len(names)}\">"
              f"⋯ {(t - previous_t) / 1e9:.3f} s later</td></tr>\n")
        previous_t = t
        classes = []
        if kind not in KEY_KINDS and i not in marked:
            classes.append("minor")
        if i in marked:
            classes.append("hit")
        cls = f" class=\"{' '.join(classes)}\"" if classes else ""
        w(f"<tr{cls}><td class=\"t\">{t / 1e9:.3f} s</td>")
        here = col.get(component, 0)
        for j in range(len(names)):
            if j != here:
                w("<td class=\"lane\"></td>")
                continue
            tip = json.dumps(data, sort_keys=True, default=str)
            w(f"<td class=\"lane\"><span class=\"ev {_category(kind)}\" title=\"{e(tip)}\">"
              f"<b>{e(kind)}</b>{e(describe(event, r.plan))}</span></td>")
        w("</tr>\n")
    if r.violations:
        t_end = r.virtual_ns
        for v in r.violations:
            w(f"<tr class=\"hit\"><td class=\"t\">{t_end / 1e9:.3f} s</td>")
            for j in range(len(names)):
                if j == col.get("harness", 0):
                    w(f"<td class=\"lane\"><span class=\"ev k-violation\"><b>violation</b>"
                      f"{e(v.invariant)}: {e(v.message)}</span></td>")
                else:
                    w("<td class=\"lane\"></td>")
            w("</tr>\n")
    w("</tbody>\n</table>\n")
    w(f"<script>{_JS}</script>\n</body>\n</html>\n")
    return "".join(out)
