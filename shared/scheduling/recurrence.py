"""An Outlook series' recurrence (Graph's patternedRecurrence) as an RFC 5545 RRULE, for platforms.

A platform that schedules a series itself (Webex takes ``recurrence`` as an RRULE with the series'
first start and its ``timezone``) expands it in the organizer's zone, so a weekly 09:00 meeting stays
at 09:00 local time when daylight saving time begins or ends, as Outlook keeps it. Anything the
pattern does not say is left out, so the platform applies the same defaults Outlook does.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

DAYS = {
    "sunday": "SU",
    "monday": "MO",
    "tuesday": "TU",
    "wednesday": "WE",
    "thursday": "TH",
    "friday": "FR",
    "saturday": "SA",
}
INDEX = {"first": "1", "second": "2", "third": "3", "fourth": "4", "last": "-1"}
FREQ = {
    "daily": "DAILY",
    "weekly": "WEEKLY",
    "absoluteMonthly": "MONTHLY",
    "relativeMonthly": "MONTHLY",
    "absoluteYearly": "YEARLY",
    "relativeYearly": "YEARLY",
}


def to_rrule(recurrence: Mapping[str, Any] | None, zone: ZoneInfo) -> str | None:
    """The RRULE of a recurrence, or None when there is none or its pattern is not one Graph defines.
    An end date (inclusive, in the series' zone) becomes ``UNTIL`` at the end of that day, in UTC."""
    if not recurrence:
        return None
    pattern = recurrence.get("pattern") or {}
    series_range = recurrence.get("range") or {}
    kind = pattern.get("type")
    if kind not in FREQ:
        return None
    parts = [f"FREQ={FREQ[kind]}", f"INTERVAL={int(pattern.get('interval') or 1)}"]
    days = [DAYS[d.lower()] for d in pattern.get("daysOfWeek") or [] if d.lower() in DAYS]
    if kind == "weekly" and days:
        parts.append("BYDAY=" + ",".join(days))
        parts.append("WKST=" + DAYS.get(str(pattern.get("firstDayOfWeek") or "sunday").lower(), "SU"))
    if kind in ("relativeMonthly", "relativeYearly") and days:
        index = INDEX.get(str(pattern.get("index") or "first").lower(), "1")
        parts.append("BYDAY=" + ",".join(index + day for day in days))
    if kind in ("absoluteMonthly", "absoluteYearly") and pattern.get("dayOfMonth"):
        parts.append(f"BYMONTHDAY={int(pattern['dayOfMonth'])}")
    if kind in ("absoluteYearly", "relativeYearly") and pattern.get("month"):
        parts.append(f"BYMONTH={int(pattern['month'])}")
    parts += _range(series_range, zone)
    return ";".join(parts)


def _range(series_range: Mapping[str, Any], zone: ZoneInfo) -> list[str]:
    kind = series_range.get("type")
    if kind == "numbered" and series_range.get("numberOfOccurrences"):
        return [f"COUNT={int(series_range['numberOfOccurrences'])}"]
    if kind == "endDate" and series_range.get("endDate"):
        last = date.fromisoformat(str(series_range["endDate"])[:10])
        until = datetime.combine(last + timedelta(days=1), time(0), tzinfo=zone) - timedelta(seconds=1)
        return [f"UNTIL={until.astimezone(timezone.utc).strftime('%Y%m%dT%H%M%SZ')}"]
    return []
