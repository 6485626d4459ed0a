"""A fake payment provider faithful to Stripe API v1 idempotency.

Why it exists: "charged exactly once" is the invariant that matters most, and it can only
be checked against a provider that behaves like the real one when a design retries. The
rules (``docs/facts/stripe-idempotency.md``) live in the shared pipeline
(``_common``) and idempotency layer (``_idempotency``); this module adds the payment
rules and the **ledger** — the list of charges that really happened, the ground truth
invariants read.

Endpoints:

- ``charge`` (side-effecting, keyed): ``customer``, ``amount_cents`` (int > 0),
  ``currency`` (lowercase ISO code), optional ``metadata`` (str → str). 200 with the
  charge; 402 ``card_error`` if the card declines (executed, so stored against the key);
  400 ``invalid_request_error`` for invalid arguments or an unknown customer (not stored).
- ``search`` (read): ``metadata`` (pairs every returned charge's metadata must contain),
  optional ``customer``. ``{"data": [charge, ...]}`` in creation order. Like Stripe's
  search it can lag: a charge is visible ``search_lag_ns`` after it is made (default 0).
- ``get_customer`` (read): ``customer`` → ``{"id", "name", "email", "card_last4"}``, or
  404 ``resource_missing``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from simulator import Effect, Request, Response, canonical_json

from ._common import DEFAULT_PROCESSING_NS, Arg, Endpoint, SimService, error, invalid
from ._customers import Customer
from ._idempotency import KEY_TTL_NS

#: lowercase ISO 4217 codes the provider accepts
SUPPORTED_CURRENCIES = frozenset({"usd", "eur", "gbp", "cad", "aud", "jpy", "chf", "sek"})
#: Stripe's maximum charge amount (eight digits)
MAX_AMOUNT_CENTS = 99_999_999


@dataclass(frozen=True, slots=True)
class Charge:
    """One successful charge in the ledger. ``t_ns``: when it executed."""

    id: str
    amount_cents: int
    currency: str
    customer: str
    metadata: dict[str, str]
    idempotency_key: str | None
    t_ns: int
    request_id: int


class PaymentProvider(SimService):
    """Stripe-like payments: ``charge``, ``search``, ``get_customer`` (module docstring).

    ``ledger`` lists every successful charge; ``stats`` adds ``declined`` to the shared
    counters (``executed``, ``replayed``, ``conflict_409``, ``idempotency_error``,
    ``expired_key_reused``, ``rejected_429``, ``stored_500``, ``validation_error``...).
    """

    name = "payments"
    side_effecting = frozenset({"charge"})
    keyed = frozenset({"charge"})

    def __init__(
        self,
        customers: Iterable[Customer],
        *,
        processing_ns: int = DEFAULT_PROCESSING_NS,
        key_ttl_ns: int = KEY_TTL_NS,
        search_lag_ns: int = 0,
    ) -> None:
        super().__init__(processing_ns=processing_ns, key_ttl_ns=key_ttl_ns)
        self.customers: dict[str, Customer] = {c.id: c for c in customers}
        self.search_lag_ns = search_lag_ns
        self.ledger: list[Charge] = []
        self.stats["declined"] = 0
        self._register("charge", Endpoint(
            args={
                "customer": Arg(str),
                "amount_cents": Arg(int),
                "currency": Arg(str),
                "metadata": Arg(dict, required=False, default={}),
            },
            check=self._check_charge,
            execute=self._charge,
        ))
        self._register("search", Endpoint(
            args={"metadata": Arg(dict), "customer": Arg(str, required=False)},
            read=self._search,
        ))
        self._register("get_customer", Endpoint(
            args={"customer": Arg(str)},
            read=self._get_customer,
        ))

    # -- charge --------------------------------------------------------------------------

    def _check_charge(self, args: dict[str, Any]) -> Response | None:
        amount = args["amount_cents"]
        if amount <= 0:
            return invalid("This value must be greater than or equal to 1.",
                           param="amount_cents", code="parameter_invalid_integer")
        if amount > MAX_AMOUNT_CENTS:
            return invalid(f"Amount must be no more than {MAX_AMOUNT_CENTS}.",
                           param="amount_cents", code="amount_too_large")
        if args["currency"] not in SUPPORTED_CURRENCIES:
            return invalid(f"Invalid currency: {args['currency']}.", param="currency",
                           code="parameter_invalid")
        if args["customer"] not in self.customers:
            return invalid(f"No such customer: '{args['customer']}'", param="customer",
                           code="resource_missing")
        metadata = args["metadata"]
        if len(metadata) > 50 or any(len(k) > 40 or len(v) > 500 for k, v in metadata.items()):
            return invalid("metadata: at most 50 keys, keys up to 40 and values up to 500 "
                           "characters", param="metadata", code="parameter_invalid")
        return None

    def _charge(self, args: dict[str, Any], request: Request, now_ns: int) -> Response:
        customer = self.customers[args["customer"]]
        if customer.declines:
            self.stats["declined"] += 1
            return error(402, "card_error", "Your card has insufficient funds.",
                         code="card_declined", decline_code="insufficient_funds")
        charge = Charge(
            id=f"ch_{len(self.ledger) + 1}",
            amount_cents=args["amount_cents"],
            currency=args["currency"],
            customer=customer.id,
            metadata=dict(args["metadata"]),
            idempotency_key=request.idempotency_key,
            t_ns=now_ns,
            request_id=request.request_id,
        )
        self.ledger.append(charge)
        return Response(200, self._charge_body(charge))

    def _charge_body(self, charge: Charge) -> dict[str, Any]:
        return {
            "id": charge.id,
            "amount_cents": charge.amount_cents,
            "currency": charge.currency,
            "customer": charge.customer,
            "metadata": dict(charge.metadata),
            "status": "succeeded",
            "card_last4": self.customers[charge.customer].card_last4,
        }

    # -- reads ---------------------------------------------------------------------------

    def _search(self, args: dict[str, Any], request: Request, now_ns: int) -> Response:
        wanted = args["metadata"]
        customer = args["customer"]
        data = [
            self._charge_body(charge)
            for charge in self.ledger
            if charge.t_ns + self.search_lag_ns <= now_ns
            and (customer is None or charge.customer == customer)
            and all(charge.metadata.get(k) == v for k, v in wanted.items())
        ]
        return Response(200, {"data": data})

    def _get_customer(self, args: dict[str, Any], request: Request, now_ns: int) -> Response:
        customer = self.customers.get(args["customer"])
        if customer is None:
            return error(404, "invalid_request_error",
                         f"No such customer: '{args['customer']}'", code="resource_missing",
                         param="customer")
        return Response(200, customer.public())

    # -- ground truth --------------------------------------------------------------------

    def effects(self) -> list[Effect]:
        return [
            Effect(self.name, "charge", c.t_ns, {
                "id": c.id, "customer": c.customer, "amount_cents": c.amount_cents,
                "currency": c.currency, "metadata": dict(c.metadata),
                "idempotency_key": c.idempotency_key, "request_id": c.request_id,
            })
            for c in self.ledger
        ]

    def snapshot(self) -> dict[str, Any]:
        """Final state for resume-equivalence: what was charged, independent of timing.

        Charge ids, times, keys and request ids are left out, and charges are sorted, so
        two runs that charged the same things compare equal whatever the interleaving.
        ``totals_by_customer``: customer → currency → count and amount. No card data.
        """
        charges = sorted(
            ({"customer": c.customer, "amount_cents": c.amount_cents, "currency": c.currency,
              "metadata": dict(c.metadata)} for c in self.ledger),
            key=canonical_json,
        )
        totals: dict[str, dict[str, dict[str, int]]] = {}
        for c in sorted(self.ledger, key=lambda c: (c.customer, c.currency)):
            per_currency = totals.setdefault(c.customer, {})
            total = per_currency.setdefault(c.currency, {"count": 0, "amount_cents": 0})
            total["count"] += 1
            total["amount_cents"] += c.amount_cents
        return {"charges": charges, "totals_by_customer": totals}
