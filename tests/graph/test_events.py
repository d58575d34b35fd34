"""Event operations over HTTPS, and Exchange's behaviour the stand-in reproduces."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from local.graphsim.demo import Demo
from local.graphsim.server import GraphSim
from shared.errors import ConflictError, MailboxNotFoundError, NotFoundError, ValidationError
from shared.graph.client import GraphClient
from tests.graph.conftest import new_user

DAY = datetime(2026, 12, 7, tzinfo=timezone.utc)
PROPERTY = "String {b7c1f1e2-3c4d-4e5f-8a9b-0c1d2e3f4a5b} Name HybridCalJoinInfo"


def at(hours: float, zone: str = "UTC") -> dict[str, str]:
    return {"dateTime": (DAY + timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": zone}


def invite(*people, subject: str = "Design review", **extra) -> dict:
    return {
        "subject": subject,
        "start": at(9),
        "end": at(10),
        "attendees": [
            {
                "emailAddress": {"address": p.mail, "name": p.display_name},
                "type": "resource" if p.kind == "room" else "required",
            }
            for p in people
        ],
        **extra,
    }


def view(client: GraphClient, demo: Demo, mailbox: str, days: int = 1) -> list[dict]:
    return list(client.list_calendar_view(demo.tenant_id, mailbox, start=DAY, end=DAY + timedelta(days=days)))


def test_create_get_and_attendee_copies(sim: GraphSim, client: GraphClient, demo: Demo) -> None:
    organizer, bob, room = new_user(sim, demo), new_user(sim, demo), new_user(sim, demo, kind="room")
    event = client.create_event(
        demo.tenant_id,
        organizer.id,
        invite(bob, room) | {"singleValueExtendedProperties": [{"id": PROPERTY, "value": "v1;sha256=abc"}]},
    )
    assert event["type"] == "singleInstance" and event["isOrganizer"] is True
    assert event["@odata.etag"] == f'W/"{event["changeKey"]}"'
    bob_copy, room_copy = view(client, demo, bob.id)[0], view(client, demo, room.id)[0]
    assert bob_copy["id"] != event["id"] and bob_copy["iCalUId"] == room_copy["iCalUId"] == event["iCalUId"]
    assert (bob_copy["responseStatus"]["response"], room_copy["responseStatus"]["response"]) == (
        "notResponded",
        "accepted",
    )
    got = client.get_event(
        demo.tenant_id, organizer.id, event["id"], select=["subject", "start"], extended_property=PROPERTY
    )
    assert set(got) == {"@odata.context", "@odata.etag", "id", "subject", "start", "singleValueExtendedProperties"}
    assert got["singleValueExtendedProperties"] == [{"id": PROPERTY, "value": "v1;sha256=abc"}]


def test_transaction_id_makes_create_idempotent(sim: GraphSim, client: GraphClient, demo: Demo) -> None:
    organizer = new_user(sim, demo)
    first = client.create_event(demo.tenant_id, organizer.id, invite(), transaction_id="tx-1")
    again = client.create_event(demo.tenant_id, organizer.id, invite(), transaction_id="tx-1")
    assert first["id"] == again["id"] and len(view(client, demo, organizer.id)) == 1


def test_organizer_updates_reach_copies_and_stale_etags_conflict(
    sim: GraphSim, client: GraphClient, demo: Demo
) -> None:
    organizer, bob = new_user(sim, demo), new_user(sim, demo)
    event = client.create_event(demo.tenant_id, organizer.id, invite(bob))
    before = view(client, demo, bob.id)[0]
    updated = client.update_event(
        demo.tenant_id,
        organizer.id,
        event["id"],
        {"subject": "Moved", "start": at(11), "end": at(12)},
        etag=event["@odata.etag"],
    )
    assert updated["changeKey"] != event["changeKey"]
    after = view(client, demo, bob.id)[0]
    assert (after["subject"], after["start"]["dateTime"], after["id"]) == (
        "Moved",
        "2026-12-07T11:00:00.0000000",
        before["id"],
    )
    assert after["changeKey"] != before["changeKey"]
    with pytest.raises(ConflictError, match="412 ErrorIrresolvableConflict"):
        client.update_event(demo.tenant_id, organizer.id, event["id"], {"subject": "Lost"}, etag=event["@odata.etag"])


def test_times_in_a_windows_zone_come_back_in_utc(sim: GraphSim, client: GraphClient, demo: Demo) -> None:
    organizer = new_user(sim, demo)
    event = client.create_event(
        demo.tenant_id,
        organizer.id,
        {"subject": "Berlin", "start": at(9, "W. Europe Standard Time"), "end": at(10, "W. Europe Standard Time")},
    )
    assert event["start"] == {"dateTime": "2026-12-07T08:00:00.0000000", "timeZone": "UTC"}
    assert event["originalStartTimeZone"] == "W. Europe Standard Time"


def test_delete_cancels_copies_and_is_idempotent(sim: GraphSim, client: GraphClient, demo: Demo) -> None:
    organizer, bob = new_user(sim, demo), new_user(sim, demo)
    event = client.create_event(demo.tenant_id, organizer.id, invite(bob))
    client.delete_event(demo.tenant_id, organizer.id, event["id"])
    client.delete_event(demo.tenant_id, organizer.id, event["id"])
    assert view(client, demo, organizer.id) == []
    assert view(client, demo, bob.id)[0]["isCancelled"] is True
    with pytest.raises(NotFoundError, match="404 ErrorItemNotFound"):
        client.get_event(demo.tenant_id, organizer.id, event["id"])


def test_responses_update_the_organizers_attendee_status(sim: GraphSim, client: GraphClient, demo: Demo) -> None:
    organizer, bob = new_user(sim, demo), new_user(sim, demo)
    event = client.create_event(demo.tenant_id, organizer.id, invite(bob))
    copy = view(client, demo, bob.id)[0]
    client.respond(demo.tenant_id, bob.id, copy["id"], "tentativelyAccept", comment="maybe")
    status = client.get_event(demo.tenant_id, organizer.id, event["id"])["attendees"][0]["status"]["response"]
    assert status == "tentativelyAccepted"
    with pytest.raises(ValueError, match="response must be one of"):
        client.respond(demo.tenant_id, bob.id, copy["id"], "maybe")


def test_weekly_series_with_an_exception_and_a_cancelled_occurrence(
    sim: GraphSim, client: GraphClient, demo: Demo
) -> None:
    organizer, bob = new_user(sim, demo), new_user(sim, demo)
    series = client.create_event(
        demo.tenant_id,
        organizer.id,
        invite(bob, subject="Standup")
        | {
            "recurrence": {
                "pattern": {
                    "type": "weekly",
                    "interval": 1,
                    "daysOfWeek": ["monday", "thursday"],
                    "firstDayOfWeek": "monday",
                },
                "range": {"type": "numbered", "startDate": "2026-12-07", "numberOfOccurrences": 6},
            }
        },
    )
    assert series["type"] == "seriesMaster"
    occurrences = list(
        client.list_instances(demo.tenant_id, organizer.id, series["id"], start=DAY, end=DAY + timedelta(days=30))
    )
    assert [o["start"]["dateTime"][:10] for o in occurrences] == [
        "2026-12-07",
        "2026-12-10",
        "2026-12-14",
        "2026-12-17",
        "2026-12-21",
        "2026-12-24",
    ]
    assert {o["type"] for o in occurrences} == {"occurrence"} and {o["seriesMasterId"] for o in occurrences} == {
        series["id"]
    }
    client.update_event(
        demo.tenant_id,
        organizer.id,
        occurrences[1]["id"],
        {"subject": "Standup (moved)", "start": at(24 * 3 + 14), "end": at(24 * 3 + 15)},
    )
    client.delete_event(demo.tenant_id, organizer.id, occurrences[2]["id"])
    mine = list(
        client.list_instances(demo.tenant_id, organizer.id, series["id"], start=DAY, end=DAY + timedelta(days=30))
    )
    assert [(o["type"], o["start"]["dateTime"][:13]) for o in mine][:3] == [
        ("occurrence", "2026-12-07T09"),
        ("exception", "2026-12-10T14"),
        ("occurrence", "2026-12-17T09"),
    ]
    bobs = view(client, demo, bob.id, days=30)
    assert len(bobs) == 5 and bobs[1]["subject"] == "Standup (moved)"
    single = client.get_event(demo.tenant_id, organizer.id, occurrences[1]["id"])
    assert single["type"] == "exception" and single["seriesMasterId"] == series["id"]


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ({"type": "daily", "interval": 2}, ["2026-12-07", "2026-12-09", "2026-12-11"]),
        ({"type": "absoluteMonthly", "interval": 1, "dayOfMonth": 7}, ["2026-12-07", "2027-01-07", "2027-02-07"]),
        (
            {"type": "relativeMonthly", "interval": 1, "daysOfWeek": ["monday"], "index": "first"},
            ["2026-12-07", "2027-01-04", "2027-02-01"],
        ),
        (
            {"type": "absoluteYearly", "interval": 1, "dayOfMonth": 7, "month": 12},
            ["2026-12-07", "2027-12-07", "2028-12-07"],
        ),
        (
            {"type": "relativeYearly", "interval": 1, "daysOfWeek": ["monday"], "index": "last", "month": 12},
            ["2026-12-28", "2027-12-27", "2028-12-25"],
        ),
    ],
)
def test_recurrence_patterns(sim: GraphSim, client: GraphClient, demo: Demo, pattern: dict, expected: list) -> None:
    organizer = new_user(sim, demo)
    series = client.create_event(
        demo.tenant_id,
        organizer.id,
        invite()
        | {
            "recurrence": {
                "pattern": pattern,
                "range": {"type": "numbered", "startDate": "2026-12-07", "numberOfOccurrences": 3},
            }
        },
    )
    found = client.list_instances(demo.tenant_id, organizer.id, series["id"], start=DAY, end=DAY + timedelta(days=800))
    assert [o["start"]["dateTime"][:10] for o in found] == expected


def test_end_date_range_and_dst_keep_local_time(sim: GraphSim, client: GraphClient, demo: Demo) -> None:
    organizer = new_user(sim, demo)
    start = {"dateTime": "2027-03-25T09:00:00", "timeZone": "W. Europe Standard Time"}
    series = client.create_event(
        demo.tenant_id,
        organizer.id,
        {
            "subject": "DST",
            "start": start,
            "end": {"dateTime": "2027-03-25T09:30:00", "timeZone": "W. Europe Standard Time"},
            "recurrence": {
                "pattern": {"type": "daily", "interval": 1},
                "range": {"type": "endDate", "startDate": "2027-03-25", "endDate": "2027-03-29"},
            },
        },
    )
    found = client.list_instances(
        demo.tenant_id,
        organizer.id,
        series["id"],
        start=datetime(2027, 3, 1, tzinfo=timezone.utc),
        end=datetime(2027, 4, 30, tzinfo=timezone.utc),
    )
    assert [o["start"]["dateTime"][:16] for o in found] == [
        "2027-03-25T08:00",
        "2027-03-26T08:00",
        "2027-03-27T08:00",
        "2027-03-28T07:00",
        "2027-03-29T07:00",
    ]


def test_calendar_view_follows_next_links(sim: GraphSim, client: GraphClient, demo: Demo) -> None:
    organizer = new_user(sim, demo)
    for hour in range(7):
        client.create_event(
            demo.tenant_id, organizer.id, {"subject": f"Slot {hour}", "start": at(hour), "end": at(hour + 0.5)}
        )
    items = list(
        client.list_calendar_view(demo.tenant_id, organizer.id, start=DAY, end=DAY + timedelta(days=1), page_size=3)
    )
    assert [i["subject"] for i in items] == [f"Slot {h}" for h in range(7)]
    assert sim.app.faults.requests >= 3


def test_schedule_settings_and_user(sim: GraphSim, client: GraphClient, demo: Demo) -> None:
    organizer, room = new_user(sim, demo, time_zone="Pacific Standard Time"), new_user(sim, demo, kind="room")
    client.create_event(demo.tenant_id, organizer.id, invite(room))
    schedule = client.get_schedule(
        demo.tenant_id,
        organizer.id,
        [room.mail, "ghost@contoso.example"],
        start=DAY + timedelta(hours=8),
        end=DAY + timedelta(hours=11),
        interval_minutes=60,
    )
    assert schedule[0]["availabilityView"] == "020" and schedule[1]["error"]["responseCode"] == "ErrorInvalidUser"
    settings = client.get_mailbox_settings(demo.tenant_id, organizer.id)
    assert settings["timeZone"] == "Pacific Standard Time"
    assert settings["automaticRepliesSetting"]["status"] == "disabled"
    assert client.get_mailbox_settings(demo.tenant_id, room.id)["userPurpose"] == "room"


def test_unknown_mailbox_and_bad_bodies(sim: GraphSim, client: GraphClient, demo: Demo) -> None:
    with pytest.raises(MailboxNotFoundError, match="404 ErrorInvalidUser"):
        client.get_mailbox_settings(demo.tenant_id, "ghost@contoso.example")
    organizer = new_user(sim, demo)
    with pytest.raises(ValidationError, match="400 RequestBodyRead"):
        client.create_event(demo.tenant_id, organizer.id, invite() | {"colour": "red"})
    with pytest.raises(ValidationError, match="400 ErrorInvalidRequest"):
        client.create_event(demo.tenant_id, organizer.id, {"subject": "no times"})


def test_several_events_of_a_mailbox_in_one_batch(sim: GraphSim, client: GraphClient, demo: Demo) -> None:
    organizer = new_user(sim, demo)
    body = {"contentType": "html", "content": "<p>Agenda &amp; notes</p>"}
    zoned = {"start": at(9, "W. Europe Standard Time"), "end": at(10, "W. Europe Standard Time"), "body": body}
    made = [
        client.create_event(demo.tenant_id, organizer.id, invite(subject=f"Batch {i}") | zoned)["id"] for i in range(22)
    ]
    gone = made.pop()
    client.delete_event(demo.tenant_id, organizer.id, gone)
    before = sim.app.faults.http_requests
    got = client.get_events(demo.tenant_id, organizer.id, [*made, gone], select=["subject", "start", "body"])
    assert sim.app.faults.http_requests - before == 2, "22 items: two $batch calls of at most 20"
    assert [got[i]["subject"] for i in made] == [f"Batch {i}" for i in range(21)]
    assert got[made[0]]["start"] == {"dateTime": "2026-12-07T08:00:00.0000000", "timeZone": "UTC"}
    assert got[made[0]]["body"]["contentType"] == "html"
    assert isinstance(got[gone], NotFoundError) and not isinstance(got[gone], MailboxNotFoundError)
