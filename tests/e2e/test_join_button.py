"""The Join button end to end: meetings in the stand-in, the engine's rows, delayed queue messages in
Azurite, signed pushes to a real local receiver that verifies them with the ``standardwebhooks``
package, and the pull route agreeing at every step. Lead time 0 and short retry periods (settings)
keep each case within seconds."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import requests

from local.graphsim.store import User
from local.receiver import Receiver
from tests.e2e.conftest import Stack, eventually, running_stack
from tests.e2e.test_meetings_api import conforms, invite, issue, token
from tests.e2e.test_sync import enabled

JOIN = {"contentType": "html", "content": '<p><a href="https://contoso.zoom.us/j/987654321?pwd=abc">Join Zoom</a></p>'}


@pytest.fixture(scope="module")
def stack(azurite: str, session_key_file: Path) -> Iterator[Stack]:
    with running_stack(
        azurite,
        session_key_file,
        HC_JOIN_LEAD_MINUTES="0",
        HC_DELIVERY_FIRST_RETRY_SECONDS="1",
        HC_DELIVERY_RETRY_HOURS="0.01",
        HC_ENDPOINT_DISABLE_HOURS="0.0015",
        HC_SECRET_OVERLAP_HOURS="1",
    ) as started:
        yield started


def at(seconds: float) -> dict[str, str]:
    moment = datetime.now(timezone.utc) + timedelta(seconds=seconds)
    return {"dateTime": moment.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"}


def register(stack: Stack, room: User, receiver: Receiver) -> dict[str, Any]:
    answer = stack.admin(
        "POST", f"tenants/{stack.demo.tenant_id}/rooms/{room.id}/endpoints", json={"url": receiver.url}
    )
    assert answer.status_code == 201, answer.text
    created = conforms(answer.json(), "CreatedEndpoint")
    assert created["secret"].startswith("whsec_")
    receiver.secrets.append(created["secret"])
    return created


def pull(stack: Stack, room: User, credential: str) -> requests.Response:
    answer = requests.get(
        f"{stack.url}/api/rooms/{room.id}/join-button", headers={"Authorization": f"Bearer {credential}"}, timeout=30
    )
    assert answer.status_code == 200, answer.text
    return answer


def pulled(stack: Stack, room: User, credential: str) -> list[str]:
    return [b["meetingId"] for b in conforms(pull(stack, room, credential).json(), "JoinButtons")["value"]]


def room_with_receiver(stack: Stack, receiver: Receiver) -> tuple[User, str, dict[str, Any]]:
    room = enabled(stack, "room")
    return room, issue(stack, room)["secret"], register(stack, room, receiver)


def test_a_button_appears_at_the_start_and_is_withdrawn_at_the_end_and_pull_agrees(stack: Stack) -> None:
    with Receiver([]) as receiver:
        room, credential, _ = room_with_receiver(stack, receiver)
        stack.sim.app.store.create_event(room.id, {"subject": "Stand-up", "start": at(6), "end": at(12), "body": JOIN})
        time.sleep(1)
        assert receiver.of("join_button.shown") == [] and pulled(stack, room, credential) == []
        assert 0 < int(pull(stack, room, credential).headers["Cache-Control"].rpartition("=")[2]) <= 6
        shown = eventually(lambda: receiver.of("join_button.shown"), timeout=15)[0]
        assert shown.data["subject"] == "Stand-up" and shown.data["joinUrl"].startswith("https://contoso.zoom.us/j/")
        assert shown.data["provider"] == "zoom" and shown.data["mailboxKind"] == "room"
        assert pulled(stack, room, credential) == [shown.data["meetingId"]]
        withdrawn = eventually(lambda: receiver.of("join_button.withdrawn"), timeout=15)[0]
        assert withdrawn.data == {
            "mailbox": room.id,
            "mailboxKind": "room",
            "meetingId": shown.data["meetingId"],
            "reason": "ended",
        }
        assert pulled(stack, room, credential) == []
        assert receiver.refused == 0 and len(receiver.accepted) == 2


def test_cancelled_moved_and_unlinked_meetings_are_withdrawn_at_once(stack: Stack) -> None:
    store = stack.sim.app.store
    with Receiver([]) as receiver:
        room, credential, _ = room_with_receiver(stack, receiver)
        doomed = store.create_event(room.id, {"subject": "Doomed", "start": at(-1), "end": at(120), "body": JOIN})
        moved = store.create_event(room.id, {"subject": "Moved", "start": at(-1), "end": at(120), "body": JOIN})
        unlinked = store.create_event(room.id, {"subject": "Unlinked", "start": at(-1), "end": at(120), "body": JOIN})
        eventually(lambda: len(receiver.of("join_button.shown")) == 3, timeout=20)
        assert len(pulled(stack, room, credential)) == 3
        store.delete_event(room.id, doomed.id)
        store.update_event(room.id, moved.id, {"start": at(600), "end": at(900)})
        store.update_event(room.id, unlinked.id, {"body": {"contentType": "text", "content": "no link any more"}})
        withdrawn = eventually(
            lambda: len(receiver.of("join_button.withdrawn")) == 3 and receiver.of("join_button.withdrawn"), timeout=20
        )
        shown = {d.data["meetingId"]: d.data["subject"] for d in receiver.of("join_button.shown")}
        assert sorted((shown[d.data["meetingId"]], d.data["reason"]) for d in withdrawn) == [
            ("Doomed", "removed"),
            ("Moved", "changed"),
            ("Unlinked", "removed"),
        ]
        assert [b["subject"] for b in pull(stack, room, credential).json()["value"]] == []
        time.sleep(1)
        assert len(receiver.of("join_button.shown")) == 3


def test_a_moved_meeting_is_re_timed_and_shown_at_its_new_start(stack: Stack) -> None:
    store = stack.sim.app.store
    with Receiver([]) as receiver:
        room, credential, _ = room_with_receiver(stack, receiver)
        event = store.create_event(room.id, {"subject": "Later", "start": at(4), "end": at(60), "body": JOIN})
        time.sleep(1)
        new_start = at(9)
        store.update_event(room.id, event.id, {"start": new_start, "end": at(60)})
        started = time.monotonic()
        shown = eventually(lambda: receiver.of("join_button.shown"), timeout=20)
        assert time.monotonic() - started >= 6, "shown at the old time"
        assert len(shown) == 1 and shown[0].data["start"] == new_start["dateTime"] + "Z"
        assert pulled(stack, room, credential) == [shown[0].data["meetingId"]]
        assert receiver.of("join_button.withdrawn") == []


def test_a_private_meeting_shows_no_subject_or_organizer_on_the_room(stack: Stack) -> None:
    with Receiver([]) as receiver:
        room, credential, _ = room_with_receiver(stack, receiver)
        stack.sim.app.store.create_event(
            room.id, {"subject": "Layoffs", "start": at(-1), "end": at(60), "body": JOIN, "sensitivity": "private"}
        )
        shown = eventually(lambda: receiver.of("join_button.shown"), timeout=20)[0]
        assert shown.data["subject"] == "Private meeting" and shown.data["organizerName"] is None
        assert shown.data["isPrivate"] is True and shown.data["joinUrl"]
        listed = requests.get(
            f"{stack.url}/api/rooms/{room.id}/meetings", headers={"Authorization": f"Bearer {credential}"}, timeout=30
        ).json()["value"]
        assert [(m["subject"], m["organizerName"], m["isPrivate"]) for m in listed] == [("Private meeting", None, True)]
        assert "invitees" not in listed[0]


def test_a_receiver_down_for_a_while_gets_the_same_webhook_id_once_it_recovers(stack: Stack) -> None:
    with Receiver([], status=503) as receiver:
        room, _, endpoint = room_with_receiver(stack, receiver)
        stack.sim.app.store.create_event(room.id, {"subject": "Flaky", "start": at(-1), "end": at(60), "body": JOIN})
        eventually(lambda: len(receiver.attempts) >= 2, timeout=20)
        receiver.status = 204
        shown = eventually(lambda: receiver.of("join_button.shown"), timeout=30)
        assert len(set(receiver.attempts)) == 1 and len(receiver.attempts) >= 3
        assert shown[0].webhook_id == receiver.attempts[0]
        attempts = stack.admin(
            "GET", f"tenants/{stack.demo.tenant_id}/rooms/{room.id}/endpoints/{endpoint['id']}/deliveries"
        ).json()["value"]
        assert attempts[0]["outcome"] == "delivered" and {a["outcome"] for a in attempts[1:]} == {"failed"}
        assert all(
            set(a) == {"at", "webhookId", "type", "attempt", "status", "latencyMs", "outcome", "error"}
            for a in attempts
        )


def test_an_endpoint_that_always_fails_is_disabled_and_the_status_shows_it(stack: Stack) -> None:
    with Receiver([], status=500) as receiver:
        room, _, endpoint = room_with_receiver(stack, receiver)
        stack.sim.app.store.create_event(room.id, {"subject": "Never", "start": at(-1), "end": at(60), "body": JOIN})

        def disabled() -> bool:
            answer = stack.admin("GET", f"tenants/{stack.demo.tenant_id}/status").json()
            return any(e["id"] == endpoint["id"] for e in answer["disabledEndpoints"])

        eventually(disabled, timeout=40)
        shown = stack.admin("GET", f"tenants/{stack.demo.tenant_id}/rooms/{room.id}/endpoints/{endpoint['id']}").json()
        assert shown["enabled"] is False and shown["disabledReason"] == "failing"
        count = len(receiver.attempts)
        time.sleep(3)
        assert len(receiver.attempts) == count


def test_rotation_keeps_both_secrets_valid_for_the_overlap(stack: Stack) -> None:
    with Receiver([]) as old_only, Receiver([]) as new_only:
        room, _, endpoint = room_with_receiver(stack, old_only)
        path = f"tenants/{stack.demo.tenant_id}/rooms/{room.id}/endpoints/{endpoint['id']}"
        rotated = stack.admin("POST", f"{path}/rotate")
        assert rotated.status_code == 200 and rotated.json()["secret"] != endpoint["secret"]
        assert rotated.json()["previousSecretValidUntil"]
        new_only.secrets.append(rotated.json()["secret"])
        assert stack.admin("PATCH", path, json={"url": new_only.url}).status_code == 200
        stack.sim.app.store.create_event(room.id, {"subject": "Rotated", "start": at(-1), "end": at(60), "body": JOIN})
        delivery = eventually(lambda: new_only.of("join_button.shown"), timeout=20)[0]
        assert len(delivery.headers["webhook-signature"].split(" ")) == 2
        from standardwebhooks.webhooks import Webhook, WebhookVerificationError

        assert Webhook(endpoint["secret"]).verify(delivery.body, delivery.headers)["type"] == "join_button.shown"
        with pytest.raises(WebhookVerificationError):
            Webhook("whsec_" + "A" * 43 + "=").verify(delivery.body, delivery.headers)


def test_endpoint_urls_that_reach_inside_are_refused(stack: Stack) -> None:
    room = enabled(stack, "room")
    path = f"tenants/{stack.demo.tenant_id}/rooms/{room.id}/endpoints"
    for url, words in [
        ("http://example.com/hook", "https"),
        ("https://10.0.0.8/hook", "private"),
        ("https://169.254.169.254/latest", "private"),
        ("https://[fd00::1]/x", "private"),
        ("https://user:pw@example.com/", "user name"),
        ("ftp://example.com/", "https"),
        ("https://exa mple.com/", "ASCII"),
        ("https://bücher.example/", "ASCII"),
        ("", "required"),
        ("https://" + "a" * 3000 + ".com/", "2048"),
    ]:
        answer = stack.admin("POST", path, json={"url": url})
        assert answer.status_code == 400, (url, answer.text)
        assert answer.json()["error"]["code"] == "invalid_parameter" and words in answer.json()["error"]["message"]
    for body in ([], {"url": "http://127.0.0.1:9/x", "secret": "mine"}, "text"):
        assert stack.admin("POST", path, json=body).status_code == 400
    assert stack.admin("POST", path, data=b"\xff\xfe{").status_code == 400
    assert stack.admin("GET", path).json() == {"value": []}


def test_a_user_registers_an_endpoint_with_their_token_and_pulls_their_button(stack: Stack) -> None:
    alice = enabled(stack)
    bearer = {"Authorization": f"Bearer {token(stack, alice)}"}
    with Receiver([]) as receiver:
        created = requests.post(f"{stack.url}/api/me/endpoints", json={"url": receiver.url}, headers=bearer, timeout=30)
        assert created.status_code == 201, created.text
        receiver.secrets.append(created.json()["secret"])
        stack.sim.app.store.create_event(alice.id, {"subject": "Mine", "start": at(-1), "end": at(60), "body": JOIN})
        shown = eventually(lambda: receiver.of("join_button.shown"), timeout=20)[0]
        assert shown.data["subject"] == "Mine" and shown.data["mailboxKind"] == "user"
        mine = requests.get(f"{stack.url}/api/me/join-button", headers=bearer, timeout=30)
        assert [b["meetingId"] for b in mine.json()["value"]] == [shown.data["meetingId"]]
        assert mine.headers["Cache-Control"].startswith("private, max-age=")
        listed = requests.get(f"{stack.url}/api/me/endpoints", headers=bearer, timeout=30).json()["value"]
        assert [e["id"] for e in listed] == [created.json()["id"]] and "secret" not in listed[0]
        gone = requests.delete(f"{stack.url}/api/me/endpoints/{created.json()['id']}", headers=bearer, timeout=30)
        again = requests.delete(f"{stack.url}/api/me/endpoints/{created.json()['id']}", headers=bearer, timeout=30)
        assert gone.status_code == again.status_code == 204
    assert requests.get(f"{stack.url}/api/me/endpoints", timeout=30).status_code == 401


def test_the_organizers_and_the_rooms_copies_follow_a_keyword_meeting_and_its_removal(stack: Stack) -> None:
    alice = enabled(stack)
    bearer = {"Authorization": f"Bearer {token(stack, alice)}"}
    with Receiver([]) as mine, Receiver([]) as rooms:
        created = requests.post(f"{stack.url}/api/me/endpoints", json={"url": mine.url}, headers=bearer, timeout=30)
        mine.secrets.append(created.json()["secret"])
        room, credential, _ = room_with_receiver(stack, rooms)
        event = stack.sim.app.store.create_event(
            alice.id,
            {
                "subject": "Keyword",
                "start": at(-1),
                "end": at(120),
                "location": {"displayName": "@meet"},
                "attendees": invite(room),
                "sensitivity": "confidential",
            },
        )
        ours = eventually(lambda: mine.of("join_button.shown"), timeout=20)[0]
        theirs = eventually(lambda: rooms.of("join_button.shown"), timeout=20)[0]
        assert ours.data["meetingId"] == theirs.data["meetingId"] and ours.data["joinUrl"] == theirs.data["joinUrl"]
        assert ours.data["subject"] == "Keyword" and theirs.data["subject"] == "Private meeting"
        assert pulled(stack, room, credential) == [theirs.data["meetingId"]]
        stack.sim.app.store.update_event(alice.id, event.id, {"location": {"displayName": "Board room"}})
        assert eventually(lambda: mine.of("join_button.withdrawn"), timeout=20)[0].data["reason"] == "removed"
        assert eventually(lambda: rooms.of("join_button.withdrawn"), timeout=20)[0].data["reason"] == "removed"
        assert pulled(stack, room, credential) == []


class Crash(BaseException):
    """A worker dying (a BaseException, so nothing in the product catches it)."""


class Sent:
    def __init__(self) -> None:
        self.messages: list[tuple[str, dict[str, str], int | None]] = []

    def send(self, queue: str, fields: dict[str, str], *, delay_seconds: int | None = None) -> None:
        self.messages.append((queue, dict(fields), delay_seconds))


def test_a_worker_killed_between_due_and_delivered_still_delivers_once_in_effect(stack: Stack) -> None:
    """The product's timeline and deliverer over the stack's storage and a real receiver; the first worker
    dies right after its POST succeeded and before the row records the push, as a killed process would.
    The message is then handled again (the queue redelivers it) by a healthy worker."""
    from shared.delivery.deliver import Deliverer, DeliveryOptions
    from shared.storage.meetings import EventRows, MeetingRecord, MeetingRepository
    from shared.sync.messages import TIMELINE_QUEUE
    from shared.timeline.timeline import Timeline, parse_fields

    stores = stack.stores
    with Receiver([]) as receiver:
        room, _, _ = room_with_receiver(stack, receiver)
        meetings = MeetingRepository(stores.meetings.table, stores.meetings.cipher)
        start = datetime.now(timezone.utc) - timedelta(seconds=1)
        queue = Sent()

        def timeline(publish_then: type[BaseException] | None) -> Timeline:
            deliverer = Deliverer(
                stores.endpoints, stores.deliveries, stores.queues, stores.keyring, options=DeliveryOptions(local=True)
            )
            if publish_then is not None:
                real = deliverer.publish

                def dying(*args: Any) -> Any:
                    real(*args)
                    raise publish_then()

                deliverer.publish = dying  # type: ignore[method-assign]
            return Timeline(
                stores.buttons,
                meetings,
                stores.mailboxes,
                deliverer,
                queue,  # type: ignore[arg-type]
                lead=timedelta(0),
                horizon=timedelta(minutes=60),
            )

        first = timeline(Crash)
        meetings.observer = first
        meetings.write_event(
            stack.demo.tenant_id,
            room.id,
            EventRows(
                "killed-event",
                (
                    MeetingRecord(
                        "killed-event", start, start + timedelta(minutes=5), subject="Survives", join_url=JOIN_URL
                    ),
                ),
                "ck1",
                None,
            ),
        )
        ((queue_name, fields, _),) = queue.messages
        assert queue_name == TIMELINE_QUEUE and fields["action"] == "show"
        with pytest.raises(Crash):
            first.handle(*parse_fields(fields))
        assert len(receiver.accepted) == 1
        assert timeline(None).handle(*parse_fields(fields)) == "shown"
        assert timeline(None).handle(*parse_fields(fields)) == "already_shown"
        assert len(receiver.attempts) == 2 and len(set(receiver.attempts)) == 1, "the same webhook-id both times"
        assert [d.data["subject"] for d in receiver.accepted] == ["Survives"]


JOIN_URL = "https://contoso.zoom.us/j/987654321?pwd=abc"
