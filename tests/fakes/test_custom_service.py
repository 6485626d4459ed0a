"""A user's own fake service (``fakes.FakeService`` + ``@route``): the shared pipeline,
Stripe's key rules on a keyed route, a business-field key, none on an unkeyed one; and,
in a world, faults on its routes and a double effect caught by ``at_most_once``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from fakes import Arg, FakeService, InFlight, Request, Response, route
from fakes.wire import HttpRequest, ServiceApi
from faults import FaultPlan
from scenarios import at_most_once, get_scenario, run_seed

ROOT = Path(__file__).resolve().parents[2]


class Crm(FakeService):
    name = "crm"

    def __init__(self) -> None:
        super().__init__()
        self.credits: dict[str, int] = {}
        self.notes: list[str] = []

    @route(args={"customer": str})
    def balance(self, customer: str) -> Any:
        return {"customer": customer, "credit": self.credits.get(customer, 0)}

    @route(effect=True, keyed=True, args={"customer": str, "cents": int})
    def credit(self, customer: str, cents: int) -> Any:
        if cents > 10_000:
            return self.error(422, "limit", "too much")
        self.credits[customer] = self.credits.get(customer, 0) + cents
        return {"customer": customer, "credit": self.credits[customer]}

    @route(effect=True, args={"text": str, "pinned": Arg(bool, required=False,
                                                         default=False)})
    def note(self, text: str, pinned: bool) -> Any:
        self.notes.append(text)
        return {"n": len(self.notes)}

    @route(effect=True, key_arg="ticket", args={"ticket": str, "text": str})
    def reply(self, ticket: str, text: str) -> Any:
        return {"ticket": ticket}


def call(service: FakeService, endpoint: str, args: dict[str, Any], key: str | None = None,
         *, rid: int = 1, now_ns: int = 0) -> Response:
    """One request through begin/finish, as the network delivers it."""
    outcome = service.begin(Request(endpoint, args, key, rid, "worker"), now_ns)
    if isinstance(outcome, InFlight):
        return service.finish(outcome, now_ns + outcome.processing_ns)
    return outcome


def test_the_declaration_is_a_service_with_its_routes() -> None:
    crm = Crm()
    assert crm.endpoints == ("balance", "credit", "note", "reply")
    assert crm.side_effecting == {"credit", "note", "reply"}
    assert crm.keyed == {"credit", "reply"}
    assert call(crm, "balance", {"customer": "c1"}).body == {"customer": "c1", "credit": 0}
    assert call(crm, "credit", {"customer": "c1", "cents": "5"}).status == 400
    assert call(crm, "credit", {"customer": "c1"}).status == 400
    assert call(crm, "nope", {}).status == 404
    assert call(crm, "note", {"text": "hi"}).body == {"n": 1}
    assert crm.effects()[0].kind == "note" and crm.effects()[0].data["args"] == {
        "text": "hi", "pinned": False}


def test_a_keyed_route_replays_and_an_unkeyed_one_acts_again() -> None:
    crm = Crm()
    first = call(crm, "credit", {"customer": "c1", "cents": 500}, "k1", rid=1)
    again = call(crm, "credit", {"customer": "c1", "cents": 500}, "k1", rid=2)
    assert first.status == again.status == 200 and first.body == again.body
    assert crm.credits == {"c1": 500} and len(crm.effects()) == 1
    assert call(crm, "credit", {"customer": "c1", "cents": 700}, "k1").status == 400
    assert call(crm, "credit", {"customer": "c1", "cents": 500}, None).status == 200
    assert crm.credits == {"c1": 1000}  # no key: a second credit
    call(crm, "note", {"text": "x"}, "ignored-key")
    call(crm, "note", {"text": "x"}, "ignored-key")
    assert crm.notes == ["x", "x"]  # a key sent to an unkeyed route is ignored


def test_a_key_arg_route_dedupes_on_the_business_field() -> None:
    crm = Crm()
    call(crm, "reply", {"ticket": "t1", "text": "hello"})
    call(crm, "reply", {"ticket": "t1", "text": "hello"}, "a-fresh-key")
    assert len(crm.effects()) == 1
    assert call(crm, "reply", {"ticket": "t1", "text": "other"}).status == 400
    call(crm, "reply", {"ticket": "t2", "text": "hello"})
    assert len(crm.effects()) == 2


def test_a_keyed_route_is_in_flight_until_it_finishes() -> None:
    crm = Crm()
    outcome = crm.begin(Request("credit", {"customer": "c1", "cents": 1}, "k", 1), 0)
    assert isinstance(outcome, InFlight) and outcome.processing_ns > 0
    assert call(crm, "credit", {"customer": "c1", "cents": 1}, "k", rid=2).status == 409
    assert crm.credits == {}
    crm.finish(outcome, outcome.processing_ns)
    assert crm.credits == {"c1": 1}


def test_a_refused_effect_is_not_in_the_ledger() -> None:
    crm = Crm()
    assert call(crm, "credit", {"customer": "c1", "cents": 20_000}, "k").status == 422
    assert crm.effects() == []


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"keyed": True}, "effect routes only"),
    ({"effect": True, "keyed": True, "key_arg": "x", "args": {"x": str}}, "not both"),
    ({"effect": True, "key_arg": "missing"}, "not one of the route's args"),
])
def test_a_bad_route_declaration_says_why(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        route(**kwargs)


def test_a_service_needs_a_name_and_a_route() -> None:
    class Nameless(FakeService):
        @route()
        def ping(self) -> Any:
            return {}

    class Empty(FakeService):
        name = "empty"

    with pytest.raises(ValueError, match="set name"):
        Nameless()
    with pytest.raises(ValueError, match="no @route"):
        Empty()


def test_it_is_served_over_http_by_service_api() -> None:
    crm = Crm()
    door = ServiceApi(crm, "crm")
    assert door.hosts == ("crm.internal",)
    body = json.dumps({"customer": "c1", "cents": 5}).encode()
    request = HttpRequest("POST", "https://crm.internal/credit",
                          {"idempotency-key": "k"}, body)
    assert door.tool(request) == "crm.credit"
    flight = door.begin(request, 0)
    answer = door.finish(flight, 1)  # type: ignore[arg-type]
    assert answer.status == 200 and json.loads(answer.body)["credit"] == 5
    replay = door.begin(request, 2)  # the stored answer, at once: no second credit
    assert replay == answer and crm.credits == {"c1": 5}


# -- in a world: the example scenario's order service -------------------------------------

SCENARIO = "examples.refund_scenario:Refunds"


@pytest.fixture
def refunds(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.chdir(ROOT)
    return get_scenario(SCENARIO)


def _plan(kind: str) -> FaultPlan:
    return FaultPlan.model_validate({"faults": [{"kind": kind, "tool": "orders.refund",
                                                 "call": 1}]})


@pytest.mark.parametrize("kind", ["lose_response", "duplicate"])
def test_a_fault_on_a_declared_route_doubles_an_unkeyed_refund(refunds: Any,
                                                               kind: str) -> None:
    from scenarios import get_scenario as load

    careless = load_design("examples.refund_scenario:careless")
    result = run_seed(refunds, careless, 3, _plan(kind))
    assert result.fired == [0]
    doubled = [v for v in result.violations if v.invariant == "at-most-once-orders.refund"]
    assert len(doubled) == 1, result.violations
    assert len(doubled[0].evidence["ledger"]) == 2
    assert f"--scenario {SCENARIO}" in doubled[0].repro
    durable = load_design("examples.refund_scenario:durable")
    assert run_seed(load(SCENARIO), durable, 3, _plan(kind)).ok


def test_at_most_once_reads_any_ledger(refunds: Any) -> None:
    result = run_seed(refunds, load_design("examples.refund_scenario:durable"), 0,
                      FaultPlan(faults=[]), keep_world=True)
    assert result.world is not None
    assert at_most_once(result.world, "orders", "refund", per="order_id") == []
    orders = result.world.services["orders"]
    orders.ledger.append(orders.ledger[0])  # as if it had acted twice
    [violation] = at_most_once(result.world, "orders", "refund", per="order_id")
    assert violation.invariant == "at-most-once-orders.refund"
    result.world.dispose()


def load_design(spec: str) -> Any:
    from reference_agent import load_design as load

    return load(spec)
