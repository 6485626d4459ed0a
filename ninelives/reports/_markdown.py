"""``check``'s report as Markdown, for a CI job summary (``ninelives check --markdown``)."""

from __future__ import annotations

import json

from ..engine import QUESTIONS, CheckReport


def to_markdown(report: CheckReport) -> str:
    """The report as Markdown, for a CI job summary."""
    lines = [f"## ninelives check: `{report.design}`", "",
             "| question | verdict | finding |", "|---|---|---|"]
    for q in report.questions:
        mark = "pass" if q.verdict == "pass" else "**FAIL**"
        lines.append(f"| {q.id} — {QUESTIONS[q.id]} | {mark} | {q.summary} |")
    for q in report.questions:
        if q.verdict == "fail":
            lines += ["", f"### {q.id}: {q.summary}", "",
                      f"- seed: {q.seed}", f"- plan: `{json.dumps(q.plan)}`",
                      "- reproduce:", "", "```", q.repro or "", "```"]
    return "\n".join(lines) + "\n"
