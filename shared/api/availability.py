"""Free/busy for apps: what ``GET /api/me/availability`` asks of Graph's getSchedule and shows back.

Pure functions: ``parse_query`` checks the parameters against getSchedule's limits before Graph
is called, so a request Graph would refuse gets a 400 naming the parameter instead of a Graph
error; ``shape`` turns Graph's ``scheduleInformation`` items into the API's.

Graph's limits: an interval of 5 to 1440 minutes (default 30); a period under 42 days; at most
20 schedules per call (users, rooms, distribution lists), all answered by one request. The
view has one digit per interval slot: ``0`` free, ``1`` tentative, ``2`` busy, ``3`` out of
office, ``4`` working elsewhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from shared.api.bodies import ADDRESS, MAX_ADDRESS_CHARS
from shared.api.meetings import parse_moment
from shared.errors import InvalidParameterError
from shared.sync.records import graph_moment_or_none
from shared.timezones import utc_text

MIN_INTERVAL, MAX_INTERVAL, DEFAULT_INTERVAL = 5, 1440, 30
MAX_PERIOD = timedelta(days=42)
DEFAULT_PERIOD = timedelta(days=1)
MAX_SCHEDULES = 20
STATUSES = ("free", "tentative", "busy", "oof", "workingElsewhere", "unknown")


@dataclass(frozen=True)
class AvailabilityQuery:
    start: datetime
    end: datetime
    interval: int
    schedules: tuple[str, ...]


def parse_query(params: Mapping[str, str], *, now: datetime) -> AvailabilityQuery:
    """The checked query; InvalidParameterError naming the first parameter that is wrong."""
    start = parse_moment("start", params["start"]) if "start" in params else now.replace(second=0, microsecond=0)
    end = parse_moment("end", params["end"]) if "end" in params else start + DEFAULT_PERIOD
    if end <= start:
        raise InvalidParameterError("end", "must be after start")
    if end - start >= MAX_PERIOD:
        raise InvalidParameterError("end", "must be less than 42 days after start (Graph's getSchedule limit)")
    return AvailabilityQuery(start, end, _interval(params.get("interval")), _schedules(params.get("schedules")))


def _interval(text: str | None) -> int:
    if text is None:
        return DEFAULT_INTERVAL
    if not text.strip().isdigit() or len(text) > 4 or not MIN_INTERVAL <= int(text) <= MAX_INTERVAL:
        raise InvalidParameterError(
            "interval", f"must be a whole number of minutes from {MIN_INTERVAL} to {MAX_INTERVAL}"
        )
    return int(text)


def _schedules(text: str | None) -> tuple[str, ...]:
    if text is None or not text.strip():
        raise InvalidParameterError("schedules", "is required: e-mail addresses of people or rooms, comma-separated")
    if len(text) > MAX_SCHEDULES * (MAX_ADDRESS_CHARS + 1):
        raise InvalidParameterError("schedules", f"is too long: at most {MAX_SCHEDULES} addresses")
    found: dict[str, str] = {}
    for position, entry in enumerate(text.split(","), start=1):
        address = entry.strip()
        if len(address) > MAX_ADDRESS_CHARS or not ADDRESS.fullmatch(address):
            raise InvalidParameterError("schedules", f"entry {position} is not an e-mail address")
        found.setdefault(address.lower(), address)
    if len(found) > MAX_SCHEDULES:
        raise InvalidParameterError(
            "schedules",
            f"names {len(found)} addresses; at most {MAX_SCHEDULES} per request (Graph's getSchedule limit)",
        )
    return tuple(found.values())


def shape(query: AvailabilityQuery, answered: list[dict[str, Any]]) -> dict[str, Any]:
    """The API's answer: one entry per schedule asked for, in the order asked."""
    by_address = {str(item.get("scheduleId", "")).lower(): item for item in answered}
    return {
        "start": utc_text(query.start),
        "end": utc_text(query.end),
        "interval": query.interval,
        "schedules": [_schedule(address, by_address.get(address.lower())) for address in query.schedules],
    }


def _schedule(address: str, item: dict[str, Any] | None) -> dict[str, Any]:
    if item is None:
        return {
            "schedule": address,
            "availabilityView": "",
            "busy": [],
            "workingHours": None,
            "error": {"code": "NoAnswer", "message": "Graph's answer left this schedule out."},
        }
    error = item.get("error") or None
    return {
        "schedule": address,
        "availabilityView": str(item.get("availabilityView") or ""),
        "busy": [
            _busy(entry)
            for entry in item.get("scheduleItems") or []
            if isinstance(entry, dict) and entry.get("status") != "free"
        ],
        "workingHours": _working_hours(item.get("workingHours")),
        "error": {"code": str(error.get("responseCode") or "Error"), "message": str(error.get("message") or "")}
        if isinstance(error, dict)
        else None,
    }


def _busy(entry: dict[str, Any]) -> dict[str, Any]:
    shown: dict[str, Any] = {
        "start": _utc(entry.get("start")),
        "end": _utc(entry.get("end")),
        "status": entry.get("status") if entry.get("status") in STATUSES else "unknown",
        "isPrivate": bool(entry.get("isPrivate")),
    }
    for name in ("subject", "location"):
        if isinstance(entry.get(name), str) and not shown["isPrivate"]:
            shown[name] = entry[name]
    return shown


def _utc(value: Any) -> str | None:
    """A dateTimeTimeZone from Graph as ISO 8601 in UTC with ``Z``; None when it is missing or unreadable."""
    moment = graph_moment_or_none(value)
    return utc_text(moment) if moment is not None else None


def _working_hours(value: Any) -> dict[str, Any] | None:
    if not isinstance(value, dict):
        return None
    zone = value.get("timeZone")
    return {
        "daysOfWeek": [str(d) for d in value.get("daysOfWeek") or []],
        "startTime": str(value.get("startTime") or "")[:5],
        "endTime": str(value.get("endTime") or "")[:5],
        "timeZone": str(zone.get("name") or "") if isinstance(zone, dict) else None,
    }
