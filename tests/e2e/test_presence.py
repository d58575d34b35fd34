"""Out of office as presence end to end: automatic replies set in the stand-in (as a user does in Outlook),
polls through ``$batch``, timed flips on ``hc-presence`` in Azurite, ``GET /api/me/presence``, the meetings
list, the tenant status, and ``presence.updated`` pushes verified by a receiver using the
``standardwebhooks`` package."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import requests

from local.graphsim.store import User
from local.receiver import Receiver
from tests.e2e.conftest import Stack, eventually, running_stack
from tests.e2e.test_meetings_api import conforms, token
from tests.e2e.test_sync import enabled


@pytest.fixture(scope="module")
def stack(azurite: str, session_key_file: Path) -> Iterator[Stack]:
    with running_stack(azurite, session_key_file, HC_PRESENCE_POLL_MINUTES="1") as started:
        yield started


def outlook(stack: Stack, user: User, **replies: Any) -> None:
    """The user changes their automatic replies in Outlook (the stand-in's own route, no app token)."""
    answer = requests.patch(
        f"{stack.sim.url}/_sim/users/{user.id}/mailboxSettings",
        json={"automaticRepliesSetting": replies},
        verify=stack.sim.ca_bundle,
        timeout=10,
    )
    assert answer.status_code == 200, answer.text


def local(seconds: float, zone: str = "W. Europe Standard Time", iana: str = "Europe/Berlin") -> dict[str, str]:
    moment = (datetime.now(timezone.utc) + timedelta(seconds=seconds)).astimezone(ZoneInfo(iana))
    return {"dateTime": moment.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": zone}


def presence(stack: Stack, user: User) -> dict[str, Any]:
    answer = requests.get(
        f"{stack.url}/api/me/presence", headers={"Authorization": f"Bearer {token(stack, user)}"}, timeout=30
    )
    assert answer.status_code == 200, answer.text
    return conforms(answer.json(), "Presence")


def poll(stack: Stack, *users: User) -> None:
    """One poll of these mailboxes, as the round's message would run it."""
    stack.engine.presence.poll(stack.demo.tenant_id, [u.id for u in users])  # type: ignore[union-attr]


def with_receiver(stack: Stack, user: User, receiver: Receiver) -> None:
    answer = requests.post(
        f"{stack.url}/api/me/endpoints",
        json={"url": receiver.url},
        headers={"Authorization": f"Bearer {token(stack, user)}"},
        timeout=30,
    )
    assert answer.status_code == 201, answer.text
    receiver.secrets.append(answer.json()["secret"])


def deny(stack: Stack, mailboxes: list[str]) -> None:
    """An application access policy that leaves ``mailboxes`` out of the app's reach."""
    answer = requests.post(
        f"{stack.sim.url}/_sim/faults/access-policy", json={"deny": mailboxes}, verify=stack.sim.ca_bundle, timeout=10
    )
    assert answer.status_code == 204


def test_always_on_is_out_of_office_in_presence_the_list_and_a_signed_push(stack: Stack) -> None:
    alice = enabled(stack)
    assert presence(stack, alice)["known"] is False
    with Receiver([]) as receiver:
        with_receiver(stack, alice, receiver)
        outlook(stack, alice, status="AlwaysEnabled", internalReplyMessage="<p>On leave</p>")
        poll(stack, alice)
        pushed = eventually(lambda: receiver.of("presence.updated"), timeout=15)
        assert pushed[0].data["outOfOffice"] is True and pushed[0].data["until"] is None
        assert pushed[0].data["mailbox"] == alice.id and receiver.refused == 0
    mine = presence(stack, alice)
    assert mine["known"] and mine["outOfOffice"] and mine["automaticReplies"]["status"] == "alwaysEnabled"
    assert mine["automaticReplies"]["message"] == "<p>On leave</p>" and mine["language"] == "en-US"
    listed = requests.get(
        f"{stack.url}/api/me/meetings", headers={"Authorization": f"Bearer {token(stack, alice)}"}, timeout=30
    ).json()
    assert listed["outOfOffice"] is True and listed["until"] is None
    row = stack.stores.presence.table.get(stack.demo.tenant_id, alice.id)
    assert row is not None and "On leave" not in repr(row), "the reply message is sealed at rest"


def test_a_scheduled_window_flips_on_the_second_between_polls(stack: Stack) -> None:
    bob = enabled(stack)
    with Receiver([]) as receiver:
        with_receiver(stack, bob, receiver)
        outlook(
            stack,
            bob,
            status="scheduled",
            scheduledStartDateTime=local(5),
            scheduledEndDateTime=local(10),
            internalReplyMessage="<p>Back soon</p>",
        )
        start = time.time() + 5
        poll(stack, bob)
        assert presence(stack, bob)["outOfOffice"] is False and receiver.of("presence.updated") == []
        went = eventually(lambda: receiver.of("presence.updated"), timeout=20)[0]
        arrived = time.time()
        assert went.data["outOfOffice"] is True and went.data["until"] is not None
        assert -1.0 <= arrived - start < 4.0, f"flipped {arrived - start:.1f} s after the window's start"
        assert presence(stack, bob)["outOfOffice"] is True
        back = eventually(
            lambda: len(receiver.of("presence.updated")) == 2 and receiver.of("presence.updated")[1], timeout=20
        )
        assert back.data["outOfOffice"] is False
    assert presence(stack, bob)["outOfOffice"] is False


def test_a_window_across_a_dst_change_in_a_windows_zone_keeps_each_ends_offset(stack: Stack) -> None:
    carol = enabled(stack)
    year = datetime.now(timezone.utc).year + 1
    outlook(
        stack,
        carol,
        status="scheduled",
        scheduledStartDateTime={"dateTime": f"{year}-03-13T09:00:00", "timeZone": "Pacific Standard Time"},
        scheduledEndDateTime={"dateTime": f"{year}-03-16T09:00:00", "timeZone": "Pacific Standard Time"},
    )
    poll(stack, carol)
    replies = presence(stack, carol)["automaticReplies"]
    pacific = ZoneInfo("America/Los_Angeles")
    expected = [datetime(year, 3, day, 9, tzinfo=pacific).astimezone(timezone.utc) for day in (13, 16)]
    assert [replies["scheduledStart"], replies["scheduledEnd"]] == [f"{e:%Y-%m-%dT%H:%M:%SZ}" for e in expected]
    assert expected[0].hour == 17 and expected[1].hour == 16, "PST before the change, PDT after"
    assert presence(stack, carol)["outOfOffice"] is False


def test_switched_off_early_is_seen_at_the_next_poll_and_nothing_changed_writes_nothing(stack: Stack) -> None:
    dave = enabled(stack)
    with Receiver([]) as receiver:
        with_receiver(stack, dave, receiver)
        outlook(stack, dave, status="scheduled", scheduledStartDateTime=local(-60), scheduledEndDateTime=local(3600))
        poll(stack, dave)
        assert presence(stack, dave)["outOfOffice"] is True
        etag = stack.stores.presence.get(stack.demo.tenant_id, dave.id).etag  # type: ignore[union-attr]
        poll(stack, dave)
        assert stack.stores.presence.get(stack.demo.tenant_id, dave.id).etag == etag, "unchanged: not written"  # type: ignore[union-attr]
        outlook(stack, dave, status="disabled")
        poll(stack, dave)
        pushes = eventually(
            lambda: len(receiver.of("presence.updated")) == 2 and receiver.of("presence.updated"), timeout=15
        )
        assert [p.data["outOfOffice"] for p in pushes] == [True, False]
    assert presence(stack, dave)["outOfOffice"] is False


def test_one_mailbox_without_exchange_and_one_denied_by_policy_do_not_hold_up_the_others(stack: Stack) -> None:
    erin, frank, gina = enabled(stack), enabled(stack), enabled(stack)
    for user in (erin, frank, gina):
        outlook(stack, user, status="alwaysEnabled")
    stack.sim.app.store.users[erin.id].exchange = False
    deny(stack, [frank.id])
    try:
        poll(stack, erin, frank, gina)
    finally:
        stack.sim.app.store.users[erin.id].exchange = True
        deny(stack, [])
    assert presence(stack, gina)["outOfOffice"] is True
    assert (presence(stack, erin)["error"], presence(stack, frank)["error"]) == (
        "no_exchange_mailbox",
        "access_policy_denied",
    )
    status = stack.admin("GET", f"tenants/{stack.demo.tenant_id}/status").json()
    errors = {e["mailbox"]: e for e in status["presenceErrors"]}
    assert errors[erin.id]["code"] == "no_exchange_mailbox" and "Exchange Online" in errors[erin.id]["description"]
    assert errors[frank.id]["code"] == "access_policy_denied" and gina.id not in errors
    poll(stack, erin, frank)
    assert presence(stack, erin)["error"] is None and presence(stack, frank)["outOfOffice"] is True


def test_a_throttled_item_is_retried_after_retry_after_and_the_batch_is_one_request(stack: Stack) -> None:
    hana, ivan = enabled(stack), enabled(stack)
    outlook(stack, hana, status="alwaysEnabled")
    outlook(stack, ivan, status="alwaysEnabled")
    before = stack.sim.app.faults.http_requests
    throttled = requests.post(
        f"{stack.sim.url}/_sim/faults/throttle",
        json={"mailbox": hana.id, "retryAfter": 1, "count": 1},
        verify=stack.sim.ca_bundle,
        timeout=10,
    )
    assert throttled.status_code == 204
    started = time.monotonic()
    poll(stack, hana, ivan)
    assert time.monotonic() - started >= 1.0, "Retry-After honoured"
    assert stack.sim.app.faults.http_requests - before == 2, "one $batch, and one more for the throttled item"
    assert presence(stack, hana)["outOfOffice"] and presence(stack, ivan)["outOfOffice"]


def test_the_round_polls_every_enabled_user_through_the_queue(stack: Stack) -> None:
    jo = enabled(stack)
    room = enabled(stack, "room")
    outlook(stack, jo, status="alwaysEnabled")
    polls = stack.engine.presence.round([stack.demo.tenant_id])  # type: ignore[union-attr]
    assert polls >= 1
    eventually(lambda: presence(stack, jo)["outOfOffice"], timeout=90)
    assert stack.stores.presence.get(stack.demo.tenant_id, room.id) is None, "rooms have no presence"


def test_presence_needs_the_users_own_token(stack: Stack) -> None:
    assert requests.get(f"{stack.url}/api/me/presence", timeout=30).status_code == 401
    answer = requests.get(f"{stack.url}/api/me/presence", headers={"Authorization": "Bearer not-a-token"}, timeout=30)
    assert answer.status_code == 401 and answer.json()["error"]["code"] == "invalid_token"


def test_a_hostile_presence_message_is_poisoned_intact_and_the_next_poll_still_runs(stack: Stack) -> None:
    import base64

    from shared.storage.clients import ensure_queue, queue_client
    from shared.storage.queues import references_message

    kim = enabled(stack)
    outlook(stack, kim, status="alwaysEnabled")
    connection = stack.settings.storage_connection
    presence_queue = queue_client(connection, "hc-presence")
    hostile = '{"tenant_id": "t", "kind": "poll", "mailbox_id": "../../users", "note": "Board meeting \\ud800"}'
    presence_queue.send_message(hostile)
    presence_queue.send_message(
        references_message([{"tenant_id": stack.demo.tenant_id, "kind": "poll", "mailbox_id": kim.id}])
    )
    poison = queue_client(connection, "hc-presence-poison", base64=False)
    ensure_queue(poison)
    found = eventually(
        lambda: [
            text
            for m in poison.peek_messages(max_messages=32)
            if "Board meeting" in (text := base64.b64decode(m.content).decode())
        ],
        timeout=20,
    )
    assert found == [hostile]
    assert eventually(lambda: presence(stack, kim)["outOfOffice"], timeout=20)


def test_an_oversized_or_broken_reply_message_is_stored_cut_and_readable(stack: Stack) -> None:
    lee = enabled(stack)
    outlook(stack, lee, status="alwaysEnabled", internalReplyMessage="<p>" + "Ferien 🌴 " * 20_000 + "</p>")
    poll(stack, lee)
    message = presence(stack, lee)["automaticReplies"]["message"]
    assert message.startswith("<p>Ferien 🌴") and len(message.encode()) <= 16_000


def test_the_join_block_uses_the_organizers_language_template_and_time_zone(stack: Stack) -> None:
    from tests.e2e.test_scheduling import HTML_START, schedule

    otto, pat = enabled(stack), enabled(stack)
    path = f"tenants/{stack.demo.tenant_id}/scheduling"
    german = '<p>Besprechung beitreten: <a href="$join_url">Link</a>, Beginn $start ($time_zone)</p>'
    answer = stack.admin("PUT", path, json={"languageTemplates": {"de": {"html": german}}})
    assert answer.status_code == 200, answer.text
    assert conforms(answer.json(), "SchedulingConfig")["languageTemplates"] == {"de": {"html": german}}
    try:
        settings = requests.patch(
            f"{stack.sim.url}/_sim/users/{otto.id}/mailboxSettings",
            json={"language": {"locale": "de-DE"}, "timeZone": "W. Europe Standard Time"},
            verify=stack.sim.ca_bundle,
            timeout=10,
        )
        assert settings.status_code == 200
        poll(stack, otto, pat)
        assert presence(stack, otto)["language"] == "de-DE"
        _, event = schedule(
            stack, otto, "@meet", {"contentType": "html", "content": "<p>Agenda</p>"}, originalStartTimeZone="UTC"
        )
        body = event["data"]["body"]["content"]
        start = datetime.fromisoformat(event["data"]["start"]["dateTime"][:19]).replace(tzinfo=timezone.utc)
        berlin = start.astimezone(ZoneInfo("Europe/Berlin"))
        assert f"{HTML_START}<p>Besprechung beitreten:" in body
        assert f"Beginn {berlin:%Y-%m-%d %H:%M} (W. Europe Standard Time)" in body
        _, english = schedule(stack, pat, "@meet", {"contentType": "html", "content": "<p>Agenda</p>"})
        assert "Besprechung" not in english["data"]["body"]["content"], "en-US has no template: the default block"
    finally:
        stack.admin("PUT", path, json={"languageTemplates": {"de": None}})


def test_a_push_that_fails_is_pushed_again_by_the_retried_flip(stack: Stack) -> None:
    from shared.presence.service import PresenceService

    mo = enabled(stack)
    original = PresenceService._push
    failures = []

    def failing_once(self: PresenceService, record: Any) -> None:
        if not failures:
            failures.append(record.mailbox_id)
            raise RuntimeError("the worker died while pushing")
        original(self, record)

    with Receiver([]) as receiver:
        with_receiver(stack, mo, receiver)
        outlook(stack, mo, status="scheduled", scheduledStartDateTime=local(3), scheduledEndDateTime=local(600))
        poll(stack, mo)
        PresenceService._push = failing_once  # type: ignore[method-assign]
        try:
            went = eventually(lambda: receiver.of("presence.updated"), timeout=30)
        finally:
            PresenceService._push = original  # type: ignore[method-assign]
        assert failures == [mo.id] and went[0].data["outOfOffice"] is True
    assert presence(stack, mo)["outOfOffice"] is True
