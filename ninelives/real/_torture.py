"""``torture``: SIGKILL real worker processes at seeded moments; check the real ledgers.

One run is a sequence of rounds, each on the next seed (``seed``, ``seed + 1``, ...), until
the kills asked for are delivered: a scenario's workflows for one seed are few (three
checkouts, one incident) and run out long before a hundred kills, so new workflows are
submitted — the next seed's — rather than killing a finished worker over and over.
Each round gets a share of the kills (``kills_per_round``, by default one per model
decision of its workflows), so that deaths fall all along the work, not all at its start.

A round: compute the simulation's fault-free final state for its seed (the reference
design, no faults); start the services process (the scenario's world for the seed,
dropping or delaying some answers of side-effecting calls after they committed); then,
until every workflow is done, start a worker (``python -m ninelives.real agent``) and,
while the round's kills remain, kill it with SIGKILL at a seeded moment:

- at a request (70 %): the services kill it themselves when its n-th request arrives,
  while the effect executes, or after the effect committed but before the answer leaves
  — a request in flight at the moment of death;
- on a timer (30 %): the parent kills it a seeded delay after its first request —
  anywhere: mid-commit, mid-backoff, between two requests.

After each death the services are told (``/admin/lost``) so that model answers the dead
worker never acted on are not counted (as ``FakeModel.lost`` in the simulation). When
every workflow of the round is done, the checks read the round's SQLite ledger, not
anyone's memory: every effect at most once (``IDENTITY``), no workflow without a reported
outcome, each workflow's final state (the scenario's own ``final_state`` on a world
rebuilt from the ledger) equal to the simulation's, and the scenario's safety checks.
The result sums them over the rounds (``tests/ninelives/real/test_real_torture.py``).
"""

from __future__ import annotations

import json
import math
import random
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fakes import Charge, ChatMessage, EmailMessage, Page, Reservation, Restart
from simulator import TraceKind, derive_seed

from ._app import PHASES
from ._procs import ServicesProcess, WorkerProcess, tail

#: what makes two ledger entries the same effect in the scenarios real mode runs: one
#: charge per customer (one order each), one reservation per order and sku, one receipt
#: per recipient and subject, one incident message per channel, one page per dedup key,
#: one restart per service
IDENTITY: dict[type, Callable[[Any], tuple[Any, ...]]] = {
    Charge: lambda c: ("payments.charge", c.customer),
    Reservation: lambda r: ("inventory.reserve", r.order_id, r.sku),
    EmailMessage: lambda m: ("email.send", m.to, m.subject),
    ChatMessage: lambda m: ("chat.post", m.channel),
    Page: lambda p: ("pager.page", p.dedup_key),
    Restart: lambda r: ("ops.restart", r.service),
}
#: share of kills made by the parent on a timer (the rest by the services at a request)
TIMER_SHARE = 0.3
#: rounds in a row that delivered no kill before the run stops asking for more (the
#: workers finish before any kill can land: more rounds would not change that)
IDLE_ROUNDS = 3
WORKER = "worker"


@dataclass
class _Plan:
    """How one incarnation is to die."""

    mode: str  # "request" or "timer"
    after: int = 0
    phase: str = ""
    delay_s: float = 0.0

    def describe(self) -> str:
        if self.mode == "request":
            return f"at its request #{self.after}, {self.phase}"
        return f"{self.delay_s:.2f} s after its first request"


@dataclass
class TortureConfig:
    scenario: str
    kills: int
    seed: int = 1
    time_scale: float = 10.0
    drop_response: float = 0.1
    late_response: float = 0.05
    timeout_s: float = 300.0
    design: str = "reference"
    workdir: str | None = None
    quiet: bool = False
    #: worker deaths that were not our kills (tracebacks) tolerated before giving up
    max_worker_failures: int = 3
    #: kills one round (one seed's workflows) is given at most; None: one per model
    #: decision of the round's fault-free run (checkout seed 1: 15, sre-incident: 5)
    kills_per_round: int | None = None


@dataclass
class Kill:
    """One SIGKILL the run delivered."""

    n: int
    incarnation: int
    mode: str
    plan: str
    where: str
    after_s: float
    #: the round's seed
    seed: int = 0


@dataclass
class TortureResult:
    scenario: str
    seed: int
    design: str
    kills: int
    kills_requested: int
    workflows: int
    completed: int
    duplicate_effects: int
    lost_workflows: int
    mismatched_final_states: int
    duplicates: list[dict[str, Any]] = field(default_factory=list)
    mismatches: list[dict[str, Any]] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)
    safety_violations: list[str] = field(default_factory=list)
    worker_errors: list[str] = field(default_factory=list)
    timed_out: bool = False
    incarnations: int = 0
    requests: int = 0
    wall_s: float = 0.0
    kill_log: list[Kill] = field(default_factory=list)
    workdir: str | None = None
    #: one summary per round (its seed, workflows, kills and findings), in order
    rounds: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return (self.duplicate_effects == 0 and self.lost_workflows == 0
                and self.mismatched_final_states == 0 and not self.safety_violations
                and not self.worker_errors and not self.timed_out)

    def to_json(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario, "kills": self.kills, "workflows": self.workflows,
            "completed": self.completed, "duplicate_effects": self.duplicate_effects,
            "lost_workflows": self.lost_workflows,
            "mismatched_final_states": self.mismatched_final_states,
            "ok": self.ok, "seed": self.seed, "design": self.design,
            "kills_requested": self.kills_requested, "incarnations": self.incarnations,
            "requests": self.requests, "wall_s": round(self.wall_s, 2),
            "timed_out": self.timed_out, "duplicates": self.duplicates,
            "mismatches": self.mismatches, "lost": self.lost,
            "safety_violations": self.safety_violations, "worker_errors": self.worker_errors,
            "kill_log": [vars(k) for k in self.kill_log], "rounds": self.rounds,
        }

    def write_json(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_json(), indent=2, sort_keys=False) + "\n")


def duplicate_effects(world: Any) -> list[dict[str, Any]]:
    """Effects in the world's ledgers that happened more than once (``IDENTITY``)."""
    from ._ledger import ledger_of

    out: list[dict[str, Any]] = []
    for name, service in world.services.items():
        spec = ledger_of(service)
        if spec is None:
            continue
        counts: Counter[tuple[Any, ...]] = Counter()
        for record in getattr(service, spec[0]):
            identity = IDENTITY.get(type(record))
            if identity is not None:
                counts[identity(record)] += 1
        for effect, count in sorted(counts.items(), key=repr):
            if count > 1:
                out.append({"service": name, "effect": list(effect), "count": count})
    return out


def split_by_workflow(state: dict[str, Any],
                      workflows: list[dict[str, Any]]) -> dict[str, Any]:
    """A scenario's final state per workflow, where its keys name the workflows' inputs
    (checkout: one entry per order); otherwise the whole state, as one unit."""
    ids: dict[str, str] = {}
    for workflow in workflows:
        for value in workflow["input"].values():
            if isinstance(value, str) and value in state:
                ids[workflow["id"]] = value
                break
    if workflows and len(ids) == len(workflows):
        return {wid: state[key] for wid, key in ids.items()}
    return {",".join(w["id"] for w in workflows): state}


def _count(trace: list[tuple[Any, ...]], kind: str) -> int:
    return sum(1 for event in trace if event[2] == kind)


class Torture:
    """One torture run (``run()``); ``processes`` lists every child it started."""

    def __init__(self, config: TortureConfig, console: Any = None) -> None:
        from rich.console import Console

        self.config = config
        self.console = console or Console(stderr=True)
        self.out = Console()
        self.processes: list[Any] = []
        self.services: ServicesProcess | None = None
        self.kill_log: list[Kill] = []
        self.worker_errors: list[str] = []
        self._events_seen = 0
        self.events: list[dict[str, Any]] = []
        self._last_event: dict[str, dict[str, Any]] = {}
        self._kill_event: dict[str, dict[str, Any]] = {}
        #: the round's seed, and the kill count it ends at
        self._seed = config.seed
        self._budget = 0

    # --- the run ------------------------------------------------------------------------
    def run(self) -> TortureResult:
        """Rounds on seeds ``seed``, ``seed + 1``, ... until the kills are delivered (or a
        round times out, workers keep failing, or ``IDLE_ROUNDS`` rounds in a row
        delivered none); the findings of every round, summed."""
        from scenarios import get_scenario

        cfg = self.config
        started = time.monotonic()
        scenario = get_scenario(cfg.scenario)
        workdir = Path(cfg.workdir) if cfg.workdir else Path(
            tempfile.mkdtemp(prefix=f"ninelives-torture-{cfg.scenario}-"))
        workdir.mkdir(parents=True, exist_ok=True)
        rounds: list[TortureResult] = []
        idle = 0
        try:
            while True:
                before = len(self.kill_log)
                rounds.append(self._round(scenario, cfg.seed + len(rounds),
                                          workdir / f"round-{len(rounds) + 1}"))
                idle = idle + 1 if len(self.kill_log) == before else 0
                last = rounds[-1]
                if (len(self.kill_log) >= cfg.kills or last.timed_out or idle >= IDLE_ROUNDS
                        or len(self.worker_errors) > cfg.max_worker_failures
                        or (last.worker_errors and last.completed < last.workflows)):
                    break
        except BaseException:
            self.console.print(f"torture stopped; files kept in {workdir}")
            raise
        result = _sum(cfg, rounds, self.kill_log, self.worker_errors)
        result.wall_s = time.monotonic() - started
        if result.ok and not cfg.workdir:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            result.workdir = str(workdir)
        self._summary(result)
        return result

    def _round(self, scenario: Any, seed: int, workdir: Path) -> TortureResult:
        """One round: the workflows of ``seed``, killed at most the round's share of the
        kills left; its findings, from its own ledger."""
        from faults import FaultPlan
        from reference_agent import DESIGNS
        from scenarios import run_seed

        cfg = self.config
        started = time.monotonic()
        baseline = run_seed(scenario, DESIGNS["reference"], seed,
                            plan=FaultPlan(faults=[]), keep_world=True)
        assert baseline.world is not None
        workflows = baseline.world.workflows.submitted()
        decisions = _count(baseline.world.kernel.trace.raw(), TraceKind.MODEL_ANSWER)
        expected = baseline.final_state
        baseline.world.dispose()
        share = cfg.kills_per_round or max(1, decisions)
        self._budget = len(self.kill_log) + min(share, cfg.kills - len(self.kill_log))
        self._seed = seed
        self.services, self.events, self._events_seen = None, [], 0
        self._last_event, self._kill_event = {}, {}
        kills_before = len(self.kill_log)
        errors_before = len(self.worker_errors)
        workdir.mkdir(parents=True, exist_ok=True)
        try:
            timed_out, incarnations, requests = self._torture(workdir, len(workflows),
                                                              decisions, started)
        finally:
            self._stop_all(workdir)
        result = self._check(scenario, seed, workflows, expected, workdir)
        result.kill_log = self.kill_log[kills_before:]
        result.kills = len(result.kill_log)
        result.worker_errors = self.worker_errors[errors_before:]
        result.timed_out = timed_out
        result.incarnations = incarnations
        result.requests = requests
        result.wall_s = time.monotonic() - started
        return result

    def _torture(self, workdir: Path, total: int, decisions: int,
                 started: float) -> tuple[bool, int, int]:
        cfg = self.config
        rng = random.Random(derive_seed(self._seed, f"real:torture:{cfg.scenario}"))
        services = self.services = ServicesProcess(
            cfg.scenario, self._seed, workdir, drop_response=cfg.drop_response,
            late_response=cfg.late_response, time_scale=cfg.time_scale)
        services.start()
        assert services.proc is not None
        self.processes.append(services.proc)
        db = workdir / "worker.sqlite"
        epoch = time.time()
        deadline = started + cfg.timeout_s
        incarnation = 0
        clean_exits = 0
        s_per_request = 0.05  # refined as the run goes
        with self._live() as live:
            status = services.status()
            while len(status["completed"]) < total:
                if time.monotonic() > deadline:
                    return True, incarnation, status["requests"]
                incarnation += 1
                worker = WorkerProcess(db, services.url, workdir, name=WORKER,
                                       incarnation=incarnation, time_scale=cfg.time_scale,
                                       epoch=epoch, design=cfg.design)
                self.processes.append(worker.proc)
                plan = self._plan(rng, worker, status, total, decisions, s_per_request)
                first_seen: float | None = None
                while worker.poll() is None:
                    now = time.monotonic()
                    if now > deadline:
                        worker.kill()
                        break
                    status = services.status()
                    caller = status["callers"].get(worker.id)
                    if first_seen is None and caller and caller["first_seen_ago"] is not None:
                        first_seen = now - caller["first_seen_ago"]
                    if (plan is not None and plan.mode == "timer" and first_seen is not None
                            and now >= first_seen + plan.delay_s):
                        worker.kill()
                    live(self._progress(status, incarnation, total, started))
                    time.sleep(0.03)
                code = worker.wait()
                status = services.status()
                self._pull_events()
                caller = status["callers"].get(worker.id)
                if caller and caller["requests"] and first_seen is not None:
                    active = max(0.01, time.monotonic() - first_seen)
                    s_per_request = 0.5 * s_per_request + 0.5 * active / caller["requests"]
                if code == -9:
                    services.lost(worker.id)
                    if plan is not None:
                        self._record_kill(worker, plan, first_seen)
                elif code != 0:
                    self.worker_errors.append(
                        f"incarnation {incarnation} exited with status {code}:\n"
                        + tail(worker.log_path))
                    if len(self.worker_errors) > cfg.max_worker_failures:
                        break
                elif len(status["completed"]) < total:
                    clean_exits += 1
                    if clean_exits > 3:
                        self.worker_errors.append(
                            "the worker keeps exiting with workflows unfinished")
                        break
                live(self._progress(status, incarnation, total, started))
            return False, incarnation, status["requests"]

    def _plan(self, rng: random.Random, worker: WorkerProcess, status: dict[str, Any],
              total: int, decisions: int, s_per_request: float) -> _Plan | None:
        """Draw this incarnation's death (None when no kills remain) and arm it.

        The moment is drawn from the requests the rest of the run still needs (about
        two per decision left: the model's answer and the call it proposes), spread so
        that the kills left fall before the work runs out."""
        left = self._budget - len(self.kill_log)
        if left <= 0:
            return None
        services = self.services
        assert services is not None
        pending = total - len(status["completed"])
        remaining = 2 * max(0, decisions - status["decisions"]) + pending + 1
        span = max(2, math.floor(2 * remaining / (left + 1)))
        if rng.random() < TIMER_SHARE:
            return _Plan("timer", delay_s=rng.uniform(0.0, span * s_per_request))
        plan = _Plan("request", after=rng.randint(1, span), phase=rng.choice(PHASES))
        services.arm(worker.id, worker.pid, after=plan.after, phase=plan.phase)
        return plan

    def _record_kill(self, worker: WorkerProcess, plan: _Plan,
                     first_seen: float | None) -> None:
        after_s = 0.0 if first_seen is None else max(0.0, time.monotonic() - first_seen)
        last = self._last_event.get(worker.id)
        killed = self._kill_event.get(worker.id)
        if killed is not None:
            where = "during " + killed["where"]
        elif last is not None:
            where = "after " + _describe(last)
        else:
            where = "before its first request was answered"
        kill = Kill(n=len(self.kill_log) + 1, incarnation=worker.incarnation, mode=plan.mode,
                    plan=plan.describe(), where=where, after_s=round(after_s, 3),
                    seed=self._seed)
        self.kill_log.append(kill)
        if not self.config.quiet:
            from rich.markup import escape

            self.console.print(f"[red]SIGKILL {kill.n}[/red] seed {kill.seed} "
                               f"worker#{kill.incarnation} ({kill.mode}: {kill.plan}) — "
                               f"{escape(kill.where)}")

    def _pull_events(self) -> None:
        assert self.services is not None
        for event in self.services.events(self._events_seen):
            self._events_seen = max(self._events_seen, event["seq"])
            self.events.append(event)
            if event["kind"] == "kill":
                self._kill_event[event["caller"]] = event
            elif event["caller"] not in self._kill_event:
                self._last_event[event["caller"]] = event

    def _stop_all(self, workdir: Path) -> None:
        from ._procs import stop

        for proc in self.processes:
            if self.services is not None and proc is self.services.proc:
                continue
            stop(proc)
        if self.services is not None:
            try:
                self._pull_events()
            except Exception:  # the services died: keep what was pulled already
                pass
            with open(workdir / "events.jsonl", "w") as f:
                for event in self.events:
                    f.write(json.dumps(event, sort_keys=True, default=str) + "\n")
            self.services.stop()

    # --- the checks ---------------------------------------------------------------------
    def _check(self, scenario: Any, seed: int, workflows: list[dict[str, Any]],
               expected: dict[str, Any], workdir: Path) -> TortureResult:
        from ._ledger import rebuild_world

        cfg = self.config
        world = rebuild_world(scenario, seed, workdir / "services-ledger.sqlite")
        actual = scenario.final_state(world)
        duplicates = duplicate_effects(world)
        safety = [v.headline() if hasattr(v, "headline") else v.message
                  for v in scenario.check_safety(world)]
        lost = [w["id"] for w in workflows if w["id"] not in world.workflows.outcomes]
        want = split_by_workflow(expected, workflows)
        got = split_by_workflow(actual, workflows)
        mismatches = [{"workflow": k, "expected": want.get(k), "actual": got.get(k)}
                      for k in sorted(set(want) | set(got)) if want.get(k) != got.get(k)]
        mismatched = sum(len(m["workflow"].split(",")) for m in mismatches)
        return TortureResult(
            scenario=cfg.scenario, seed=seed, design=cfg.design,
            kills=len(self.kill_log), kills_requested=cfg.kills, workflows=len(workflows),
            completed=len(workflows) - len(lost),
            duplicate_effects=sum(d["count"] - 1 for d in duplicates),
            lost_workflows=len(lost), mismatched_final_states=mismatched,
            duplicates=duplicates, mismatches=_jsonable(mismatches), lost=lost,
            safety_violations=safety, worker_errors=list(self.worker_errors),
            kill_log=list(self.kill_log))

    # --- output -------------------------------------------------------------------------
    def _live(self) -> Any:
        from contextlib import contextmanager

        from rich.live import Live

        @contextmanager
        def live() -> Any:
            if self.config.quiet or not self.console.is_terminal:
                yield lambda renderable: None
                return
            with Live(console=self.console, refresh_per_second=8, transient=True) as view:
                yield view.update

        return live()

    def _progress(self, status: dict[str, Any], incarnation: int, total: int,
                  started: float) -> Any:
        from rich.text import Text

        effects = sum(status["effects"].values())
        return Text.assemble(
            ("torture ", "bold"), f"{self.config.scenario} seed {self.config.seed}  ",
            ("kills ", "red"), f"{len(self.kill_log)}/{self.config.kills}  ",
            f"round seed {self._seed}  ",
            "incarnation ", f"{incarnation}  ",
            ("workflows ", "green"), f"{len(status['completed'])}/{total}  ",
            f"requests {status['requests']}  effects {effects}  ",
            f"{time.monotonic() - started:.1f} s")

    def _summary(self, result: TortureResult) -> None:
        from rich.table import Table

        table = Table(title=f"torture {result.scenario} (seed {result.seed}, "
                            f"design {result.design})", show_header=False)
        verdict = "[green]all held[/green]" if result.ok else "[red]VIOLATED[/red]"
        seeds = (f"seed {result.seed}" if len(result.rounds) == 1 else
                 f"seeds {result.seed}..{result.seed + len(result.rounds) - 1}")
        rows = [
            ("kills survived", f"{result.kills} (asked {result.kills_requested})"),
            ("rounds", f"{len(result.rounds)} ({seeds})"),
            ("worker incarnations", str(result.incarnations)),
            ("workflows completed", f"{result.completed}/{result.workflows}"),
            ("duplicate effects", str(result.duplicate_effects)),
            ("lost workflows", str(result.lost_workflows)),
            ("final states unlike the simulation's", str(result.mismatched_final_states)),
            ("safety violations", str(len(result.safety_violations))),
            ("requests served", str(result.requests)),
            ("wall time", f"{result.wall_s:.1f} s"),
            ("verdict", verdict),
        ]
        for name, value in rows:
            table.add_row(name, value)
        self.out.print(table)
        for line in [*result.safety_violations, *result.worker_errors]:
            self.out.print(f"[red]-[/red] {line}")
        for d in result.duplicates:
            self.out.print(f"[red]- duplicate[/red] {d['service']}: {d['effect']} "
                           f"x{d['count']}")
        for m in result.mismatches:
            self.out.print(f"[red]- final state of {m['workflow']}[/red]: expected "
                           f"{m['expected']}, got {m['actual']}")
        if result.timed_out:
            self.out.print(f"[red]- gave up after {self.config.timeout_s:g} s[/red]")
        if result.workdir:
            self.out.print(f"files kept in {result.workdir}")


def _sum(cfg: TortureConfig, rounds: list[TortureResult], kill_log: list[Kill],
         worker_errors: list[str]) -> TortureResult:
    """The run's result: every round's findings, each named by its round's seed."""
    def each(r: TortureResult, items: list[Any]) -> list[Any]:
        return [{"seed": r.seed, **item} for item in items]

    return TortureResult(
        scenario=cfg.scenario, seed=cfg.seed, design=cfg.design, kills=len(kill_log),
        kills_requested=cfg.kills, workflows=sum(r.workflows for r in rounds),
        completed=sum(r.completed for r in rounds),
        duplicate_effects=sum(r.duplicate_effects for r in rounds),
        lost_workflows=sum(r.lost_workflows for r in rounds),
        mismatched_final_states=sum(r.mismatched_final_states for r in rounds),
        duplicates=[d for r in rounds for d in each(r, r.duplicates)],
        mismatches=[m for r in rounds for m in each(r, r.mismatches)],
        lost=[f"seed {r.seed}: {w}" for r in rounds for w in r.lost],
        safety_violations=[f"seed {r.seed}: {v}" for r in rounds for v in r.safety_violations],
        worker_errors=list(worker_errors), timed_out=any(r.timed_out for r in rounds),
        incarnations=sum(r.incarnations for r in rounds),
        requests=sum(r.requests for r in rounds), kill_log=list(kill_log),
        rounds=[{"seed": r.seed, "workflows": r.workflows, "completed": r.completed,
                 "kills": r.kills, "incarnations": r.incarnations, "requests": r.requests,
                 "duplicate_effects": r.duplicate_effects, "lost_workflows": r.lost_workflows,
                 "mismatched_final_states": r.mismatched_final_states,
                 "safety_violations": len(r.safety_violations), "timed_out": r.timed_out,
                 "wall_s": round(r.wall_s, 2)} for r in rounds])


def _describe(event: dict[str, Any]) -> str:
    kind = event["kind"]
    if kind == "tool":
        return f"{event['name']} answered {event['status']}"
    if kind == "model":
        return f"the model answered {event['name']}"
    if kind == "complete":
        return f"reporting {event['name']} done"
    return kind


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=list))
