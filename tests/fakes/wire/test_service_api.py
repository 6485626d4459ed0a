"""``ServiceApi``: a fake service over plain JSON HTTP, the same service object the
dialect reaches (one ledger, one idempotency layer), and the doors every scenario's
world opens."""

from __future__ import annotations

import json

from fakes import Email, Inventory
from fakes.wire import (
    AnthropicApi,
    HttpRequest,
    OpenAIApi,
    ServiceApi,
    SlackApi,
    StripeApi,
    default_doors,
    serve,
)
from scenarios import get_scenario
from simulator import World


def post(door: ServiceApi, path: str, body: object, key: str | None = None,
         host: str = "inventory.internal") -> tuple[int, object]:
    headers = {"content-type": "application/json"}
    if key is not None:
        headers["Idempotency-Key"] = key
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    response, _ = serve(door, HttpRequest("POST", f"https://{host}{path}", headers, raw), 0)
    return response.status, response.json()


ARGS = {"order_id": "o-1", "sku": "sku-mug", "quantity": 2}


def test_a_post_is_the_service_endpoint_and_its_key_is_the_services() -> None:
    inventory = Inventory({"sku-mug": 10})
    door = ServiceApi(inventory, "inventory")
    request = HttpRequest("POST", "https://inventory.internal/reserve", {}, b"{}")
    assert door.hosts == ("inventory.internal",)
    assert door.tool(request) == "inventory.reserve"  # the dialect's name: one fault plan
    first = post(door, "/reserve", ARGS, key="k-1")
    again = post(door, "/reserve", ARGS, key="k-1")
    assert first[0] == 200 and again == first  # replayed from the service's key store
    assert len(inventory.reservations) == 1
    post(door, "/reserve", ARGS, key="k-2")
    assert len(inventory.reservations) == 2  # another key: another effect


def test_bad_bodies_and_unknown_endpoints_reach_no_service() -> None:
    inventory = Inventory({"sku-mug": 10})
    door = ServiceApi(inventory, "inventory")
    assert post(door, "/reserve", b"not json")[0] == 400
    assert post(door, "/reserve", [1, 2])[0] == 400
    status, body = post(door, "/refund_everything", ARGS)
    assert status == 404 and "refund_everything" in json.dumps(body)
    assert door.tool(HttpRequest("GET", "https://inventory.internal/reserve")) == ""
    assert inventory.reservations == []


def test_a_service_error_keeps_its_status_and_body() -> None:
    email = Email()
    door = ServiceApi(email, "email", host="mail.example.test")
    status, body = post(door, "/send", {"to": "", "subject": "s", "body": "b"},
                        host="mail.example.test")
    assert status == 400 and "error" in body  # type: ignore[operator]
    assert email.sent == []


def test_every_scenario_world_opens_doors_for_its_services_and_model() -> None:
    for name, expected in (("checkout", {StripeApi, ServiceApi, OpenAIApi, AnthropicApi}),
                           ("sre-incident", {SlackApi, ServiceApi, OpenAIApi, AnthropicApi})):
        world = World(1)
        scenario = get_scenario(name)
        scenario.build(world)
        doors = default_doors(world)
        assert {type(d) for d in doors} == expected
        hosts = {h for d in doors for h in d.hosts}
        assert {f"{service}.internal" for service in world.services} <= hosts
        world.dispose()
