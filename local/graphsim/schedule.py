"""``getSchedule`` as Exchange answers it: free/busy per slot, the busy items, working hours.

* ``availabilityView`` has one digit per ``availabilityViewInterval`` slot from ``startTime``:
  ``0`` free, ``1`` tentative, ``2`` busy, ``3`` out of office, ``4`` working elsewhere. An
  item's ``showAs`` decides its digit. Where items overlap, the slot shows the strongest: out
  of office over busy over tentative over working elsewhere over free. Cancelled items and
  items shown as free never count.
* ``scheduleItems`` lists the items that are not free. Times are in UTC (the caller sends no
  ``Prefer: outlook.timezone``). A private item keeps its times and status but loses subject
  and location, and says ``isPrivate``. Others carry subject and location, as they do for an
  application with ``Calendars.Read``.
* ``workingHours`` come from the mailbox's settings.
* Limits Graph checks before it answers: 1-100 schedules (``ErrorMailboxDataArrayTooBig``
  above; its documentation says 20, and more are answered all the same); a period under 42
  days that ends after it starts; an interval of 5 to 1440 minutes. The codes are Graph's; the
  messages for the interval and the order of the times are the stand-in's own (Graph's exact
  wording for those is not documented).
* An address that is no mailbox of the tenant gets an item with an ``error`` and an empty view,
  not a failed request.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from local.graphsim.store import GraphFault, graph_datetime, utc

DIGITS = {"free": "0", "tentative": "1", "busy": "2", "oof": "3", "workingElsewhere": "4"}
STRENGTH = {"0": 0, "4": 1, "1": 2, "2": 3, "3": 4}
"""Which digit a slot shows when items of different ``showAs`` overlap it."""
MAX_SCHEDULES = 100
MAX_PERIOD = timedelta(days=42)
MIN_INTERVAL, MAX_INTERVAL = 5, 1440


def check_request(schedules: Any, start: datetime, end: datetime, interval: Any) -> int:
    """The interval in minutes, once the request is one Graph would answer; GraphFault 400 otherwise."""
    if not isinstance(schedules, list) or not schedules:
        raise GraphFault(400, "ErrorInvalidParameter", "schedules is required.")
    if len(schedules) > MAX_SCHEDULES:
        raise GraphFault(
            400,
            "ErrorMailboxDataArrayTooBig",
            f"There are too many target users in the EmailAddress array. The allowed size = "
            f"{MAX_SCHEDULES}; the actual size = {len(schedules)}.",
        )
    if end <= start:
        raise GraphFault(400, "ErrorInvalidParameter", "The end time must be after the start time.")
    if end - start >= MAX_PERIOD:
        raise GraphFault(400, "ErrorInvalidParameter", "The time period must be less than 42 days.")
    minutes = 30 if interval is None else interval
    if isinstance(minutes, bool) or not isinstance(minutes, int) or not MIN_INTERVAL <= minutes <= MAX_INTERVAL:
        raise GraphFault(
            400,
            "ErrorInvalidParameter",
            f"availabilityViewInterval must be from {MIN_INTERVAL} to {MAX_INTERVAL} minutes.",
        )
    return minutes


def digit(item: dict[str, Any]) -> str:
    """The view digit of one calendar item (an unknown ``showAs`` reads as busy, as Outlook shows it)."""
    return DIGITS.get(str(item.get("showAs") or "busy"), "2")


def availability_view(items: list[dict[str, Any]], start: datetime, end: datetime, minutes: int) -> str:
    slot = timedelta(minutes=minutes)
    spans = [(utc(i["start"]["dateTime"]), utc(i["end"]["dateTime"]), digit(i)) for i in items]
    view = []
    moment = start
    while moment < end:
        shown = [d for s, e, d in spans if s < moment + slot and e > moment]
        view.append(max(shown, key=STRENGTH.__getitem__, default="0"))
        moment += slot
    return "".join(view)


def schedule_item(item: dict[str, Any]) -> dict[str, Any]:
    private = item.get("sensitivity") in ("private", "confidential")
    shown: dict[str, Any] = {
        "isPrivate": private,
        "status": str(item.get("showAs") or "busy"),
        "start": graph_datetime(utc(item["start"]["dateTime"])),
        "end": graph_datetime(utc(item["end"]["dateTime"])),
    }
    if not private:
        shown |= {"subject": item.get("subject") or "", "location": (item.get("location") or {}).get("displayName", "")}
    return shown


def schedule(
    address: str,
    items: list[dict[str, Any]],
    start: datetime,
    end: datetime,
    minutes: int,
    working_hours: dict[str, Any],
) -> dict[str, Any]:
    """One ``scheduleInformation`` from the mailbox's calendar view over [start, end)."""
    counted = [i for i in items if not i.get("isCancelled") and digit(i) != "0"]
    return {
        "scheduleId": address,
        "availabilityView": availability_view(counted, start, end, minutes),
        "scheduleItems": [schedule_item(i) for i in counted],
        "workingHours": working_hours,
    }


def unknown(address: str) -> dict[str, Any]:
    return {
        "scheduleId": address,
        "availabilityView": "",
        "scheduleItems": [],
        "error": {"message": f"The requested user '{address}' is invalid.", "responseCode": "ErrorInvalidUser"},
    }
