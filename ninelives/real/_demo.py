"""``demo``: the SRE agent killed mid-investigation, restarted, resuming where it was.

Two real processes: the services (uvicorn on 127.0.0.1, their own SQLite ledger, a
model that takes 0.3 to 0.8 s to think so the story can be followed) and one worker (the
reference agent on trio, its log in SQLite). The services SIGKILL the worker the moment
its incident message reaches chat — the request is on the wire, the worker is dead, and
the message lands anyway. A new worker process starts from the same SQLite file: it
replays the log, asks nothing again that the log answers, does not post blindly (chat
has no idempotency keys) but waits for in-flight requests to settle and searches the
channel for the step's marker, finds the message, and carries on. The chat ledger must
show the message posted once.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from rich.markup import escape

from scenarios import one_line

from ._procs import ServicesProcess, WorkerProcess, stop

SCENARIO = "sre-incident"
WORKER = "worker"
MODEL_LATENCY_MS = (300.0, 800.0)
#: the whole demo gives up after this many real seconds
DEMO_TIMEOUT_S = 60.0


def _short(args: dict[str, Any]) -> str:
    parts = []
    for key, value in args.items():
        parts.append(f"{key}={one_line(value, 60)}")
    return escape(", ".join(parts))


def _result(tool: str, status: int, body: dict[str, Any]) -> str:
    return escape(_describe_result(tool, status, body))


def _describe_result(tool: str, status: int, body: dict[str, Any]) -> str:
    if status >= 300:
        err = body.get("error", {})
        return f"HTTP {status} {err.get('type', '')}"
    if tool == "metrics.query":
        points = body.get("points", [])
        last = points[-1][1] if points else None
        return (f"{len(points)} points of {body.get('metric')}, latest "
                f"{last:.1f} {body.get('unit')}" if last is not None else "no points")
    if tool == "logs.search":
        lines = body.get("lines", [])
        errors = sum(1 for line in lines if line.get("level") == "ERROR")
        hint = next((line["message"] for line in reversed(lines)
                     if line.get("level") == "ERROR"), "")
        return f"{len(lines)} lines, {errors} errors" + (f' — "{hint[:70]}"' if hint else "")
    if tool == "chat.post":
        return f"posted {body.get('id')} to {body.get('channel')}"
    if tool == "chat.search":
        found = body.get("messages", [])
        return f"{len(found)} message(s) found" + (f": {found[0]['id']}" if found else "")
    if tool == "ops.restart":
        return f"{body.get('service')} {body.get('status')}"
    if tool == "pager.page":
        return f"on-call paged (dedup key {body.get('dedup_key')})"
    return "ok"


class _Narrator:
    def __init__(self, console: Any) -> None:
        self.console = console
        self.t0 = time.monotonic()

    def say(self, text: str) -> None:
        self.console.print(f"[dim]{time.monotonic() - self.t0:5.1f}s[/dim]  {text}")

    def event(self, event: dict[str, Any]) -> None:
        who = event["caller"]
        kind = event["kind"]
        if kind == "model":
            action = json.loads(event["text"])
            step = event["name"].rsplit("step-", 1)[-1]
            if action.get("action") == "call":
                self.say(f"[cyan]{who}[/cyan] asks the model for step {step}: it proposes "
                         f"[bold]{action['tool']}[/bold]({_short(action['args'])})")
            else:
                self.say(f"[cyan]{who}[/cyan] asks the model for step {step}: it says "
                         f"[bold]finish[/bold] {escape(json.dumps(action.get('outcome')))}")
        elif kind == "tool":
            notes = ""
            if event.get("replayed"):
                notes += " [dim](a retry with the same idempotency key: the stored answer, "\
                         "no second effect)[/dim]"
            if event.get("late") or event.get("fate"):
                notes += " [dim](too late: the worker had stopped waiting — outcome unknown "\
                         "to it)[/dim]"
            self.say(f"[cyan]{who}[/cyan]   {event['name']} → "
                     f"{_result(event['name'], event['status'], event.get('body') or {})}"
                     f"{notes}")
        elif kind == "complete":
            self.say(f"[cyan]{who}[/cyan] reports {event['name']} done: "
                     f"{escape(json.dumps(event['outcome']))}")
        elif kind == "kill":
            self.say(f"[bold red]SIGKILL[/bold red] {who} (pid {event['pid']}) the moment "
                     f"its chat.post reached the chat service: the request is on the wire, "
                     f"its sender is dead")


def _log_steps(db: Path, workflow_id: str) -> list[Any]:
    from reference_agent import SqliteStore, fold

    with SqliteStore(db) as store:
        steps = store.dump().get("steps", {})
    prefix = workflow_id + "/"
    return fold(workflow_id, sorted((k, v) for k, v in steps.items()
                                    if k.startswith(prefix))).steps


def run_demo(seed: int = 7, time_scale: float = 20.0, workdir: str | None = None,
             console: Any = None) -> int:
    """Run the demo; 0 when the incident message was posted exactly once and the
    workflow ended as in the simulation, 1 otherwise."""
    from rich.console import Console

    from faults import FaultPlan
    from reference_agent import DESIGNS
    from scenarios import get_scenario, run_seed

    from ._ledger import rebuild_world

    console = console or Console(highlight=False)
    scenario = get_scenario(SCENARIO)
    expected = run_seed(scenario, DESIGNS["reference"], seed,
                        plan=FaultPlan(faults=[])).final_state
    work = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="ninelives-demo-"))
    work.mkdir(parents=True, exist_ok=True)
    db = work / "worker.sqlite"
    say = _Narrator(console)
    services = ServicesProcess(SCENARIO, seed, work, model_latency_ms=MODEL_LATENCY_MS,
                               time_scale=time_scale)
    workers: list[WorkerProcess] = []
    posts: list[str] = []
    ok = False
    try:
        console.rule("[bold]ninelives demo[/bold]: an SRE agent, kill -9, and resume")
        services.start()
        workflow = services.client.get("/tasks").json()["workflows"][0]
        settle_real = 120.0 / time_scale
        say.say(f"services up on {services.url} (own process, own SQLite ledger); "
                f"the agent's clock runs {time_scale:g}x faster")
        say.say(f"[bold yellow]ALERT {workflow['input']['incident_id']}[/bold yellow]: "
                f"{workflow['input']['alert']}")
        epoch = time.time()
        deadline = time.monotonic() + DEMO_TIMEOUT_S
        seen = 0

        def follow(worker: WorkerProcess) -> int:
            nonlocal seen
            while True:
                for event in services.events(seen):
                    seen = event["seq"]
                    if event["caller"] == worker.id:
                        say.event(event)
                if worker.poll() is not None:
                    for event in services.events(seen):
                        seen = event["seq"]
                        if event["caller"] == worker.id:
                            say.event(event)
                    return worker.wait()
                if time.monotonic() > deadline:
                    raise TimeoutError(f"the demo took more than {DEMO_TIMEOUT_S:g} s")
                time.sleep(0.05)

        first = WorkerProcess(db, services.url, work, name=WORKER, incarnation=1,
                              time_scale=time_scale, epoch=epoch)
        workers.append(first)
        services.arm(first.id, first.pid, after=1, phase="received", kind="tool",
                     name="chat.post")
        say.say(f"started {first.id} (pid {first.pid}): the reference agent, its log in "
                f"{db.name}")
        status = follow(first)
        if status != -9:
            say.say(f"[red]the worker was not killed (exit status {status})[/red]")
            return 1
        services.lost(first.id)

        console.rule("what the durable log says")
        steps = _log_steps(db, workflow["id"])
        done = [s for s in steps if s.result is not None]
        open_steps = [s for s in steps if s.result is None]
        for s in steps:
            proposal = (s.decision or {}).get("proposal", {})
            what = f"{proposal.get('tool', proposal.get('action'))}"
            if s.result is not None:
                say.say(f"  step {s.index}: {what} — decided and done (result in the log)")
            elif s.intents:
                say.say(f"  step {s.index}: {what} — decided; [bold]intent to post "
                        f"recorded, no result[/bold]: did the message land?")
            else:
                say.say(f"  step {s.index}: {what} — decided, not done")
        console.rule("restart")
        second = WorkerProcess(db, services.url, work, name=WORKER, incarnation=2,
                               time_scale=time_scale, epoch=epoch)
        workers.append(second)
        say.say(f"started {second.id} (pid {second.pid}): same code, same SQLite file")
        if done:
            say.say(f"it replays the log: steps {done[0].index} to {done[-1].index} are done, "
                    f"so it neither asks the model about them nor runs them again")
        if any(s.intents for s in open_steps):
            say.say(f"chat has no idempotency key, so it must not just post again: it waits "
                    f"until anything still on the wire has landed (120 s on its clock, "
                    f"{settle_real:.0f} s here), then searches the channel for the step's "
                    f"marker")
        status = follow(second)
        if status != 0:
            say.say(f"[red]the restarted worker failed (exit status {status})[/red]")
            return 1

        console.rule("checks")
        asked_again = sorted({e["name"] for e in services.events(0)
                              if e["kind"] == "model" and e["caller"] == second.id}
                             & {f"{workflow['id']}/step-{s.index}" for s in done})
        say.say("decisions asked again after the restart: "
                + (", ".join(asked_again) if asked_again else "none"))
        services.stop()
        world = rebuild_world(scenario, seed, services.ledger_path)
        channel = workflow["input"]["channel"]
        posts = [m.text for m in world.services["chat"].messages  # type: ignore[attr-defined]
                 if m.channel == channel]
        same = scenario.final_state(world) == expected
        say.say(f"final state equals the simulation's fault-free run of seed {seed}: "
                f"{'yes' if same else 'NO'}")
        if len(posts) == 1:
            say.say(f"[bold green]message posted once[/bold green]: {escape(posts[0])}")
        else:
            say.say(f"[bold red]message posted {len(posts)} times[/bold red]")
        ok = len(posts) == 1 and same and not asked_again
        return 0 if ok else 1
    except TimeoutError as error:
        say.say(f"[red]{error}[/red]")
        return 1
    finally:
        for worker in workers:
            stop(worker.proc)
        services.stop()
        if not workdir:
            if ok:
                shutil.rmtree(work, ignore_errors=True)
            else:
                console.print(f"files kept in {work}")
