"""Outgoing webhooks without a network: signatures checked by the independent ``standardwebhooks``
package, URL rules with a fake resolver, the retry schedule, and the waiting message's format."""

from __future__ import annotations

import base64
import json
import time
from datetime import datetime, timedelta, timezone

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from shared.delivery.deliver import DeliveryOptions, OutgoingEvent, RetryRef, next_attempt_at, retry_delay
from shared.delivery.endpoints import Endpoint, Secret
from shared.delivery.signing import headers, new_secret
from shared.delivery.urls import check_url
from shared.errors import InvalidParameterError, ValidationError

NOW = datetime(2026, 12, 4, 9, 0, tzinfo=timezone.utc)


def resolver(*addresses: str):
    return lambda host, port: list(addresses)


def test_signatures_verify_with_the_standard_webhooks_library() -> None:
    secret = new_secret()
    assert secret.startswith("whsec_") and len(base64.b64decode(secret[6:])) == 32
    body = OutgoingEvent("msg_1", "join_button.shown", {"subject": "Café ☕"}, NOW).body()
    signed = headers([secret], "msg_1", int(time.time()), body)
    assert Webhook(secret).verify(body, signed)["data"] == {"subject": "Café ☕"}
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(body, signed)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body + b" ", signed)


def test_during_a_rotation_either_secret_verifies() -> None:
    old, new = new_secret(), new_secret()
    endpoint = Endpoint("t", "m", "e", "room", "https://x.example", (Secret(old),), NOW)
    rotated = endpoint.rotated(new, now=NOW, overlap=timedelta(hours=24))
    assert rotated.signing_secrets(NOW) == [new, old]
    assert rotated.signing_secrets(NOW + timedelta(hours=25)) == [new]
    body = b'{"type":"join_button.shown"}'
    signed = headers(rotated.signing_secrets(NOW), "msg_2", int(time.time()), body)
    assert Webhook(old).verify(body, signed) and Webhook(new).verify(body, signed)
    again = rotated.rotated(new_secret(), now=NOW, overlap=timedelta(hours=24))
    assert len(again.secrets) == 2 and old not in [s.value for s in again.secrets], "only the last one overlaps"
    assert endpoint.rotated(new, now=NOW, overlap=timedelta(0)).signing_secrets(NOW) == [new]


@pytest.mark.parametrize(
    "url, addresses, words",
    [
        ("https://hooks.example.com/x", ["10.1.2.3"], "private"),
        ("https://hooks.example.com/x", ["93.184.215.14", "192.168.0.1"], "private"),
        ("https://hooks.example.com/x", ["127.0.0.1"], "private"),
        ("https://hooks.example.com/x", ["169.254.169.254"], "private"),
        ("https://hooks.example.com/x", ["100.64.0.1"], "private"),
        ("https://hooks.example.com/x", ["::ffff:10.0.0.1"], "private"),
        ("https://hooks.example.com/x", ["fe80::1%eth0"], "private"),
        ("https://hooks.example.com/x", ["224.0.0.1"], "private"),
        ("https://hooks.example.com/x", [], "does not resolve"),
        ("http://hooks.example.com/x", ["93.184.215.14"], "https"),
        ("http://127.0.0.1:8099/x", ["127.0.0.1"], "https"),
        ("https://hooks.example.com:99999/x", ["93.184.215.14"], "port"),
        ("https://hooks.example.com/x#frag", ["93.184.215.14"], "fragment"),
        ("https://a@hooks.example.com/x", ["93.184.215.14"], "user name"),
        ("https:///x", [], "host"),
        (None, [], "required"),
        (42, [], "required"),
        ("https://hooks.example.com/\u202ex", [], "ASCII"),
        ("https://hooks.example.com/x\ud800", [], "ASCII"),
    ],
)
def test_production_refuses_urls_that_reach_inside(url: object, addresses: list[str], words: str) -> None:
    with pytest.raises(InvalidParameterError) as caught:
        check_url(url, local=False, resolve=resolver(*addresses))
    assert caught.value.parameter == "url"
    assert words in str(caught.value)


def test_public_https_and_local_loopback_receivers_are_accepted() -> None:
    assert check_url("https://hooks.example.com/x?a=1", local=False, resolve=resolver("93.184.215.14", "2606:2800::1"))
    assert check_url("http://127.0.0.1:8099/hooks", local=True, resolve=resolver("127.0.0.1"))
    assert check_url("http://localhost:8099/hooks", local=True, resolve=resolver("127.0.0.1", "::1"))
    with pytest.raises(InvalidParameterError):
        check_url("https://hooks.example.com/x", local=True, resolve=resolver("10.0.0.1"))


def test_retries_back_off_four_times_longer_each_time_for_at_least_a_day() -> None:
    options = DeliveryOptions()
    assert [retry_delay(n, first_retry=5) for n in range(1, 10)] == [5, 20, 80, 320, 1280, 5120, 20480, 36000, 36000]
    first, moment, attempt = NOW, NOW, 1
    while (due := next_attempt_at(first, attempt, moment, options)) is not None:
        moment, attempt = due, attempt + 1
    assert moment - first >= timedelta(hours=24) and attempt <= 12


def test_a_waiting_delivery_round_trips_and_anything_else_is_refused() -> None:
    ref = RetryRef("t", "m", "0123456789abcdef", "msg_1", "join_button.shown", NOW, 3, "c2VhbGVk")
    assert RetryRef.parse(ref.to_text()) == ref
    for text in (
        "",
        "[]",
        "{}",
        json.dumps({**json.loads(ref.to_text()), "attempt": "3"}),
        json.dumps({**json.loads(ref.to_text()), "extra": 1}),
        "\ud800",
        "[" * 100,
        json.dumps({**json.loads(ref.to_text()), "first": "yesterday"}),
    ):
        with pytest.raises(ValidationError):
            RetryRef.parse(text)


def test_an_event_too_large_for_a_queue_message_is_refused() -> None:
    with pytest.raises(ValidationError):
        OutgoingEvent("msg", "join_button.shown", {"subject": "x" * 40_000}, NOW).body()
