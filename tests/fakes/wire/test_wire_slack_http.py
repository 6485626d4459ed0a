"""The Slack door over the SRE world's Chat ledger, and the shared HTTP plumbing."""

from __future__ import annotations

import json
from typing import Any

import pytest

from fakes import Chat, HttpRequest, PaymentProvider, SlackApi, StripeApi, WireRouter
from fakes.wire import (
    FormError,
    HttpInFlight,
    OpenAIApi,
    UnknownHost,
    channel_id,
    decode_form,
    serve,
)
from simulator import NS_PER_MS, FakeModel, Kernel

TOKEN = {"authorization": "Bearer xoxb-test"}


def post(text: str, channel: str = "#incidents", inject: int | None = None,
         form: bool = False) -> HttpRequest:
    if form:
        return HttpRequest("POST", "https://slack.com/api/chat.postMessage",
                           {**TOKEN, "content-type": "application/x-www-form-urlencoded"},
                           f"channel={channel}&text={text}".encode(), inject_status=inject)
    return HttpRequest("POST", "https://slack.com/api/chat.postMessage",
                       {**TOKEN, "content-type": "application/json; charset=utf-8"},
                       json.dumps({"channel": channel, "text": text}).encode(),
                       inject_status=inject)


def history(channel: str, **params: Any) -> HttpRequest:
    query = "&".join(f"{k}={v}" for k, v in {"channel": channel, **params}.items())
    return HttpRequest("GET", f"https://slack.com/api/conversations.history?{query}", TOKEN)


def test_post_then_history_over_the_chat_ledger() -> None:
    chat = Chat()
    door = SlackApi(chat)
    posted, t = serve(door, post("checkout is down"))
    body = posted.json()
    assert posted.status == 200 and body["ok"] is True
    assert body["channel"] == channel_id("#incidents") and body["channel"].startswith("C")
    seconds, _, micros = body["ts"].partition(".")
    assert seconds.isdigit() and len(micros) == 6
    assert body["message"] == {"type": "message", "subtype": "bot_message",
                               "text": "checkout is down", "user": "U0NINELIVES",
                               "bot_id": "B0NINELIVES", "team": "T0NINELIVES",
                               "ts": body["ts"]}
    serve(door, post("found it", form=True), t)
    assert [m.text for m in chat.messages] == ["checkout is down", "found it"]
    listed = serve(door, history(body["channel"]))[0].json()  # by id
    assert listed["ok"] is True and listed["has_more"] is False
    assert [m["text"] for m in listed["messages"]] == ["found it", "checkout is down"]
    assert listed["messages"][1]["ts"] == body["ts"]
    assert listed["messages"][0]["ts"] > listed["messages"][1]["ts"]
    assert door.tool(post("x")) == "chat.post"
    assert door.tool(history("C1")) == "chat.search"


def test_a_retried_post_posts_twice_no_key_as_on_slack() -> None:
    chat = Chat()
    door = SlackApi(chat)
    request = post("same text")
    request.headers["idempotency-key"] = "ignored"
    serve(door, request)
    serve(door, request)
    assert [m.text for m in chat.messages] == ["same text", "same text"]
    stamps = door.timestamps()
    assert len(set(stamps.values())) == 2  # distinct ts, even at the same instant


def test_faults_and_refusals_in_slack_form() -> None:
    chat = Chat()
    door = SlackApi(chat, retry_after_s=3)
    limited, _ = serve(door, post("x", inject=429))
    assert limited.status == 429 and limited.headers["retry-after"] == "3"
    assert limited.json() == {"ok": False, "error": "ratelimited"}
    failed, _ = serve(door, post("x", inject=500))
    assert failed.status == 500 and failed.json() == {"ok": False, "error": "fatal_error"}
    assert chat.messages == []  # neither posted
    empty, _ = serve(door, post(""))
    assert (empty.status, empty.json()) == (200, {"ok": False, "error": "no_text"})
    unknown, _ = serve(door, history("CUNKNOWN12"))
    assert unknown.json() == {"ok": False, "error": "channel_not_found"}
    anonymous = HttpRequest("POST", "https://slack.com/api/chat.postMessage",
                            {"content-type": "application/json"}, b'{"channel":"#a","text":"x"}')
    assert serve(door, anonymous)[0].json() == {"ok": False, "error": "not_authed"}
    assert serve(door, HttpRequest("POST", "https://slack.com/api/users.list",
                                   TOKEN))[0].status == 404


def test_history_pages_and_windows() -> None:
    chat = Chat()
    door = SlackApi(chat, channels=["#ops"])
    t = 0
    for n in range(5):
        t = serve(door, post(f"m{n}", "#ops"), t)[1] + 10 * NS_PER_MS
    cid = channel_id("#ops")
    first = serve(door, history(cid, limit=2))[0].json()
    assert [m["text"] for m in first["messages"]] == ["m4", "m3"] and first["has_more"]
    cursor = first["response_metadata"]["next_cursor"]
    second = serve(door, history(cid, limit=2, cursor=cursor))[0].json()
    assert [m["text"] for m in second["messages"]] == ["m2", "m1"]
    ts = {m.text: door.timestamps()[m.id] for m in chat.messages}
    window = serve(door, history(cid, oldest=ts["m1"], latest=ts["m3"]))[0].json()
    assert [m["text"] for m in window["messages"]] == ["m2"]
    inclusive = serve(door, history(cid, oldest=ts["m1"], latest=ts["m3"],
                                    inclusive="true"))[0].json()
    assert [m["text"] for m in inclusive["messages"]] == ["m3", "m2", "m1"]


def test_slack_posts_are_held_in_flight_like_any_write() -> None:
    chat = Chat()
    door = SlackApi(chat)
    flight = door.begin(post("slow"), 0)
    assert isinstance(flight, HttpInFlight) and chat.messages == []
    assert door.finish(flight, flight.processing_ns).json()["ok"] is True
    assert len(chat.messages) == 1


# -- the shared plumbing ----------------------------------------------------------------------

@pytest.mark.parametrize(("text", "decoded"), [
    ("a=1&b=x+y", {"a": "1", "b": "x y"}),
    ("metadata[order_id]=o-1&metadata[n]=2", {"metadata": {"order_id": "o-1", "n": "2"}}),
    ("expand[0]=a&expand[1]=b", {"expand": ["a", "b"]}),
    ("l[]=a&l[]=b", {"l": ["a", "b"]}),
    ("a[b][c]=1", {"a": {"b": {"c": "1"}}}),
    ("items[0][price]=p1&items[0][qty]=2", {"items": [{"price": "p1", "qty": "2"}]}),
    ("empty=", {"empty": ""}),
    ("", {}),
])
def test_form_decoding_with_bracket_notation(text: str, decoded: dict[str, Any]) -> None:
    assert decode_form(text) == decoded


@pytest.mark.parametrize("text", ["a=1&a[b]=2", "a[b]=2&a=1", "a=1&a=2", "[x]=1"])
def test_form_that_does_not_decode(text: str) -> None:
    with pytest.raises(FormError):
        decode_form(text)


def test_router_finds_the_door_by_host_and_names_an_unknown_url() -> None:
    stripe_door = StripeApi(PaymentProvider([]))
    slack_door = SlackApi(Chat())
    openai_door = OpenAIApi(FakeModel(Kernel(1), None))
    router = WireRouter([stripe_door, slack_door, openai_door])
    assert router.hosts == ("api.stripe.com", "slack.com", "api.openai.com")
    assert router.door(HttpRequest("GET", "https://API.stripe.com/v1/customers")) is stripe_door
    with pytest.raises(UnknownHost, match=r"https://example\.com/x"):
        router.door(HttpRequest("GET", "https://example.com/x"))
    with pytest.raises(ValueError, match="two doors"):
        WireRouter([slack_door, SlackApi(Chat())])


def test_headers_are_lowercased_and_bodies_bytes() -> None:
    request = HttpRequest("post", "https://slack.com/api/x?a=1", {"X-Thing": "1"}, "text")
    assert (request.method, request.headers, request.body) == ("POST", {"x-thing": "1"},
                                                               b"text")
    assert (request.host, request.path, request.query) == ("slack.com", "/api/x", "a=1")
