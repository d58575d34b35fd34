"""A Graph event (single, occurrence or exception) as the meeting row the list and Join button need.

Times come from Graph in UTC (the client sends ``Prefer: outlook.timezone="UTC"``); the zone the
organizer used (``originalStartTimeZone``, Windows or IANA) is kept for display. Join details
come from the parser, with ``onlineMeeting.joinUrl`` as the authoritative link when present.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from shared.graph.client import parse_graph_time
from shared.parsing import extract_join_info
from shared.timezones import fell_back, resolve
from shared.storage.meetings import MAX_INVITEE_NAMES, MeetingRecord

EVENT_FIELDS = (
    "id",
    "subject",
    "start",
    "end",
    "originalStartTimeZone",
    "location",
    "locations",
    "body",
    "organizer",
    "isCancelled",
    "isOnlineMeeting",
    "onlineMeeting",
    "type",
    "seriesMasterId",
    "iCalUId",
    "changeKey",
    "lastModifiedDateTime",
    "recurrence",
    "isAllDay",
    "isOrganizer",
    "sensitivity",
    "attendees",
    "responseStatus",
)


def graph_moment(value: Mapping[str, Any] | None) -> datetime:
    """A dateTimeTimeZone as an aware UTC datetime: ``2026-12-01T10:00:00.0000000`` in its ``timeZone``
    (Windows or IANA; Graph returns UTC when asked), or a ``dateTime`` that carries an offset of its own."""
    if not value or not value.get("dateTime"):
        raise ValueError("event has no start or end")
    text = str(value["dateTime"]).strip()
    if _OFFSET.search(text):
        return parse_graph_time(text)
    moment = parse_graph_time(text).replace(tzinfo=None)
    found = resolve(str(value.get("timeZone") or "UTC"))
    if not found.known:
        fell_back(found, "an event's times")
    return moment.replace(tzinfo=found.zone or timezone.utc).astimezone(timezone.utc)


def graph_moment_or_none(value: Any) -> datetime | None:
    """``graph_moment`` for values from answers that may lack or garble a time (getSchedule's items): None."""
    try:
        return graph_moment(value)
    except (ValueError, TypeError, AttributeError):
        return None


_OFFSET = re.compile(r"(Z|[+-]\d{2}:?\d{2})$", re.IGNORECASE)


def display_zone(event: dict[str, Any]) -> str:
    """The organizer's zone for display, as Outlook named it; ``UTC`` for a custom or unknown zone (the
    times are UTC anyway; the mailbox shows a warning, see ``zone_warning``)."""
    found = resolve(str(event.get("originalStartTimeZone") or "UTC"))
    return (found.given or "UTC") if found.known else "UTC"


def zone_warning(event: dict[str, Any]) -> str | None:
    """The mailbox warning for an event whose organizer zone is not known (custom or unknown), else None."""
    return resolve(str(event.get("originalStartTimeZone") or "UTC")).warning


def to_record(event: dict[str, Any]) -> MeetingRecord:
    """The meeting row of one event or occurrence (join info from the parser)."""
    body = event.get("body") or {}
    online = (event.get("onlineMeeting") or {}).get("joinUrl")
    info = extract_join_info(
        (event.get("location") or {}).get("displayName") or "",
        body.get("content") or "",
        "text" if str(body.get("contentType", "html")).lower() == "text" else "html",
        online_meeting_url=online,
    )
    organizer = ((event.get("organizer") or {}).get("emailAddress") or {}).get("name")
    return MeetingRecord(
        str(event["id"]),
        graph_moment(event.get("start")),
        graph_moment(event.get("end")),
        display_zone(event),
        event.get("subject"),
        organizer,
        info.provider,
        info.join_url,
        info.sip_uri,
        event.get("iCalUId"),
        bool(info.join_url or event.get("isOnlineMeeting")),
        bool(event.get("isCancelled")),
        _sensitivity(event.get("sensitivity")),
        *_invitees(event.get("attendees")),
        bool(event.get("isOrganizer")),
        _response(event.get("responseStatus")),
    )


RESPONSES = ("none", "organizer", "tentativelyAccepted", "accepted", "declined", "notResponded")


def _response(value: Any) -> str | None:
    """Graph's ``responseStatus.response`` when it is one Graph documents, else None (shown as unknown)."""
    response = value.get("response") if isinstance(value, dict) else None
    return response if response in RESPONSES else None


SENSITIVITIES = ("normal", "personal", "private", "confidential")


def _sensitivity(value: Any) -> str:
    """Graph's sensitivity; anything else (absent, a value added later) counts as private, never as public."""
    if value is None:
        return "normal"
    return str(value) if value in SENSITIVITIES else "private"


def _invitees(attendees: Any) -> tuple[tuple[str, ...], int]:
    """The people invited (resources such as rooms left out): their display names, and how many they are."""
    people = [a for a in attendees or [] if isinstance(a, dict) and a.get("type") != "resource"]
    names = [
        str(name)
        for a in people
        if (name := ((a.get("emailAddress") or {}).get("name") or "").strip()) and "@" not in name
    ]
    return tuple(names[:MAX_INVITEE_NAMES]), len(people)
