"""getSchedule's free/busy codes, limits and items, and cancel, as Exchange answers them."""

from __future__ import annotations

from datetime import timedelta

import pytest

from local.graphsim.demo import Demo
from local.graphsim.server import GraphSim
from shared.errors import ValidationError
from shared.graph.client import GraphClient
from tests.graph.conftest import new_user
from tests.graph.test_events import DAY, at, invite, view


def _event(client: GraphClient, demo: Demo, mailbox: str, start: float, end: float, **extra) -> dict:
    return client.create_event(
        demo.tenant_id, mailbox, {"subject": "Busy thing", "start": at(start), "end": at(end), **extra}
    )


def test_every_code_and_the_strongest_wins_where_items_overlap(sim: GraphSim, client: GraphClient, demo: Demo) -> None:
    owner, caller = new_user(sim, demo), new_user(sim, demo)
    _event(client, demo, owner.id, 9, 10, showAs="tentative")
    _event(client, demo, owner.id, 10, 11, showAs="busy")
    _event(client, demo, owner.id, 11, 12, showAs="oof")
    _event(client, demo, owner.id, 12, 13, showAs="workingElsewhere")
    _event(client, demo, owner.id, 13, 14, showAs="free")
    _event(client, demo, owner.id, 14, 15, showAs="tentative")
    _event(client, demo, owner.id, 14, 15, showAs="oof")
    _event(client, demo, owner.id, 15, 16, showAs="busy", sensitivity="private", subject="Doctor")
    [answer] = client.get_schedule(
        demo.tenant_id,
        caller.id,
        [owner.mail],
        start=DAY + timedelta(hours=8),
        end=DAY + timedelta(hours=17),
        interval_minutes=60,
    )
    assert answer["availabilityView"] == "012340320"
    statuses = [(i["status"], i.get("subject"), i["isPrivate"]) for i in answer["scheduleItems"]]
    assert ("free", "Busy thing", False) not in statuses
    assert ("busy", None, True) in statuses and ("oof", "Busy thing", False) in statuses
    assert all(i["start"]["timeZone"] == "UTC" for i in answer["scheduleItems"])
    assert answer["workingHours"]["startTime"] == "08:00:00.0000000"


def test_slots_are_as_long_as_the_interval_and_a_cancelled_meeting_is_free(
    sim: GraphSim, client: GraphClient, demo: Demo
) -> None:
    organizer, bob = new_user(sim, demo), new_user(sim, demo)
    event = client.create_event(demo.tenant_id, organizer.id, invite(bob))
    [before] = client.get_schedule(
        demo.tenant_id,
        organizer.id,
        [bob.mail],
        start=DAY + timedelta(hours=8),
        end=DAY + timedelta(hours=11),
        interval_minutes=15,
    )
    assert before["availabilityView"] == "000022220000"
    client.cancel_event(demo.tenant_id, organizer.id, event["id"], comment="Room unavailable")
    [after] = client.get_schedule(
        demo.tenant_id,
        organizer.id,
        [bob.mail],
        start=DAY + timedelta(hours=8),
        end=DAY + timedelta(hours=11),
        interval_minutes=15,
    )
    assert after["availabilityView"] == "0" * 12 and after["scheduleItems"] == []


@pytest.mark.parametrize(
    ("start", "end", "interval", "count", "code"),
    [
        (8, 9, 4, 1, "400 ErrorInvalidParameter"),
        (8, 9, 1441, 1, "400 ErrorInvalidParameter"),
        (9, 8, 30, 1, "400 ErrorInvalidParameter"),
        (0, 42 * 24, 30, 1, "400 ErrorInvalidParameter"),
        (8, 9, 30, 101, "400 ErrorMailboxDataArrayTooBig"),
    ],
)
def test_limits_graph_checks_before_answering(
    sim: GraphSim, client: GraphClient, demo: Demo, start: int, end: int, interval: int, count: int, code: str
) -> None:
    caller = new_user(sim, demo)
    with pytest.raises(ValidationError, match=code):
        client.get_schedule(
            demo.tenant_id,
            caller.id,
            [f"p{i}@contoso.example" for i in range(count)],
            start=DAY + timedelta(hours=start),
            end=DAY + timedelta(hours=end),
            interval_minutes=interval,
        )


def test_cancel_reaches_attendees_and_rooms_and_is_the_organizers_only(
    sim: GraphSim, client: GraphClient, demo: Demo
) -> None:
    organizer, bob, room = new_user(sim, demo), new_user(sim, demo), new_user(sim, demo, kind="room")
    event = client.create_event(demo.tenant_id, organizer.id, invite(bob, room))
    bob_copy = view(client, demo, bob.id)[0]
    with pytest.raises(ValidationError, match="400 ErrorInvalidRequest"):
        client.cancel_event(demo.tenant_id, bob.id, bob_copy["id"])
    client.cancel_event(demo.tenant_id, organizer.id, event["id"], comment="Sorry")
    assert view(client, demo, organizer.id) == []
    assert view(client, demo, bob.id)[0]["isCancelled"] is True
    assert view(client, demo, room.id)[0]["isCancelled"] is True
