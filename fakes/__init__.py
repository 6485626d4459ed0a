"""Fake services as sans-I/O logic: a Stripe-faithful payment provider, commerce
(inventory, email) and the SRE world (metrics, logs, chat, pager, ops).

Every service implements the protocol of ``simulator.Service``: ``begin(request,
now_ns)`` / ``finish(flight, now_ns)``, with no I/O and no clock of its own, and keeps
its ledger (charges, reservations, messages...) as plain lists the invariants read.
Front doors deliver requests to it: the simulated network (``simulator.Network``) and
real mode's ASGI app (``ninelives.real``) and the wire doors of ``fakes.wire`` (Stripe,
OpenAI, Anthropic and Slack over HTTP, for real SDK code). Keyed endpoints share one
Stripe-like ``IdempotencyLayer``. Import from ``fakes``.
"""

from simulator import Effect as Effect
from simulator import InFlight as InFlight
from simulator import Request as Request
from simulator import Response as Response
from simulator import Service as Service

from ._commerce import Email as Email
from ._commerce import EmailMessage as EmailMessage
from ._commerce import Inventory as Inventory
from ._commerce import Reservation as Reservation
from ._common import DEFAULT_PROCESSING_NS as DEFAULT_PROCESSING_NS
from ._common import Arg as Arg
from ._common import Endpoint as Endpoint
from ._common import SimService as SimService
from ._custom import FakeService as FakeService
from ._custom import RouteSpec as RouteSpec
from ._custom import route as route
from ._customers import Customer as Customer
from ._customers import make_customers as make_customers
from ._customers import mask_card as mask_card
from ._idempotency import KEY_TTL_NS as KEY_TTL_NS
from ._idempotency import MAX_KEY_LENGTH as MAX_KEY_LENGTH
from ._idempotency import IdempotencyLayer as IdempotencyLayer
from ._idempotency import fingerprint as fingerprint
from ._payments import SUPPORTED_CURRENCIES as SUPPORTED_CURRENCIES
from ._payments import TEST_PAYMENT_METHODS as TEST_PAYMENT_METHODS
from ._payments import Charge as Charge
from ._payments import PaymentIntent as PaymentIntent
from ._payments import PaymentProvider as PaymentProvider
from ._payments import Refund as Refund
from ._payments import StripeCustomer as StripeCustomer
from ._sre import DEFAULT_SERVICES as DEFAULT_SERVICES
from ._sre import METRICS as METRICS
from ._sre import OPS_PROCESSING_NS as OPS_PROCESSING_NS
from ._sre import RESTART_FIXES as RESTART_FIXES
from ._sre import ROOT_CAUSES as ROOT_CAUSES
from ._sre import Chat as Chat
from ._sre import ChatMessage as ChatMessage
from ._sre import Incident as Incident
from ._sre import Logs as Logs
from ._sre import Metrics as Metrics
from ._sre import Ops as Ops
from ._sre import Page as Page
from ._sre import Pager as Pager
from ._sre import Restart as Restart
from ._sre import make_incident as make_incident
from .wire import AnthropicApi as AnthropicApi
from .wire import HttpInFlight as HttpInFlight
from .wire import HttpRequest as HttpRequest
from .wire import HttpResponse as HttpResponse
from .wire import OpenAIApi as OpenAIApi
from .wire import SlackApi as SlackApi
from .wire import StripeApi as StripeApi
from .wire import WireDoor as WireDoor
from .wire import WireRouter as WireRouter
