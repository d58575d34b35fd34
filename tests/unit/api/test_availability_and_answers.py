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
    assert query == AvailabilityQuery(NOW.replace(second=0), NOW.replace(second=0) + timedelta(days=1), 30,
                                      ("Bob@Contoso.example", "room@contoso.example"))


@pytest.mark.parametrize(("params", "parameter"), [
    ({"schedules": ""}, "schedules"), ({"schedules": "a@b.example,"}, "schedules"),
    ({"schedules": "a@b"}, "schedules"), ({"schedules": "<a@b.example>"}, "schedules"),
    ({"schedules": "x" * 70 + "@b.example"}, "schedules"),
    ({"schedules": ",".join(f"p{i}@b.example" for i in range(21))}, "schedules"),
    ({"schedules": "a@b.example", "interval": "0030"}, None), ({"schedules": "a@b.example", "interval": "-5"}, "interval"),
    ({"schedules": "a@b.example", "interval": "99999"}, "interval"),
    ({"schedules": "a@b.example", "start": "2026-12-07T10:00:00Z", "end": "2026-12-07T10:00:00Z"}, "end"),
    ({"schedules": "a@b.example", "start": "2026-12-07T10:00:00Z", "end": "2027-01-18T09:59:59Z"}, None),
    ({"schedules": "a@b.example", "start": "2026-12-07T10:00:00Z", "end": "2027-01-18T10:00:00Z"}, "end"),
])
def test_each_limit_names_its_parameter(params: dict[str, str], parameter: str | None) -> None:
    if parameter is None:
        parse_query(params, now=NOW)
        return
    with pytest.raises(InvalidParameterError) as raised:
        parse_query(params, now=NOW)
    assert raised.value.parameter == parameter


def test_graphs_answer_in_the_order_asked_free_items_dropped_private_ones_bare() -> None:
    query = parse_query({"schedules": "b@x.example,a@x.example,c@x.example", "start": "2026-12-07T08:00:00Z",
                         "end": "2026-12-07T10:00:00Z", "interval": "60"}, now=NOW)
    item = {"start": {"dateTime": "2026-12-07T08:00:00.0000000", "timeZone": "UTC"},
            "end": {"dateTime": "2026-12-07T09:00:00.0000000", "timeZone": "UTC"}}
    answered = [
        {"scheduleId": "A@x.example", "availabilityView": "20", "scheduleItems": [
            item | {"status": "busy", "subject": "Review", "location": "Room 1", "isPrivate": False},
            item | {"status": "free", "subject": "Lunch"},
            item | {"status": "busy", "subject": "Secret", "isPrivate": True},
            item | {"status": "somethingNew"}],
         "workingHours": {"daysOfWeek": ["monday"], "startTime": "08:00:00.0000000", "endTime": "17:00:00.0000000",
                          "timeZone": {"name": "Pacific Standard Time"}}},
        {"scheduleId": "b@x.example", "availabilityView": "", "scheduleItems": [],
         "error": {"responseCode": "ErrorInvalidUser", "message": "The requested user is invalid."}},
    ]
    body = shape(query, answered)
    assert [s["schedule"] for s in body["schedules"]] == ["b@x.example", "a@x.example", "c@x.example"]
    b, a, c = body["schedules"]
    assert b["error"] == {"code": "ErrorInvalidUser", "message": "The requested user is invalid."}
    assert a["busy"] == [
        {"start": "2026-12-07T08:00:00Z", "end": "2026-12-07T09:00:00Z", "status": "busy", "isPrivate": False,
         "subject": "Review", "location": "Room 1"},
        {"start": "2026-12-07T08:00:00Z", "end": "2026-12-07T09:00:00Z", "status": "busy", "isPrivate": True},
        {"start": "2026-12-07T08:00:00Z", "end": "2026-12-07T09:00:00Z", "status": "unknown", "isPrivate": False}]
    assert a["workingHours"] == {"daysOfWeek": ["monday"], "startTime": "08:00", "endTime": "17:00",
                                 "timeZone": "Pacific Standard Time"}
    assert c["error"]["code"] == "NoAnswer" and c["availabilityView"] == ""


def test_an_answer_body() -> None:
    assert parse_response({"response": "tentative"}).answer == "tentative"
    assert parse_response({"response": "decline", "comment": "Away", "sendResponse": False}).send_response is False
    for body, field in ((None, "body"), ({"response": "ACCEPT"}, "response"), ({"response": {}}, "response"),
                        ({"response": ["accept"]}, "response"), ({"response": "accept", "x": 1}, "x"),
                        ({"response": "accept", "sendResponse": 1}, "sendResponse")):
        with pytest.raises(ValidationError, match=field):
            parse_response(body)


def test_only_an_attendee_of_a_live_meeting_answers() -> None:
    record = MeetingRecord("e1", NOW, NOW + timedelta(hours=1))
    decide_response(record, is_organizer=False)
    with pytest.raises(RefusedError, match="organize"):
        decide_response(record, is_organizer=True)
    with pytest.raises(RefusedError, match="cancelled"):
        decide_response(MeetingRecord("e1", NOW, NOW + timedelta(hours=1), is_cancelled=True), is_organizer=False)
