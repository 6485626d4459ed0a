"""The Stripe REST API v1 over HTTP, as the official ``stripe`` SDK speaks it, in front of
the one ``PaymentProvider`` (its ledger, its idempotency layer, its faults).

Routes (``api.stripe.com``): ``POST /v1/customers``, ``GET /v1/customers/{id}``,
``GET /v1/customers``, ``GET /v1/customers/search``; ``POST /v1/payment_intents``,
``POST /v1/payment_intents/{id}/confirm``, ``GET /v1/payment_intents/{id}``,
``GET /v1/payment_intents``, ``GET /v1/payment_intents/search``; ``POST /v1/refunds``,
``GET /v1/refunds/{id}``. Each is the provider endpoint of the same name
(``payment_intents.create``), which is also the tool name faults use
(``payments.payment_intents.create``).

What the door adds to the provider, as Stripe's edge does:

- bodies and queries in form encoding with bracket notation (``metadata[order_id]=o-1``),
  decoded to the provider's arguments; a POST that is not form-encoded is a 400;
- ``Authorization: Bearer <key>`` required (401 without: not stored, nothing acts);
- the ``Idempotency-Key`` header of a POST is the provider's idempotency key, so its
  rules hold on the wire: the first response stored (a 500 included) and replayed with
  ``Idempotent-Replayed: true``; other parameters under the key → 400
  ``idempotency_error`` (the SDK raises ``IdempotencyError``); a key still executing →
  409 ``idempotency_key_in_use`` with ``Stripe-Should-Retry: true`` (the SDK retries it
  on its own); 400s and 429s not stored; keys pruned after 24 h;
- ``Stripe-Should-Retry`` from the provider's ``should_retry`` (``false`` on a 5xx: its
  replay would be the same 500); a ``Request-Id`` on every response (``req_<n>``);
- errors as ``{"error": {"type", "code", "message", "param", ...}}`` with the status the
  SDK maps to its classes: 402 ``CardError``, 400/404 ``InvalidRequestError``, 401
  ``AuthenticationError``, 429 ``RateLimitError``, 409 and 5xx ``APIError``.
"""

from __future__ import annotations

import re
from typing import Any

from simulator import InFlight, Request, Response, Service

from .._common import error, invalid
from .._payments import PaymentProvider
from ._http import (
    FormError,
    HttpInFlight,
    HttpRequest,
    HttpResponse,
    WireDoor,
    decode_form,
    json_response,
)

#: (method, path pattern, endpoint); ``{id}`` is passed as the ``id`` argument
_ROUTES: tuple[tuple[str, re.Pattern[str], str], ...] = tuple(
    (method, re.compile("^" + pattern.replace("{id}", r"(?P<id>[A-Za-z0-9_]+)") + "/?$"),
     endpoint)
    for method, pattern, endpoint in (
        ("GET", "/v1/customers/search", "customers.search"),
        ("POST", "/v1/customers", "customers.create"),
        ("GET", "/v1/customers", "customers.list"),
        ("GET", "/v1/customers/{id}", "customers.retrieve"),
        ("GET", "/v1/payment_intents/search", "payment_intents.search"),
        ("POST", "/v1/payment_intents", "payment_intents.create"),
        ("GET", "/v1/payment_intents", "payment_intents.list"),
        ("POST", "/v1/payment_intents/{id}/confirm", "payment_intents.confirm"),
        ("GET", "/v1/payment_intents/{id}", "payment_intents.retrieve"),
        ("POST", "/v1/refunds", "refunds.create"),
        ("GET", "/v1/refunds/{id}", "refunds.retrieve"),
    )
)


class StripeApi(WireDoor):
    """``api.stripe.com`` in front of ``provider`` (module docstring): a
    ``PaymentProvider``, or a service wrapping one (the renewal scenario's outage).

    ``service``: the provider's name in the world (``payments``), for tool names.
    """

    hosts = ("api.stripe.com",)

    def __init__(self, provider: PaymentProvider | Service, *,
                 service: str = "payments") -> None:
        self.provider = provider
        self.service = service
        self._served = 0

    def _route(self, request: HttpRequest) -> tuple[str, dict[str, str]] | None:
        for method, pattern, endpoint in _ROUTES:
            m = pattern.match(request.path)
            if m is not None and method == request.method:
                return endpoint, m.groupdict()
        return None

    def tool(self, request: HttpRequest) -> str:
        route = self._route(request)
        return f"{self.service}.{route[0]}" if route else ""

    def begin(self, request: HttpRequest, now_ns: int) -> HttpResponse | HttpInFlight:
        """Decode, check what Stripe's edge checks, and hand over to the provider."""
        self._served += 1
        rid = f"req_{self._served}"
        route = self._route(request)
        if route is None:
            return self._wire(error(404, "invalid_request_error",
                                    f"Unrecognized request URL ({request.method}: "
                                    f"{request.path})."), rid, None, False)
        endpoint, path_args = route
        auth = request.headers.get("authorization", "")
        if not auth.startswith("Bearer ") or not auth[7:].strip():
            return self._wire(error(401, "invalid_request_error",
                                    "You did not provide an API key."), rid, None, False)
        if request.method == "POST":
            kind = request.headers.get("content-type", "").split(";")[0].strip()
            if request.body and kind != "application/x-www-form-urlencoded":
                return self._wire(invalid(f"Invalid request: Content-Type {kind!r}; "
                                          "v1 takes application/x-www-form-urlencoded."),
                                  rid, None, False)
            text = request.body.decode("utf-8", "replace")
        else:
            text = request.query
        try:
            args: dict[str, Any] = decode_form(text)
        except FormError as bad:
            return self._wire(invalid(f"Invalid request: {bad}"), rid, None, False)
        for name, value in path_args.items():
            args[name] = value
        key = request.headers.get("idempotency-key") if request.method == "POST" else None
        inner = Request(endpoint, args, key, request.request_id, request.caller,
                        request.inject_status)
        # A wrapper (an outage in front of the provider, say) may keep no counters.
        stats: dict[str, int] = getattr(self.provider, "stats", {})
        replayed = stats.get("replayed", 0)
        outcome = self.provider.begin(inner, now_ns)
        if isinstance(outcome, InFlight):
            return HttpInFlight(request, outcome.processing_ns, (outcome, rid, key))
        return self._wire(outcome, rid, key, stats.get("replayed", 0) != replayed)

    def finish(self, flight: HttpInFlight, now_ns: int) -> HttpResponse:
        inner, rid, key = flight.state
        return self._wire(self.provider.finish(inner, now_ns), rid, key, False)

    @staticmethod
    def _wire(response: Response, rid: str, key: str | None, replayed: bool) -> HttpResponse:
        body = dict(response.body)
        headers = {"request-id": rid}
        should_retry = body.pop("should_retry", None)
        if should_retry is not None:
            headers["stripe-should-retry"] = "true" if should_retry else "false"
        if key is not None:
            headers["idempotency-key"] = key
            if replayed:
                headers["idempotent-replayed"] = "true"
        return json_response(response.status, body, headers)
