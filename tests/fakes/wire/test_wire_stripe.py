"""The Stripe door: Stripe's REST API v1 over HTTP in front of the one PaymentProvider.

Checked three ways: the door's own semantics (form encoding, idempotency on the wire,
search, refunds, errors), every field it sends against the stripe SDK's own resource
classes, and the real ``stripe.StripeClient`` end to end through a ``stripe.HTTPClient``
subclass (its exception classes, its automatic keys and its retries)."""

from __future__ import annotations

import random
from typing import Any
from urllib.parse import urlencode

import pytest

stripe = pytest.importorskip("stripe")

from stripe._encode import _api_encode  # noqa: E402  (the SDK's own form encoder)
from wire_support import DoorClient, body_problems, run  # noqa: E402

from fakes import PaymentProvider, StripeApi, make_customers  # noqa: E402
from fakes.wire import HttpInFlight, HttpRequest, HttpResponse, serve  # noqa: E402
from scenarios._invariants import EXACTLY_ONCE_CHARGE, exactly_once_charges  # noqa: E402
from simulator import NS_PER_DAY, NS_PER_S, Request  # noqa: E402

AUTH = {"Authorization": "Bearer sk_test_123"}
PI = {"amount": 2_000, "currency": "usd", "customer": "cus_1", "payment_method": "pm_1",
      "confirm": True, "metadata": {"order_id": "o-1"}}


def world(declines: bool = False, **kw: Any) -> tuple[PaymentProvider, StripeApi]:
    customers = make_customers(random.Random(7), 3)
    if declines:
        customers[1] = customers[1].model_copy(update={"declines": True})
    provider = PaymentProvider(customers, **kw)
    return provider, StripeApi(provider)


def http(method: str, path: str, params: dict[str, Any] | None = None, key: str | None = None,
         inject: int | None = None, headers: dict[str, str] | None = None) -> HttpRequest:
    encoded = urlencode(list(_api_encode(params or {})))
    sent = dict(AUTH if headers is None else headers)
    if key is not None:
        sent["Idempotency-Key"] = key
    if method == "POST":
        sent.setdefault("Content-Type", "application/x-www-form-urlencoded")
        return HttpRequest("POST", f"https://api.stripe.com{path}", sent, encoded.encode(),
                           inject_status=inject)
    url = f"https://api.stripe.com{path}" + (f"?{encoded}" if encoded else "")
    return HttpRequest(method, url, sent, inject_status=inject)


def send(door: StripeApi, request: HttpRequest, now_ns: int = 0) -> HttpResponse:
    return serve(door, request, now_ns)[0]


# -- the door's semantics ------------------------------------------------------------------

def test_confirmed_payment_intent_is_a_charge_in_the_one_ledger() -> None:
    provider, door = world()
    response = send(door, http("POST", "/v1/payment_intents", PI, key="k1"))
    body = response.json()
    assert response.status == 200
    assert (body["id"], body["object"], body["status"]) == ("pi_1", "payment_intent",
                                                            "succeeded")
    assert body["amount_received"] == 2_000 and body["latest_charge"] == "ch_1"
    assert body["metadata"] == {"order_id": "o-1"} and body["livemode"] is False
    (charge,) = provider.ledger
    assert (charge.id, charge.customer, charge.amount_cents, charge.payment_intent,
            charge.idempotency_key) == ("ch_1", "cus_1", 2_000, "pi_1", "k1")
    # the dialect's charge writes the same ledger, and the invariant reads it unchanged
    provider.finish(provider.begin(Request("charge", {"customer": "cus_1",
                                                      "amount_cents": 2_000,
                                                      "currency": "usd"}, "k2"), 0), 0)
    assert [c.id for c in provider.ledger] == ["ch_1", "ch_2"]
    (violation,) = exactly_once_charges(provider, {"cus_1": 1}, str)
    assert violation.invariant == EXACTLY_ONCE_CHARGE


def test_unconfirmed_intent_charges_only_when_confirmed() -> None:
    provider, door = world()
    created = send(door, http("POST", "/v1/payment_intents",
                              {"amount": 900, "currency": "usd", "customer": "cus_2"}))
    assert created.json()["status"] == "requires_payment_method" and not provider.ledger
    confirmed = send(door, http("POST", "/v1/payment_intents/pi_1/confirm",
                                {"payment_method": "pm_card_visa"}))
    assert confirmed.json()["status"] == "succeeded" and len(provider.ledger) == 1
    again = send(door, http("POST", "/v1/payment_intents/pi_1/confirm"))
    assert again.status == 400
    assert again.json()["error"]["code"] == "payment_intent_unexpected_state"
    assert len(provider.ledger) == 1


def test_same_key_replays_the_first_response_without_acting() -> None:
    provider, door = world()
    first = send(door, http("POST", "/v1/payment_intents", PI, key="k"))
    second = send(door, http("POST", "/v1/payment_intents", PI, key="k"), 5 * NS_PER_S)
    assert second.status == first.status == 200 and second.body == first.body
    assert second.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert first.headers["idempotency-key"] == "k"
    assert len(provider.ledger) == 1 and provider.stats["replayed"] == 1


def test_a_stored_500_is_replayed_and_says_do_not_retry() -> None:
    provider, door = world()
    failed = send(door, http("POST", "/v1/payment_intents", PI, key="k", inject=500))
    assert failed.status == 500 and failed.headers["stripe-should-retry"] == "false"
    assert failed.json()["error"]["type"] == "api_error" and "should_retry" not in failed.json()
    again = send(door, http("POST", "/v1/payment_intents", PI, key="k"))
    assert again.status == 500 and again.body == failed.body and not provider.ledger
    fresh = send(door, http("POST", "/v1/payment_intents", PI, key="k2"))
    assert fresh.status == 200 and len(provider.ledger) == 1


def test_same_key_other_parameters_is_an_idempotency_error() -> None:
    provider, door = world()
    send(door, http("POST", "/v1/payment_intents", PI, key="k"))
    other = send(door, http("POST", "/v1/payment_intents", {**PI, "amount": 2_100}, key="k"))
    assert other.status == 400 and other.json()["error"]["type"] == "idempotency_error"
    assert len(provider.ledger) == 1


def test_key_in_flight_is_409_in_use_with_should_retry() -> None:
    provider, door = world()
    flight = door.begin(http("POST", "/v1/payment_intents", PI, key="k"), 0)
    assert isinstance(flight, HttpInFlight) and flight.processing_ns > 0
    clash = door.begin(http("POST", "/v1/payment_intents", PI, key="k"), 1)
    assert isinstance(clash, HttpResponse) and clash.status == 409
    assert clash.json()["error"]["code"] == "idempotency_key_in_use"
    assert clash.headers["stripe-should-retry"] == "true"
    done = door.finish(flight, flight.processing_ns)
    assert done.status == 200 and len(provider.ledger) == 1


@pytest.mark.parametrize("rejected", [
    http("POST", "/v1/payment_intents", {**PI, "amount": 10}, key="k"),     # too small
    http("POST", "/v1/payment_intents", {**PI, "currency": "xyz"}, key="k"),
    http("POST", "/v1/payment_intents", {**PI, "customer": "cus_404"}, key="k"),
    http("POST", "/v1/payment_intents", {**PI, "payment_method": "pm_nope"}, key="k"),
    http("POST", "/v1/payment_intents", {**PI, "amount": "12x"}, key="k"),
    http("POST", "/v1/payment_intents", {**PI, "surprise": "1"}, key="k"),
    http("POST", "/v1/payment_intents", PI, key="k", inject=429),
])
def test_rejections_before_executing_are_not_stored(rejected: HttpRequest) -> None:
    provider, door = world()
    response = send(door, rejected)
    assert response.status in (400, 429) and not provider.ledger
    retry = send(door, http("POST", "/v1/payment_intents", PI, key="k"))
    assert retry.status == 200 and "idempotent-replayed" not in retry.headers
    assert len(provider.ledger) == 1


def test_keys_are_pruned_after_24_hours() -> None:
    provider, door = world()
    send(door, http("POST", "/v1/payment_intents", PI, key="k"))
    send(door, http("POST", "/v1/payment_intents", PI, key="k"), NS_PER_DAY - NS_PER_S)
    assert len(provider.ledger) == 1
    send(door, http("POST", "/v1/payment_intents", PI, key="k"), NS_PER_DAY + NS_PER_S)
    assert len(provider.ledger) == 2  # a late retry charges again, as on Stripe


def test_decline_is_a_stored_402_carrying_the_intent() -> None:
    provider, door = world(declines=True)
    params = {**PI, "customer": "cus_2", "payment_method": "pm_2"}
    declined = send(door, http("POST", "/v1/payment_intents", params, key="k"))
    err = declined.json()["error"]
    assert declined.status == 402 and (err["type"], err["code"], err["decline_code"]) == (
        "card_error", "card_declined", "insufficient_funds")
    assert err["payment_intent"]["status"] == "requires_payment_method"
    assert err["payment_intent"]["last_payment_error"]["charge"] == err["charge"]
    assert not provider.ledger and provider.stats["declined"] == 1
    replay = send(door, http("POST", "/v1/payment_intents", params, key="k"))
    assert replay.status == 402 and replay.headers["idempotent-replayed"] == "true"
    token = send(door, http("POST", "/v1/payment_intents",
                            {**PI, "payment_method": "pm_card_chargeDeclinedExpiredCard"}))
    assert token.json()["error"]["code"] == "expired_card"
    other_card = send(door, http("POST", "/v1/payment_intents", {**PI, "payment_method": "pm_2"}))
    assert other_card.status == 400  # cus_2's card used for cus_1


def test_search_by_metadata_and_list_by_customer() -> None:
    _, door = world(search_lag_ns=2 * NS_PER_S)
    for n, customer in enumerate(("cus_1", "cus_2", "cus_1"), start=1):
        send(door, http("POST", "/v1/payment_intents",
                        {**PI, "customer": customer, "payment_method": "pm_card_visa",
                         "metadata": {"order_id": f"o-{n}"}}), n * NS_PER_S)
    query = {"query": "metadata['order_id']:'o-3'"}
    lagging = send(door, http("GET", "/v1/payment_intents/search", query), 3 * NS_PER_S)
    assert lagging.json()["data"] == []  # Stripe's search lags; retrieve and list do not
    found = send(door, http("GET", "/v1/payment_intents/search", query), 10 * NS_PER_S).json()
    assert [p["id"] for p in found["data"]] == ["pi_3"] and found["has_more"] is False
    both = send(door, http("GET", "/v1/payment_intents/search",
                           {"query": "customer:'cus_1' AND status:'succeeded'"}),
                10 * NS_PER_S).json()
    assert [p["id"] for p in both["data"]] == ["pi_3", "pi_1"]
    listed = send(door, http("GET", "/v1/payment_intents", {"customer": "cus_1", "limit": 1}),
                  3 * NS_PER_S).json()
    assert [p["id"] for p in listed["data"]] == ["pi_3"] and listed["has_more"] is True
    rest = send(door, http("GET", "/v1/payment_intents",
                           {"customer": "cus_1", "starting_after": "pi_3"})).json()
    assert [p["id"] for p in rest["data"]] == ["pi_1"] and rest["has_more"] is False
    assert send(door, http("GET", "/v1/payment_intents/pi_2")).json()["customer"] == "cus_2"


@pytest.mark.parametrize("query", ["metadata['a']:'1' AND b:'2' OR c:'3'", "amount:",
                                   "colour:'red'", "amount>'big'"])
def test_a_query_the_fake_cannot_read_is_a_400(query: str) -> None:
    _, door = world()
    response = send(door, http("GET", "/v1/payment_intents/search", {"query": query}))
    assert response.status == 400 and response.json()["error"]["param"] == "query"


def test_customers_create_retrieve_list_search() -> None:
    provider, door = world()
    made = send(door, http("POST", "/v1/customers",
                           {"email": "Ann@Example.com", "name": "Ann",
                            "metadata": {"crm": "42"}}, key="c1"))
    body = made.json()
    assert made.status == 200 and body["id"] == "cus_4" and body["object"] == "customer"
    assert send(door, http("GET", "/v1/customers/cus_4")).json() == body
    seeded = send(door, http("GET", "/v1/customers/cus_1")).json()
    assert seeded["invoice_settings"]["default_payment_method"] == "pm_1"
    listed = send(door, http("GET", "/v1/customers", {"email": "Ann@Example.com"})).json()
    assert [c["id"] for c in listed["data"]] == ["cus_4"]
    later = NS_PER_S  # made at the end of its processing time
    by_email = send(door, http("GET", "/v1/customers/search",
                               {"query": "email:'ann@example.com'"}), later).json()
    by_meta = send(door, http("GET", "/v1/customers/search",
                              {"query": "metadata['crm']:'42'"}), later).json()
    assert [c["id"] for c in by_email["data"]] == [c["id"] for c in by_meta["data"]] == ["cus_4"]
    missing = send(door, http("GET", "/v1/customers/cus_99"))
    assert missing.status == 404 and missing.json()["error"]["code"] == "resource_missing"
    assert provider.snapshot()["customers_created"] == [
        {"email": "Ann@Example.com", "name": "Ann", "metadata": {"crm": "42"}}]


def test_refunds_full_partial_and_not_twice() -> None:
    provider, door = world()
    send(door, http("POST", "/v1/payment_intents", PI))
    part = send(door, http("POST", "/v1/refunds", {"payment_intent": "pi_1", "amount": 500}))
    assert part.status == 200 and part.json()["amount"] == 500
    rest = send(door, http("POST", "/v1/refunds", {"payment_intent": "pi_1"}))
    assert rest.json()["amount"] == 1_500 and rest.json()["charge"] == "ch_1"
    again = send(door, http("POST", "/v1/refunds", {"payment_intent": "pi_1"}))
    assert again.status == 400 and again.json()["error"]["code"] == "charge_already_refunded"
    assert [r.amount_cents for r in provider.refunds] == [500, 1_500]
    assert len(provider.ledger) == 1  # a refund does not unmake the charge
    assert send(door, http("GET", "/v1/refunds/re_2")).json()["id"] == "re_2"
    assert [e.kind for e in provider.effects()] == ["charge", "refund", "refund"]


def test_two_refunds_in_flight_refund_once() -> None:
    provider, door = world()
    send(door, http("POST", "/v1/payment_intents", PI))
    a = door.begin(http("POST", "/v1/refunds", {"payment_intent": "pi_1"}, key="a"), 0)
    b = door.begin(http("POST", "/v1/refunds", {"payment_intent": "pi_1"}, key="b"), 0)
    assert isinstance(a, HttpInFlight) and isinstance(b, HttpInFlight)
    assert door.finish(a, 10).status == 200
    assert door.finish(b, 10).status == 400  # checked again when it executes
    assert len(provider.refunds) == 1


@pytest.mark.parametrize(("request_", "status"), [
    (http("GET", "/v1/charges/ch_1"), 404),
    (http("DELETE", "/v1/customers/cus_1"), 404),
    (http("POST", "/v1/customers", {}, headers={}), 401),
    (HttpRequest("POST", "https://api.stripe.com/v1/customers",
                 {**AUTH, "Content-Type": "application/json"}, b'{"email": "a@b.c"}'), 400),
    (http("GET", "/v1/payment_intents/pi_1", {"expand": ["latest_charge"]}), 400),
])
def test_requests_stripe_refuses(request_: HttpRequest, status: int) -> None:
    _, door = world()
    send(door, http("POST", "/v1/payment_intents", PI))
    response = send(door, request_)
    assert response.status == status and set(response.json()) == {"error"}
    assert response.headers["request-id"].startswith("req_")
    assert bool(door.tool(request_)) == (status != 404)  # a route is a tool faults name


def test_tool_names_are_the_provider_endpoints() -> None:
    _, door = world()
    assert door.tool(http("POST", "/v1/payment_intents")) == "payments.payment_intents.create"
    assert door.tool(http("GET", "/v1/payment_intents/search")) == \
        "payments.payment_intents.search"
    assert door.tool(http("POST", "/v1/payment_intents/pi_1/confirm")) == \
        "payments.payment_intents.confirm"
    assert door.tool(http("GET", "/v1/balance")) == ""


# -- every field is one the stripe SDK declares, with the declared type -------------------

def test_every_object_and_error_the_door_sends_is_declared_by_the_sdk() -> None:
    _, door = world(declines=True)
    requests = [
        http("POST", "/v1/payment_intents", PI, key="a"),
        http("POST", "/v1/payment_intents", PI, key="a"),  # replay
        http("POST", "/v1/payment_intents", {**PI, "amount": 9}, key="b"),
        http("POST", "/v1/payment_intents", {**PI, "customer": "cus_2",
                                             "payment_method": "pm_2"}),
        http("POST", "/v1/payment_intents", {**PI, "payment_method":
                                             "pm_card_chargeDeclinedIncorrectCvc"}),
        http("POST", "/v1/payment_intents", {**PI, "amount": 7_000}, key="a"),
        http("POST", "/v1/payment_intents", PI, inject=429),
        http("POST", "/v1/payment_intents", PI, inject=500),
        http("POST", "/v1/payment_intents", {"amount": 800, "currency": "eur"}),
        http("POST", "/v1/payment_intents/pi_1/confirm"),
        http("GET", "/v1/payment_intents/pi_1"),
        http("GET", "/v1/payment_intents/pi_404"),
        http("GET", "/v1/payment_intents", {"limit": 2}),
        http("GET", "/v1/payment_intents/search", {"query": "amount>100", "limit": 1}),
        http("GET", "/v1/payment_intents/search", {"query": "nope:'x'"}),
        http("POST", "/v1/customers", {"email": "x@y.z", "metadata": {"k": "v"},
                                       "payment_method": "pm_card_visa"}),
        http("POST", "/v1/customers", {"email": "not-an-email"}),
        http("GET", "/v1/customers/cus_1"),
        http("GET", "/v1/customers", {"email": "x@y.z"}),
        http("GET", "/v1/customers/search", {"query": "email:'x@y.z'"}),
        http("POST", "/v1/refunds", {"payment_intent": "pi_1", "amount": 100,
                                     "reason": "requested_by_customer"}),
        http("POST", "/v1/refunds", {"charge": "ch_1"}),
        http("POST", "/v1/refunds", {"charge": "ch_1"}),
        http("GET", "/v1/refunds/re_1"),
        http("GET", "/v1/nothing/here"),
        http("GET", "/v1/customers/cus_1", headers={}),
    ]
    flight = door.begin(http("POST", "/v1/payment_intents", PI, key="f"), 0)
    bodies = [door.begin(http("POST", "/v1/payment_intents", PI, key="f"), 0).body]  # 409
    assert isinstance(flight, HttpInFlight)
    door.finish(flight, 1)
    statuses = set()
    for request in requests:
        response = send(door, request)
        statuses.add(response.status)
        bodies.append(response.body)
    assert statuses == {200, 400, 401, 402, 404, 429, 500}
    import json

    found = [p for body in bodies for p in body_problems(json.loads(body))]
    assert found == []


def test_the_checker_finds_an_undeclared_or_mistyped_field() -> None:
    # The check above could pass by checking nothing: show it fails on a wrong body.
    _, door = world()
    good = send(door, http("POST", "/v1/payment_intents", PI)).json()
    assert body_problems(good) == []
    assert body_problems({**good, "amount_cents": 2_000}) == [
        "payment_intent.amount_cents: not declared by PaymentIntent"]
    assert body_problems({**good, "amount": "2000"}) == [
        "payment_intent.amount: '2000' is not an int"]
    assert body_problems({**good, "status": 3}) != []
    assert body_problems({"error": {"type": "card_error", "colour": "red"}}) != []


# -- the real SDK, end to end ---------------------------------------------------------------

def sdk(door: StripeApi, retries: int | None = None,
        **client: Any) -> tuple[Any, DoorClient]:
    http_client = DoorClient(door, **client)
    return stripe.StripeClient("sk_test_123", http_client=http_client,
                               max_network_retries=retries), http_client


def test_sdk_parses_the_objects_into_its_classes() -> None:
    provider, door = world()
    client, _ = sdk(door)

    async def go() -> tuple[Any, ...]:
        pi = await client.v1.payment_intents.create_async(params=PI)
        found = await client.v1.payment_intents.search_async(
            params={"query": "metadata['order_id']:'o-1'"})
        customer = await client.v1.customers.create_async(params={"email": "a@b.co"})
        listed = await client.v1.customers.list_async(params={"email": "a@b.co"})
        refund = await client.v1.refunds.create_async(params={"payment_intent": pi.id})
        return pi, found, customer, listed, refund

    pi, found, customer, listed, refund = run(go)
    assert isinstance(pi, stripe.PaymentIntent) and pi.status == "succeeded"
    assert pi.metadata["order_id"] == "o-1" and pi.latest_charge == "ch_1"
    assert isinstance(found, stripe.SearchResultObject) and found.data[0].id == pi.id
    assert isinstance(customer, stripe.Customer) and listed.data[0].id == customer.id
    assert isinstance(refund, stripe.Refund) and refund.amount == 2_000
    assert len(provider.ledger) == 1


@pytest.mark.parametrize(("params", "inject", "raised"), [
    ({**PI, "payment_method": "pm_card_chargeDeclined"}, None, "CardError"),
    ({**PI, "currency": "xyz"}, None, "InvalidRequestError"),
    (PI, 429, "RateLimitError"),
    (PI, 500, "APIError"),
])
def test_sdk_raises_its_own_exception_classes(params: dict[str, Any], inject: int | None,
                                              raised: str) -> None:
    _, door = world()
    client, _ = sdk(door, inject={1: inject} if inject else None)
    with pytest.raises(getattr(stripe, raised)) as caught:
        run(lambda: client.v1.payment_intents.create_async(params=params))
    assert type(caught.value) is getattr(stripe, raised)
    if raised == "CardError":
        assert caught.value.code == "card_declined"
        assert caught.value.error.payment_intent.status == "requires_payment_method"


def test_sdk_raises_idempotency_error_and_invalid_request_for_missing() -> None:
    _, door = world()
    client, _ = sdk(door)
    run(lambda: client.v1.payment_intents.create_async(
        params=PI, options={"idempotency_key": "mine"}))
    with pytest.raises(stripe.IdempotencyError):
        run(lambda: client.v1.payment_intents.create_async(
            params={**PI, "amount": 3_000}, options={"idempotency_key": "mine"}))
    with pytest.raises(stripe.InvalidRequestError) as caught:
        run(lambda: client.v1.payment_intents.retrieve_async("pi_404"))
    assert caught.value.http_status == 404 and caught.value.code == "resource_missing"


def test_sdk_own_retry_of_a_lost_response_replays_the_charge() -> None:
    provider, door = world()
    client, wire = sdk(door, retries=2, lose=frozenset({1}))
    pi = run(lambda: client.v1.payment_intents.create_async(params=PI))
    assert pi.status == "succeeded" and len(provider.ledger) == 1
    first, second = (r.headers["idempotency-key"] for r in wire.sent)
    assert first == second  # one key, drawn once before the SDK's retry loop
    assert wire.received[-1].headers["idempotent-replayed"] == "true"


def test_sdk_retries_a_409_in_use_on_its_own_then_gets_the_replay() -> None:
    provider, door = world()
    client, wire = sdk(door, retries=3, hold=frozenset({1}))
    pi = run(lambda: client.v1.payment_intents.create_async(params=PI))
    assert [r.status for r in wire.received] == [409, 200]
    assert pi.status == "succeeded" and len(provider.ledger) == 1
    assert len({r.headers["idempotency-key"] for r in wire.sent}) == 1


def test_a_restart_draws_a_new_key_and_charges_again() -> None:
    # The same agent code in a new process: a new StripeClient, a new automatic key.
    provider, door = world()
    before, lost = sdk(door, lose=frozenset({1}))  # StripeClient's default: no retries
    with pytest.raises(stripe.APIConnectionError):
        run(lambda: before.v1.payment_intents.create_async(params=PI))
    assert len(provider.ledger) == 1  # it charged; the agent never heard
    after, wire = sdk(door)
    run(lambda: after.v1.payment_intents.create_async(params=PI))
    assert lost.sent[0].headers["idempotency-key"] != wire.sent[0].headers["idempotency-key"]
    assert len(provider.ledger) == 2
    (violation,) = exactly_once_charges(provider, {"cus_1": 1}, str)
    assert violation.invariant == EXACTLY_ONCE_CHARGE


def test_the_door_serves_a_wrapped_provider_too() -> None:
    from scenarios.subscription_renewal import Outage

    provider, _ = world()
    door = StripeApi(Outage(provider, 0, 10 * NS_PER_S))
    down = send(door, http("POST", "/v1/payment_intents", PI, key="k"))
    assert down.status == 503 and not provider.ledger
    up = send(door, http("POST", "/v1/payment_intents", PI, key="k"), 20 * NS_PER_S)
    assert up.status == 200 and len(provider.ledger) == 1
