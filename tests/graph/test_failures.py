"""Failures over HTTPS: throttling honoured and bounded, batches, access policies, tokens, concurrency."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import pytest
import requests

from local.graphsim.demo import Demo
from local.graphsim.server import GraphSim
from shared.errors import AccessDeniedError, AccessPolicyDeniedError, DependencyUnavailableError, ThrottledError
from shared.graph.batch import BatchRequest
from shared.graph.client import GraphClient
from shared.graph.transport import RetryPolicy
from tests.graph.conftest import Receiver, control, make_client, new_user
from tests.graph.test_events import at, invite


def test_throttling_is_honoured_then_succeeds(sim: GraphSim, client: GraphClient, demo: Demo) -> None:
    mailbox = new_user(sim, demo)
    control(sim, "/_sim/faults/throttle", {"mailbox": mailbox.id, "retryAfter": "0.3", "count": 2})
    started = time.monotonic()
    sent = client.transport.sent
    assert client.get_mailbox_settings(demo.tenant_id, mailbox.id)["timeZone"] == "UTC"
    assert client.transport.sent - sent == 3
    assert time.monotonic() - started >= 0.6


def test_throttling_is_bounded_and_tells_when_to_come_back(sim: GraphSim, demo: Demo) -> None:
    mailbox = new_user(sim, demo)
    client = make_client(sim, retry=RetryPolicy(max_attempts=3, max_total_seconds=2, base_delay=0.01))
    control(sim, "/_sim/faults/throttle", {"mailbox": mailbox.id, "retryAfter": "0.2"})
    with pytest.raises(ThrottledError, match="429 TooManyRequests") as caught:
        client.get_mailbox_settings(demo.tenant_id, mailbox.id)
    assert caught.value.retry_after == pytest.approx(0.2)
    control(sim, "/_sim/faults/throttle", {"mailbox": mailbox.id, "retryAfter": "30"})
    started = time.monotonic()
    with pytest.raises(ThrottledError) as caught:
        client.get_mailbox_settings(demo.tenant_id, mailbox.id)
    assert time.monotonic() - started < 1 and caught.value.retry_after == 30


def test_other_mailboxes_are_not_throttled(sim: GraphSim, client: GraphClient, demo: Demo) -> None:
    hot, calm = new_user(sim, demo), new_user(sim, demo)
    control(sim, "/_sim/faults/throttle", {"mailbox": hot.id, "retryAfter": "30"})
    assert client.get_mailbox_settings(demo.tenant_id, calm.id)["timeZone"] == "UTC"


def test_503_without_retry_after_backs_off(sim: GraphSim, client: GraphClient, demo: Demo) -> None:
    mailbox = new_user(sim, demo)
    control(sim, "/_sim/faults/throttle", {"mailbox": mailbox.id, "status": 503, "count": 1})
    assert client.get_user(demo.tenant_id, mailbox.id)["id"] == mailbox.id
    control(sim, "/_sim/faults/throttle", {"mailbox": mailbox.id, "status": 503})
    with pytest.raises(DependencyUnavailableError, match="503"):
        client.get_user(demo.tenant_id, mailbox.id)


def test_a_graph_that_is_down_is_a_transient_error(sim: GraphSim, demo: Demo) -> None:
    client = make_client(sim)
    client.auth.cloud(demo.tenant_id)
    client.auth._clouds[demo.tenant_id] = client.auth._clouds[demo.tenant_id].__class__(
        "Worldwide", sim.url, "https://127.0.0.1:9", "https://graph.microsoft.com"
    )
    with pytest.raises(DependencyUnavailableError, match="Graph unreachable"):
        client.get_user(demo.tenant_id, demo.alice)


def test_batch_retries_inner_throttling_and_types_other_failures(
    sim: GraphSim, client: GraphClient, demo: Demo
) -> None:
    hot, calm = new_user(sim, demo), new_user(sim, demo)
    event = client.create_event(demo.tenant_id, calm.id, invite())
    control(sim, "/_sim/faults/throttle", {"mailbox": hot.id, "retryAfter": "0.2", "count": 1})
    sent = client.transport.sent
    results = client.batch(
        demo.tenant_id,
        [
            BatchRequest("1", "GET", f"/users/{hot.id}/mailboxSettings"),
            BatchRequest("2", "GET", f"/users/{calm.id}/events/{event['id']}?$select=subject"),
            BatchRequest("3", "GET", "/users/ghost@contoso.example/mailboxSettings"),
        ],
    )
    assert client.transport.sent - sent == 2
    assert (results["1"].status, results["2"].body["subject"], results["3"].status) == (200, "Design review", 404)
    from shared.errors import MailboxNotFoundError

    assert isinstance(results["3"].error, MailboxNotFoundError)


def test_batch_depends_on_and_size(sim: GraphSim, client: GraphClient, demo: Demo) -> None:
    calm = new_user(sim, demo)
    results = client.batch(
        demo.tenant_id,
        [
            BatchRequest("a", "GET", "/users/ghost@contoso.example"),
            BatchRequest("b", "PATCH", f"/users/{calm.id}/events/nope", body={"subject": "x"}, depends_on=("a",)),
        ],
    )
    assert (results["a"].status, results["b"].status) == (404, 424)
    many = client.batch(demo.tenant_id, [BatchRequest(str(i), "GET", f"/users/{calm.id}") for i in range(45)])
    assert len(many) == 45 and all(r.ok for r in many.values())
    answer = requests.post(
        f"{sim.url}/v1.0/$batch",
        json={"requests": [{"id": str(i), "method": "GET", "url": "/me"} for i in range(21)]},
        headers={"Authorization": f"Bearer {client.auth.app_token(demo.tenant_id)}"},
        verify=sim.ca_bundle,
        timeout=10,
    )
    assert answer.status_code == 400 and answer.json()["error"]["code"] == "BadRequest"


def test_application_access_policy_is_its_own_error(
    sim: GraphSim, client: GraphClient, demo: Demo, receiver: Receiver
) -> None:
    denied, allowed = new_user(sim, demo), new_user(sim, demo)
    control(sim, "/_sim/faults/access-policy", {"deny": [denied.id]})
    with pytest.raises(AccessPolicyDeniedError, match="403 ErrorAccessDenied") as caught:
        client.get_event(demo.tenant_id, denied.id, "any")
    assert "[RAOP]" in caught.value.details.message and caught.value.details.request_id
    with pytest.raises(AccessPolicyDeniedError, match="403 ExtensionError"):
        client.create_subscription(
            demo.tenant_id,
            denied.id,
            notification_url=receiver.url,
            lifecycle_url=receiver.url,
            client_state="s",
            expires=datetime.now(timezone.utc) + timedelta(days=1),
        )
    assert client.get_user(demo.tenant_id, allowed.id)["id"] == allowed.id


def test_missing_permission_is_plain_access_denied() -> None:
    from shared.graph.errors import graph_error

    error = graph_error(
        403,
        {"error": {"code": "ErrorAccessDenied", "message": "Access is denied. Check credentials and try again."}},
        {},
        what="get",
    )
    assert type(error) is AccessDeniedError


def test_forged_and_expired_tokens_are_refused(sim: GraphSim, demo: Demo) -> None:
    import jwt

    url = f"{sim.url}/v1.0/users/{demo.alice}"
    forged = jwt.encode(
        {"tid": demo.tenant_id, "aud": "https://graph.microsoft.com"},
        "a-forger-who-has-no-signing-key-0123",
        algorithm="HS256",
    )
    answer = requests.get(url, headers={"Authorization": f"Bearer {forged}"}, verify=sim.ca_bundle, timeout=10)
    assert answer.status_code == 401 and answer.json()["error"]["code"] == "InvalidAuthenticationToken"
    assert "authorization_uri=" in answer.headers["WWW-Authenticate"]
    expired = sim.app.signin.keys.sign(
        {"tid": demo.tenant_id, "aud": "https://graph.microsoft.com", "appid": "x", "exp": int(time.time()) - 10}
    )
    answer = requests.get(url, headers={"Authorization": f"Bearer {expired}"}, verify=sim.ca_bundle, timeout=10)
    assert answer.json()["error"]["message"] == "Access token has expired or is not yet valid."


def test_one_instance_keeps_its_share_of_a_mailbox_low(sim: GraphSim, client: GraphClient, demo: Demo) -> None:
    from shared.graph.transport import MAILBOX_SLOTS

    busy = new_user(sim, demo)
    control(sim, "/_sim/faults/latency", {"ms": 150})
    with ThreadPoolExecutor(max_workers=10) as pool:
        list(pool.map(lambda _: client.get_mailbox_settings(demo.tenant_id, busy.id), range(10)))
    assert sim.app.peak[busy.id] == MAILBOX_SLOTS


def test_instances_together_over_four_on_a_mailbox_meet_429_and_retry_through(sim: GraphSim, demo: Demo) -> None:
    """Graph counts every instance of the app, and each item of a $batch: three instances (three clients)
    busy on one mailbox at once exceed its 4 slots; the 429s are retried after their Retry-After."""
    busy = new_user(sim, demo)
    event = make_client(sim).create_event(demo.tenant_id, busy.id, {"subject": "x", "start": at(60), "end": at(90)})
    instances = [make_client(sim) for _ in range(3)]
    control(sim, "/_sim/faults/latency", {"ms": 120})
    refused = dict(sim.app.limits.refused)

    def work(client: GraphClient) -> int:
        singles = [client.get_mailbox_settings(demo.tenant_id, busy.id) for _ in range(2)]
        batched = client.get_events(demo.tenant_id, busy.id, [event["id"]] * 1 + [event["id"] + "x"], select=["id"])
        return len(singles) + len(batched)

    with ThreadPoolExecutor(max_workers=6) as pool:
        assert list(pool.map(work, instances * 2)) == [4] * 6
    assert sim.app.peak[busy.id] <= 4
    assert sim.app.limits.refused.get("concurrency", 0) > refused.get("concurrency", 0)


def test_a_mailboxs_request_budget_answers_429_with_retry_after(sim: GraphSim, demo: Demo) -> None:
    busy = new_user(sim, demo)
    control(sim, "/_sim/faults/budget", {"requests": 3, "seconds": 2})
    token = make_client(sim).auth.app_token(demo.tenant_id)
    answers = [
        requests.get(
            f"{sim.url}/v1.0/users/{busy.id}/mailboxSettings",
            headers={"Authorization": f"Bearer {token}"},
            verify=sim.ca_bundle,
            timeout=10,
        )
        for _ in range(4)
    ]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert answers[3].json()["error"]["code"] == "ApplicationThrottled"
    assert 1 <= int(answers[3].headers["Retry-After"]) <= 2
    patient = make_client(sim, retry=RetryPolicy(max_attempts=4, max_total_seconds=30))
    assert patient.get_mailbox_settings(demo.tenant_id, busy.id)["timeZone"] == "UTC", "retried after Retry-After"


def test_subscription_expiries_written_with_an_offset_are_read_as_the_same_moment(
    sim: GraphSim, client: GraphClient, demo: Demo, receiver: Receiver
) -> None:
    from shared.graph.client import parse_graph_time

    user = new_user(sim, demo)
    control(sim, "/_sim/faults/offsets", {"minutes": 330})
    expires = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=2)
    created = client.create_subscription(
        demo.tenant_id,
        user.id,
        notification_url=receiver.url,
        lifecycle_url=receiver.url,
        client_state="s",
        expires=expires,
    )
    assert created["expirationDateTime"].endswith("+05:30")
    assert parse_graph_time(created["expirationDateTime"]) == expires
