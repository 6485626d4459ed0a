"""The SRE world: incidents, metrics and logs that reveal them, and the idempotency
differences among chat (none), pager (dedup_key) and ops (idempotency keys)."""

from __future__ import annotations

import random
from typing import Any

import pytest

from fakes import (
    DEFAULT_SERVICES,
    RESTART_FIXES,
    ROOT_CAUSES,
    Chat,
    InFlight,
    Logs,
    Metrics,
    Ops,
    Pager,
    Request,
    Response,
    make_incident,
)

S = 1_000_000_000


def do(svc: Any, endpoint: str, args: dict[str, Any], t: int = 0, key: str | None = None,
       inject: int | None = None) -> Response:
    out = svc.begin(Request(endpoint, args, key, inject_status=inject), t)
    if isinstance(out, InFlight):
        return svc.finish(out, t + out.processing_ns)
    return out


def test_incidents_are_deterministic_and_varied() -> None:
    assert make_incident(random.Random(5)) == make_incident(random.Random(5))
    incidents = [make_incident(random.Random(seed)) for seed in range(200)]
    assert {i.root_cause for i in incidents} == set(ROOT_CAUSES)
    assert {i.service for i in incidents} == set(DEFAULT_SERVICES)
    assert {i.alerting_service == i.service for i in incidents} == {True, False}
    for i in incidents:
        assert i.restart_fixes == RESTART_FIXES[i.root_cause]
        assert i.alerting_service in (i.service, DEFAULT_SERVICES[0])
        assert 600 <= i.onset_s <= 2400
        assert (i.deploy_version is not None) == (i.root_cause == "bad_deploy")
        assert i.alerting_service in i.alert


def test_forcing_a_choice_shifts_nothing_else() -> None:
    drawn = make_incident(random.Random(9))
    forced = make_incident(random.Random(9), root_cause="deadlock", service="search-api")
    assert (forced.root_cause, forced.service) == ("deadlock", "search-api")
    assert forced.onset_s == drawn.onset_s
    with pytest.raises(ValueError):
        make_incident(random.Random(9), root_cause="cosmic_rays")
    with pytest.raises(ValueError):
        make_incident(random.Random(9), service="nope")


def incident(cause: str, upstream: bool) -> Any:
    """An incident with ``cause`` on checkout, alerting on the frontend or on itself."""
    for seed in range(100):
        inc = make_incident(random.Random(seed), root_cause=cause, service="checkout")
        if (inc.alerting_service == "frontend") == upstream:
            return inc
    raise AssertionError("no such incident")


def series(m: Metrics, service: str, metric: str) -> list[float]:
    out = do(m, "query", {"service": service, "metric": metric})
    assert out.status == 200 and out.body["unit"] and out.body["step_s"] == 60
    points = out.body["points"]
    assert len(points) == 60 and points[-1][0] == 0 and points[0][0] == -3540
    return [v for _, v in points]


# (cause, metric that shows it, predicate on (first value, last value))
SIGNATURES = [
    ("memory_leak", "memory", lambda first, last: first < 60 and last > 90),
    ("bad_deploy", "error_rate", lambda first, last: first < 1 and last > 5),
    ("db_saturation", "db_connections", lambda first, last: first < 40 and last == 100),
    ("deadlock", "requests", lambda first, last: last < 0.2 * first),
]


@pytest.mark.parametrize(("cause", "metric", "shows"), SIGNATURES,
                         ids=[s[0] for s in SIGNATURES])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_metrics_show_the_root_cause(cause: str, metric: str, shows: Any, seed: int) -> None:
    inc = incident(cause, upstream=True)
    m = Metrics(inc, random.Random(seed))
    faulty = series(m, "checkout", metric)
    assert shows(faulty[0], faulty[-1])
    healthy = series(m, "search-api", metric)
    assert not shows(healthy[0], healthy[-1])
    # the frontend, alerting, shows the symptom but not the cause's signature
    assert series(m, "frontend", "error_rate")[-1] > 5
    assert series(m, "search-api", "error_rate")[-1] < 1


def test_metrics_are_pure_functions_of_the_query() -> None:
    inc = make_incident(random.Random(1))
    a, b = Metrics(inc, random.Random(2)), Metrics(inc, random.Random(2))
    first = series(a, "checkout", "cpu"), series(a, "frontend", "memory")
    second = series(b, "frontend", "memory"), series(b, "checkout", "cpu")
    assert first == second[::-1]
    assert series(a, "checkout", "cpu") == first[0]  # asked again, later: the same
    assert series(Metrics(inc, random.Random(3)), "checkout", "cpu") != first[0]


@pytest.mark.parametrize(("args", "param"), [
    ({"service": "nope", "metric": "cpu"}, "service"),
    ({"service": "checkout", "metric": "vibes"}, "metric"),
    ({"service": "checkout"}, "metric"),
])
def test_metrics_reject_unknown(args: dict[str, Any], param: str) -> None:
    m = Metrics(make_incident(random.Random(1)), random.Random(1))
    out = do(m, "query", args)
    assert out.status == 400 and out.body["error"]["param"] == param


TELLS = {"memory_leak": "OutOfMemoryError", "bad_deploy": "since deploy",
         "db_saturation": "pool exhausted", "deadlock": "deadlock"}


@pytest.mark.parametrize("cause", ROOT_CAUSES)
@pytest.mark.parametrize("upstream", [True, False])
def test_logs_reveal_the_root_cause(cause: str, upstream: bool) -> None:
    inc = incident(cause, upstream)
    logs = Logs(inc, random.Random(8))
    found = do(logs, "search", {"service": "checkout", "query": TELLS[cause].upper()})
    assert found.status == 200 and len(found.body["lines"]) == 3  # case-insensitive
    assert {line["message"] for line in found.body["lines"]} == {inc.evidence}
    assert all(line["level"] == "ERROR" and -inc.onset_s < line["t_s"] <= 0
               for line in found.body["lines"])
    for other in ("search-api", "frontend"):
        assert do(logs, "search", {"service": other, "query": TELLS[cause]}).body["lines"] == []
    upstream_lines = do(logs, "search", {"service": "frontend",
                                         "query": "upstream checkout"}).body["lines"]
    assert bool(upstream_lines) == upstream
    if cause == "bad_deploy":
        deploy = do(logs, "search", {"service": "checkout", "query": "deploy finished"})
        assert [line["t_s"] for line in deploy.body["lines"]] == [-inc.onset_s]


def test_logs_are_ordered_limited_and_pure() -> None:
    inc = make_incident(random.Random(3))
    logs = Logs(inc, random.Random(4))
    everything = do(logs, "search", {"service": inc.service, "limit": 1000}).body["lines"]
    assert len(everything) > 30
    times = [line["t_s"] for line in everything]
    assert times == sorted(times) and -3600 <= times[0] and times[-1] <= 0
    last5 = do(logs, "search", {"service": inc.service, "limit": 5}).body["lines"]
    assert last5 == everything[-5:]
    assert do(logs, "search", {"service": inc.service}).body["lines"] == everything[-50:]
    assert Logs(inc, random.Random(4)).lines(inc.service) == everything
    assert Logs(inc, random.Random(5)).lines(inc.service) != everything
    assert do(logs, "search", {"service": inc.service, "limit": 0}).status == 400


def test_reads_are_not_side_effecting() -> None:
    inc = make_incident(random.Random(1))
    for svc in (Metrics(inc, random.Random(1)), Logs(inc, random.Random(1))):
        assert svc.side_effecting == frozenset() and svc.keyed == frozenset()
        assert svc.effects() == [] and svc.snapshot() == {}


def test_chat_has_no_idempotency() -> None:
    chat = Chat()
    assert chat.keyed == frozenset() and chat.side_effecting == frozenset({"post"})
    first = do(chat, "post", {"channel": "#inc", "text": "investigating"}, key="k")
    second = do(chat, "post", {"channel": "#inc", "text": "investigating"}, t=S, key="k")
    assert first.status == second.status == 200
    assert (first.body["id"], second.body["id"]) == ("msg_1", "msg_2")
    assert len(chat.messages) == 2 and chat.stats["replayed"] == 0
    assert chat.snapshot() == {"channels": {"#inc": ["investigating", "investigating"]}}


def test_chat_post_in_flight_then_search() -> None:
    chat = Chat()
    flight = chat.begin(Request("post", {"channel": "#inc", "text": "Root cause: Memory leak"}),
                        0)
    assert isinstance(flight, InFlight)
    assert do(chat, "search", {"channel": "#inc"}).body == {"messages": []}
    chat.finish(flight, flight.processing_ns)
    do(chat, "post", {"channel": "#other", "text": "memory leak elsewhere"}, t=S)
    found = do(chat, "search", {"channel": "#inc", "contains": "memory LEAK"})
    assert found.body == {"messages": [{"id": "msg_1", "channel": "#inc",
                                        "text": "Root cause: Memory leak"}]}
    assert do(chat, "search", {"channel": "#inc", "contains": "cpu"}).body["messages"] == []
    assert [e.kind for e in chat.effects()] == ["post", "post"]


@pytest.mark.parametrize("args", [{"channel": "", "text": "x"}, {"channel": "#c", "text": ""},
                                  {"channel": "#c"}])
def test_chat_rejects_bad_posts(args: dict[str, Any]) -> None:
    chat = Chat()
    assert do(chat, "post", args).status == 400 and chat.messages == []


# (pages sent as (dedup_key or None, idempotency key or None), pages that go out)
PAGES = [
    ("same dedup key twice: one page", [("inc-1", None), ("inc-1", None)], 1),
    ("different dedup keys: two pages", [("inc-1", None), ("inc-2", None)], 2),
    ("no dedup key: every page is new", [(None, None), (None, None), (None, None)], 3),
    ("idempotency keys are ignored", [(None, "k"), (None, "k")], 2),
    ("dedup key wins whatever the idempotency key", [("inc-1", "a"), ("inc-1", "b")], 1),
]


@pytest.mark.parametrize(("sends", "pages"), [p[1:] for p in PAGES], ids=[p[0] for p in PAGES])
def test_pager_dedup(sends: list[tuple[str | None, str | None]], pages: int) -> None:
    pager = Pager()
    for i, (dedup_key, key) in enumerate(sends):
        args: dict[str, Any] = {"summary": "checkout down", "severity": "critical"}
        if dedup_key is not None:
            args["dedup_key"] = dedup_key
        out = do(pager, "page", args, t=i * S, key=key)
        assert out.status == 202
        assert out.body["status"] == "success" and out.body["dedup_key"]
        if dedup_key is not None:
            assert out.body["dedup_key"] == dedup_key
    assert len(pager.pages) == pages
    assert pager.stats["deduplicated"] == len(sends) - pages
    assert len(pager.snapshot()["pages"]) == len(pager.effects()) == pages


@pytest.mark.parametrize("args", [{"summary": "x", "severity": "meh"}, {"summary": ""},
                                  {"severity": "critical"}, {"summary": "x", "dedup_key": ""}])
def test_pager_rejects_bad_pages(args: dict[str, Any]) -> None:
    pager = Pager()
    assert do(pager, "page", args).status == 400 and pager.pages == []


def test_ops_restart() -> None:
    ops = Ops()
    flight = ops.begin(Request("restart", {"service": "checkout"}, "k"), 0)
    assert isinstance(flight, InFlight) and flight.processing_ns == 500_000_000
    assert do(ops, "restart", {"service": "checkout"}, t=S // 10, key="k").status == 409
    first = ops.finish(flight, flight.processing_ns)
    assert first.body == {"id": "rst_1", "service": "checkout", "status": "restarted"}
    assert do(ops, "restart", {"service": "checkout"}, t=S, key="k").body == first.body
    assert len(ops.restarts) == 1
    do(ops, "restart", {"service": "checkout"}, t=2 * S)  # no key: restarts again
    assert ops.snapshot() == {"restarts": {"checkout": 2}}
    bad = do(ops, "restart", {"service": "mainframe"}, t=3 * S, key="k2")
    assert bad.status == 400 and len(ops.restarts) == 2


@pytest.mark.parametrize("cause", ROOT_CAUSES)
def test_ops_resolves(cause: str) -> None:
    inc = make_incident(random.Random(1), root_cause=cause, service="checkout")
    ops = Ops(inc.services)
    do(ops, "restart", {"service": "frontend"})
    assert not ops.resolves(inc)
    do(ops, "restart", {"service": "checkout"}, t=S)
    assert ops.resolves(inc) == RESTART_FIXES[cause]
