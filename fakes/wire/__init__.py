"""Wire-faithful HTTP doors in front of the fake services and the fake model.

Sans-I/O HTTP handlers (``HttpRequest`` in, ``HttpResponse`` out, begin/finish-shaped
like the services, so a network can hold a request in flight and fault it) that speak
the real APIs over the same service objects the dialect uses — one ledger, one
idempotency layer, one fault model:

- ``StripeApi``: Stripe REST API v1 (customers, PaymentIntents, refunds) over
  ``PaymentProvider``;
- ``OpenAIApi``: Chat Completions, and ``AnthropicApi``: Messages, over ``FakeModel``;
- ``SlackApi``: ``chat.postMessage`` and ``conversations.history`` over ``Chat``;
- ``ServiceApi``: any other service as plain JSON, ``POST https://<name>.internal/<endpoint>``
  (``default_doors`` builds a world's set: what ``Scenario.http_doors`` attaches).

``WireRouter`` finds the door for a request's host; ``serve`` runs one request through
a door with no network in between; ``attach_http`` gives a world an HTTP front door
(``HttpFront``, ``http_request``, httpx/httpx2 interception) through its simulated
network. ``docs/fakes.md`` says what each models and what not.
"""

from ._anthropic import AnthropicApi as AnthropicApi
from ._chat import ConversationError as ConversationError
from ._chat import first_json_object as first_json_object
from ._http import FormError as FormError
from ._http import HttpInFlight as HttpInFlight
from ._http import HttpRequest as HttpRequest
from ._http import HttpResponse as HttpResponse
from ._http import UnknownHost as UnknownHost
from ._http import WireDoor as WireDoor
from ._http import WireRouter as WireRouter
from ._http import decode_form as decode_form
from ._http import serve as serve
from ._models import ModelDoor as ModelDoor
from ._net import HttpFront as HttpFront
from ._net import attach_http as attach_http
from ._net import http_request as http_request
from ._openai import OpenAIApi as OpenAIApi
from ._service_api import ServiceApi as ServiceApi
from ._service_api import default_doors as default_doors
from ._slack import SlackApi as SlackApi
from ._slack import channel_id as channel_id
from ._stripe import StripeApi as StripeApi
from ._tls import no_ca_loading as no_ca_loading
