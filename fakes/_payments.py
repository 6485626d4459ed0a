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

Stripe's own REST API v1, for agents that use the official ``stripe`` SDK (the HTTP door
is ``fakes.wire.StripeApi``; these endpoints take the form-decoded parameters it hands
over, all values strings as on the wire, and answer Stripe's object JSON). A
PaymentIntent that succeeds appends to the same ``ledger`` the dialect's ``charge``
writes, so every invariant reads one ledger:

- ``customers.create`` (keyed) / ``customers.retrieve`` / ``customers.list`` (``email``)
  / ``customers.search`` (``email``, ``name``, ``phone``, ``created``, metadata);
- ``payment_intents.create`` (keyed; ``confirm=true`` charges at once) /
  ``payment_intents.confirm`` (keyed) / ``payment_intents.retrieve`` /
  ``payment_intents.list`` (``customer``) / ``payment_intents.search`` (``amount``,
  ``currency``, ``customer``, ``status``, ``created``, metadata);
- ``refunds.create`` (keyed; a PaymentIntent's or a charge's, in full or in part) /
  ``refunds.retrieve``. ``refunds`` is the refund ledger.

A declined card is a 402 ``card_error`` carrying the PaymentIntent (status
``requires_payment_method``, ``last_payment_error`` set); it executed, so it is stored
against the key. Payment methods are each seeded customer's card (``pm_<n>`` for
``cus_<n>``, declining when the customer's card does) and Stripe's test tokens
(``TEST_PAYMENT_METHODS``: ``pm_card_visa``, ``pm_card_chargeDeclined``...).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from simulator import NS_PER_S, VIRTUAL_EPOCH_S, Effect, Request, Response, canonical_json

from ._common import DEFAULT_PROCESSING_NS, Arg, Endpoint, SimService, error, invalid
from ._customers import Customer
from ._idempotency import KEY_TTL_NS
from ._stripe_query import check_limit, matches, page, parse_query, search_page

#: lowercase ISO 4217 codes the provider accepts
SUPPORTED_CURRENCIES = frozenset({"usd", "eur", "gbp", "cad", "aud", "jpy", "chf", "sek"})
#: Stripe's maximum charge amount (eight digits)
MAX_AMOUNT_CENTS = 99_999_999
#: Stripe's minimum charge per currency, in the smallest unit (the wire API checks it)
MIN_AMOUNT: dict[str, int] = {"usd": 50, "eur": 50, "gbp": 30, "cad": 50, "aud": 50,
                              "jpy": 50, "chf": 50, "sek": 300}
#: Stripe's test PaymentMethods: id → (brand, last4, decline code or None)
TEST_PAYMENT_METHODS: dict[str, tuple[str, str, str | None]] = {
    "pm_card_visa": ("visa", "4242", None),
    "pm_card_visa_debit": ("visa", "5556", None),
    "pm_card_mastercard": ("mastercard", "4444", None),
    "pm_card_amex": ("amex", "8431", None),
    "pm_card_discover": ("discover", "1117", None),
    "pm_card_chargeDeclined": ("visa", "0002", "generic_decline"),
    "pm_card_chargeDeclinedInsufficientFunds": ("visa", "9995", "insufficient_funds"),
    "pm_card_chargeDeclinedLostCard": ("visa", "9987", "lost_card"),
    "pm_card_chargeDeclinedStolenCard": ("visa", "9979", "stolen_card"),
    "pm_card_chargeDeclinedExpiredCard": ("visa", "0069", "expired_card"),
    "pm_card_chargeDeclinedIncorrectCvc": ("visa", "0127", "incorrect_cvc"),
    "pm_card_chargeDeclinedProcessingError": ("visa", "0119", "processing_error"),
}
_DECLINE_MESSAGES = {
    "generic_decline": "Your card was declined.",
    "insufficient_funds": "Your card has insufficient funds.",
    "lost_card": "Your card was declined.",
    "stolen_card": "Your card was declined.",
    "expired_card": "Your card has expired.",
    "incorrect_cvc": "Your card's security code is incorrect.",
    "processing_error": "An error occurred while processing your card. Try again in a "
                        "little bit.",
}
#: decline codes Stripe reports under their own error code rather than card_declined
_OWN_CODE = frozenset({"expired_card", "incorrect_cvc", "processing_error"})


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
    #: the PaymentIntent that made it (wire API); None for the dialect's ``charge``
    payment_intent: str | None = None


@dataclass(frozen=True, slots=True)
class Refund:
    """One refund in the refund ledger (the charge stays in ``ledger``)."""

    id: str
    amount_cents: int
    currency: str
    charge: str
    payment_intent: str | None
    customer: str
    metadata: dict[str, str]
    reason: str | None
    idempotency_key: str | None
    t_ns: int
    request_id: int


@dataclass(slots=True)
class StripeCustomer:
    """What the wire API shows of a customer beyond ``Customer``: Stripe's fields."""

    id: str
    email: str | None
    name: str | None
    description: str | None
    phone: str | None
    metadata: dict[str, str]
    created_ns: int
    default_payment_method: str | None
    #: made by ``customers.create`` (not seeded by the scenario)
    via_api: bool = False


@dataclass(slots=True)
class PaymentIntent:
    """A PaymentIntent of the wire API (mutable: confirming changes its status)."""

    id: str
    amount: int
    currency: str
    customer: str | None
    payment_method: str | None
    metadata: dict[str, str]
    description: str | None
    receipt_email: str | None
    created_ns: int
    status: str
    latest_charge: str | None = None
    last_payment_error: dict[str, Any] | None = None
    payment_method_types: list[str] = field(default_factory=lambda: ["card"])


def _created(t_ns: int) -> int:
    """Stripe's ``created``: Unix seconds, on the virtual clock."""
    return VIRTUAL_EPOCH_S + t_ns // NS_PER_S


def _tag(text: str, n: int = 24) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:n]


def _form(kind: type, required: bool = False, default: Any = None) -> Arg:
    return Arg(kind, required=required, default=default, form=True)


_LIST_ARGS = {"limit": _form(int, default=10), "starting_after": _form(str),
              "ending_before": _form(str)}
_SEARCH_ARGS = {"query": _form(str, required=True), "limit": _form(int, default=10),
                "page": _form(str)}
_EXPAND = {"expand": _form(list, default=[])}


def _metadata_invalid(metadata: dict[str, str]) -> Response | None:
    if len(metadata) > 50 or any(len(k) > 40 or len(v) > 500 for k, v in metadata.items()):
        return invalid("metadata: at most 50 keys, keys up to 40 and values up to 500 "
                       "characters", param="metadata", code="parameter_invalid")
    return None


def _no_expand(args: dict[str, Any]) -> Response | None:
    # An agent that asks for an expanded object and gets an id would misread it; say so.
    if args.get("expand"):
        return invalid(f"This fake does not expand {', '.join(map(str, args['expand']))}: "
                       "ninelives models ids only (docs/fakes.md).", param="expand",
                       code="parameter_invalid")
    return None


class PaymentProvider(SimService):
    """Stripe-like payments: ``charge``, ``search``, ``get_customer`` (module docstring).

    ``ledger`` lists every successful charge; ``stats`` adds ``declined`` to the shared
    counters (``executed``, ``replayed``, ``conflict_409``, ``idempotency_error``,
    ``expired_key_reused``, ``rejected_429``, ``stored_500``, ``validation_error``...).
    """

    name = "payments"
    side_effecting = frozenset({"charge", "customers.create", "payment_intents.create",
                                "payment_intents.confirm", "refunds.create"})
    keyed = side_effecting

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
        self._charge_seq = 0  # charge ids: ch_1, ch_2... (declined wire charges too)
        self.refunds: list[Refund] = []
        self.payment_intents: dict[str, PaymentIntent] = {}
        self.stripe_customers: dict[str, StripeCustomer] = {}
        #: payment method id → the customer it belongs to (each seeded customer's card)
        self.customer_cards: dict[str, str] = {}
        for customer in self.customers.values():
            pm = "pm_" + customer.id.removeprefix("cus_")
            self.customer_cards[pm] = customer.id
            self.stripe_customers[customer.id] = StripeCustomer(
                customer.id, customer.email, customer.name, None, None, {}, 0, pm)
        self._refunded: dict[str, int] = {}  # charge id → amount refunded so far
        self._register_stripe()

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
        self._charge_seq += 1
        charge = Charge(
            id=f"ch_{self._charge_seq}",
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
        ] + [
            Effect(self.name, "refund", r.t_ns, {
                "id": r.id, "charge": r.charge, "payment_intent": r.payment_intent,
                "customer": r.customer, "amount_cents": r.amount_cents,
                "currency": r.currency, "idempotency_key": r.idempotency_key,
                "request_id": r.request_id,
            })
            for r in self.refunds
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
        out: dict[str, Any] = {"charges": charges, "totals_by_customer": totals}
        # Only when the wire API made them, so the dialect's snapshots stay as they were.
        if self.refunds:
            out["refunds"] = sorted(
                ({"customer": r.customer, "amount_cents": r.amount_cents,
                  "currency": r.currency, "metadata": dict(r.metadata)}
                 for r in self.refunds), key=canonical_json)
        created = [c for c in self.stripe_customers.values() if c.via_api]
        if created:
            out["customers_created"] = sorted(
                ({"email": c.email, "name": c.name, "metadata": dict(c.metadata)}
                 for c in created), key=canonical_json)
        return out

    # -- Stripe REST API v1 (the wire door: fakes.wire.StripeApi) -------------------------

    def _register_stripe(self) -> None:
        reg = self._register
        reg("customers.create", Endpoint(
            args={"email": _form(str), "name": _form(str), "description": _form(str),
                  "phone": _form(str), "metadata": _form(dict, default={}),
                  "payment_method": _form(str), **_EXPAND},
            check=self._check_customer_create, execute=self._customer_create))
        reg("customers.retrieve", Endpoint(
            args={"id": _form(str, required=True), **_EXPAND},
            check=_no_expand, read=self._customer_retrieve))
        reg("customers.list", Endpoint(
            args={"email": _form(str), **_LIST_ARGS, **_EXPAND},
            check=self._check_list, read=self._customer_list))
        reg("customers.search", Endpoint(
            args={**_SEARCH_ARGS, **_EXPAND},
            check=self._check_list, read=self._customer_search))
        intent_args = {
            "amount": _form(int, required=True), "currency": _form(str, required=True),
            "customer": _form(str), "payment_method": _form(str),
            "confirm": _form(bool, default=False), "metadata": _form(dict, default={}),
            "description": _form(str), "receipt_email": _form(str),
            "payment_method_types": _form(list), "capture_method": _form(str),
            "automatic_payment_methods": _form(dict), "off_session": _form(bool),
            "return_url": _form(str), **_EXPAND,
        }
        reg("payment_intents.create", Endpoint(
            args=intent_args, check=self._check_intent_create,
            execute=self._intent_create))
        reg("payment_intents.confirm", Endpoint(
            args={"id": _form(str, required=True), "payment_method": _form(str),
                  "off_session": _form(bool), "return_url": _form(str), **_EXPAND},
            check=self._check_intent_confirm, execute=self._intent_confirm))
        reg("payment_intents.retrieve", Endpoint(
            args={"id": _form(str, required=True), "client_secret": _form(str), **_EXPAND},
            check=_no_expand, read=self._intent_retrieve))
        reg("payment_intents.list", Endpoint(
            args={"customer": _form(str), **_LIST_ARGS, **_EXPAND},
            check=self._check_list, read=self._intent_list))
        reg("payment_intents.search", Endpoint(
            args={**_SEARCH_ARGS, **_EXPAND},
            check=self._check_list, read=self._intent_search))
        reg("refunds.create", Endpoint(
            args={"payment_intent": _form(str), "charge": _form(str), "amount": _form(int),
                  "reason": _form(str), "metadata": _form(dict, default={}), **_EXPAND},
            check=self._check_refund, execute=self._refund))
        reg("refunds.retrieve", Endpoint(
            args={"id": _form(str, required=True), **_EXPAND},
            check=_no_expand, read=self._refund_retrieve))

    # customers

    def customer_body(self, customer_id: str) -> dict[str, Any]:
        """A customer as Stripe's JSON (``stripe.Customer``)."""
        c = self.stripe_customers[customer_id]
        return {
            "id": c.id, "object": "customer", "address": None, "balance": 0,
            "created": _created(c.created_ns), "currency": None, "default_source": None,
            "delinquent": False, "description": c.description, "discount": None,
            "email": c.email, "invoice_prefix": _tag(c.id, 8).upper(),
            "invoice_settings": {"custom_fields": None,
                                 "default_payment_method": c.default_payment_method,
                                 "footer": None, "rendering_options": None},
            "livemode": False, "metadata": dict(c.metadata), "name": c.name,
            "next_invoice_sequence": 1, "phone": c.phone, "preferred_locales": [],
            "shipping": None, "tax_exempt": "none", "test_clock": None,
        }

    def _check_customer_create(self, args: dict[str, Any]) -> Response | None:
        email = args["email"]
        if email is not None and not (email.partition("@")[0] and "@" in email):
            return invalid(f"Invalid email address: {email}", param="email",
                           code="email_invalid")
        pm = args["payment_method"]
        if pm is not None and pm not in TEST_PAYMENT_METHODS:
            return invalid(f"No such PaymentMethod: '{pm}'", param="payment_method",
                           code="resource_missing")
        return _metadata_invalid(args["metadata"]) or _no_expand(args)

    def _customer_create(self, args: dict[str, Any], request: Request,
                         now_ns: int) -> Response:
        cid = f"cus_{len(self.stripe_customers) + 1}"
        while cid in self.stripe_customers:  # seeded ids need not be cus_1..cus_n
            cid += "x"
        self.stripe_customers[cid] = StripeCustomer(
            cid, args["email"], args["name"], args["description"], args["phone"],
            dict(args["metadata"]), now_ns, args["payment_method"], via_api=True)
        # the dialect's view, so that ``charge`` and ``get_customer`` know it too
        self.customers[cid] = Customer(id=cid, name=args["name"] or "",
                                       email=args["email"] or "", card_number="")
        return Response(200, self.customer_body(cid))

    def _customer_retrieve(self, args: dict[str, Any], request: Request,
                           now_ns: int) -> Response:
        if args["id"] not in self.stripe_customers:
            return _missing("customer", args["id"], "id")
        return Response(200, self.customer_body(args["id"]))

    def _check_list(self, args: dict[str, Any]) -> Response | None:
        return check_limit(args["limit"]) or _no_expand(args)

    def _customer_list(self, args: dict[str, Any], request: Request,
                       now_ns: int) -> Response:
        email = args["email"]
        found = [self.customer_body(c.id) for c in self.stripe_customers.values()
                 if email is None or c.email == email]
        return page(found, args, "/v1/customers")

    def _customer_search(self, args: dict[str, Any], request: Request,
                         now_ns: int) -> Response:
        parsed = parse_query(args["query"], ("email", "name", "phone", "created"))
        if isinstance(parsed, Response):
            return parsed
        found = [body for c in self.stripe_customers.values()
                 if c.created_ns + self.search_lag_ns <= now_ns
                 and matches(body := self.customer_body(c.id), *parsed)]
        return search_page(found, args)

    # payment intents

    def intent_body(self, intent_id: str) -> dict[str, Any]:
        """A PaymentIntent as Stripe's JSON (``stripe.PaymentIntent``)."""
        pi = self.payment_intents[intent_id]
        return {
            "id": pi.id, "object": "payment_intent", "amount": pi.amount,
            "amount_capturable": 0,
            "amount_received": pi.amount if pi.status == "succeeded" else 0,
            "application": None, "application_fee_amount": None, "canceled_at": None,
            "cancellation_reason": None, "capture_method": "automatic_async",
            "client_secret": f"{pi.id}_secret_{_tag(pi.id)}",
            "confirmation_method": "automatic", "created": _created(pi.created_ns),
            "currency": pi.currency, "customer": pi.customer,
            "description": pi.description,
            "last_payment_error": (dict(pi.last_payment_error)
                                   if pi.last_payment_error else None),
            "latest_charge": pi.latest_charge, "livemode": False,
            "metadata": dict(pi.metadata), "next_action": None, "on_behalf_of": None,
            "payment_method": pi.payment_method,
            "payment_method_types": list(pi.payment_method_types), "processing": None,
            "receipt_email": pi.receipt_email, "review": None, "setup_future_usage": None,
            "shipping": None, "statement_descriptor": None,
            "statement_descriptor_suffix": None, "status": pi.status,
            "transfer_data": None, "transfer_group": None,
        }

    def _card(self, pm: str, customer: str | None) -> tuple[str | None, Response | None]:
        """The decline code of payment method ``pm`` (None: it pays), or a 400."""
        if pm in TEST_PAYMENT_METHODS:
            return TEST_PAYMENT_METHODS[pm][2], None
        owner = self.customer_cards.get(pm)
        if owner is None:
            return None, invalid(f"No such PaymentMethod: '{pm}'", param="payment_method",
                                 code="resource_missing")
        if customer != owner:
            return None, invalid(f"The PaymentMethod {pm} belongs to the Customer {owner}; "
                                 f"pass customer={owner} to use it.",
                                 param="payment_method", code="parameter_invalid")
        return ("insufficient_funds" if self.customers[owner].declines else None), None

    def _payment_method_for(self, args: dict[str, Any], customer: str | None) -> str | None:
        """The payment method a confirmation uses: the one given, else the customer's
        default (Stripe would fall back to the customer's default source)."""
        pm = args.get("payment_method")
        if pm is None and customer is not None and customer in self.stripe_customers:
            pm = self.stripe_customers[customer].default_payment_method
        return pm

    def _check_intent_create(self, args: dict[str, Any]) -> Response | None:
        currency = args["currency"].lower()
        amount = args["amount"]
        if currency not in SUPPORTED_CURRENCIES:
            return invalid(f"Invalid currency: {args['currency']}.", param="currency",
                           code="parameter_invalid")
        if amount < MIN_AMOUNT[currency]:
            return invalid(f"Amount must be at least {MIN_AMOUNT[currency]} "
                           f"{currency} (smallest unit).", param="amount",
                           code="amount_too_small")
        if amount > MAX_AMOUNT_CENTS:
            return invalid(f"Amount must be no more than {MAX_AMOUNT_CENTS}.",
                           param="amount", code="amount_too_large")
        customer = args["customer"]
        if customer is not None and customer not in self.stripe_customers:
            return invalid(f"No such customer: '{customer}'", param="customer",
                           code="resource_missing")
        if args["capture_method"] not in (None, "automatic", "automatic_async"):
            return invalid("This fake models automatic capture only (docs/fakes.md).",
                           param="capture_method", code="parameter_invalid")
        pm = self._payment_method_for(args, customer)
        if pm is not None:
            rejection = self._card(pm, customer)[1]
            if rejection is not None:
                return rejection
        elif args["confirm"]:
            return invalid("You cannot confirm this PaymentIntent because it's missing a "
                           "payment method.", param="payment_method",
                           code="parameter_missing")
        return _metadata_invalid(args["metadata"]) or _no_expand(args)

    def _intent_create(self, args: dict[str, Any], request: Request,
                       now_ns: int) -> Response:
        customer = args["customer"]
        pm = args["payment_method"]
        if args["confirm"]:
            pm = self._payment_method_for(args, customer)
        pi = PaymentIntent(
            id=f"pi_{len(self.payment_intents) + 1}", amount=args["amount"],
            currency=args["currency"].lower(), customer=customer, payment_method=pm,
            metadata=dict(args["metadata"]), description=args["description"],
            receipt_email=args["receipt_email"], created_ns=now_ns,
            status="requires_confirmation" if pm else "requires_payment_method",
            payment_method_types=list(args["payment_method_types"] or ["card"]))
        self.payment_intents[pi.id] = pi
        if not args["confirm"]:
            return Response(200, self.intent_body(pi.id))
        return self._attempt(pi, request, now_ns)

    def _attempt(self, pi: PaymentIntent, request: Request, now_ns: int) -> Response:
        """Charge ``pi``'s payment method: a charge in the ledger, or a decline (402)."""
        assert pi.payment_method is not None
        decline, rejection = self._card(pi.payment_method, pi.customer)
        if rejection is not None:  # changed since begin (cannot today): answer, stored
            return rejection
        self._charge_seq += 1
        charge_id = f"ch_{self._charge_seq}"
        pi.latest_charge = charge_id
        if decline is not None:
            self.stats["declined"] += 1
            code = decline if decline in _OWN_CODE else "card_declined"
            failure = {"type": "card_error", "code": code, "decline_code": decline,
                       "message": _DECLINE_MESSAGES[decline], "charge": charge_id,
                       "payment_method_type": "card"}
            pi.status = "requires_payment_method"
            pi.last_payment_error = failure
            body = dict(failure)
            body["payment_intent"] = self.intent_body(pi.id)
            return Response(402, {"error": body})
        pi.status = "succeeded"
        pi.last_payment_error = None
        self.ledger.append(Charge(
            id=charge_id, amount_cents=pi.amount, currency=pi.currency,
            customer=pi.customer or "", metadata=dict(pi.metadata),
            idempotency_key=request.idempotency_key, t_ns=now_ns,
            request_id=request.request_id, payment_intent=pi.id))
        return Response(200, self.intent_body(pi.id))

    def _check_intent_confirm(self, args: dict[str, Any]) -> Response | None:
        pi = self.payment_intents.get(args["id"])
        if pi is None:
            return _missing("payment_intent", args["id"], "intent")
        return self._confirmable(pi, args) or _no_expand(args)

    def _confirmable(self, pi: PaymentIntent, args: dict[str, Any]) -> Response | None:
        if pi.status not in ("requires_payment_method", "requires_confirmation"):
            return invalid(f"You cannot confirm this PaymentIntent because it has a status "
                           f"of {pi.status}.", param="intent",
                           code="payment_intent_unexpected_state")
        pm = args["payment_method"] or pi.payment_method
        if pm is None:
            pm = self._payment_method_for(args, pi.customer)
        if pm is None:
            return invalid("You cannot confirm this PaymentIntent because it's missing a "
                           "payment method.", param="payment_method",
                           code="parameter_missing")
        return self._card(pm, pi.customer)[1]

    def _intent_confirm(self, args: dict[str, Any], request: Request,
                        now_ns: int) -> Response:
        pi = self.payment_intents[args["id"]]
        # Checked at begin, but another confirmation may have finished in between: a
        # second confirmation of a paid intent must not charge (it is answered, stored).
        rejection = self._confirmable(pi, args)
        if rejection is not None:
            return rejection
        pi.payment_method = (args["payment_method"] or pi.payment_method
                             or self._payment_method_for(args, pi.customer))
        return self._attempt(pi, request, now_ns)

    def _intent_retrieve(self, args: dict[str, Any], request: Request,
                         now_ns: int) -> Response:
        if args["id"] not in self.payment_intents:
            return _missing("payment_intent", args["id"], "intent")
        return Response(200, self.intent_body(args["id"]))

    def _intent_list(self, args: dict[str, Any], request: Request, now_ns: int) -> Response:
        customer = args["customer"]
        found = [self.intent_body(pi.id) for pi in self.payment_intents.values()
                 if customer is None or pi.customer == customer]
        return page(found, args, "/v1/payment_intents")

    def _intent_search(self, args: dict[str, Any], request: Request,
                       now_ns: int) -> Response:
        parsed = parse_query(args["query"], ("amount", "currency", "customer", "status",
                                             "created"))
        if isinstance(parsed, Response):
            return parsed
        found = [body for pi in self.payment_intents.values()
                 if pi.created_ns + self.search_lag_ns <= now_ns
                 and matches(body := self.intent_body(pi.id), *parsed)]
        return search_page(found, args)

    # refunds

    def refund_body(self, refund: Refund) -> dict[str, Any]:
        """A refund as Stripe's JSON (``stripe.Refund``)."""
        return {
            "id": refund.id, "object": "refund", "amount": refund.amount_cents,
            "balance_transaction": None, "charge": refund.charge,
            "created": _created(refund.t_ns), "currency": refund.currency,
            "description": None, "metadata": dict(refund.metadata),
            "payment_intent": refund.payment_intent, "reason": refund.reason,
            "receipt_number": None, "source_transfer_reversal": None,
            "status": "succeeded", "transfer_reversal": None,
        }

    def _refundable(self, args: dict[str, Any]) -> tuple[Charge | None, Response | None]:
        """The charge a refund request refunds, or a 400 saying why it cannot."""
        intent_id, charge_id = args["payment_intent"], args["charge"]
        if (intent_id is None) == (charge_id is None):
            return None, invalid("You must pass exactly one of payment_intent or charge.",
                                 param="payment_intent", code="parameter_missing")
        if intent_id is not None:
            pi = self.payment_intents.get(intent_id)
            if pi is None:
                return None, invalid(f"No such payment_intent: '{intent_id}'",
                                     param="payment_intent", code="resource_missing")
            if pi.status != "succeeded":
                return None, invalid(f"This PaymentIntent ({intent_id}) does not have a "
                                     "successful charge to refund.",
                                     param="payment_intent", code="charge_not_refundable")
            charge_id = pi.latest_charge
        charge = next((c for c in self.ledger if c.id == charge_id), None)
        if charge is None:
            return None, invalid(f"No such charge: '{charge_id}'", param="charge",
                                 code="resource_missing")
        left = charge.amount_cents - self._refunded.get(charge.id, 0)
        amount = args["amount"]
        if left <= 0:
            return None, invalid(f"Charge {charge.id} has already been refunded.",
                                 param="charge", code="charge_already_refunded")
        if amount is not None and not 0 < amount <= left:
            return None, invalid(f"Refund amount ({amount}) is greater than unrefunded "
                                 f"amount on charge ({left})" if amount > 0 else
                                 "This value must be greater than or equal to 1.",
                                 param="amount", code="amount_too_large" if amount > 0
                                 else "parameter_invalid_integer")
        return charge, None

    def _check_refund(self, args: dict[str, Any]) -> Response | None:
        if args["reason"] not in (None, "duplicate", "fraudulent", "requested_by_customer"):
            return invalid(f"Invalid reason: {args['reason']}", param="reason",
                           code="parameter_invalid")
        return (self._refundable(args)[1] or _metadata_invalid(args["metadata"])
                or _no_expand(args))

    def _refund(self, args: dict[str, Any], request: Request, now_ns: int) -> Response:
        # Checked at begin; checked again, since another refund may have finished since
        # (that answer executed, so it is stored against the key).
        charge, rejection = self._refundable(args)
        if rejection is not None:
            return rejection
        assert charge is not None
        left = charge.amount_cents - self._refunded.get(charge.id, 0)
        amount = args["amount"] if args["amount"] is not None else left
        self._refunded[charge.id] = self._refunded.get(charge.id, 0) + amount
        refund = Refund(
            id=f"re_{len(self.refunds) + 1}", amount_cents=amount, currency=charge.currency,
            charge=charge.id, payment_intent=charge.payment_intent, customer=charge.customer,
            metadata=dict(args["metadata"]), reason=args["reason"],
            idempotency_key=request.idempotency_key, t_ns=now_ns,
            request_id=request.request_id)
        self.refunds.append(refund)
        return Response(200, self.refund_body(refund))

    def _refund_retrieve(self, args: dict[str, Any], request: Request,
                         now_ns: int) -> Response:
        refund = next((r for r in self.refunds if r.id == args["id"]), None)
        if refund is None:
            return _missing("refund", args["id"], "id")
        return Response(200, self.refund_body(refund))


def _missing(kind: str, object_id: str, param: str) -> Response:
    return error(404, "invalid_request_error", f"No such {kind}: '{object_id}'",
                 code="resource_missing", param=param)
