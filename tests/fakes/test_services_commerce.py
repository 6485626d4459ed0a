"""Inventory and email: their own rules (the shared idempotency rules are in
test_services_keyed.py)."""

from __future__ import annotations

from typing import Any

import pytest

from fakes import Email, InFlight, Inventory, Request, Response

S = 1_000_000_000


def do(svc: Any, endpoint: str, args: dict[str, Any], t: int = 0,
       key: str | None = None) -> Response:
    out = svc.begin(Request(endpoint, args, key), t)
    if isinstance(out, InFlight):
        return svc.finish(out, t + out.processing_ns)
    return out


def reserve(inv: Inventory, qty: int, key: str | None = None, t: int = 0,
            order: str = "o1", sku: str = "mug") -> Response:
    return do(inv, "reserve", {"order_id": order, "sku": sku, "quantity": qty}, t, key)


def test_reserve_takes_stock_once_per_key() -> None:
    inv = Inventory({"mug": 5, "hat": 1})
    first = reserve(inv, 2, "k")
    assert first.status == 200
    assert first.body == {"id": "res_1", "order_id": "o1", "sku": "mug", "quantity": 2,
                          "remaining": 3}
    assert reserve(inv, 2, "k", t=S).body == first.body
    assert inv.stock == {"mug": 3, "hat": 1}
    assert do(inv, "stock", {"sku": "mug"}).body == {"sku": "mug", "available": 3}
    (effect,) = inv.effects()
    assert effect.kind == "reserve" and effect.data["idempotency_key"] == "k"


def test_reserve_without_key_takes_stock_twice() -> None:
    inv = Inventory({"mug": 5})
    reserve(inv, 2)
    reserve(inv, 2, t=S)
    assert inv.stock["mug"] == 1 and len(inv.reservations) == 2


def test_out_of_stock_is_executed_and_stored() -> None:
    inv = Inventory({"mug": 1})
    first = reserve(inv, 2, "k")
    assert first.status == 422
    assert first.body["error"]["code"] == "out_of_stock"
    assert reserve(inv, 2, "k", t=S).body == first.body
    assert inv.stats["out_of_stock"] == 1 and inv.stats["replayed"] == 1
    assert inv.stock == {"mug": 1} and inv.reservations == []


@pytest.mark.parametrize(("args", "param"), [
    ({"order_id": "o1", "sku": "nope", "quantity": 1}, "sku"),
    ({"order_id": "o1", "sku": "mug", "quantity": 0}, "quantity"),
    ({"order_id": "o1", "sku": "mug", "quantity": -1}, "quantity"),
    ({"sku": "mug", "quantity": 1}, "order_id"),
])
def test_reserve_validation_not_stored(args: dict[str, Any], param: str) -> None:
    inv = Inventory({"mug": 5})
    bad = do(inv, "reserve", args, key="k")
    assert bad.status == 400 and bad.body["error"]["param"] == param
    assert reserve(inv, 1, "k", t=S).status == 200  # the key was not used up
    assert inv.stock["mug"] == 4


def test_stock_unknown_sku() -> None:
    out = do(Inventory({"mug": 5}), "stock", {"sku": "nope"})
    assert out.status == 404 and out.body["error"]["code"] == "resource_missing"


def test_inventory_snapshot() -> None:
    inv = Inventory({"mug": 5, "hat": 2})
    reserve(inv, 1, order="o2", sku="hat")
    reserve(inv, 2, order="o1")
    assert inv.snapshot() == {
        "stock": {"hat": 1, "mug": 3},
        "reservations": [{"order_id": "o1", "quantity": 2, "sku": "mug"},
                         {"order_id": "o2", "quantity": 1, "sku": "hat"}],
    }


MAIL = {"to": "ada@example.com", "subject": "Your receipt", "body": "Thanks!"}


def test_email_send_once_per_key() -> None:
    email = Email()
    first = do(email, "send", MAIL, key="k")
    assert first.body == {"id": "em_1", "to": "ada@example.com", "subject": "Your receipt",
                          "status": "sent"}
    assert do(email, "send", MAIL, t=S, key="k").body == first.body
    assert len(email.sent) == 1 and email.sent[0].body == "Thanks!"
    do(email, "send", MAIL, t=2 * S)
    do(email, "send", MAIL, t=3 * S)
    assert [m.id for m in email.sent] == ["em_1", "em_2", "em_3"]
    assert email.snapshot()["sent"] == [{"to": "ada@example.com", "subject": "Your receipt",
                                         "body": "Thanks!"}] * 3


@pytest.mark.parametrize("to", ["nobody", "@example.com", "ada@", ""])
def test_email_rejects_bad_address(to: str) -> None:
    email = Email()
    out = do(email, "send", {**MAIL, "to": to}, key="k")
    assert out.status == 400 and email.sent == []


def test_email_send_is_in_flight_until_finished() -> None:
    email = Email(processing_ns=1_000)
    flight = email.begin(Request("send", MAIL, "k"), 0)
    assert isinstance(flight, InFlight) and flight.processing_ns == 1_000
    assert email.sent == []
    email.finish(flight, 1_000)
    assert len(email.sent) == 1
