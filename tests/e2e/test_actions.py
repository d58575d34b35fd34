"""Acting from an app over HTTP: free/busy through getSchedule, answering an invitation."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import requests

from local.graphsim.store import User
from tests.e2e.conftest import Stack, eventually
from tests.e2e.test_meetings_api import conforms, error_of, every_meeting, invite, token
from tests.e2e.test_sync import enabled, mailbox

HOUR = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0) + timedelta(days=2)


def slot(hours: float) -> dict[str, str]:
    return {"dateTime": (HOUR + timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"}


def availability(stack: Stack, bearer: str | None, **params: Any) -> requests.Response:
    headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
    return requests.get(f"{stack.url}/api/me/availability", headers=headers, params=params, timeout=30)


def respond(stack: Stack, bearer: str, meeting: str, body: Any) -> requests.Response:
    return requests.post(
        f"{stack.url}/api/me/meetings/{meeting}/response",
        headers={"Authorization": f"Bearer {bearer}"},
        json=body,
        timeout=30,
    )


def test_free_busy_of_people_and_a_room_with_every_code(stack: Stack) -> None:
    alice, bob, room = enabled(stack), mailbox(stack), mailbox(stack, "room")
    store = stack.sim.app.store
    for hours, show in ((0, "tentative"), (1, "busy"), (2, "oof"), (3, "workingElsewhere"), (4, "free")):
        store.create_event(
            bob.id, {"subject": f"Bob {show}", "start": slot(hours), "end": slot(hours + 1), "showAs": show}
        )
    store.create_event(bob.id, {"subject": "Doctor", "start": slot(5), "end": slot(6), "sensitivity": "private"})
    store.create_event(alice.id, {"subject": "Planning", "start": slot(1), "end": slot(2), "attendees": invite(room)})
    answer = availability(
        stack,
        token(stack, alice),
        schedules=f"{bob.mail}, {room.mail},ghost@contoso.example",
        start=HOUR.isoformat(),
        end=(HOUR + timedelta(hours=7)).isoformat(),
        interval=60,
    )
    assert answer.status_code == 200, answer.text
    body = conforms(answer.json(), "Availability")
    assert body["interval"] == 60 and body["start"] == HOUR.strftime("%Y-%m-%dT%H:%M:%SZ")
    bob_view, room_view, ghost = body["schedules"]
    assert bob_view["schedule"] == bob.mail and bob_view["availabilityView"] == "1234020"
    assert [(b["status"], b.get("subject")) for b in bob_view["busy"]] == [
        ("tentative", "Bob tentative"),
        ("busy", "Bob busy"),
        ("oof", "Bob oof"),
        ("workingElsewhere", "Bob workingElsewhere"),
        ("busy", None),
    ]
    assert bob_view["busy"][-1]["isPrivate"] is True and "location" not in bob_view["busy"][-1]
    assert bob_view["busy"][0]["start"] == HOUR.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert bob_view["workingHours"]["startTime"] == "08:00" and bob_view["error"] is None
    assert room_view["availabilityView"] == "0200000"
    assert ghost["availabilityView"] == "" and ghost["error"]["code"] == "ErrorInvalidUser"


def test_twenty_schedules_are_one_graph_call(stack: Stack) -> None:
    alice = enabled(stack)
    people = [mailbox(stack) for _ in range(20)]
    bearer = token(stack, alice)
    before = stack.sim.app.faults.requests_for(alice.id, "POST")
    answer = availability(stack, bearer, schedules=",".join(p.mail for p in people))
    assert answer.status_code == 200, answer.text
    assert len(answer.json()["schedules"]) == 20
    assert stack.sim.app.faults.requests_for(alice.id, "POST") - before == 1, "one getSchedule for 20 schedules"
    assert len(answer.json()["schedules"][0]["availabilityView"]) == 48, "a day of 30-minute slots by default"


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({}, "schedules"),
        ({"schedules": "not-an-address"}, "schedules"),
        ({"schedules": ",".join(f"p{i}@contoso.example" for i in range(21))}, "schedules"),
        ({"schedules": "a@contoso.example", "interval": "4"}, "interval"),
        ({"schedules": "a@contoso.example", "interval": "1441"}, "interval"),
        ({"schedules": "a@contoso.example", "interval": "half"}, "interval"),
        ({"schedules": "a@contoso.example", "start": "tomorrow"}, "start"),
        ({"schedules": "a@contoso.example", "start": "2026-12-10T09:00:00"}, "start"),
        ({"schedules": "a@contoso.example", "start": "2026-12-10T09:00:00Z", "end": "2026-12-10T08:00:00Z"}, "end"),
        ({"schedules": "a@contoso.example", "start": "2026-12-10T09:00:00Z", "end": "2027-01-21T09:00:00Z"}, "end"),
        ({"schedules": b"a@contoso.example\xff"}, "schedules"),
        ({"schedules": "a\u00e9@contoso.example\u202e"}, "schedules"),
    ],
)
def test_limits_are_checked_before_graph_is_called(stack: Stack, params: dict[str, str], parameter: str) -> None:
    alice = enabled(stack)
    bearer = token(stack, alice)
    before = stack.sim.app.faults.requests_for(alice.id, "POST")
    code, message = error_of(availability(stack, bearer, **params), 400)
    assert code == "invalid_parameter" and message.startswith(f"{parameter}:")
    assert stack.sim.app.faults.requests_for(alice.id, "POST") == before, "Graph is not asked what it would refuse"


def test_free_busy_needs_a_users_token(stack: Stack) -> None:
    assert error_of(availability(stack, None, schedules="a@contoso.example"), 401)[0] == "invalid_token"


def _meeting(stack: Stack, user: User, subject: str) -> dict[str, Any]:
    bearer = token(stack, user)
    found: list[dict[str, Any]] = []

    def listed() -> bool:
        found[:] = [m for m in every_meeting(stack, bearer) if m["subject"] == subject]
        return bool(found)

    assert eventually(listed)
    return found[0]


def test_attendee_answers_and_the_lists_show_it(stack: Stack) -> None:
    alice, bob, carol = enabled(stack), enabled(stack), enabled(stack)
    stack.sim.app.store.create_event(
        alice.id, {"subject": "Roadmap", "start": slot(1), "end": slot(2), "attendees": invite(bob, carol)}
    )
    meeting = _meeting(stack, bob, "Roadmap")
    assert (meeting["isOrganizer"], meeting["response"]) == (False, "notResponded")
    organizer_copy = _meeting(stack, alice, "Roadmap")
    assert (organizer_copy["id"], organizer_copy["isOrganizer"], organizer_copy["response"]) == (
        meeting["id"],
        True,
        "organizer",
    )
    bob_token, carol_token = token(stack, bob), token(stack, carol)
    answer = respond(stack, bob_token, meeting["id"], {"response": "accept", "comment": "See you there"})
    assert answer.status_code == 202, answer.text
    assert conforms(answer.json(), "MeetingResponse") == {"id": meeting["id"], "response": "accepted"}
    assert eventually(lambda: _meeting(stack, bob, "Roadmap")["response"] == "accepted")
    graph_organizer = stack.sim.app.store.calendar_view(alice.id, HOUR, HOUR + timedelta(hours=3))[0]
    statuses = {
        a["emailAddress"]["address"]: (a.get("status") or {}).get("response", "none")
        for a in graph_organizer["attendees"]
    }
    assert statuses[bob.mail] == "accepted" and statuses[carol.mail] in ("none", "notResponded")
    assert respond(stack, carol_token, meeting["id"], {"response": "tentative"}).status_code == 202
    assert eventually(lambda: _meeting(stack, carol, "Roadmap")["response"] == "tentativelyAccepted")
    assert respond(stack, bob_token, meeting["id"], {"response": "decline", "sendResponse": False}).status_code == 202
    assert eventually(lambda: _meeting(stack, bob, "Roadmap")["response"] == "declined")


def test_answers_that_cannot_be_given(stack: Stack) -> None:
    alice, bob, eve = enabled(stack), enabled(stack), enabled(stack)
    stack.sim.app.store.create_event(
        alice.id, {"subject": "Own meeting", "start": slot(3), "end": slot(4), "attendees": invite(bob)}
    )
    meeting = _meeting(stack, alice, "Own meeting")
    code, message = error_of(respond(stack, token(stack, alice), meeting["id"], {"response": "accept"}), 409)
    assert code == "refused" and "organize" in message
    code, _ = error_of(respond(stack, token(stack, eve), meeting["id"], {"response": "accept"}), 404)
    assert code == "not_found", "a meeting in someone else's calendar is not found"
    assert error_of(respond(stack, token(stack, bob), "0" * 32, {"response": "accept"}), 404)[0] == "not_found"
    assert error_of(respond(stack, token(stack, bob), "../../x", {"response": "accept"}), 404)[0] == "not_found"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (None, "body"),
        ([], "body"),
        ({"response": "maybe"}, "response"),
        ({}, "response"),
        ({"response": "accept", "comment": 5}, "comment"),
        ({"response": "accept", "comment": "x" * 2001}, "comment"),
        ({"response": "accept", "sendResponse": "no"}, "sendResponse"),
        ({"response": "accept", "colour": "red"}, "colour"),
    ],
)
def test_bad_answers_are_refused_naming_the_field(stack: Stack, body: Any, field: str) -> None:
    bob = enabled(stack)
    code, message = error_of(respond(stack, token(stack, bob), "0" * 32, body), 400)
    assert code == "invalid_request" and field in message


def schedule(stack: Stack, bearer: str, body: Any, key: str | None = None) -> requests.Response:
    headers = {"Authorization": f"Bearer {bearer}"} | ({"Idempotency-Key": key} if key else {})
    return requests.post(f"{stack.url}/api/me/meetings", headers=headers, json=body, timeout=30)


def one(stack: Stack, bearer: str, meeting: str, method: str = "GET", **kwargs: Any) -> requests.Response:
    return requests.request(
        method,
        f"{stack.url}/api/me/meetings/{meeting}",
        headers={"Authorization": f"Bearer {bearer}"},
        timeout=30,
        **kwargs,
    )


def iso(hours: float) -> str:
    return (HOUR + timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_schedule_with_a_platform_in_one_create_retried_with_its_key(stack: Stack) -> None:
    alice, bob, room = enabled(stack), enabled(stack), enabled(stack, "room")
    bearer = token(stack, alice)
    body = {
        "subject": "Launch review",
        "start": iso(10),
        "end": iso(11),
        "timeZone": "W. Europe Standard Time",
        "attendees": [bob.mail],
        "room": room.mail,
        "platform": "builtin",
    }
    calls = lambda method: stack.sim.app.faults.requests_for(alice.id, method)  # noqa: E731
    before = {m: calls(m) for m in ("POST", "PATCH")}
    answer = schedule(stack, bearer, body, key="launch-review-1")
    assert answer.status_code == 201, answer.text
    created = conforms(answer.json(), "Meeting")
    assert answer.headers["Location"].endswith(f"/api/me/meetings/{created['id']}")
    assert created["provider"] == "jitsi" and "/hc-" in created["joinUrl"] and created["isOrganizer"]
    assert (created["subject"], created["start"], created["timeZone"]) == (
        "Launch review",
        iso(10),
        "W. Europe Standard Time",
    )
    assert {m: calls(m) - before[m] for m in ("POST", "PATCH")} == {"POST": 1, "PATCH": 0}, (
        "one Graph create and no second write (a read may come from the sync racing the API's row write)"
    )
    again = schedule(stack, bearer, body, key="launch-review-1")
    assert again.status_code == 201 and again.json() == created, "a retry returns the first result"
    assert len([m for m in every_meeting(stack, bearer) if m["subject"] == "Launch review"]) == 1
    graph_event = [
        e
        for e in stack.sim.app.store.calendar_view(alice.id, HOUR, HOUR + timedelta(hours=12))
        if e["subject"] == "Launch review"
    ]
    assert len(graph_event) == 1 and created["joinUrl"] in graph_event[0]["body"]["content"]
    assert created["joinUrl"] in graph_event[0]["location"]["displayName"]
    for person in (bob,):
        assert eventually(lambda: _meeting(stack, person, "Launch review")["joinUrl"] == created["joinUrl"])
    credential = issue_credential(stack, room)
    assert eventually(lambda: any(m["joinUrl"] == created["joinUrl"] for m in room_meetings(stack, room, credential)))
    assert one(stack, bearer, created["id"]).json() == created


def test_schedule_without_a_platform_and_each_bad_field(stack: Stack) -> None:
    alice = enabled(stack)
    bearer = token(stack, alice)
    plain = schedule(stack, bearer, {"subject": "Focus", "start": iso(12), "end": iso(13), "platform": "none"})
    assert plain.status_code == 201 and plain.json()["joinUrl"] is None and plain.json()["provider"] is None
    good = {"subject": "x", "start": iso(12), "end": iso(13)}
    for change, field in (
        ({"subject": ""}, "subject"),
        ({"subject": "s" * 256}, "subject"),
        ({"start": "soon"}, "start"),
        ({"end": iso(11)}, "end"),
        ({"end": iso(24 * 15)}, "end"),
        ({"timeZone": "Mars/Olympus"}, "timeZone"),
        ({"attendees": ["nobody"]}, "attendees[1]"),
        ({"attendees": "a@b.example"}, "attendees"),
        ({"room": 7}, "room"),
        ({"platform": "zoom"}, "platform"),
        ({"colour": "red"}, "colour"),
        ({"start": iso(24 * 60), "end": iso(24 * 60 + 1)}, "start"),
    ):
        code, message = error_of(schedule(stack, bearer, good | change), 400)
        assert field in message, (change, message)
    code, message = error_of(schedule(stack, bearer, good, key="bad key with spaces"), 400)
    assert message.startswith("Idempotency-Key:")
    assert error_of(schedule(stack, bearer, ["not", "an", "object"]), 400)[0] == "invalid_request"


def test_organizer_changes_and_cancels_attendee_removes_and_may_not_change(stack: Stack) -> None:
    alice, bob = enabled(stack), enabled(stack)
    alice_token, bob_token = token(stack, alice), token(stack, bob)
    created = schedule(
        stack,
        alice_token,
        {"subject": "Sync", "start": iso(14), "end": iso(15), "attendees": [bob.mail], "platform": "builtin"},
    ).json()
    bob_copy = _meeting(stack, bob, "Sync")
    code, message = error_of(one(stack, bob_token, bob_copy["id"], "PATCH", json={"subject": "Mine"}), 403)
    assert "only the organizer" in message
    moved = one(stack, alice_token, created["id"], "PATCH", json={"subject": "Sync (moved)", "start": iso(16)})
    assert moved.status_code == 200, moved.text
    assert (moved.json()["subject"], moved.json()["start"], moved.json()["end"]) == ("Sync (moved)", iso(16), iso(17))
    assert moved.json()["joinUrl"] == created["joinUrl"], "the platform meeting follows the event"
    assert eventually(lambda: _meeting(stack, bob, "Sync (moved)")["start"] == iso(16))
    moved_id = moved.json()["id"]
    assert one(stack, bob_token, _meeting(stack, bob, "Sync (moved)")["id"], "DELETE").status_code == 204
    assert eventually(lambda: not [m for m in every_meeting(stack, bob_token) if m["subject"] == "Sync (moved)"])
    assert one(stack, alice_token, moved_id, "DELETE", params={"comment": "Not needed"}).status_code == 204
    assert eventually(lambda: not [m for m in every_meeting(stack, alice_token) if m["subject"] == "Sync (moved)"])
    assert error_of(one(stack, alice_token, moved_id, "DELETE"), 404)[0] == "not_found"


def issue_credential(stack: Stack, room: User) -> str:
    from tests.e2e.test_meetings_api import issue

    return issue(stack, room)["secret"]


def room_meetings(stack: Stack, room: User, credential: str) -> list[dict[str, Any]]:
    answer = requests.get(
        f"{stack.url}/api/rooms/{room.id}/meetings", headers={"Authorization": f"Bearer {credential}"}, timeout=30
    )
    assert answer.status_code == 200, answer.text
    return answer.json()["value"]


def book(stack: Stack, room: User, credential: str, body: Any = None) -> requests.Response:
    return requests.post(
        f"{stack.url}/api/rooms/{room.id}/meetings",
        headers={"Authorization": f"Bearer {credential}"},
        json=body,
        timeout=30,
    )


def test_a_device_books_its_room_when_free_and_is_told_when_busy(stack: Stack) -> None:
    room, other = enabled(stack, "room"), enabled(stack, "room")
    credential = issue_credential(stack, room)
    now = datetime.now(timezone.utc)
    next_meeting = now + timedelta(minutes=20)
    stack.sim.app.store.create_event(
        room.id, {"subject": "Later", "start": _at(next_meeting), "end": _at(next_meeting + timedelta(minutes=30))}
    )
    answer = book(stack, room, credential)
    assert answer.status_code == 201, answer.text
    booked = conforms(answer.json(), "Meeting")
    assert booked["subject"] == "Booked on device"
    assert booked["end"] == next_meeting.strftime("%Y-%m-%dT%H:%M:%SZ"), "at most until the next meeting"
    assert eventually(lambda: any(m["subject"] == "Booked on device" for m in room_meetings(stack, room, credential)))
    code, message = error_of(book(stack, room, credential, {"duration": 15}), 409)
    assert code == "refused" and "free from" in message
    assert error_of(book(stack, room, credential, {"duration": 4}), 400)[1].startswith("duration")
    assert error_of(book(stack, other, credential), 403)[0] == "forbidden"


def _at(moment: datetime) -> dict[str, str]:
    return {"dateTime": moment.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"}


def test_tokens_of_another_tenant_or_no_token_act_on_nothing(stack: Stack) -> None:
    import uuid

    from local.graphsim.store import Tenant

    alice = enabled(stack)
    other = stack.sim.app.store.add_tenant(Tenant(str(uuid.uuid4()), "fabrikam.example", "Fabrikam"))
    outsider = stack.sim.app.store.add_user(User(str(uuid.uuid4()), other.id, "eve@fabrikam.example", "Eve"))
    meeting = schedule(
        stack, token(stack, alice), {"subject": "Private plan", "start": iso(20), "end": iso(21), "platform": "none"}
    ).json()
    foreign = token(stack, outsider)
    for answer in (
        schedule(stack, foreign, {"subject": "x", "start": iso(20), "end": iso(21)}),
        one(stack, foreign, meeting["id"]),
        one(stack, foreign, meeting["id"], "DELETE"),
        respond(stack, foreign, meeting["id"], {"response": "accept"}),
        availability(stack, foreign, schedules=alice.mail),
    ):
        assert error_of(answer, 401)[0] == "invalid_token"
    for method in ("GET", "PATCH", "DELETE"):
        assert error_of(one(stack, "", meeting["id"], method, json={"subject": "x"}), 401)[0] == "invalid_token"
    assert one(stack, token(stack, alice), meeting["id"]).json()["subject"] == "Private plan"
