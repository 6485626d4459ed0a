"""The payment provider's Stripe v1 idempotency rules, one table row per situation.

Each case is a list of steps driving ``begin``/``finish`` directly at explicit virtual
times; every step states the response it must get, and each case ends with the ledger
size and the counters that must have moved.
"""

from __future__ import annotations

import copy
import itertools
from dataclasses import dataclass, field
from typing import Any

import pytest

from fakes import (
    Customer,
    InFlight,
    PaymentProvider,
    Request,
    Response,
)

MS = 1_000_000
S = 1_000 * MS
DAY = 86_400 * S
P = 30 * MS  # default processing time

GOOD: dict[str, Any] = {
    "customer": "cus_1",
    "amount_cents": 1_000,
    "currency": "usd",
    "metadata": {"order": "o1"},
}
DROP = object()  # marks an argument to remove from GOOD


def customers() -> list[Customer]:
    return [
        Customer(id="cus_1", name="Ada Lovelace", email="ada@example.com",
                 card_number="4242424242424242"),
        Customer(id="cus_2", name="Bob Declined", email="bob@example.com",
                 card_number="4000000000000002", declines=True),
        Customer(id="cus_3", name="Cy Other", email="cy@example.com",
                 card_number="5555555555554444"),
    ]


@dataclass
class Step:
    op: str  # "begin" (expects InFlight unless status given), "finish", "call" (begin+finish)
    name: str
    t: int
    key: str | None = None
    args: dict[str, Any] = field(default_factory=dict)  # overrides of GOOD
    inject: int | None = None
    status: int | None = None
    err_type: str | None = None
    code: str | None = None
    same_as: str | None = None  # the response must equal this earlier one exactly


def call(name: str, t: int, key: str | None, status: int, **kw: Any) -> Step:
    return Step("call", name, t, key, status=status, **kw)


def begin(name: str, t: int, key: str | None, status: int | None = None, **kw: Any) -> Step:
    return Step("begin", name, t, key, status=status, **kw)


def finish(name: str, t: int, status: int, **kw: Any) -> Step:
    return Step("finish", name, t, status=status, **kw)


def make_args(overrides: dict[str, Any]) -> dict[str, Any]:
    args = copy.deepcopy(GOOD)
    for k, v in overrides.items():
        if v is DROP:
            args.pop(k, None)
        else:
            args[k] = v
    return args


def run(provider: PaymentProvider, steps: list[Step]) -> dict[str, Response]:
    ids = itertools.count(1)
    flights: dict[str, InFlight] = {}
    responses: dict[str, Response] = {}
    for step in steps:
        if step.op == "finish":
            out: Response | InFlight = provider.finish(flights.pop(step.name), step.t)
        else:
            request = Request("charge", make_args(step.args), step.key, next(ids),
                              "test", step.inject)
            out = provider.begin(request, step.t)
            if step.op == "begin" and step.status is None:
                assert isinstance(out, InFlight), (step, out)
                assert out.processing_ns == P
                flights[step.name] = out
                continue
            if step.op == "call" and isinstance(out, InFlight):
                out = provider.finish(out, step.t + out.processing_ns)
        assert isinstance(out, Response), (step, out)
        assert out.status == step.status, (step, out)
        error = out.body.get("error", {})
        if step.err_type is not None:
            assert error.get("type") == step.err_type, (step, out)
        if step.code is not None:
            assert error.get("code") == step.code, (step, out)
        if step.same_as is not None:
            first = responses[step.same_as]
            assert (out.status, out.body) == (first.status, first.body), (step, out, first)
        responses[step.name] = out
    assert not flights, f"unfinished flights {list(flights)}"
    return responses


# (id, steps, ledger size, stats that must equal these values)
CASES: list[tuple[str, list[Step], int, dict[str, int]]] = [
    ("first request executes and stores; retry replays it",
     [call("a", 0, "k", 200), call("b", 1 * S, "k", 200, same_as="a")],
     1, {"executed": 1, "replayed": 1, "started": 1}),
    ("retry with args in another order is the same request (canonical compare)",
     [call("a", 0, "k", 200, args={"metadata": {"order": "o1", "tenant": "t"}}),
      call("b", S, "k", 200, same_as="a",
           args={"metadata": {"tenant": "t", "order": "o1"}})],
     1, {"replayed": 1, "idempotency_error": 0}),
    ("same key, different amount: idempotency_error, not stored, original still replays",
     [call("a", 0, "k", 200),
      call("b", S, "k", 400, err_type="idempotency_error", args={"amount_cents": 2_000}),
      call("c", 2 * S, "k", 200, same_as="a")],
     1, {"idempotency_error": 1, "replayed": 1, "executed": 1}),
    ("same key, different metadata: idempotency_error",
     [call("a", 0, "k", 200),
      call("b", S, "k", 400, err_type="idempotency_error", args={"metadata": {"order": "o2"}})],
     1, {"idempotency_error": 1}),
    ("same key, metadata omitted vs given: different parameters",
     [call("a", 0, "k", 200),
      call("b", S, "k", 400, err_type="idempotency_error", args={"metadata": DROP})],
     1, {"idempotency_error": 1}),
    ("409 while the first is in flight; the retry after it finishes gets the stored one",
     [begin("a", 0, "k"),
      begin("b", 10 * MS, "k", 409, err_type="idempotency_error",
            code="idempotency_key_in_use"),
      finish("a", P, 200),
      call("c", P + MS, "k", 200, same_as="a")],
     1, {"conflict_409": 1, "replayed": 1, "executed": 1}),
    ("409 in flight even with different parameters",
     [begin("a", 0, "k"),
      begin("b", MS, "k", 409, code="idempotency_key_in_use", args={"amount_cents": 5}),
      finish("a", P, 200)],
     1, {"conflict_409": 1, "idempotency_error": 0}),
    ("requests without a key never conflict: two in flight, two charges",
     [begin("a", 0, None), begin("b", MS, None), finish("a", P, 200), finish("b", P + MS, 200)],
     2, {"executed": 2, "conflict_409": 0}),
    ("no key: every identical request charges",
     [call("a", 0, None, 200), call("b", S, None, 200), call("c", 2 * S, None, 200)],
     3, {"executed": 3, "replayed": 0}),
    ("different keys are independent",
     [call("a", 0, "k1", 200), call("b", S, "k2", 200)],
     2, {"executed": 2, "replayed": 0}),
    ("429 is rejected before executing: not stored, the retry with the key charges",
     [call("a", 0, "k", 429, err_type="rate_limit_error", inject=429),
      call("b", S, "k", 200)],
     1, {"rejected_429": 1, "executed": 1, "replayed": 0}),
    ("429 sits in front of the idempotency layer, even for a stored key",
     [call("a", 0, "k", 200),
      call("b", S, "k", 429, inject=429),
      call("c", 2 * S, "k", 200, same_as="a")],
     1, {"rejected_429": 1, "replayed": 1}),
    ("a 500 is stored and replayed to the retry; nothing is charged",
     [call("a", 0, "k", 500, err_type="api_error", inject=500),
      call("b", S, "k", 500, same_as="a"),
      call("c", 2 * S, "k", 500, same_as="a")],
     0, {"stored_500": 1, "replayed": 2, "executed": 0, "failed_5xx": 1}),
    ("a 500 starts executing: a retry during it gets 409",
     [begin("a", 0, "k", inject=500),
      begin("b", MS, "k", 409, code="idempotency_key_in_use"),
      finish("a", P, 500, err_type="api_error")],
     0, {"conflict_409": 1, "stored_500": 1}),
    ("a 500 without a key charges nothing; the keyless retry charges",
     [call("a", 0, None, 500, inject=500), call("b", S, None, 200)],
     1, {"stored_500": 0, "failed_5xx": 1, "executed": 1}),
    ("a stored success wins over a 500 injected into the retry",
     [call("a", 0, "k", 200), call("b", S, "k", 200, inject=500, same_as="a")],
     1, {"replayed": 1, "failed_5xx": 0}),
    ("a decline executes: 402 stored and replayed, no charge",
     [call("a", 0, "k", 402, err_type="card_error", code="card_declined",
           args={"customer": "cus_2"}),
      call("b", S, "k", 402, same_as="a", args={"customer": "cus_2"})],
     0, {"declined": 1, "executed": 1, "replayed": 1}),
    ("just before 24 h the key still replays",
     [call("a", 0, "k", 200), call("b", DAY - 1, "k", 200, same_as="a")],
     1, {"replayed": 1, "expired_key_reused": 0}),
    ("at 24 h the key has expired: a reuse charges again, then replays the new one",
     [call("a", 0, "k", 200),
      call("b", DAY, "k", 200),
      call("c", DAY + S, "k", 200, same_as="b"),
      call("d", 2 * DAY - 1, "k", 200, same_as="b")],
     2, {"expired_key_reused": 1, "executed": 2, "replayed": 2}),
    ("expiry counts from first use, not from the last replay",
     [call("a", 0, "k", 200), call("b", DAY - S, "k", 200, same_as="a"),
      call("c", DAY + S, "k", 200)],
     2, {"expired_key_reused": 1, "replayed": 1}),
    ("an expired key reused with other parameters is a new request, not an error",
     [call("a", 0, "k", 200), call("b", DAY, "k", 200, args={"amount_cents": 7})],
     2, {"expired_key_reused": 1, "idempotency_error": 0}),
    ("a key of 256 characters is rejected, not stored",
     [call("a", 0, "k" * 256, 400, err_type="invalid_request_error"),
      call("b", S, "k" * 255, 200), call("c", 2 * S, "k" * 255, 200, same_as="b")],
     1, {"validation_error": 1, "replayed": 1}),
]


@pytest.mark.parametrize(("steps", "ledger_len", "stats"),
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_idempotency_rules(steps: list[Step], ledger_len: int, stats: dict[str, int]) -> None:
    provider = PaymentProvider(customers())
    run(provider, steps)
    assert len(provider.ledger) == ledger_len
    assert {k: provider.stats[k] for k in stats} == stats


# Rejected before executing: each bad request with key "k", then the fixed one charges.
INVALID: list[tuple[str, dict[str, Any], str]] = [
    ("negative amount", {"amount_cents": -5}, "amount_cents"),
    ("zero amount", {"amount_cents": 0}, "amount_cents"),
    ("missing amount", {"amount_cents": DROP}, "amount_cents"),
    ("amount as string", {"amount_cents": "1000"}, "amount_cents"),
    ("amount as bool", {"amount_cents": True}, "amount_cents"),
    ("amount as float", {"amount_cents": 10.5}, "amount_cents"),
    ("amount too large", {"amount_cents": 100_000_000}, "amount_cents"),
    ("unknown currency", {"currency": "xyz"}, "currency"),
    ("uppercase currency", {"currency": "USD"}, "currency"),
    ("missing currency", {"currency": DROP}, "currency"),
    ("unknown customer", {"customer": "cus_999"}, "customer"),
    ("missing customer", {"customer": DROP}, "customer"),
    ("non-string metadata value", {"metadata": {"order": 1}}, "metadata"),
    ("metadata not a dict", {"metadata": ["order"]}, "metadata"),
    ("hallucinated argument", {"coupon": "FREE"}, "coupon"),
]


@pytest.mark.parametrize(("bad", "param"), [c[1:] for c in INVALID], ids=[c[0] for c in INVALID])
def test_validation_errors_are_not_stored(bad: dict[str, Any], param: str) -> None:
    provider = PaymentProvider(customers())
    responses = run(provider, [
        call("bad", 0, "k", 400, err_type="invalid_request_error", args=bad),
        call("bad_again", S, "k", 400, err_type="invalid_request_error", args=bad),
    ])
    assert responses["bad"].body["error"]["param"] == param
    assert provider.ledger == []
    assert provider.stats["validation_error"] == 2
    assert provider.stats["idempotency_error"] == 0  # the bad request left no trace
    # the fixed request with the same key executes anew (nothing was stored)
    run(provider, [call("good", 2 * S, "k", 200), call("retry", 3 * S, "k", 200, same_as="good")])
    assert len(provider.ledger) == 1
    assert provider.stats["executed"] == 1


def test_successful_charge_shape_and_ledger_record() -> None:
    provider = PaymentProvider(customers())
    request = Request("charge", make_args({}), "key-1", 41, "worker")
    flight = provider.begin(request, 5 * S)
    assert isinstance(flight, InFlight)
    assert provider.ledger == []  # nothing happens before finish
    response = provider.finish(flight, 5 * S + P)
    assert response.status == 200
    assert response.body == {
        "id": "ch_1", "amount_cents": 1_000, "currency": "usd", "customer": "cus_1",
        "metadata": {"order": "o1"}, "status": "succeeded", "card_last4": "4242",
    }
    (charge,) = provider.ledger
    assert (charge.id, charge.amount_cents, charge.currency, charge.customer, charge.metadata,
            charge.idempotency_key, charge.t_ns, charge.request_id) == (
        "ch_1", 1_000, "usd", "cus_1", {"order": "o1"}, "key-1", 5 * S + P, 41)
    (effect,) = provider.effects()
    assert (effect.service, effect.kind, effect.t_ns) == ("payments", "charge", 5 * S + P)
    assert effect.data["id"] == "ch_1" and effect.data["idempotency_key"] == "key-1"


def test_processing_ns_is_configurable() -> None:
    provider = PaymentProvider(customers(), processing_ns=7 * MS)
    flight = provider.begin(Request("charge", make_args({}), "k"), 0)
    assert isinstance(flight, InFlight) and flight.processing_ns == 7 * MS


def test_decline_body() -> None:
    provider = PaymentProvider(customers())
    (response,) = run(provider, [
        call("a", 0, "k", 402, args={"customer": "cus_2"})]).values()
    error = response.body["error"]
    assert (error["type"], error["code"], error["decline_code"]) == (
        "card_error", "card_declined", "insufficient_funds")


def test_409_body_says_retry() -> None:
    provider = PaymentProvider(customers())
    provider.begin(Request("charge", make_args({}), "k"), 0)
    response = provider.begin(Request("charge", make_args({}), "k"), MS)
    assert isinstance(response, Response)
    assert response.body["error"] == {
        "type": "idempotency_error", "code": "idempotency_key_in_use",
        "message": response.body["error"]["message"]}
    assert response.body["should_retry"] is True


def test_replayed_body_is_a_copy() -> None:
    provider = PaymentProvider(customers())
    responses = run(provider, [call("a", 0, "k", 200)])
    original = copy.deepcopy(responses["a"].body)
    responses["a"].body["metadata"]["order"] = "tampered"
    responses["a"].body["id"] = "ch_999"
    replay = run(provider, [call("b", S, "k", 200)])["b"]
    assert replay.body == original
    replay.body["metadata"]["order"] = "tampered again"
    assert run(provider, [call("c", 2 * S, "k", 200)])["c"].body == original


def test_finish_twice_is_an_error() -> None:
    provider = PaymentProvider(customers())
    flight = provider.begin(Request("charge", make_args({}), "k"), 0)
    assert isinstance(flight, InFlight)
    provider.finish(flight, P)
    with pytest.raises(RuntimeError):
        provider.finish(flight, P)
    assert len(provider.ledger) == 1


@pytest.mark.parametrize("status", [400, 404, 302, 200])
def test_unsupported_injected_status_fails_loudly(status: int) -> None:
    provider = PaymentProvider(customers())
    with pytest.raises(ValueError):
        provider.begin(Request("charge", make_args({}), "k", inject_status=status), 0)


def charge(provider: PaymentProvider, t: int, key: str | None = None, **overrides: Any) -> Response:
    flight = provider.begin(Request("charge", make_args(overrides), key), t)
    assert isinstance(flight, InFlight)
    return provider.finish(flight, t + flight.processing_ns)


def search(provider: PaymentProvider, t: int, **args: Any) -> Response:
    out = provider.begin(Request("search", args, idempotency_key="ignored"), t)
    assert isinstance(out, Response)  # reads answer at once
    return out


SEARCHES: list[tuple[dict[str, Any], list[str]]] = [
    ({"metadata": {"order": "o1"}}, ["ch_1", "ch_3"]),
    ({"metadata": {"tenant": "t1"}}, ["ch_1", "ch_2"]),
    ({"metadata": {"order": "o1", "tenant": "t1"}}, ["ch_1"]),
    ({"metadata": {"order": "o1", "tenant": "t2"}}, ["ch_3"]),
    ({"metadata": {"order": "o9"}}, []),
    ({"metadata": {"order": "o1", "missing": "x"}}, []),
    ({"metadata": {}}, ["ch_1", "ch_2", "ch_3"]),
    ({"metadata": {}, "customer": "cus_3"}, ["ch_3"]),
    ({"metadata": {"tenant": "t1"}, "customer": "cus_3"}, []),
]


@pytest.mark.parametrize(("args", "expected"), SEARCHES)
def test_search_by_metadata(args: dict[str, Any], expected: list[str]) -> None:
    provider = PaymentProvider(customers())
    charge(provider, 0, metadata={"order": "o1", "tenant": "t1"})
    charge(provider, S, metadata={"order": "o2", "tenant": "t1"})
    charge(provider, 2 * S, customer="cus_3", metadata={"order": "o1", "tenant": "t2"})
    charge(provider, 3 * S, customer="cus_2", metadata={"order": "o1", "tenant": "t1"})  # declined
    response = search(provider, 10 * S, **args)
    assert response.status == 200
    assert [c["id"] for c in response.body["data"]] == expected
    for found in response.body["data"]:
        assert found == charge_body(provider, found["id"])


def charge_body(provider: PaymentProvider, charge_id: str) -> dict[str, Any]:
    (c,) = [c for c in provider.ledger if c.id == charge_id]
    return {"id": c.id, "amount_cents": c.amount_cents, "currency": c.currency,
            "customer": c.customer, "metadata": c.metadata, "status": "succeeded",
            "card_last4": provider.customers[c.customer].card_last4}


def test_search_ignores_keys_and_sees_new_charges() -> None:
    provider = PaymentProvider(customers())
    assert search(provider, 0, metadata={"order": "o1"}).body == {"data": []}
    charge(provider, S)
    assert len(search(provider, 2 * S, metadata={"order": "o1"}).body["data"]) == 1
    assert provider.stats["replayed"] == 0


def test_search_lag() -> None:
    provider = PaymentProvider(customers(), search_lag_ns=5 * S)
    charge(provider, 0)  # executes at P
    assert search(provider, P + 5 * S - 1, metadata={}).body["data"] == []
    assert [c["id"] for c in search(provider, P + 5 * S, metadata={}).body["data"]] == ["ch_1"]


@pytest.mark.parametrize(("args", "status"), [
    ({}, 400), ({"metadata": "order=o1"}, 400), ({"metadata": {}, "limit": 3}, 400)])
def test_search_rejects_bad_args(args: dict[str, Any], status: int) -> None:
    assert search(PaymentProvider(customers()), 0, **args).status == status


def test_get_customer() -> None:
    provider = PaymentProvider(customers())
    out = provider.begin(Request("get_customer", {"customer": "cus_1"}), 0)
    assert isinstance(out, Response) and out.status == 200
    assert out.body == {"id": "cus_1", "name": "Ada Lovelace", "email": "ada@example.com",
                        "card_last4": "4242"}
    missing = provider.begin(Request("get_customer", {"customer": "cus_404"}), 0)
    assert isinstance(missing, Response) and missing.status == 404
    assert missing.body["error"]["code"] == "resource_missing"


@pytest.mark.parametrize(("endpoint", "args"), [("search", {"metadata": {}}),
                                                ("get_customer", {"customer": "cus_1"})])
@pytest.mark.parametrize(("inject", "status", "err_type"),
                         [(429, 429, "rate_limit_error"), (500, 500, "api_error"),
                          (503, 503, "api_error")])
def test_reads_with_injected_errors(endpoint: str, args: dict[str, Any], inject: int,
                                    status: int, err_type: str) -> None:
    provider = PaymentProvider(customers())
    out = provider.begin(Request(endpoint, args, "k", inject_status=inject), 0)
    assert isinstance(out, Response)
    assert (out.status, out.body["error"]["type"]) == (status, err_type)
    assert len(provider.idempotency) == 0


def test_unknown_endpoint() -> None:
    provider = PaymentProvider(customers())
    out = provider.begin(Request("refund", {"charge": "ch_1"}, "k"), 0)
    assert isinstance(out, Response) and out.status == 404
    assert out.body["error"]["type"] == "invalid_request_error"
    assert "unknown endpoint" in out.body["error"]["message"]
    assert provider.stats["not_found"] == 1


def test_snapshot_is_order_and_time_independent() -> None:
    first, second = PaymentProvider(customers()), PaymentProvider(customers())
    charge(first, 0, metadata={"order": "o1"})
    charge(first, S, customer="cus_3", metadata={"order": "o2"})
    charge(second, 50 * S, customer="cus_3", metadata={"order": "o2"}, key="other")
    charge(second, 90 * S, metadata={"order": "o1"}, key="keys-do-not-matter")
    assert first.snapshot() == second.snapshot()
    assert first.snapshot()["totals_by_customer"] == {
        "cus_1": {"usd": {"count": 1, "amount_cents": 1_000}},
        "cus_3": {"usd": {"count": 1, "amount_cents": 1_000}},
    }
    charge(second, 100 * S, metadata={"order": "o1"})  # a double charge shows
    assert first.snapshot() != second.snapshot()


def test_declared_endpoints() -> None:
    provider = PaymentProvider(customers())
    # the dialect's three, then Stripe's own REST API v1 (fakes.wire.StripeApi): every
    # POST is side-effecting and keyed, as on Stripe
    writes = {"charge", "customers.create", "payment_intents.create",
              "payment_intents.confirm", "refunds.create"}
    assert provider.side_effecting == frozenset(writes)
    assert provider.keyed == frozenset(writes)
    assert provider.endpoints == (
        "charge", "search", "get_customer", "customers.create", "customers.retrieve",
        "customers.list", "customers.search", "payment_intents.create",
        "payment_intents.confirm", "payment_intents.retrieve", "payment_intents.list",
        "payment_intents.search", "refunds.create", "refunds.retrieve")
