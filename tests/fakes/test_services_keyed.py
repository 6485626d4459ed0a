"""Every keyed endpoint (payments.charge, inventory.reserve, email.send, ops.restart) obeys
the same Stripe-like rules, because they share one IdempotencyLayer; and every service
answers an unknown endpoint with 404."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from fakes import (
    Chat,
    Customer,
    Email,
    IdempotencyLayer,
    InFlight,
    Inventory,
    Logs,
    Metrics,
    Ops,
    Pager,
    PaymentProvider,
    Request,
    Response,
    Service,
    SimService,
    make_incident,
)

S = 1_000_000_000
DAY = 86_400 * S


@dataclass
class Keyed:
    make: Callable[[], SimService]
    endpoint: str
    args: dict[str, Any]
    other_args: dict[str, Any]
    count: Callable[[Any], int]  # how many effects really happened


KEYED = {
    "payments.charge": Keyed(
        lambda: PaymentProvider([Customer(id="cus_1", name="A", email="a@x.io",
                                          card_number="4242424242424242")]),
        "charge", {"customer": "cus_1", "amount_cents": 100, "currency": "eur"},
        {"customer": "cus_1", "amount_cents": 101, "currency": "eur"},
        lambda s: len(s.ledger)),
    "inventory.reserve": Keyed(
        lambda: Inventory({"sku-1": 10}),
        "reserve", {"order_id": "o1", "sku": "sku-1", "quantity": 2},
        {"order_id": "o1", "sku": "sku-1", "quantity": 3},
        lambda s: len(s.reservations)),
    "email.send": Keyed(
        lambda: Email(),
        "send", {"to": "a@x.io", "subject": "receipt", "body": "thanks"},
        {"to": "a@x.io", "subject": "receipt", "body": "thanks!"},
        lambda s: len(s.sent)),
    "ops.restart": Keyed(
        lambda: Ops(["api", "db"]),
        "restart", {"service": "api"}, {"service": "db"},
        lambda s: len(s.restarts)),
}


def send(svc: SimService, k: Keyed, t: int, key: str | None, args: dict[str, Any] | None = None,
         inject: int | None = None) -> Response:
    out = svc.begin(Request(k.endpoint, dict(args or k.args), key, inject_status=inject), t)
    if isinstance(out, InFlight):
        return svc.finish(out, t + out.processing_ns)
    return out


@pytest.fixture(params=list(KEYED), ids=list(KEYED))
def keyed(request: pytest.FixtureRequest) -> Keyed:
    return KEYED[request.param]


def test_keyed_endpoint_declared(keyed: Keyed) -> None:
    svc = keyed.make()
    assert keyed.endpoint in svc.keyed and keyed.endpoint in svc.side_effecting
    assert isinstance(svc.idempotency, IdempotencyLayer)


def test_retry_replays_and_acts_once(keyed: Keyed) -> None:
    svc = keyed.make()
    first = send(svc, keyed, 0, "k")
    again = send(svc, keyed, S, "k")
    assert first.ok and (again.status, again.body) == (first.status, first.body)
    assert keyed.count(svc) == 1 and svc.stats["replayed"] == 1


def test_without_key_acts_each_time(keyed: Keyed) -> None:
    svc = keyed.make()
    assert send(svc, keyed, 0, None).ok and send(svc, keyed, S, None).ok
    assert keyed.count(svc) == 2


def test_conflict_mismatch_expiry(keyed: Keyed) -> None:
    svc = keyed.make()
    flight = svc.begin(Request(keyed.endpoint, dict(keyed.args), "k"), 0)
    assert isinstance(flight, InFlight)
    busy = send(svc, keyed, 1, "k")
    assert busy.status == 409 and busy.body["error"]["code"] == "idempotency_key_in_use"
    first = svc.finish(flight, flight.processing_ns)
    mismatch = send(svc, keyed, S, "k", keyed.other_args)
    assert mismatch.status == 400 and mismatch.body["error"]["type"] == "idempotency_error"
    assert send(svc, keyed, DAY - 1, "k").body == first.body
    assert keyed.count(svc) == 1
    assert send(svc, keyed, DAY, "k").ok  # expired: acts again
    assert keyed.count(svc) == 2
    assert svc.stats["expired_key_reused"] == 1


def test_429_not_stored_500_stored(keyed: Keyed) -> None:
    svc = keyed.make()
    assert send(svc, keyed, 0, "a", inject=429).status == 429
    assert send(svc, keyed, S, "a").ok  # runs anew
    failed = send(svc, keyed, 0, "b", inject=500)
    assert failed.status == 500 and failed.body["error"]["type"] == "api_error"
    assert send(svc, keyed, S, "b").body == failed.body  # replayed, not executed
    assert keyed.count(svc) == 1
    assert svc.stats["stored_500"] == 1


def _all_services() -> list[tuple[str, Service]]:
    incident = make_incident(random.Random(0))
    rng = random.Random(1)
    return [
        ("payments", KEYED["payments.charge"].make()),
        ("inventory", Inventory({})), ("email", Email()),
        ("metrics", Metrics(incident, rng)), ("logs", Logs(incident, rng)),
        ("chat", Chat()), ("pager", Pager()), ("ops", Ops()),
    ]


@pytest.mark.parametrize(("name", "svc"), _all_services(), ids=[n for n, _ in _all_services()])
def test_every_service_404s_unknown_endpoints(name: str, svc: Service) -> None:
    assert svc.name == name
    out = svc.begin(Request("no_such_endpoint", {}, "k"), 0)
    assert isinstance(out, Response) and out.status == 404
    assert out.body["error"]["type"] == "invalid_request_error"
    assert out.body["error"]["message"].startswith("unknown endpoint")
    assert svc.keyed <= svc.side_effecting


@pytest.mark.parametrize(("name", "svc"), _all_services(), ids=[n for n, _ in _all_services()])
def test_non_json_args_rejected(name: str, svc: Service) -> None:
    endpoint = next(iter(sorted(getattr(svc, "endpoints", ("x",)))))
    out = svc.begin(Request(endpoint, {"x": object()}), 0)
    assert isinstance(out, Response) and out.status == 400
