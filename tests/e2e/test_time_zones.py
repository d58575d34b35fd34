"""Organizers' zones end to end: every zone Outlook names, a custom zone never guessed silently, and a
series scheduled on Webex in the organizer's zone so that it keeps its local hour across DST changes."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from dateutil import rrule

from tests.e2e.conftest import Stack, eventually
from tests.e2e.test_scheduling import on_webex, posted, written
from tests.e2e.test_sync import TOMORROW, enabled, stored


def local(hours: float, zone: str) -> dict[str, str]:
    moment = TOMORROW + timedelta(hours=hours)
    return {"dateTime": moment.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": zone}


def test_an_organizer_in_a_zone_the_old_table_lacked_gets_a_meeting_in_that_zone(stack: Stack) -> None:
    with on_webex(stack) as webex:
        alice = enabled(stack)
        event = stack.sim.app.store.create_event(
            alice.id,
            {
                "subject": "Baku sync",
                "start": local(9, "Azerbaijan Standard Time"),
                "end": local(10, "Azerbaijan Standard Time"),
                "location": {"displayName": "@webex"},
            },
        )
        eventually(lambda: written(stack, alice, event.id))
        sent = posted(webex, "Baku sync")
        nine = (TOMORROW + timedelta(hours=9)).strftime("%Y-%m-%dT%H:%M:%S+04:00")
        assert sent["timezone"] == "Asia/Baku" and sent["start"] == nine
        assert eventually(lambda: [r.time_zone for r in stored(stack, alice)] == ["Azerbaijan Standard Time"])
        assert stack.stores.mailboxes.get(stack.demo.tenant_id, alice.id).last_warning is None


def test_a_custom_zone_keeps_the_events_utc_times_and_warns_the_admin(stack: Stack) -> None:
    with on_webex(stack) as webex:
        bob = enabled(stack)
        event = stack.sim.app.store.create_event(
            bob.id,
            {
                "subject": "Imported",
                "start": local(3, "UTC"),
                "end": local(4, "UTC"),
                "originalStartTimeZone": "tzone://Microsoft/Custom",
                "location": {"displayName": "@webex"},
            },
        )
        eventually(lambda: written(stack, bob, event.id))
        sent = posted(webex, "Imported")
        assert (sent["timezone"], sent["start"]) == ("UTC", (TOMORROW + timedelta(hours=3)).isoformat())
        assert eventually(
            lambda: [(r.time_zone, r.start) for r in stored(stack, bob)] == [("UTC", TOMORROW + timedelta(hours=3))]
        )
        status = {m["id"]: m for m in stack.admin("GET", f"tenants/{stack.demo.tenant_id}/status").json()["mailboxes"]}
        assert status[bob.id]["lastWarning"]["code"] == "custom_time_zone"
        assert "UTC" in status[bob.id]["lastWarning"]["description"]


def test_a_weekly_series_on_webex_keeps_the_organizers_local_hour_across_the_next_dst_change(stack: Stack) -> None:
    """The Graph series (in W. Europe Standard Time) reaches Webex as a rule in Europe/Berlin from a local
    09:00 start; expanded for 60 weeks, it crosses Europe's next change of offset and every occurrence is
    at 09:00 local, as Outlook keeps it."""
    with on_webex(stack) as webex:
        carol = enabled(stack)
        day = TOMORROW.date()
        event = stack.sim.app.store.create_event(
            carol.id,
            {
                "subject": "Weekly across DST",
                "start": local(0, "W. Europe Standard Time"),
                "end": local(0.5, "W. Europe Standard Time"),
                "location": {"displayName": "@webex"},
                "recurrence": {
                    "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": [day.strftime("%A").lower()]},
                    "range": {"type": "numbered", "startDate": day.isoformat(), "numberOfOccurrences": 60},
                },
            },
        )
        eventually(lambda: written(stack, carol, event.id))
        sent = posted(webex, "Weekly across DST")
        assert sent["timezone"] == "Europe/Berlin" and sent["recurrence"].endswith("COUNT=60")
        start = datetime.fromisoformat(sent["start"]).astimezone(ZoneInfo("Europe/Berlin"))
        occurrences = list(rrule.rrulestr(sent["recurrence"], dtstart=start))
        assert len(occurrences) == 60 and len({o.utcoffset() for o in occurrences}) == 2, "crosses a change"
        assert {o.strftime("%H:%M") for o in occurrences} == {TOMORROW.strftime("%H:%M")}
        rows = eventually(lambda: stored(stack, carol))
        assert all(
            r.start.astimezone(ZoneInfo("Europe/Berlin")).strftime("%H:%M") == TOMORROW.strftime("%H:%M") for r in rows
        )
        assert rows[0].start == TOMORROW.replace(tzinfo=ZoneInfo("Europe/Berlin")).astimezone(timezone.utc)
