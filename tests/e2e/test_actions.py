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
    return requests.post(f"{stack.url}/api/me/meetings/{meeting}/response", headers={"Authorization": f"Bearer {bearer}"},
                         json=body, timeout=30)


def test_free_busy_of_people_and_a_room_with_every_code(stack: Stack) -> None:
    alice, bob, room = enabled(stack), mailbox(stack), mailbox(stack, "room")
    store = stack.sim.app.store
    for hours, show in ((0, "tentative"), (1, "busy"), (2, "oof"), (3, "workingElsewhere"), (4, "free")):
        store.create_event(bob.id, {"subject": f"Bob {show}", "start": slot(hours), "end": slot(hours + 1),
                                    "showAs": show})
    store.create_event(bob.id, {"subject": "Doctor", "start": slot(5), "end": slot(6), "sensitivity": "private"})
    store.create_event(alice.id, {"subject": "Planning", "start": slot(1), "end": slot(2), "attendees": invite(room)})
    answer = availability(stack, token(stack, alice), schedules=f"{bob.mail}, {room.mail},ghost@contoso.example",
                          start=HOUR.isoformat(), end=(HOUR + timedelta(hours=7)).isoformat(), interval=60)
    assert answer.status_code == 200, answer.text
    body = conforms(answer.json(), "Availability")
    assert body["interval"] == 60 and body["start"] == HOUR.strftime("%Y-%m-%dT%H:%M:%SZ")
    bob_view, room_view, ghost = body["schedules"]
    assert bob_view["schedule"] == bob.mail and bob_view["availabilityView"] == "1234020"
    assert [(b["status"], b.get("subject")) for b in bob_view["busy"]] == [
        ("tentative", "Bob tentative"), ("busy", "Bob busy"), ("oof", "Bob oof"),
        ("workingElsewhere", "Bob workingElsewhere"), ("busy", None)]
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


@pytest.mark.parametrize(("params", "parameter"), [
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
])
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
    stack.sim.app.store.create_event(alice.id, {"subject": "Roadmap", "start": slot(1), "end": slot(2),
                                                "attendees": invite(bob, carol)})
    meeting = _meeting(stack, bob, "Roadmap")
    assert (meeting["isOrganizer"], meeting["response"]) == (False, "notResponded")
    organizer_copy = _meeting(stack, alice, "Roadmap")
    assert (organizer_copy["id"], organizer_copy["isOrganizer"], organizer_copy["response"]) == (
        meeting["id"], True, "organizer")
    bob_token, carol_token = token(stack, bob), token(stack, carol)
    answer = respond(stack, bob_token, meeting["id"], {"response": "accept", "comment": "See you there"})
    assert answer.status_code == 202, answer.text
    assert conforms(answer.json(), "MeetingResponse") == {"id": meeting["id"], "response": "accepted"}
    assert eventually(lambda: _meeting(stack, bob, "Roadmap")["response"] == "accepted")
    graph_organizer = stack.sim.app.store.calendar_view(alice.id, HOUR, HOUR + timedelta(hours=3))[0]
    statuses = {a["emailAddress"]["address"]: (a.get("status") or {}).get("response", "none")
                for a in graph_organizer["attendees"]}
    assert statuses[bob.mail] == "accepted" and statuses[carol.mail] in ("none", "notResponded")
    assert respond(stack, carol_token, meeting["id"], {"response": "tentative"}).status_code == 202
    assert eventually(lambda: _meeting(stack, carol, "Roadmap")["response"] == "tentativelyAccepted")
    assert respond(stack, bob_token, meeting["id"], {"response": "decline", "sendResponse": False}).status_code == 202
    assert eventually(lambda: _meeting(stack, bob, "Roadmap")["response"] == "declined")


def test_answers_that_cannot_be_given(stack: Stack) -> None:
    alice, bob, eve = enabled(stack), enabled(stack), enabled(stack)
    stack.sim.app.store.create_event(alice.id, {"subject": "Own meeting", "start": slot(3), "end": slot(4),
                                                "attendees": invite(bob)})
    meeting = _meeting(stack, alice, "Own meeting")
    code, message = error_of(respond(stack, token(stack, alice), meeting["id"], {"response": "accept"}), 409)
    assert code == "refused" and "organize" in message
    code, _ = error_of(respond(stack, token(stack, eve), meeting["id"], {"response": "accept"}), 404)
    assert code == "not_found", "a meeting in someone else's calendar is not found"
    assert error_of(respond(stack, token(stack, bob), "0" * 32, {"response": "accept"}), 404)[0] == "not_found"
    assert error_of(respond(stack, token(stack, bob), "../../x", {"response": "accept"}), 404)[0] == "not_found"


@pytest.mark.parametrize(("body", "field"), [
    (None, "body"), ([], "body"), ({"response": "maybe"}, "response"), ({}, "response"),
    ({"response": "accept", "comment": 5}, "comment"), ({"response": "accept", "comment": "x" * 2001}, "comment"),
    ({"response": "accept", "sendResponse": "no"}, "sendResponse"), ({"response": "accept", "colour": "red"}, "colour"),
])
def test_bad_answers_are_refused_naming_the_field(stack: Stack, body: Any, field: str) -> None:
    bob = enabled(stack)
    code, message = error_of(respond(stack, token(stack, bob), "0" * 32, body), 400)
    assert code == "invalid_request" and field in message
