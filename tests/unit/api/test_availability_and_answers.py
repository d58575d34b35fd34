"""The pure decisions behind free/busy and answering an invitation."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from shared.api.actions import decide_response, parse_response
from shared.api.availability import AvailabilityQuery, parse_query, shape
from shared.errors import InvalidParameterError, RefusedError, ValidationError
from shared.storage.meetings import MeetingRecord

NOW = datetime(2026, 12, 7, 9, 41, 17, tzinfo=timezone.utc)


def test_defaults_are_a_day_from_now_in_half_hours() -> None:
    query = parse_query({"schedules": " Bob@Contoso.example ,room@contoso.example,bob@contoso.example"}, now=NOW)
    assert query == AvailabilityQuery(
        NOW.replace(second=0),
        NOW.replace(second=0) + timedelta(days=1),
        30,
        ("Bob@Contoso.example", "room@contoso.example"),
    )


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"schedules": ""}, "schedules"),
        ({"schedules": "a@b.example,"}, "schedules"),
        ({"schedules": "a@b"}, "schedules"),
        ({"schedules": "<a@b.example>"}, "schedules"),
        ({"schedules": "x" * 70 + "@b.example"}, "schedules"),
        ({"schedules": ",".join(f"p{i}@b.example" for i in range(21))}, "schedules"),
        ({"schedules": "a@b.example", "interval": "0030"}, None),
        ({"schedules": "a@b.example", "interval": "-5"}, "interval"),
        ({"schedules": "a@b.example", "interval": "99999"}, "interval"),
        ({"schedules": "a@b.example", "start": "2026-12-07T10:00:00Z", "end": "2026-12-07T10:00:00Z"}, "end"),
        ({"schedules": "a@b.example", "start": "2026-12-07T10:00:00Z", "end": "2027-01-18T09:59:59Z"}, None),
        ({"schedules": "a@b.example", "start": "2026-12-07T10:00:00Z", "end": "2027-01-18T10:00:00Z"}, "end"),
    ],
)
def test_each_limit_names_its_parameter(params: dict[str, str], parameter: str | None) -> None:
    if parameter is None:
        parse_query(params, now=NOW)
        return
    with pytest.raises(InvalidParameterError) as raised:
        parse_query(params, now=NOW)
    assert raised.value.parameter == parameter


def test_graphs_answer_in_the_order_asked_free_items_dropped_private_ones_bare() -> None:
    query = parse_query(
        {
            "schedules": "b@x.example,a@x.example,c@x.example",
            "start": "2026-12-07T08:00:00Z",
            "end": "2026-12-07T10:00:00Z",
            "interval": "60",
        },
        now=NOW,
    )
    item = {
        "start": {"dateTime": "2026-12-07T08:00:00.0000000", "timeZone": "UTC"},
        "end": {"dateTime": "2026-12-07T09:00:00.0000000", "timeZone": "UTC"},
    }
    answered = [
        {
            "scheduleId": "A@x.example",
            "availabilityView": "20",
            "scheduleItems": [
                item | {"status": "busy", "subject": "Review", "location": "Room 1", "isPrivate": False},
                item | {"status": "free", "subject": "Lunch"},
                item | {"status": "busy", "subject": "Secret", "isPrivate": True},
                item | {"status": "somethingNew"},
            ],
            "workingHours": {
                "daysOfWeek": ["monday"],
                "startTime": "08:00:00.0000000",
                "endTime": "17:00:00.0000000",
                "timeZone": {"name": "Pacific Standard Time"},
            },
        },
        {
            "scheduleId": "b@x.example",
            "availabilityView": "",
            "scheduleItems": [],
            "error": {"responseCode": "ErrorInvalidUser", "message": "The requested user is invalid."},
        },
    ]
    body = shape(query, answered)
    assert [s["schedule"] for s in body["schedules"]] == ["b@x.example", "a@x.example", "c@x.example"]
    b, a, c = body["schedules"]
    assert b["error"] == {"code": "ErrorInvalidUser", "message": "The requested user is invalid."}
    assert a["busy"] == [
        {
            "start": "2026-12-07T08:00:00Z",
            "end": "2026-12-07T09:00:00Z",
            "status": "busy",
            "isPrivate": False,
            "subject": "Review",
            "location": "Room 1",
        },
        {"start": "2026-12-07T08:00:00Z", "end": "2026-12-07T09:00:00Z", "status": "busy", "isPrivate": True},
        {"start": "2026-12-07T08:00:00Z", "end": "2026-12-07T09:00:00Z", "status": "unknown", "isPrivate": False},
    ]
    assert a["workingHours"] == {
        "daysOfWeek": ["monday"],
        "startTime": "08:00",
        "endTime": "17:00",
        "timeZone": "Pacific Standard Time",
    }
    assert c["error"]["code"] == "NoAnswer" and c["availabilityView"] == ""


def test_an_answer_body() -> None:
    assert parse_response({"response": "tentative"}).answer == "tentative"
    assert parse_response({"response": "decline", "comment": "Away", "sendResponse": False}).send_response is False
    for body, field in (
        (None, "body"),
        ({"response": "ACCEPT"}, "response"),
        ({"response": {}}, "response"),
        ({"response": ["accept"]}, "response"),
        ({"response": "accept", "x": 1}, "x"),
        ({"response": "accept", "sendResponse": 1}, "sendResponse"),
    ):
        with pytest.raises(ValidationError, match=field):
            parse_response(body)


def test_only_an_attendee_of_a_live_meeting_answers() -> None:
    record = MeetingRecord("e1", NOW, NOW + timedelta(hours=1))
    decide_response(record, is_organizer=False)
    with pytest.raises(RefusedError, match="organize"):
        decide_response(record, is_organizer=True)
    with pytest.raises(RefusedError, match="cancelled"):
        decide_response(MeetingRecord("e1", NOW, NOW + timedelta(hours=1), is_cancelled=True), is_organizer=False)


def test_a_new_meeting_body() -> None:
    from shared.api.bodies import parse_new_meeting

    made = parse_new_meeting(
        {
            "subject": "Review",
            "start": "2026-12-07T10:00:00+01:00",
            "end": "2026-12-07T11:00:00+01:00",
            "timeZone": "W. Europe Standard Time",
            "attendees": ["B@x.example", "b@x.example"],
            "room": " room@x.example ",
        }
    )
    assert (made.start, made.attendees, made.room, made.platform) == (
        datetime(2026, 12, 7, 9, tzinfo=timezone.utc),
        ("B@x.example",),
        "room@x.example",
        None,
    )
    for body, field in (
        ({"start": "2026-12-07T10:00:00Z", "end": "2026-12-07T11:00:00Z"}, "subject"),
        ({"subject": "x", "start": 5, "end": "2026-12-07T11:00:00Z"}, "start"),
        ({"subject": "x", "start": "2026-12-07T10:00:00Z", "end": "2026-12-22T10:00:01Z"}, "end"),
        (
            {
                "subject": "x",
                "start": "2026-12-07T10:00:00Z",
                "end": "2026-12-07T11:00:00Z",
                "attendees": ["a@x.example"] * 501,
            },
            "attendees",
        ),
    ):
        with pytest.raises(ValidationError, match=field):
            parse_new_meeting(body)


def test_moving_a_meeting_keeps_its_length_unless_both_ends_change() -> None:
    from shared.api.bodies import changed_times, parse_change

    start, end = NOW, NOW + timedelta(hours=1)
    later = NOW + timedelta(days=1)
    assert changed_times(parse_change({"start": later.isoformat()}), start, end) == (later, later + timedelta(hours=1))
    assert changed_times(parse_change({"end": (NOW + timedelta(hours=2)).isoformat()}), start, end) == (
        start,
        NOW + timedelta(hours=2),
    )
    assert changed_times(parse_change({"subject": "New"}), start, end) is None
    with pytest.raises(ValidationError, match="end"):
        changed_times(parse_change({"end": (NOW - timedelta(hours=1)).isoformat()}), start, end)
    with pytest.raises(ValidationError, match="nothing to change"):
        parse_change({})


def test_a_booking_ends_at_the_next_meeting_and_a_busy_room_says_when_it_is_free() -> None:
    from shared.api.actions import booking_end

    def item(start: timedelta, end: timedelta) -> dict:
        return {
            "start": {"dateTime": (NOW + start).strftime("%Y-%m-%dT%H:%M:%S.0000000"), "timeZone": "UTC"},
            "end": {"dateTime": (NOW + end).strftime("%Y-%m-%dT%H:%M:%S.0000000"), "timeZone": "UTC"},
        }

    minutes = timedelta(minutes=1)
    assert booking_end([], NOW, 30) == NOW + 30 * minutes
    assert booking_end([item(20 * minutes, 50 * minutes)], NOW, 30) == NOW + 20 * minutes
    assert booking_end([item(-60 * minutes, -1 * minutes)], NOW, 30) == NOW + 30 * minutes
    with pytest.raises(RefusedError, match="free from 2026-12-07T10:11:17Z"):
        booking_end([item(-10 * minutes, 10 * minutes), item(10 * minutes, 30 * minutes)], NOW, 30)


def test_idempotency_keys_are_scoped_to_the_mailbox_and_checked() -> None:
    from shared.api.bodies import idempotency_key

    assert idempotency_key(None, tenant_id="t", mailbox_id="m") is None
    one = idempotency_key("retry-1", tenant_id="t", mailbox_id="m")
    assert (
        one
        == idempotency_key("retry-1", tenant_id="t", mailbox_id="m")
        != idempotency_key("retry-1", tenant_id="t", mailbox_id="other")
    )
    for bad in ("", "has space", "é", "x" * 256):
        with pytest.raises(InvalidParameterError, match="Idempotency-Key"):
            idempotency_key(bad, tenant_id="t", mailbox_id="m")
