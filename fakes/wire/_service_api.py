"""Any fake service over plain JSON HTTP: ``POST https://<host>/<endpoint>``.

The built-in services that have no public API of their own (the checkout world's
``inventory`` and ``email``, the SRE world's ``ops``) are a team's *internal* services
in a real deployment: an order service, a mailer. An agent reaches them over HTTP with
whatever client it likes. ``ServiceApi`` is that API, over the very service object the
dialect's ``env.tools.call`` reaches (one ledger, one idempotency layer, one fault
model):

- ``POST /<endpoint>`` (``/reserve``, ``/send``; a dotted endpoint such as
  ``payment_intents.create`` is ``/payment_intents.create`` or
  ``/payment_intents/create``) with a JSON object body: the endpoint's arguments;
- ``Idempotency-Key`` header: the service's idempotency key, with its own rules;
- the answer is the service's status and JSON body, unchanged (``{"error": {...}}`` on a
  4xx/5xx, as the dialect's ``ToolError`` carries it); a body that is not a JSON object
  is a 400 and reaches no service; an unknown endpoint is a 404.

The host is ``<service>.internal`` unless given: ``ServiceApi(world.services["inventory"],
"inventory")`` serves ``https://inventory.internal/reserve``. The tool a request is, as
faults name it, is ``<service>.<endpoint>``: the dialect's name, so a plan written for a
dialect design faults the same calls made over HTTP.
"""

from __future__ import annotations

import json
from typing import Any

from simulator import InFlight, Request, Response, Service

from ._http import HttpInFlight, HttpRequest, HttpResponse, WireDoor, json_response

#: the host a service is served on unless ``host=`` says otherwise
INTERNAL_SUFFIX = ".internal"


class ServiceApi(WireDoor):
    """``https://<name>.internal/<endpoint>``: JSON over ``service`` (module docstring)."""

    def __init__(self, service: Service, name: str, *, host: str | None = None) -> None:
        self.service = service
        self.name = name
        self.hosts = ((host or f"{name}{INTERNAL_SUFFIX}").lower(),)
        self._endpoints = tuple(getattr(service, "endpoints", ()) or ())

    def _endpoint(self, request: HttpRequest) -> str:
        if request.method != "POST":
            return ""
        path = request.path.strip("/")
        for candidate in (path, path.replace("/", ".")):
            if candidate in self._endpoints:
                return candidate
        return ""

    def tool(self, request: HttpRequest) -> str:
        endpoint = self._endpoint(request)
        return f"{self.name}.{endpoint}" if endpoint else ""

    def begin(self, request: HttpRequest, now_ns: int) -> HttpResponse | HttpInFlight:
        endpoint = self._endpoint(request)
        if not endpoint:
            return _error(404, "not_found",
                          f"no endpoint {request.method} {request.path} on {self.name}")
        try:
            args = json.loads(request.body or b"{}")
        except ValueError:
            args = None
        if not isinstance(args, dict):
            return _error(400, "invalid_request", "the body must be a JSON object")
        inner = Request(endpoint, args, request.headers.get("idempotency-key"),
                        request.request_id, request.caller, request.inject_status)
        outcome = self.service.begin(inner, now_ns)
        if isinstance(outcome, InFlight):
            return HttpInFlight(request, outcome.processing_ns, outcome)
        return _wire(outcome)

    def finish(self, flight: HttpInFlight, now_ns: int) -> HttpResponse:
        return _wire(self.service.finish(flight.state, now_ns))


def _wire(response: Response) -> HttpResponse:
    return json_response(response.status, response.body)


def _error(status: int, code: str, message: str) -> HttpResponse:
    body: dict[str, Any] = {"error": {"type": code, "message": message}}
    return json_response(status, body)


def default_doors(world: Any) -> list[WireDoor]:
    """The doors of ``Scenario.http_doors``' default, over ``world``'s own services and
    model: a ``PaymentProvider`` behind Stripe's API, a ``Chat`` behind Slack's, every
    other service behind ``ServiceApi``; Chat Completions and Messages over the model."""
    from .._payments import PaymentProvider
    from .._sre import Chat
    from ._anthropic import AnthropicApi
    from ._openai import OpenAIApi
    from ._slack import SlackApi
    from ._stripe import StripeApi

    doors: list[WireDoor] = []
    for name, service in world.services.items():
        inner = getattr(service, "inner", service)  # a fault wrapper (faults.Outage)
        if isinstance(inner, PaymentProvider):
            doors.append(StripeApi(service, service=name))
        elif isinstance(inner, Chat):
            doors.append(SlackApi(service, service=name))  # type: ignore[arg-type]
        doors.append(ServiceApi(service, name))
    doors += [OpenAIApi(world.model), AnthropicApi(world.model)]
    return doors
