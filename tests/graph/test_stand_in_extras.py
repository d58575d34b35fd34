"""The stand-in's remaining behaviours: extended properties on update, consent errors, API tokens,
key rollover, shares of throttled requests, dropped notifications, and running it on its own."""

from __future__ import annotations

import time
from pathlib import Path

import jwt
import pytest
import requests

from local.graphsim.demo import Demo
from local.graphsim.server import GraphSim
from shared.errors import ThrottledError
from shared.graph.client import GraphClient
from shared.graph.transport import RetryPolicy
from tests.graph.conftest import Receiver, control, make_client, new_user
from tests.graph.test_auth import posted_form
from tests.graph.test_delta_and_subscriptions import subscribe
from tests.graph.test_events import PROPERTY, invite


def test_update_writes_a_single_value_extended_property(sim: GraphSim, client: GraphClient, demo: Demo) -> None:
    organizer = new_user(sim, demo)
    event = client.create_event(demo.tenant_id, organizer.id, invite())
    client.update_event(
        demo.tenant_id,
        organizer.id,
        event["id"],
        {"singleValueExtendedProperties": [{"id": PROPERTY, "value": "v1;meeting=123"}]},
    )
    got = client.get_event(demo.tenant_id, organizer.id, event["id"], extended_property=PROPERTY)
    assert got["singleValueExtendedProperties"] == [{"id": PROPERTY, "value": "v1;meeting=123"}]
    assert "singleValueExtendedProperties" not in client.get_event(demo.tenant_id, organizer.id, event["id"])


def test_declined_sign_in_redirects_with_an_error(sim: GraphSim, demo: Demo) -> None:
    client = make_client(sim)
    flow = client.auth.begin_user_sign_in(demo.tenant_id, "http://127.0.0.1:7071/api/auth/callback")
    control(sim, f"/_sim/consent/{demo.tenant_id}/deny")
    answer = requests.get(flow["auth_uri"], allow_redirects=False, verify=sim.ca_bundle, timeout=10)
    fields = posted_form(answer.text)
    assert fields["error"] == "access_denied" and fields["state"] == flow["state"]


def test_api_tokens_and_key_rollover(sim: GraphSim, demo: Demo) -> None:
    token = control(sim, "/_sim/api-token", {"user": demo.bob, "audience": "api://hybrid-calendar"})["access_token"]
    jwks_url = f"{sim.url}/{demo.tenant_id}/discovery/v2.0/keys"
    keys = {k["kid"]: k for k in requests.get(jwks_url, verify=sim.ca_bundle, timeout=10).json()["keys"]}
    header = jwt.get_unverified_header(token)
    key = jwt.PyJWK(keys[header["kid"]]).key
    claims = jwt.decode(
        token, key, algorithms=["RS256"], audience="api://hybrid-calendar", issuer=f"{sim.url}/{demo.tenant_id}/v2.0"
    )
    assert (claims["oid"], claims["tid"]) == (demo.bob, demo.tenant_id)
    new_kid = control(sim, "/_sim/keys/rollover")["kid"]
    published = [k["kid"] for k in requests.get(jwks_url, verify=sim.ca_bundle, timeout=10).json()["keys"]]
    assert header["kid"] in published and new_kid == published[-1]
    rolled = control(sim, "/_sim/api-token", {"user": demo.bob, "audience": "api://hybrid-calendar"})["access_token"]
    assert jwt.get_unverified_header(rolled)["kid"] == new_kid


def test_every_request_checks_its_token_even_one_seen_before(sim: GraphSim, demo: Demo) -> None:
    """The stand-in verifies a token's signature once, but expiry and a retired key still refuse it."""
    mailbox = new_user(sim, demo)
    token = make_client(sim).auth.app_token(demo.tenant_id)
    claims = jwt.decode(token, options={"verify_signature": False})
    expires = int(time.time()) + 2
    short = sim.app.signin.keys.sign(claims | {"exp": expires})

    def answer(bearer: str) -> requests.Response:
        return requests.get(
            f"{sim.url}/v1.0/users/{mailbox.id}/events",
            headers={"Authorization": f"Bearer {bearer}"},
            verify=sim.ca_bundle,
            timeout=10,
        )

    assert [answer(token).status_code, answer(token).status_code, answer(short).status_code] == [200, 200, 200]
    time.sleep(max(0.0, expires - time.time()) + 0.05)
    expired = answer(short)
    assert expired.status_code == 401
    assert expired.json()["error"]["message"] == "Access token has expired or is not yet valid."
    control(sim, "/_sim/keys/rollover", {"retireOld": True})
    retired = answer(token)
    assert retired.status_code == 401
    assert retired.json()["error"]["message"] == "Access token validation failure."


def test_a_share_of_requests_is_throttled(sim: GraphSim, demo: Demo) -> None:
    mailbox = new_user(sim, demo)
    client = make_client(sim, retry=RetryPolicy(max_attempts=1))
    control(sim, "/_sim/faults/throttle", {"share": 0.5, "retryAfter": "1"})
    outcomes = []
    for _ in range(40):
        try:
            client.get_mailbox_settings(demo.tenant_id, mailbox.id)
            outcomes.append("ok")
        except ThrottledError:
            outcomes.append("429")
    assert 8 <= outcomes.count("429") <= 32


def test_dropped_notifications_never_arrive(sim: GraphSim, client: GraphClient, demo: Demo, receiver: Receiver) -> None:
    mailbox = new_user(sim, demo)
    subscribe(client, demo, mailbox.id, receiver)
    control(sim, "/_sim/faults/notifications", {"drop": 1.0})
    client.create_event(demo.tenant_id, mailbox.id, invite())
    time.sleep(0.5)
    assert receiver.notifications() == []
    control(sim, "/_sim/faults/notifications", {"delayMs": 300})
    client.create_event(demo.tenant_id, mailbox.id, invite(subject="Late"))
    started = time.monotonic()
    assert len(receiver.wait_for(1)) == 1 and time.monotonic() - started >= 0.25


def test_runs_on_its_own_with_the_demo_tenant(tmp_path: Path) -> None:
    from local.graphsim.server import spawn

    process, url, ca_bundle = spawn(tmp_path, meetings=True)
    try:
        assert url.startswith("https://127.0.0.1:")
        state = requests.get(f"{url}/_sim/state", verify=ca_bundle, timeout=10).json()
        assert state["tenants"] == 3 and state["users"] == 5 and state["events"] >= 2
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0


def test_mailbox_settings_patch_keeps_the_zone_and_case_and_refuses_like_exchange(
    sim: GraphSim, client: GraphClient, demo: Demo
) -> None:
    from shared.errors import MailboxNotFoundError, ValidationError

    user = new_user(sim, demo)
    path = f"/users/{user.id}/mailboxSettings"
    window = {
        "status": "Scheduled",
        "internalReplyMessage": "<p>Away</p>",
        "scheduledStartDateTime": {"dateTime": "2027-03-13T09:00:00", "timeZone": "Pacific Standard Time"},
        "scheduledEndDateTime": {"dateTime": "2027-03-16T09:00:00", "timeZone": "Pacific Standard Time"},
    }
    answered = client.call(
        demo.tenant_id,
        "PATCH",
        path,
        json={"automaticRepliesSetting": window, "language": {"locale": "de-DE"}},
        what="patch",
    )
    assert set(answered) == {"@odata.context", "automaticRepliesSetting", "language"}
    got = client.get_mailbox_settings(demo.tenant_id, user.id)
    replies = got["automaticRepliesSetting"]
    assert replies["status"] == "Scheduled", "returned as written: readers compare without case"
    assert replies["scheduledStartDateTime"] == {
        "dateTime": "2027-03-13T09:00:00.0000000",
        "timeZone": "Pacific Standard Time",
    }
    assert got["language"] == {"locale": "de-DE", "displayName": "German (Germany)"}
    refusals = [
        (
            {
                "automaticRepliesSetting": {
                    "scheduledEndDateTime": {"dateTime": "2027-03-01T00:00:00", "timeZone": "UTC"}
                }
            },
            "ErrorInvalidTimeSettings",
        ),
        ({"timeZone": "Mars Standard Time"}, "InvalidTimeZone"),
        ({"automaticRepliesSetting": {"status": "sometimes"}}, "RequestBodyRead"),
        ({"automaticRepliesSetting": {"colour": "red"}}, "RequestBodyRead"),
    ]
    for body, code in refusals:
        try:
            client.call(demo.tenant_id, "PATCH", path, json=body, what="patch")
        except ValidationError as error:
            assert error.details is not None and error.details.code == code
        else:
            raise AssertionError(f"{body} was accepted")
    assert client.get_mailbox_settings(demo.tenant_id, user.id)["automaticRepliesSetting"] == replies, (
        "a refused PATCH changed nothing"
    )
    sim.app.store.users[user.id].exchange = False
    try:
        client.get_mailbox_settings(demo.tenant_id, user.id)
    except MailboxNotFoundError as error:
        assert error.details is not None and error.details.code == "MailboxNotEnabledForRESTAPI"
    else:
        raise AssertionError("a user without Exchange was read")
    assert client.get_user(demo.tenant_id, user.id)["id"] == user.id, "the directory still has the user"


def test_a_killed_client_is_one_log_line_not_a_traceback(
    caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    import logging

    from local.serving import one_line_error_log

    with caplog.at_level(logging.INFO, logger="local.graphsim"):
        try:
            raise ConnectionResetError(104, "Connection reset by peer")
        except ConnectionResetError:
            one_line_error_log(logging.getLogger("local.graphsim"))(
                "Error in HTTPServer.serve\n", level=logging.ERROR, traceback=True
            )
    [record] = caplog.records
    assert record.levelno == logging.ERROR and "\n" not in record.getMessage()
    assert record.getMessage() == (
        "Error in HTTPServer.serve (ConnectionResetError: [Errno 104] Connection reset by peer)"
    )
    assert "Traceback" not in capsys.readouterr().err


def test_the_dev_host_has_a_thread_for_every_delivery_the_stand_in_makes_at_once() -> None:
    from local.graphsim.notify import DELIVERY_THREADS
    from local.host import HTTP_THREADS

    assert HTTP_THREADS > DELIVERY_THREADS


def test_a_stand_in_drops_what_it_could_not_send_to_a_client_that_went_away() -> None:
    """The failed write's bytes are not tried again when the writer is collected (that would be reported as an
    "Exception ignored" during whatever test runs then)."""
    import gc
    import socket

    from cheroot.makefile import StreamWriter

    from local.serving import drop_unsent_bytes_of_a_gone_client

    drop_unsent_bytes_of_a_gone_client()
    mine, theirs = socket.socketpair()
    writer = StreamWriter(mine, "wb")
    theirs.close()
    mine.close()
    with pytest.raises(OSError):
        writer.write(b"an answer nobody waits for")
    assert not writer._write_buf
    del writer
    gc.collect()
