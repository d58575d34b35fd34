"""The bodies apps send to schedule, change and book meetings, checked before anything is called.

Pure functions: each returns a typed request or raises ValidationError naming the field, so a
request Graph would refuse (or half-apply) never reaches it. Graph's limits respected here:
``subject`` at most 255 characters, at most 500 attendees, times as ``dateTimeTimeZone`` in a
zone Exchange knows (Windows or IANA names).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from shared.api.meetings import parse_moment
from shared.errors import InvalidParameterError, ValidationError
from shared.timezones import resolve

MAX_SUBJECT_CHARS = 255
MAX_ATTENDEES = 500
MAX_ADDRESS_CHARS = 320
MAX_DURATION = timedelta(days=14)
PLATFORMS = ("webex", "builtin", "none")
MAX_IDEMPOTENCY_KEY_CHARS = 255
BOOKING_MINUTES, MIN_BOOKING_MINUTES, MAX_BOOKING_MINUTES = 30, 5, 240
ADDRESS = re.compile(r"[^@\s,;<>\"()]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9-]{1,63})+")
"""An e-mail address as Exchange takes one (a plain local part, a domain of DNS labels)."""
_KEY = re.compile(r"[\x21-\x7e]{1,255}")


@dataclass(frozen=True)
class NewMeeting:
    subject: str
    start: datetime
    end: datetime
    time_zone: str
    attendees: tuple[str, ...]
    room: str | None
    platform: str | None
    """None: the tenant's default (the platform its ``@meet`` keyword uses)."""


@dataclass(frozen=True)
class MeetingChange:
    subject: str | None
    start: datetime | None
    end: datetime | None
    time_zone: str | None
    attendees: tuple[str, ...] | None


def parse_new_meeting(body: Any) -> NewMeeting:
    fields = json_object(body, {"subject", "start", "end", "timeZone", "attendees", "room", "platform"})
    for required in ("subject", "start", "end"):
        if required not in fields:
            raise ValidationError(f"{required}: is required")
    start, end = _moment(fields, "start"), _moment(fields, "end")
    _check_span(start, end)
    platform = fields.get("platform")
    if platform is not None and platform not in PLATFORMS:
        raise ValidationError("platform: must be webex, builtin or none")
    room = _address(fields["room"], "room") if fields.get("room") is not None else None
    return NewMeeting(
        _subject(fields["subject"]),
        start,
        end,
        _zone(fields.get("timeZone")),
        _addresses(fields.get("attendees", [])),
        room,
        platform,
    )


def parse_change(body: Any) -> MeetingChange:
    fields = json_object(body, {"subject", "start", "end", "timeZone", "attendees"})
    if not fields:
        raise ValidationError("nothing to change: send subject, start, end, timeZone and/or attendees")
    return MeetingChange(
        _subject(fields["subject"]) if "subject" in fields else None,
        _moment(fields, "start") if "start" in fields else None,
        _moment(fields, "end") if "end" in fields else None,
        _zone(fields["timeZone"]) if "timeZone" in fields else None,
        _addresses(fields["attendees"]) if "attendees" in fields else None,
    )


def changed_times(change: MeetingChange, start: datetime, end: datetime) -> tuple[datetime, datetime] | None:
    """The meeting's new (start, end) when the change moves it, checked as a whole; None when it does not."""
    if change.start is None and change.end is None:
        return None
    new_start = change.start or start
    new_end = change.end or (new_start + (end - start) if change.start is not None else end)
    _check_span(new_start, new_end)
    return new_start, new_end


def parse_booking(body: Any) -> int:
    """Minutes to book a room for from now (``duration``, default 30); an empty request body is ``{}``."""
    fields = json_object(body, {"duration"})
    minutes = fields.get("duration", BOOKING_MINUTES)
    if (
        isinstance(minutes, bool)
        or not isinstance(minutes, int)
        or not MIN_BOOKING_MINUTES <= minutes <= MAX_BOOKING_MINUTES
    ):
        raise ValidationError(
            f"duration: must be a whole number of minutes from {MIN_BOOKING_MINUTES} to {MAX_BOOKING_MINUTES}"
        )
    return minutes


def idempotency_key(header: str | None, *, tenant_id: str, mailbox_id: str) -> str | None:
    """The key a retried request shares with its first try (scoped to the caller's mailbox), or None."""
    if header is None:
        return None
    if not _KEY.fullmatch(header):
        raise InvalidParameterError(
            "Idempotency-Key", f"must be 1 to {MAX_IDEMPOTENCY_KEY_CHARS} visible ASCII characters"
        )
    return hashlib.sha256(f"{tenant_id}|{mailbox_id}|{header}".encode()).hexdigest()[:32]


def graph_times(start: datetime, end: datetime, time_zone: str) -> dict[str, dict[str, str]]:
    """``start`` and ``end`` as Graph's dateTimeTimeZone in ``time_zone`` (wall-clock there)."""
    zone = resolve(time_zone).zone
    assert zone is not None
    return {
        name: {"dateTime": moment.astimezone(zone).strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": time_zone}
        for name, moment in (("start", start), ("end", end))
    }


def json_object(body: Any, allowed: set[str]) -> dict[str, Any]:
    """``body`` as a JSON object holding only ``allowed`` fields; ValidationError naming any other."""
    if not isinstance(body, dict):
        raise ValidationError("the body must be a JSON object")
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise ValidationError(f"unknown field(s) {', '.join(unknown)}; send {', '.join(sorted(allowed))}")
    return body


def _subject(value: Any) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_SUBJECT_CHARS:
        raise ValidationError(f"subject: must be text of 1 to {MAX_SUBJECT_CHARS} characters")
    return value


def _moment(fields: dict[str, Any], name: str) -> datetime:
    value = fields[name]
    if not isinstance(value, str):
        raise ValidationError(f"{name}: must be an ISO 8601 date-time with a zone")
    try:
        return parse_moment(name, value)
    except InvalidParameterError as error:
        raise ValidationError(str(error)) from None


def _check_span(start: datetime, end: datetime) -> None:
    if end <= start:
        raise ValidationError("end: must be after start")
    if end - start > MAX_DURATION:
        raise ValidationError("end: a meeting lasts at most 14 days")


def _zone(value: Any) -> str:
    if value is None:
        return "UTC"
    if not isinstance(value, str) or len(value) > 64 or resolve(value).zone is None:
        raise ValidationError("timeZone: must be a Windows or IANA time zone name, e.g. W. Europe Standard Time")
    return value


def _address(value: Any, name: str) -> str:
    if not isinstance(value, str) or len(value) > MAX_ADDRESS_CHARS or not ADDRESS.fullmatch(value.strip()):
        raise ValidationError(f"{name}: must be an e-mail address")
    return value.strip()


def _addresses(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or len(value) > MAX_ATTENDEES:
        raise ValidationError(f"attendees: must be a list of at most {MAX_ATTENDEES} e-mail addresses")
    found: dict[str, str] = {}
    for position, entry in enumerate(value, start=1):
        address = _address(entry, f"attendees[{position}]")
        found.setdefault(address.lower(), address)
    return tuple(found.values())
