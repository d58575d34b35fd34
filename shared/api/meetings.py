"""The meetings list that apps and room devices show, with a Join button per meeting.

One storage range query per page (the mailbox's partition, rows keyed by start time). The
range is ``from``/``to`` (ISO 8601 with a zone; defaults now - 1 hour to now + 7 days), which
must lie in the retention window: nothing outside it is stored, so asking for it is an error
rather than a silently empty list. Pages hold ``HC_MEETINGS_PAGE_SIZE`` meetings; a longer
list carries an opaque continuation token (the range and the last meeting returned) that the
client sends back as it is. The token is checked exactly as ``from`` and ``to`` are (an edited
one is refused, never clamped), and the meeting it names must lie in its range.

A meeting's ``id`` is derived from its iCalendar UID and start, which every copy of a meeting
shares (the organizer's, each attendee's and the room's), so all of them list the same id.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from shared.errors import InvalidParameterError
from shared.storage.meetings import LONGEST_MEETING, MeetingRecord, MeetingRepository
from shared.storage.records import digest
from shared.sync.window import Window
from shared.timezones import utc_text, utcnow

DEFAULT_BEFORE = timedelta(hours=1)
DEFAULT_SPAN = timedelta(days=7)
MAX_PARAMETER_CHARS = 64
MAX_CONTINUATION_CHARS = 512
_UNENCODED_PLUS = re.compile(r" (\d{2}(?::?\d{2})?)$")
"""A ``+hh:mm`` offset sent unencoded in a query string arrives as a space."""
EXAMPLE = "an ISO 8601 date-time with a zone, e.g. 2026-12-01T09:00:00Z"
_ROW_KEY = re.compile(r"m\|(\d{8}T\d{6}Z)\|[0-9a-f]{32}")
"""A meeting row's key (see ``shared.storage.meetings``): where a page ended."""


def parse_moment(name: str, text: str) -> datetime:
    """A query parameter as an aware UTC datetime; InvalidParameterError naming it otherwise."""
    if len(text) > MAX_PARAMETER_CHARS:
        raise InvalidParameterError(name, f"must be {EXAMPLE} (at most {MAX_PARAMETER_CHARS} characters)")
    try:
        moment = datetime.fromisoformat(_UNENCODED_PLUS.sub(r"+\1", text.strip()))
    except ValueError:
        raise InvalidParameterError(name, f"must be {EXAMPLE}") from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise InvalidParameterError(name, f"has no time zone; send {EXAMPLE}")
    try:
        return moment.astimezone(timezone.utc)
    except OverflowError:
        raise InvalidParameterError(name, f"is out of range; send {EXAMPLE}") from None


def parse_range(params: Mapping[str, str], *, now: datetime, window: Window) -> tuple[datetime, datetime]:
    """[from, to) as asked (or the defaults), checked against the retention window around ``now``."""
    low, high = window.bounds(now)
    start = parse_moment("from", params["from"]) if "from" in params else max(low, now - DEFAULT_BEFORE)
    end = parse_moment("to", params["to"]) if "to" in params else min(high, start + DEFAULT_SPAN)
    for name, moment in (("from", start), ("to", end)):
        if not low <= moment <= high:
            raise InvalidParameterError(
                name, f"is outside the retention window: meetings are kept from {utc_text(low)} to {utc_text(high)}"
            )
    if end <= start:
        raise InvalidParameterError("to", "must be after from")
    return start, end


@dataclass(frozen=True)
class Position:
    """Where a page ended: the range asked for and the storage key of the last meeting returned."""

    start: datetime
    end: datetime
    after: str

    def encode(self) -> str:
        text = json.dumps(
            [self.start.astimezone(timezone.utc).isoformat(), self.end.astimezone(timezone.utc).isoformat(), self.after]
        )
        return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str) -> Position:
        """The position a token names; InvalidParameterError for anything this API did not issue."""
        try:
            if len(token) > MAX_CONTINUATION_CHARS or not token.isascii():
                raise ValueError("not a token")
            start, end, after = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
            match = _ROW_KEY.fullmatch(after) if isinstance(after, str) else None
            if match is None:
                raise ValueError("not a meeting key")
            position = cls(_moment(start), _moment(end), after)
            at = datetime.strptime(match.group(1), "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
        except (ValueError, TypeError, binascii.Error, UnicodeDecodeError, OverflowError):
            raise InvalidParameterError(
                "continuation", "is not a token this API issued; follow nextLink as it is"
            ) from None
        if not position.start - LONGEST_MEETING <= at < position.end:
            raise InvalidParameterError(
                "continuation", "names a meeting outside its own range; follow nextLink as it is"
            )
        return position


def _moment(text: Any) -> datetime:
    moment = datetime.fromisoformat(str(text))
    if moment.tzinfo is None:
        raise ValueError("naive")
    return moment.astimezone(timezone.utc)


def meeting_id(record: MeetingRecord) -> str:
    """The same opaque id for every copy of one occurrence (iCalendar UID and start)."""
    return digest(f"{record.ical_uid or record.event_id}|{utc_text(record.start)}")[:32]


@dataclass(frozen=True)
class MeetingsService:
    """Builds a page of a mailbox's meetings list."""

    meetings: MeetingRepository
    window: Window
    join_lead: timedelta
    page_size: int
    now: Callable[[], datetime] = utcnow

    def page(self, tenant_id: str, mailbox_id: str, params: Mapping[str, str], *, room: bool = False) -> dict[str, Any]:
        """``{"from", "to", "value": [...], "continuation"?}`` for the mailbox, as ``params`` ask.

        One storage query reads at most one page and one meeting more (to know whether more follow).
        A room's list shows private meetings as "Private meeting" without organizer, and invitees as a
        count only; a user's list names the invitees.
        """
        now = self.now()
        start, end, after = self._position(params, now)
        rows = self.meetings.page_meetings(
            tenant_id, mailbox_id, start=start, end=end, after=after, limit=self.page_size + 1
        )
        shown = rows[: self.page_size]
        body: dict[str, Any] = {
            "from": utc_text(start),
            "to": utc_text(end),
            "value": [self.item(meeting_id(r), r, now, room=room) for _, r in shown],
        }
        if len(rows) > self.page_size:
            body["continuation"] = Position(start, end, shown[-1][0]).encode()
        return body

    def _position(self, params: Mapping[str, str], now: datetime) -> tuple[datetime, datetime, str | None]:
        if "continuation" not in params:
            return (*parse_range(params, now=now, window=self.window), None)
        if "from" in params or "to" in params:
            raise InvalidParameterError("continuation", "cannot be combined with from or to; follow nextLink as it is")
        position = Position.decode(params["continuation"])
        try:
            start, end = parse_range(
                {"from": utc_text(position.start), "to": utc_text(position.end)}, now=now, window=self.window
            )
        except InvalidParameterError as problem:
            raise InvalidParameterError(
                "continuation", f"its range is no longer valid ({problem}); ask again with from and to"
            ) from None
        return start, end, position.after

    def join_buttons(self, tenant_id: str, mailbox_id: str, *, room: bool) -> tuple[list[dict[str, Any]], int]:
        """The Join buttons showing now, and the seconds until that changes (at most ``PULL_MAX_AGE``):
        one range query, the same rule as ``joinableNow`` and the pushed timeline."""
        from shared.timeline.timeline import button_data

        now = self.now()
        rows = self.meetings.page_meetings(tenant_id, mailbox_id, start=now, end=now + self.join_lead + PULL_MAX_AGE)
        shown = [button_data(record, room=room) for _, record in rows if joinable_now(record, now, self.join_lead)]
        moments = [m for _, r in rows if r.has_join_details for m in (r.start - self.join_lead, r.end) if m > now]
        wait = min(moments, default=now + PULL_MAX_AGE) - now
        return shown, max(1, min(int(wait.total_seconds()), int(PULL_MAX_AGE.total_seconds())))

    def item(self, identifier: str, record: MeetingRecord, now: datetime, *, room: bool = False) -> dict[str, Any]:
        """One meeting as the list shows it; times in UTC, the organizer's zone for display."""
        hidden = room and record.is_private
        item: dict[str, Any] = {
            "id": identifier,
            "subject": PRIVATE_SUBJECT if hidden else record.subject,
            "start": utc_text(record.start),
            "end": utc_text(record.end),
            "timeZone": record.time_zone,
            "organizerName": None if hidden else record.organizer_name,
            "provider": record.provider,
            "joinUrl": record.join_url,
            "videoAddress": record.sip_uri,
            "isOnline": record.is_online,
            "joinableNow": joinable_now(record, now, self.join_lead),
            "isCancelled": record.is_cancelled,
            "isPrivate": record.is_private,
            "inviteeCount": record.invitee_count,
            "isOrganizer": record.is_organizer,
            "response": record.response,
        }
        if not room:
            item["invitees"] = list(record.invitees)
        return item


PRIVATE_SUBJECT = "Private meeting"
PULL_MAX_AGE = timedelta(minutes=5)
"""The longest a pull answer may be kept: a meeting changed in Outlook reaches a polling device within it."""


def joinable_now(record: MeetingRecord, now: datetime, lead: timedelta) -> bool:
    """The Join button shows: from ``lead`` before the start until the end, while the meeting has join details.
    The lists, the pull route and the pushed timeline all decide by this rule."""
    return record.has_join_details and record.start - lead <= now < record.end
