"""Expanding Outlook recurrence (patternedRecurrence) into occurrence start times.

Patterns daily, weekly, absoluteMonthly, relativeMonthly, absoluteYearly, relativeYearly;
ranges endDate (inclusive), numbered and noEnd. Occurrences are computed in the series' own
time zone (``recurrenceTimeZone`` or the start's zone), so a 09:00 meeting stays at 09:00
local time across DST changes, as Exchange keeps it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from dateutil import rrule

from shared.timezones import zone

DAYS = {
    "sunday": rrule.SU,
    "monday": rrule.MO,
    "tuesday": rrule.TU,
    "wednesday": rrule.WE,
    "thursday": rrule.TH,
    "friday": rrule.FR,
    "saturday": rrule.SA,
}
INDEX = {"first": 1, "second": 2, "third": 3, "fourth": 4, "last": -1}
FREQ = {
    "daily": rrule.DAILY,
    "weekly": rrule.WEEKLY,
    "absoluteMonthly": rrule.MONTHLY,
    "relativeMonthly": rrule.MONTHLY,
    "absoluteYearly": rrule.YEARLY,
    "relativeYearly": rrule.YEARLY,
}


class RecurrenceError(ValueError):
    """The recurrence object is not one Graph would accept; the message says which part."""


def _rule_options(pattern: Mapping[str, Any]) -> dict[str, Any]:
    kind = pattern.get("type")
    if kind not in FREQ:
        raise RecurrenceError(f"recurrence pattern type {kind!r} is not supported")
    options: dict[str, Any] = {"freq": FREQ[kind], "interval": int(pattern.get("interval") or 1)}
    days = [DAYS[d.lower()] for d in pattern.get("daysOfWeek") or []]
    if kind == "weekly":
        options["byweekday"] = days or None
        options["wkst"] = DAYS[(pattern.get("firstDayOfWeek") or "sunday").lower()]
    if kind in ("absoluteMonthly", "absoluteYearly"):
        options["bymonthday"] = int(pattern["dayOfMonth"])
    if kind in ("relativeMonthly", "relativeYearly"):
        if not days:
            raise RecurrenceError("relative patterns need daysOfWeek")
        options["byweekday"] = days
        options["bysetpos"] = INDEX[(pattern.get("index") or "first").lower()]
    if kind in ("absoluteYearly", "relativeYearly"):
        options["bymonth"] = int(pattern["month"])
    return options


def occurrences(
    recurrence: Mapping[str, Any], first_start: datetime, start_zone: str, *, until: datetime
) -> Iterator[datetime]:
    """UTC starts of the series' occurrences, in order, not past ``until`` (UTC)."""
    series_range = recurrence.get("range") or {}
    tz = zone(series_range.get("recurrenceTimeZone") or start_zone)
    local_first = first_start.astimezone(tz)
    start_date = date.fromisoformat(series_range.get("startDate") or local_first.date().isoformat())
    dtstart = datetime.combine(start_date, local_first.time().replace(tzinfo=None)).replace(tzinfo=tz)
    options = _rule_options(recurrence.get("pattern") or {})
    kind = series_range.get("type") or "noEnd"
    if kind == "endDate":
        last = date.fromisoformat(series_range["endDate"])
        options["until"] = datetime.combine(last, time(23, 59, 59)).replace(tzinfo=tz)
    elif kind == "numbered":
        options["count"] = int(series_range["numberOfOccurrences"])
    elif kind != "noEnd":
        raise RecurrenceError(f"recurrence range type {kind!r} is not supported")
    for local in rrule.rrule(dtstart=dtstart, **options):
        moment = local.replace(tzinfo=tz).astimezone(timezone.utc)
        if moment > until:
            return
        yield moment


def in_window(
    recurrence: Mapping[str, Any],
    first_start: datetime,
    duration: timedelta,
    start_zone: str,
    *,
    start: datetime,
    end: datetime,
) -> list[datetime]:
    """UTC starts of occurrences overlapping [start, end)."""
    return [s for s in occurrences(recurrence, first_start, start_zone, until=end) if s < end and s + duration > start]
