"""Every Windows zone Outlook can send, from CLDR's table; custom and unknown zones never guessed silently."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo, available_timezones

import pytest
from dateutil import rrule

from shared.platforms.base import MeetingRequest
from shared.scheduling.recurrence import to_rrule
from shared.sync.records import display_zone, graph_moment, zone_warning
from shared.timezones import FALLBACKS, UnknownZoneError, resolve, windows_zones, zone
from tests.unit.platforms.test_platforms import Answer, FakeWebex, shape, webex


def test_every_windows_zone_of_the_table_resolves_to_a_zone_zoneinfo_knows() -> None:
    table = windows_zones()
    assert len(table) >= 135
    known = available_timezones()
    for name, iana in table.items():
        found = resolve(name)
        assert iana in known and found.known, name
        if found.kind == "utc":
            assert ZoneInfo(iana).utcoffset(datetime(2026, 7, 1)) == timedelta(0), name
        else:
            assert (found.kind, found.zone) == ("windows", ZoneInfo(iana)), name


@pytest.mark.parametrize(
    "windows, iana",
    [
        ("W. Europe Standard Time", "Europe/Berlin"),
        ("Pacific Standard Time", "America/Los_Angeles"),
        ("India Standard Time", "Asia/Calcutta"),
        ("Azerbaijan Standard Time", "Asia/Baku"),
        ("Belarus Standard Time", "Europe/Minsk"),
        ("Cuba Standard Time", "America/Havana"),
        ("Caucasus Standard Time", "Asia/Yerevan"),
        ("Mountain Standard Time (Mexico)", "America/Mazatlan"),
        ("Sao Tome Standard Time", "Africa/Sao_Tome"),
        ("Dateline Standard Time", "Etc/GMT+12"),
    ],
)
def test_known_pairs_match_cldr_exactly(windows: str, iana: str) -> None:
    assert resolve(windows).iana == iana and zone(windows) == ZoneInfo(iana)


def test_other_names_outlook_writes() -> None:
    assert resolve("Europe/Lisbon").kind == "iana" and resolve("Europe/Lisbon").iana == "Europe/Lisbon"
    for name in ("UTC", "Coordinated Universal Time", "Etc/UTC", "", None):
        assert resolve(name).kind == "utc" and resolve(name).iana == "UTC"
    for name in ("tzone://Microsoft/Custom", "Customized Time Zone"):
        custom = resolve(name)
        assert (custom.kind, custom.known, custom.iana, custom.warning) == ("custom", False, "UTC", "custom_time_zone")
        with pytest.raises(UnknownZoneError, match="custom time zone"):
            zone(name)
    for name in ("Mars Standard Time", "../../etc/passwd", "Europe/Atlantis"):
        assert (resolve(name).kind, resolve(name).warning) == ("unknown", "unknown_time_zone")
        with pytest.raises(UnknownZoneError, match="unknown time zone"):
            zone(name)


def test_an_events_display_zone_and_warning() -> None:
    assert display_zone({"originalStartTimeZone": "Azerbaijan Standard Time"}) == "Azerbaijan Standard Time"
    assert zone_warning({"originalStartTimeZone": "Azerbaijan Standard Time"}) is None
    custom = {"originalStartTimeZone": "tzone://Microsoft/Custom"}
    assert (display_zone(custom), zone_warning(custom)) == ("UTC", "custom_time_zone")


def test_times_in_a_zone_and_an_explicit_count_when_it_is_not_known() -> None:
    assert graph_moment({"dateTime": "2026-07-01T09:00:00.0000000", "timeZone": "W. Europe Standard Time"}) == datetime(
        2026, 7, 1, 7, tzinfo=timezone.utc
    )
    before = FALLBACKS["custom"]
    assert graph_moment({"dateTime": "2026-07-01T09:00:00", "timeZone": "tzone://Microsoft/Custom"}) == datetime(
        2026, 7, 1, 9, tzinfo=timezone.utc
    )
    assert FALLBACKS["custom"] == before + 1


@pytest.mark.parametrize(
    "recurrence, rule",
    [
        (
            {
                "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["monday"], "firstDayOfWeek": "monday"},
                "range": {"type": "numbered", "numberOfOccurrences": 4},
            },
            "FREQ=WEEKLY;INTERVAL=1;BYDAY=MO;WKST=MO;COUNT=4",
        ),
        ({"pattern": {"type": "daily", "interval": 2}, "range": {"type": "noEnd"}}, "FREQ=DAILY;INTERVAL=2"),
        (
            {
                "pattern": {"type": "relativeMonthly", "interval": 1, "daysOfWeek": ["friday"], "index": "last"},
                "range": {"type": "endDate", "endDate": "2026-12-31"},
            },
            "FREQ=MONTHLY;INTERVAL=1;BYDAY=-1FR;UNTIL=20261231T225959Z",
        ),
        (
            {
                "pattern": {"type": "absoluteYearly", "interval": 1, "dayOfMonth": 14, "month": 2},
                "range": {"type": "numbered", "numberOfOccurrences": 3},
            },
            "FREQ=YEARLY;INTERVAL=1;BYMONTHDAY=14;BYMONTH=2;COUNT=3",
        ),
        (None, None),
        ({"pattern": {"type": "hourly"}}, None),
    ],
)
def test_recurrence_as_an_rrule(recurrence: dict | None, rule: str | None) -> None:
    assert to_rrule(recurrence, ZoneInfo("Europe/Berlin")) == rule


def test_a_weekly_webex_series_stays_at_the_organizers_local_hour_across_a_dst_change() -> None:
    """The request Webex receives (recorded shapes) names the organizer's zone, starts at the local hour
    with its offset, and carries the rule; expanded in that zone, every occurrence is at 09:00 local, before
    and after Europe's change to summer time on 29 March 2026."""
    berlin = ZoneInfo("Europe/Berlin")
    first = datetime(2026, 3, 16, 9, tzinfo=berlin)
    rule = to_rrule(
        {
            "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["monday"]},
            "range": {"type": "numbered", "numberOfOccurrences": 4},
        },
        berlin,
    )
    fake = FakeWebex()
    fake.on("GET", "/meetings", Answer(200, {"items": []}))
    fake.on("POST", "/meetings", Answer(200, shape("meeting")))
    standup = MeetingRequest(
        "alice@contoso.example",
        "Standup",
        first.astimezone(timezone.utc),
        (first + timedelta(minutes=30)).astimezone(timezone.utc),
        "Europe/Berlin",
        "scheduled",
        "key-dst",
        rule,
    )
    webex(fake, now=first - timedelta(days=1)).create_meeting(standup)
    sent = [r for r in fake.requests if r["method"] == "POST"][0]["json"]
    assert (sent["timezone"], sent["start"], sent["end"], sent["recurrence"]) == (
        "Europe/Berlin",
        "2026-03-16T09:00:00+01:00",
        "2026-03-16T09:30:00+01:00",
        "FREQ=WEEKLY;INTERVAL=1;BYDAY=MO;WKST=SU;COUNT=4",
    )
    start = datetime.fromisoformat(sent["start"]).astimezone(ZoneInfo(sent["timezone"]))
    occurrences = list(rrule.rrulestr(sent["recurrence"], dtstart=start))
    assert [o.strftime("%m-%d %H:%M %z") for o in occurrences] == [
        "03-16 09:00 +0100",
        "03-23 09:00 +0100",
        "03-30 09:00 +0200",
        "04-06 09:00 +0200",
    ]
