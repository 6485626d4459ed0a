"""Inventory and email: the other side effects of an order workflow.

Both take idempotency keys with exactly the provider's Stripe-like rules (the shared
``IdempotencyLayer``), so a design's key discipline is tested on every step, not only
on the charge.

- ``inventory.reserve`` (side-effecting, keyed): ``order_id``, ``sku``, ``quantity``
  (int > 0) → 200 ``{"id": "res_<n>", "order_id", "sku", "quantity", "remaining"}``, or
  422 ``inventory_error``/``out_of_stock`` when too few are left (executed, so stored);
  unknown sku or bad quantity → 400, not stored. Reservation is *not* deduplicated by
  ``order_id``: only the key protects against a double reservation.
- ``inventory.stock`` (read): ``sku`` → ``{"sku", "available"}`` or 404.
- ``email.send`` (side-effecting, keyed): ``to``, ``subject``, ``body`` →
  200 ``{"id": "em_<n>", "to", "subject", "status": "sent"}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from simulator import Effect, Request, Response, canonical_json

from ._common import DEFAULT_PROCESSING_NS, Arg, Endpoint, SimService, error, invalid
from ._idempotency import KEY_TTL_NS


@dataclass(frozen=True, slots=True)
class Reservation:
    """Stock set aside for an order."""

    id: str
    order_id: str
    sku: str
    quantity: int
    idempotency_key: str | None
    t_ns: int
    request_id: int


class Inventory(SimService):
    """Stock levels per sku; ``reserve`` takes stock away. ``reservations`` is the ledger.

    ``stats`` adds ``out_of_stock`` to the shared counters.
    """

    name = "inventory"
    side_effecting = frozenset({"reserve"})
    keyed = frozenset({"reserve"})

    def __init__(
        self,
        stock: Mapping[str, int],
        *,
        processing_ns: int = DEFAULT_PROCESSING_NS,
        key_ttl_ns: int = KEY_TTL_NS,
    ) -> None:
        super().__init__(processing_ns=processing_ns, key_ttl_ns=key_ttl_ns)
        self.initial_stock: dict[str, int] = dict(stock)
        self.stock: dict[str, int] = dict(stock)
        self.reservations: list[Reservation] = []
        self.stats["out_of_stock"] = 0
        self._register("reserve", Endpoint(
            args={"order_id": Arg(str), "sku": Arg(str), "quantity": Arg(int)},
            check=self._check_reserve,
            execute=self._reserve,
        ))
        self._register("stock", Endpoint(args={"sku": Arg(str)}, read=self._stock))

    def _check_reserve(self, args: dict[str, Any]) -> Response | None:
        if args["quantity"] <= 0:
            return invalid("quantity must be at least 1", param="quantity",
                           code="parameter_invalid_integer")
        if args["sku"] not in self.stock:
            return invalid(f"No such sku: '{args['sku']}'", param="sku",
                           code="resource_missing")
        return None

    def _reserve(self, args: dict[str, Any], request: Request, now_ns: int) -> Response:
        sku, quantity = args["sku"], args["quantity"]
        if self.stock[sku] < quantity:
            self.stats["out_of_stock"] += 1
            return error(422, "inventory_error",
                         f"Only {self.stock[sku]} of {sku} left, {quantity} requested.",
                         code="out_of_stock")
        self.stock[sku] -= quantity
        reservation = Reservation(
            id=f"res_{len(self.reservations) + 1}", order_id=args["order_id"], sku=sku,
            quantity=quantity, idempotency_key=request.idempotency_key, t_ns=now_ns,
            request_id=request.request_id,
        )
        self.reservations.append(reservation)
        return Response(200, {"id": reservation.id, "order_id": reservation.order_id,
                              "sku": sku, "quantity": quantity, "remaining": self.stock[sku]})

    def _stock(self, args: dict[str, Any], request: Request, now_ns: int) -> Response:
        sku = args["sku"]
        if sku not in self.stock:
            return error(404, "invalid_request_error", f"No such sku: '{sku}'",
                         code="resource_missing", param="sku")
        return Response(200, {"sku": sku, "available": self.stock[sku]})

    def effects(self) -> list[Effect]:
        return [
            Effect(self.name, "reserve", r.t_ns, {
                "id": r.id, "order_id": r.order_id, "sku": r.sku, "quantity": r.quantity,
                "idempotency_key": r.idempotency_key, "request_id": r.request_id,
            })
            for r in self.reservations
        ]

    def snapshot(self) -> dict[str, Any]:
        """Remaining stock and the reservations made, sorted (timing-independent)."""
        reservations = sorted(
            ({"order_id": r.order_id, "sku": r.sku, "quantity": r.quantity}
             for r in self.reservations),
            key=canonical_json,
        )
        return {"stock": dict(sorted(self.stock.items())), "reservations": reservations}


@dataclass(frozen=True, slots=True)
class EmailMessage:
    """One email that was sent."""

    id: str
    to: str
    subject: str
    body: str
    idempotency_key: str | None
    t_ns: int
    request_id: int


class Email(SimService):
    """An email sender with idempotency keys. ``sent`` lists every message sent."""

    name = "email"
    side_effecting = frozenset({"send"})
    keyed = frozenset({"send"})

    def __init__(
        self, *, processing_ns: int = DEFAULT_PROCESSING_NS, key_ttl_ns: int = KEY_TTL_NS
    ) -> None:
        super().__init__(processing_ns=processing_ns, key_ttl_ns=key_ttl_ns)
        self.sent: list[EmailMessage] = []
        self._register("send", Endpoint(
            args={"to": Arg(str), "subject": Arg(str), "body": Arg(str)},
            check=self._check_send,
            execute=self._send,
        ))

    def _check_send(self, args: dict[str, Any]) -> Response | None:
        local, at, domain = args["to"].partition("@")
        if not (local and at and domain):
            return invalid(f"Invalid email address: {args['to']!r}", param="to",
                           code="email_invalid")
        return None

    def _send(self, args: dict[str, Any], request: Request, now_ns: int) -> Response:
        message = EmailMessage(
            id=f"em_{len(self.sent) + 1}", to=args["to"], subject=args["subject"],
            body=args["body"], idempotency_key=request.idempotency_key, t_ns=now_ns,
            request_id=request.request_id,
        )
        self.sent.append(message)
        return Response(200, {"id": message.id, "to": message.to, "subject": message.subject,
                              "status": "sent"})

    def effects(self) -> list[Effect]:
        return [
            Effect(self.name, "send", m.t_ns, {
                "id": m.id, "to": m.to, "subject": m.subject,
                "idempotency_key": m.idempotency_key, "request_id": m.request_id,
            })
            for m in self.sent
        ]

    def snapshot(self) -> dict[str, Any]:
        """The messages sent, sorted (timing-independent)."""
        return {"sent": sorted(({"to": m.to, "subject": m.subject, "body": m.body}
                                for m in self.sent), key=canonical_json)}
