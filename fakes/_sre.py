"""The world of an incident-investigation agent: metrics, logs, chat, pager, ops.

An ``Incident`` (from ``make_incident(rng)``) is the ground truth: which service is at
fault, the root cause, whether a restart fixes it, and the tell-tale log line. Metrics and
logs are generated from it so that an agent can find the cause; the side-effecting
services record what the agent did so that invariants can check it (one page per
incident, no duplicate chat posts, the right service restarted once).

Read services are pure: a query's answer depends only on the seed drawn at construction
and the query's arguments — not on how many queries came before or when — so an agent
that re-reads after a crash sees the same data, and resume equivalence holds.

Times in metrics and logs are seconds relative to the alert (``t_s`` ≤ 0), so answers do
not depend on when in virtual time they are asked.

Idempotency differs on purpose, as it does among real APIs:

- ``chat.post`` has none (a key, if sent, is ignored): a retried post posts twice;
- ``pager.page`` deduplicates by its ``dedup_key`` argument (PagerDuty Events v2): a page
  without one gets a fresh key and is always a new page;
- ``ops.restart`` honours idempotency keys exactly like the payment provider.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from simulator import Effect, Request, Response, derive_seed

from ._common import DEFAULT_PROCESSING_NS, Arg, Checker, Endpoint, SimService, invalid
from ._idempotency import KEY_TTL_NS

#: the services of the simulated system; ``frontend`` calls all the others
DEFAULT_SERVICES: tuple[str, ...] = (
    "frontend", "checkout", "payments-api", "inventory-api", "search-api",
)
ROOT_CAUSES: tuple[str, ...] = ("memory_leak", "bad_deploy", "db_saturation", "deadlock")
#: whether restarting the faulty service fixes each root cause
RESTART_FIXES: dict[str, bool] = {
    "memory_leak": True,
    "bad_deploy": False,
    "db_saturation": False,
    "deadlock": True,
}
METRICS: dict[str, str] = {
    "cpu": "percent",
    "memory": "percent",
    "latency_p99": "ms",
    "error_rate": "percent",
    "db_connections": "count",
    "requests": "per_second",
}
#: metric series: one point a minute over the hour before the alert
STEP_S = 60
WINDOW_S = 3600
DB_POOL_SIZE = 100


@dataclass(frozen=True, slots=True)
class Incident:
    """Ground truth of one incident.

    ``service`` is at fault; ``alerting_service`` is where the alert fired (the frontend
    sees its dependency's failure as upstream timeouts, so the two can differ).
    ``onset_s``: seconds before the alert the fault began. ``evidence``: the tell-tale log
    message on ``service`` that names the root cause.
    """

    service: str
    root_cause: str
    restart_fixes: bool
    alerting_service: str
    onset_s: int
    services: tuple[str, ...]
    deploy_version: str | None
    evidence: str

    @property
    def alert(self) -> str:
        """The alert text an agent starts from (names the symptom, not the cause)."""
        return f"High error rate and latency on {self.alerting_service}"


def make_incident(
    rng: random.Random,
    services: Iterable[str] = DEFAULT_SERVICES,
    *,
    service: str | None = None,
    root_cause: str | None = None,
) -> Incident:
    """A varied incident drawn from ``rng``. ``service``/``root_cause`` force a choice;
    the same number of draws is made either way, so forcing one shifts nothing else."""
    names = tuple(services)
    if len(names) < 1:
        raise ValueError("need at least one service")
    drawn_service = rng.choice(names)
    drawn_cause = rng.choice(ROOT_CAUSES)
    symptom_upstream = rng.random() < 0.5
    onset_s = rng.randrange(10, 41) * 60
    version = f"v{rng.randrange(1, 5)}.{rng.randrange(0, 30)}.{rng.randrange(0, 10)}"
    service = drawn_service if service is None else service
    root_cause = drawn_cause if root_cause is None else root_cause
    if service not in names:
        raise ValueError(f"unknown service {service!r}")
    if root_cause not in RESTART_FIXES:
        raise ValueError(f"unknown root cause {root_cause!r}")
    alerting = names[0] if symptom_upstream else service
    deploy_version = version if root_cause == "bad_deploy" else None
    return Incident(
        service=service,
        root_cause=root_cause,
        restart_fixes=RESTART_FIXES[root_cause],
        alerting_service=alerting,
        onset_s=onset_s,
        services=names,
        deploy_version=deploy_version,
        evidence=_evidence(root_cause, deploy_version),
    )


def _evidence(root_cause: str, deploy_version: str | None) -> str:
    if root_cause == "memory_leak":
        return ("OutOfMemoryError: heap usage 97% (3.9 GiB of 4 GiB); "
                "cache 'sessions' holds 2.1M entries and keeps growing")
    if root_cause == "bad_deploy":
        return (f"unhandled TypeError since deploy {deploy_version}: "
                "'NoneType' object is not subscriptable in handlers/orders.py:212")
    if root_cause == "db_saturation":
        return (f"database connection pool exhausted: {DB_POOL_SIZE}/{DB_POOL_SIZE} "
                "connections in use, waited 30000ms for a connection")
    return ("worker pool stalled: 16/16 threads blocked on lock 'order_cache' for 120s "
            "(possible deadlock)")


def _known_service(incident: Incident, name: str) -> Response | None:
    if name not in incident.services:
        return invalid(f"unknown service {name!r}; known: {', '.join(incident.services)}",
                       param="service", code="resource_missing")
    return None


class Metrics(SimService):
    """``query(service, metric)`` → ``{"service", "metric", "unit", "step_s", "points"}``
    with ``points`` a list of ``[t_s, value]``, one a minute over the hour before the
    alert. Metrics: ``cpu``, ``memory``, ``latency_p99``, ``error_rate``,
    ``db_connections``, ``requests``. The faulty service shows its cause's signature from
    the onset; the alerting service, if another, shows the symptom."""

    name = "metrics"
    side_effecting = frozenset()
    keyed = frozenset()

    def __init__(self, incident: Incident, rng: random.Random) -> None:
        super().__init__()
        self.incident = incident
        self._seed = rng.getrandbits(64)
        self._register("query", Endpoint(
            args={"service": Arg(str), "metric": Arg(str)},
            check=self._check,
            read=self._query,
        ))

    def _check(self, args: dict[str, Any]) -> Response | None:
        rejection = _known_service(self.incident, args["service"])
        if rejection is None and args["metric"] not in METRICS:
            rejection = invalid(f"unknown metric {args['metric']!r}; known: "
                                f"{', '.join(METRICS)}", param="metric",
                                code="resource_missing")
        return rejection

    def _query(self, args: dict[str, Any], request: Request, now_ns: int) -> Response:
        service, metric = args["service"], args["metric"]
        return Response(200, {"service": service, "metric": metric, "unit": METRICS[metric],
                              "step_s": STEP_S, "points": self.series(service, metric)})

    def series(self, service: str, metric: str) -> list[list[float]]:
        """The ``[t_s, value]`` points of one series; a pure function of seed and args."""
        key = (self._seed, service, metric, self.incident)
        made = _SERIES.get(key)
        if made is None:
            made = _remember(_SERIES, key, tuple(
                (t_s, value) for t_s, value in self._series(service, metric)))
        return [[t_s, value] for t_s, value in made]

    def _series(self, service: str, metric: str) -> list[list[float]]:
        rng = random.Random(derive_seed(self._seed, f"{service}\x00{metric}"))
        inc = self.incident
        base = {
            "cpu": rng.uniform(20, 45),
            "memory": rng.uniform(35, 55),
            "latency_p99": rng.uniform(80, 200),
            "error_rate": rng.uniform(0.1, 0.5),
            "db_connections": rng.uniform(10, 30),
            "requests": rng.uniform(50, 400),
        }[metric]
        magnitude = rng.uniform(0.8, 1.2)
        faulty = service == inc.service
        symptomatic = service == inc.alerting_service and not faulty
        points: list[list[float]] = []
        for t_s in range(STEP_S - WINDOW_S, 1, STEP_S):
            noise = rng.gauss(0.0, 0.03)
            value = base * (1.0 + noise)
            since = t_s + inc.onset_s
            if since >= 0:
                progress = since / inc.onset_s
                if faulty:
                    value = _fault_signature(inc.root_cause, metric, value, progress, magnitude)
                elif symptomatic:
                    value = _symptom(metric, value, magnitude)
            if metric in ("cpu", "memory", "error_rate"):
                value = min(value, 100.0)
            if metric == "db_connections":
                value = min(value, float(DB_POOL_SIZE))
            points.append([t_s, round(max(value, 0.0), 3)])
        return points


def _fault_signature(cause: str, metric: str, value: float, progress: float,
                     magnitude: float) -> float:
    """The faulty service's ``metric`` at ``progress`` (0 at onset, 1 at the alert)."""
    if cause == "memory_leak":
        return {
            "memory": value + (97.0 - value) * progress,
            "cpu": value + 25.0 * progress * magnitude,
            "latency_p99": value * (1.0 + 4.0 * progress**2 * magnitude),
            "error_rate": value + (12.0 * magnitude if progress > 0.8 else 0.0),
        }.get(metric, value)
    if cause == "bad_deploy":
        return {
            "error_rate": value + 15.0 * magnitude,
            "latency_p99": value * 2.0 * magnitude,
            "cpu": value + 5.0,
        }.get(metric, value)
    if cause == "db_saturation":
        return {
            "db_connections": value + (DB_POOL_SIZE - value) * min(1.0, progress * 10),
            "latency_p99": value * 6.0 * magnitude,
            "error_rate": value + 6.0 * magnitude,
        }.get(metric, value)
    # deadlock: workers stuck, nothing served, requests time out
    return {
        "requests": value * 0.05,
        "cpu": 3.0 * magnitude,
        "latency_p99": 30000.0,
        "error_rate": value + 30.0 * magnitude,
    }.get(metric, value)


def _symptom(metric: str, value: float, magnitude: float) -> float:
    return {
        "latency_p99": value * 3.0 * magnitude,
        "error_rate": value + 8.0 * magnitude,
    }.get(metric, value)


# Metrics series and log lines are pure functions of (service seed, args, incident), and a
# seed's run and its fault-free baseline ask for the same ones: each is generated once per
# process (the rng draws and rounding are most of an sre-incident run) and kept
# immutable, and every caller gets fresh lists and dicts built from it
# (tests/fakes/test_services_sre_memo.py).
_SERIES: dict[tuple[int, str, str, Incident], tuple[tuple[int, float], ...]] = {}
_LINES: dict[tuple[int, str, Incident], tuple[tuple[int, str, str], ...]] = {}
_MEMO_MAX = 512


def _remember(memo: dict[Any, Any], key: Any, value: Any) -> Any:
    if len(memo) >= _MEMO_MAX:
        del memo[next(iter(memo))]  # the oldest: insertion order
    memo[key] = value
    return value


_ROUTES = ("orders", "cart", "products", "users", "sessions")
_NOISE = (
    ("INFO", "GET /api/v1/{route} 200 in {ms}ms"),
    ("INFO", "POST /api/v1/{route} 201 in {ms}ms"),
    ("INFO", "health check ok"),
    ("INFO", "cache refresh completed in {ms}ms"),
    ("WARN", "slow request GET /api/v1/{route} took {slow}ms"),
)


class Logs(SimService):
    """``search(service, query="", limit=50)`` → ``{"service", "query", "lines"}``: the last
    ``limit`` lines whose message contains ``query`` (case-insensitive), oldest first, each
    ``{"t_s", "level", "message"}``. The faulty service logs errors from the onset and,
    several times, the tell-tale ``incident.evidence``; the alerting service, if another,
    logs upstream timeouts naming the faulty service."""

    name = "logs"
    side_effecting = frozenset()
    keyed = frozenset()

    def __init__(self, incident: Incident, rng: random.Random) -> None:
        super().__init__()
        self.incident = incident
        self._seed = rng.getrandbits(64)
        self._cache: dict[str, list[dict[str, Any]]] = {}
        self._register("search", Endpoint(
            args={"service": Arg(str), "query": Arg(str, required=False, default=""),
                  "limit": Arg(int, required=False, default=50)},
            check=self._check,
            read=self._search,
        ))

    def _check(self, args: dict[str, Any]) -> Response | None:
        if not 1 <= args["limit"] <= 1000:
            return invalid("limit must be between 1 and 1000", param="limit",
                           code="parameter_invalid_integer")
        return _known_service(self.incident, args["service"])

    def _search(self, args: dict[str, Any], request: Request, now_ns: int) -> Response:
        needle = args["query"].lower()
        matches = [dict(line) for line in self.lines(args["service"])
                   if needle in line["message"].lower()]
        return Response(200, {"service": args["service"], "query": args["query"],
                              "lines": matches[-args["limit"]:]})

    def lines(self, service: str) -> list[dict[str, Any]]:
        """All of ``service``'s log lines over the hour before the alert, oldest first."""
        cached = self._cache.get(service)
        if cached is None:
            key = (self._seed, service, self.incident)
            made = _LINES.get(key)
            if made is None:
                made = _remember(_LINES, key, tuple(
                    (line["t_s"], line["level"], line["message"])
                    for line in self._generate(service)))
            cached = self._cache[service] = [
                {"t_s": t_s, "level": level, "message": message}
                for t_s, level, message in made]
        return cached

    def _generate(self, service: str) -> list[dict[str, Any]]:
        rng = random.Random(derive_seed(self._seed, service))
        inc = self.incident
        onset = -inc.onset_s
        lines: list[tuple[int, int, str, str]] = []  # (t_s, seq, level, message)

        def add(t_s: int, level: str, message: str) -> None:
            lines.append((t_s, len(lines), level, message))

        for _ in range(rng.randrange(30, 45)):
            level, template = rng.choice(_NOISE)
            add(rng.randrange(-WINDOW_S, 1), level, template.format(
                route=rng.choice(_ROUTES), ms=rng.randrange(3, 90),
                slow=rng.randrange(900, 2500)))
        if service == inc.service:
            if inc.root_cause == "bad_deploy":
                add(onset, "INFO", f"deploy finished: {service} {inc.deploy_version}")
            for t_s in range(onset + rng.randrange(5, 60), 1, rng.randrange(90, 180)):
                add(t_s, "ERROR", _cause_error(inc, rng))
            for _ in range(3):
                add(rng.randrange(onset + 1, 1), "ERROR", inc.evidence)
        elif service == inc.alerting_service:
            for t_s in range(onset + rng.randrange(5, 60), 1, rng.randrange(60, 120)):
                add(t_s, "ERROR", f"upstream {inc.service} request timed out after 5000ms "
                                  f"(POST /internal/{rng.choice(_ROUTES)})")
        lines.sort()
        return [{"t_s": t_s, "level": level, "message": message}
                for t_s, _, level, message in lines]


def _cause_error(inc: Incident, rng: random.Random) -> str:
    route = rng.choice(_ROUTES)
    return {
        "memory_leak": f"GC overhead limit: {rng.randrange(70, 95)}% of time in GC "
                       f"while serving /api/v1/{route}",
        "bad_deploy": f"POST /api/v1/{route} 500: internal error (release "
                      f"{inc.deploy_version})",
        "db_saturation": f"GET /api/v1/{route} 503: timed out acquiring a database connection",
        "deadlock": f"GET /api/v1/{route} 504: no worker available after 30000ms",
    }[inc.root_cause]


@dataclass(frozen=True, slots=True)
class ChatMessage:
    id: str
    channel: str
    text: str
    t_ns: int
    request_id: int
    caller: str


class Chat(SimService):
    """A chat service with **no** idempotency: every ``post`` that executes posts.

    ``post(channel, text)`` → ``{"id": "msg_<n>", "channel", "text"}``;
    ``search(channel, contains="")`` → ``{"messages": [{"id", "channel", "text"}]}``
    (case-insensitive substring; an unknown channel has no messages).
    ``messages`` lists every post.
    """

    name = "chat"
    side_effecting = frozenset({"post"})
    keyed = frozenset()

    def __init__(self, *, processing_ns: int = DEFAULT_PROCESSING_NS) -> None:
        super().__init__(processing_ns=processing_ns)
        self.messages: list[ChatMessage] = []
        self._register("post", Endpoint(
            args={"channel": Arg(str), "text": Arg(str)},
            check=_non_empty("channel", "text"),
            execute=self._post,
        ))
        self._register("search", Endpoint(
            args={"channel": Arg(str), "contains": Arg(str, required=False, default="")},
            read=self._search,
        ))

    def _post(self, args: dict[str, Any], request: Request, now_ns: int) -> Response:
        message = ChatMessage(id=f"msg_{len(self.messages) + 1}", channel=args["channel"],
                              text=args["text"], t_ns=now_ns, request_id=request.request_id,
                              caller=request.caller)
        self.messages.append(message)
        return Response(200, _message_body(message))

    def _search(self, args: dict[str, Any], request: Request, now_ns: int) -> Response:
        needle = args["contains"].lower()
        found = [_message_body(m) for m in self.messages
                 if m.channel == args["channel"] and needle in m.text.lower()]
        return Response(200, {"messages": found})

    def effects(self) -> list[Effect]:
        return [Effect(self.name, "post", m.t_ns, {"id": m.id, "channel": m.channel,
                                                   "text": m.text, "request_id": m.request_id})
                for m in self.messages]

    def snapshot(self) -> dict[str, Any]:
        """Texts per channel in posting order (a duplicate post shows as a repeat)."""
        channels: dict[str, list[str]] = {}
        for m in self.messages:
            channels.setdefault(m.channel, []).append(m.text)
        return {"channels": dict(sorted(channels.items()))}


def _message_body(message: ChatMessage) -> dict[str, Any]:
    return {"id": message.id, "channel": message.channel, "text": message.text}


def _non_empty(*names: str) -> Checker:
    def check(args: dict[str, Any]) -> Response | None:
        for name in names:
            if not args[name]:
                return invalid(f"{name} must not be empty", param=name,
                               code="parameter_invalid")
        return None

    return check


SEVERITIES = ("critical", "error", "warning", "info")


@dataclass(frozen=True, slots=True)
class Page:
    """A page that really went out (deduplicated events create none)."""

    id: str
    dedup_key: str
    summary: str
    severity: str
    service: str | None
    t_ns: int
    request_id: int


class Pager(SimService):
    """A pager deduplicating by ``dedup_key`` (PagerDuty Events API v2 style).

    ``page(summary, dedup_key=None, severity="error", service=None)`` → 202
    ``{"status": "success", "message": "Event processed", "dedup_key"}`` whether or not it
    was deduplicated (as PagerDuty answers). Without a ``dedup_key`` one is generated, so
    every such page is new. Idempotency keys are ignored: ``dedup_key`` is the mechanism.
    ``pages`` lists real pages; ``stats["deduplicated"]`` counts the events absorbed.
    """

    name = "pager"
    side_effecting = frozenset({"page"})
    keyed = frozenset()

    def __init__(self, *, processing_ns: int = DEFAULT_PROCESSING_NS) -> None:
        super().__init__(processing_ns=processing_ns)
        self.pages: list[Page] = []
        self._by_key: dict[str, Page] = {}
        self._generated = 0
        self.stats["deduplicated"] = 0
        self._register("page", Endpoint(
            args={"summary": Arg(str), "dedup_key": Arg(str, required=False),
                  "severity": Arg(str, required=False, default="error"),
                  "service": Arg(str, required=False)},
            check=self._check,
            execute=self._page,
        ))

    def _check(self, args: dict[str, Any]) -> Response | None:
        if args["severity"] not in SEVERITIES:
            return invalid(f"severity must be one of {', '.join(SEVERITIES)}",
                           param="severity", code="parameter_invalid")
        if args["dedup_key"] is not None and not 0 < len(args["dedup_key"]) <= 255:
            return invalid("dedup_key must be 1 to 255 characters", param="dedup_key",
                           code="parameter_invalid")
        return _non_empty("summary")(args)

    def _page(self, args: dict[str, Any], request: Request, now_ns: int) -> Response:
        key = args["dedup_key"]
        if key is None:
            self._generated += 1
            key = f"auto_{self._generated}"
        if key in self._by_key:
            self.stats["deduplicated"] += 1
        else:
            page = Page(id=f"pg_{len(self.pages) + 1}", dedup_key=key, summary=args["summary"],
                        severity=args["severity"], service=args["service"], t_ns=now_ns,
                        request_id=request.request_id)
            self.pages.append(page)
            self._by_key[key] = page
        return Response(202, {"status": "success", "message": "Event processed",
                              "dedup_key": key})

    def effects(self) -> list[Effect]:
        return [Effect(self.name, "page", p.t_ns, {"id": p.id, "dedup_key": p.dedup_key,
                                                   "summary": p.summary,
                                                   "severity": p.severity,
                                                   "service": p.service,
                                                   "request_id": p.request_id})
                for p in self.pages]

    def snapshot(self) -> dict[str, Any]:
        """The pages that went out, in order."""
        return {"pages": [{"dedup_key": p.dedup_key, "summary": p.summary,
                           "severity": p.severity, "service": p.service}
                          for p in self.pages]}


@dataclass(frozen=True, slots=True)
class Restart:
    id: str
    service: str
    idempotency_key: str | None
    t_ns: int
    request_id: int


#: a restart is slow; the wider in-flight window makes 409s on retries likely
OPS_PROCESSING_NS = 500_000_000


class Ops(SimService):
    """``restart(service)`` → ``{"id": "rst_<n>", "service", "status": "restarted"}``,
    with idempotency keys honoured exactly as by the payment provider. ``restarts`` lists
    every restart that happened. Restarting does not change what metrics and logs show
    (they describe the hour before the alert); ``resolves`` says whether it fixed things.
    """

    name = "ops"
    side_effecting = frozenset({"restart"})
    keyed = frozenset({"restart"})

    def __init__(
        self,
        services: Iterable[str] = DEFAULT_SERVICES,
        *,
        processing_ns: int = OPS_PROCESSING_NS,
        key_ttl_ns: int = KEY_TTL_NS,
    ) -> None:
        super().__init__(processing_ns=processing_ns, key_ttl_ns=key_ttl_ns)
        self.services: tuple[str, ...] = tuple(services)
        self.restarts: list[Restart] = []
        self._register("restart", Endpoint(
            args={"service": Arg(str)},
            check=self._check,
            execute=self._restart,
        ))

    def _check(self, args: dict[str, Any]) -> Response | None:
        if args["service"] not in self.services:
            return invalid(f"unknown service {args['service']!r}", param="service",
                           code="resource_missing")
        return None

    def _restart(self, args: dict[str, Any], request: Request, now_ns: int) -> Response:
        restart = Restart(id=f"rst_{len(self.restarts) + 1}", service=args["service"],
                          idempotency_key=request.idempotency_key, t_ns=now_ns,
                          request_id=request.request_id)
        self.restarts.append(restart)
        return Response(200, {"id": restart.id, "service": restart.service,
                              "status": "restarted"})

    def resolves(self, incident: Incident) -> bool:
        """True if a restart of the faulty service happened and restarting fixes it."""
        return incident.restart_fixes and any(r.service == incident.service
                                              for r in self.restarts)

    def effects(self) -> list[Effect]:
        return [Effect(self.name, "restart", r.t_ns, {
                    "id": r.id, "service": r.service, "idempotency_key": r.idempotency_key,
                    "request_id": r.request_id})
                for r in self.restarts]

    def snapshot(self) -> dict[str, Any]:
        """Restart count per service."""
        counts: dict[str, int] = {}
        for r in self.restarts:
            counts[r.service] = counts.get(r.service, 0) + 1
        return {"restarts": dict(sorted(counts.items()))}
