"""``ninelives replay`` end to end: it reproduces a sweep's failure exactly, and its HTML
timeline is one well-formed, offline, escaped file."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
from cli_support import cli

from ninelives.engine._schema import ReplayReport, RunReport, ViolationReport


def first_sweep_failure(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> ViolationReport:
    path = tmp_path / "sweep.json"
    rc, _, _ = cli(capsys, "run", "--scenario", "checkout", "--design", "fresh-uuid-keys",
                   "--seeds", "5", "--json", str(path))
    assert rc == 1
    return RunReport.model_validate_json(path.read_text()).results[0].violations[0]


def replay_argv(repro: str) -> list[str]:
    argv = shlex.split(repro)
    assert argv[:2] == ["ninelives", "replay"]
    return argv[1:]


def test_replay_reproduces_a_sweep_failure_exactly(capsys: pytest.CaptureFixture[str],
                                                   tmp_path: Path) -> None:
    failure = first_sweep_failure(capsys, tmp_path)
    reports = []
    for i in range(2):
        path = tmp_path / f"replay{i}.json"
        rc, out, err = cli(capsys, *replay_argv(failure.repro), "--json", str(path))
        assert rc == 1, err
        assert failure.invariant in out
        reports.append(ReplayReport.model_validate_json(path.read_text()))
        assert f"trace hash {reports[-1].trace_hash}" in out
    first, second = reports
    assert first.trace_hash == second.trace_hash
    assert first.events == second.events and len(first.events) > 10
    assert first.violations[0].invariant == failure.invariant
    assert first.violations[0].message == failure.message
    assert first.violations[0].evidence == failure.evidence
    assert first.violations[0].repro == failure.repro
    assert len(first.plan["faults"]) == failure.plan_size
    assert [e.seq for e in first.events] == list(range(len(first.events)))


def test_replay_hash_is_the_same_in_another_process(capsys: pytest.CaptureFixture[str],
                                                    tmp_path: Path) -> None:
    path = tmp_path / "here.json"
    argv = ["replay", "--scenario", "checkout", "--design", "fresh-uuid-keys", "--seed", "1"]
    rc, _, _ = cli(capsys, *argv, "--json", str(path))
    assert rc == 1
    here = ReplayReport.model_validate_json(path.read_text()).trace_hash
    proc = subprocess.run([sys.executable, "-m", "ninelives.cli", *argv],
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 1, proc.stderr
    assert f"trace hash {here}" in proc.stdout


def test_timeline_shows_the_events_that_matter(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = cli(capsys, "replay", "--scenario", "checkout", "--design", "fresh-uuid-keys",
                     "--seed", "1")
    assert rc == 1
    for kind in ("model.answer", "tool.request", "tool.response", "tool.timeout",
                 "fault.fired", "crash", "process.start", "response.lost",
                 "workflow.complete"):
        assert kind in out, kind
    assert "store.commit" not in out  # noise unless --all-events
    assert "lose the response of payments.charge call 2" in out
    assert "◆" in out  # the evidence's charges are marked in the timeline
    assert "Violations (1)" in out and '"ledger"' in out
    rc, out, _ = cli(capsys, "replay", "--scenario", "checkout", "--design", "fresh-uuid-keys",
                     "--seed", "1", "--all-events")
    assert "store.commit" in out


def test_replay_of_a_passing_run_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = cli(capsys, "replay", "--scenario", "checkout", "--seed", "1")
    assert rc == 0
    assert "every invariant held" in out


class StrictParser(HTMLParser):
    """Fails on any closing tag that does not close the innermost open element."""

    VOID = {"meta", "input", "br", "hr", "img", "link", "col", "wbr"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.text: list[str] = []
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("src", "href") and value and re.match(r"\s*(https?:)?//", value):
                self.urls.append(value)
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(html: str) -> StrictParser:
    parser = StrictParser()
    parser.feed(html)
    parser.close()
    return parser


def test_html_is_well_formed_and_offline(capsys: pytest.CaptureFixture[str],
                                         tmp_path: Path) -> None:
    path = tmp_path / "timeline.html"
    rc, out, _ = cli(capsys, "replay", "--scenario", "checkout", "--design", "fresh-uuid-keys",
                     "--seed", "1", "--html", str(path))
    assert rc == 1 and f"wrote {path}" in out
    html = path.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>")
    parser = parse(html)
    assert parser.errors == [] and parser.stack == []
    assert parser.urls == []
    assert "http://" not in html and "https://" not in html
    text = "".join(parser.text)
    assert "exactly-once-charge" in text
    assert "ninelives replay --scenario checkout --design fresh-uuid-keys --seed 1" in text
    # One swimlane per component: the worker process, the network, each service.
    for lane in ("harness", "faults", "worker (orchestrator + executor)", "network",
                 "payments (service)", "inventory (service)", "email (service)"):
        assert f"<th>{lane}</th>" in html, lane
    assert 'class="hit"' in html  # the evidence's events are highlighted


def test_html_escapes_text_from_the_run(tmp_path: Path) -> None:
    from ninelives.engine._replay import replay
    from ninelives.reports._html import render

    rep = replay("checkout", "fresh-uuid-keys", 1)
    try:
        rep.result.violations[0].message = "<script>alert('x')</script> & </table>"
        rep.result.violations[0].evidence = {"note": "<b>bold</b>"}
        html = render(rep)
    finally:
        rep.dispose()
    assert "<script>alert" not in html and "<b>bold</b>" not in html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; &lt;/table&gt;" in html
    parser = parse(html)
    assert parser.errors == [] and parser.stack == []


def test_replay_with_a_malformed_plan_is_bad_input(capsys: pytest.CaptureFixture[str],
                                                   tmp_path: Path) -> None:
    plan = tmp_path / "bad.plan.json"
    plan.write_text('{"faults": [{"kind": "crash", "process": "worker"}]}')
    rc, out, err = cli(capsys, "replay", "--scenario", "checkout", "--seed", "1",
                       "--plan", str(plan))
    assert rc == 2 and out == ""
    assert err.startswith(f"ninelives: error: {plan}: not a fault plan")
    assert len(err.strip().splitlines()) == 1
    plan.write_text("not json at all")
    rc, _, err = cli(capsys, "replay", "--scenario", "checkout", "--seed", "1",
                     "--plan", str(plan))
    assert rc == 2 and "invalid JSON" in err


@pytest.mark.parametrize("design, fault, message", [
    ("reference", '{"kind": "lose_response", "tool": "chat.post", "call": 1}',
     "fault #0 (lose_response) targets tool 'chat.post', which this scenario does not have"),
    ("reference", '{"kind": "crash", "process": "worker-2", "at_op": 3}',
     "fault #0 (crash) targets process 'worker-2', which this run does not have "
     "(its processes: worker)"),
    ("reference-2w", '{"kind": "pause", "process": "worker", "at_op": 3, "duration_ms": 5}',
     "targets process 'worker', which this run does not have "
     "(its processes: worker-1, worker-2)"),
])
def test_replay_refuses_a_plan_aimed_at_nothing(capsys: pytest.CaptureFixture[str],
                                               tmp_path: Path, design: str, fault: str,
                                               message: str) -> None:
    # Such a fault could never fire: the run would pass for one the design survived.
    plan = tmp_path / "typo.plan.json"
    plan.write_text(f'{{"faults": [{fault}]}}')
    rc, out, err = cli(capsys, "replay", "--scenario", "checkout", "--design", design,
                       "--seed", "1", "--plan", str(plan))
    assert rc == 2 and out == ""
    assert err.startswith(f"ninelives: error: {plan}: ") and message in err
    assert len(err.strip().splitlines()) == 1


def test_replay_takes_a_plan_aimed_beyond_what_swarm_plans_target(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    # payments.search is in no checkout swarm plan, but the reference calls it to
    # reconcile, so a hand-written plan may fault it.
    plan = tmp_path / "search.plan.json"
    plan.write_text('{"faults": [{"kind": "lose_response", "tool": "payments.search", '
                    '"call": 1}, {"kind": "crash", "process": "worker-2", "at_op": 40}]}')
    rc, out, err = cli(capsys, "replay", "--scenario", "checkout", "--design",
                       "reference-2w", "--seed", "1", "--plan", str(plan))
    assert rc == 0 and err == ""
    assert "plan from" in out and "2 faults" in out


@pytest.mark.parametrize("argv, message", [
    (["replay", "--scenario", "checkout", "--seed", "-1"], "argument --seed: must be >= 0, got -1"),
    (["replay", "--scenario", "checkout", "--seed", "1.5"],
     "argument --seed: must be an integer, got '1.5'"),
    (["replay", "--scenario", "nope", "--seed", "1"], "unknown scenario"),
    (["replay", "--scenario", "checkout", "--design", "nope", "--seed", "1"],
     "unknown design"),
    (["replay", "--scenario", "checkout", "--seed", "1", "--plan", "/no/such/plan.json"],
     "cannot read plan file"),
    (["replay", "--scenario", "checkout", "--seed", "1", "--html", "/no/such/dir/t.html"],
     "does not exist"),
    (["replay", "--scenario", "checkout"], "required: --seed"),
])
def test_replay_bad_input(capsys: pytest.CaptureFixture[str], argv: list[str],
                          message: str) -> None:
    rc, out, err = cli(capsys, *argv)
    assert rc == 2 and out == ""
    assert err.startswith("ninelives: error: ") and message in err
    assert len(err.strip().splitlines()) == 1
