"""The one interface every meeting platform implements, and the values it exchanges.

A platform creates a meeting for an organizer, moves it when the event moves, and deletes it
(idempotently) when the event is cancelled or loses its keyword. ``idempotency_key`` is recorded
before ``create_meeting`` is called, so that a retry after a crash finds the meeting the first
attempt made instead of making a second one (each platform says how).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol

MeetingKind = Literal["scheduled", "personal_room", "space"]
KINDS: tuple[MeetingKind, ...] = ("scheduled", "personal_room", "space")


@dataclass(frozen=True)
class MeetingRequest:
    """What the organizer's event asks for; times are aware (UTC), ``time_zone`` the organizer's IANA zone,
    ``recurrence`` an RFC 5545 RRULE for a series (expanded in ``time_zone``, from the first start)."""

    organizer: str
    subject: str
    start: datetime
    end: datetime
    time_zone: str
    kind: MeetingKind
    idempotency_key: str
    recurrence: str | None = None

    def local(self, moment: datetime) -> str:
        """``moment`` as wall-clock time in the organizer's zone, with its offset (``2026-03-16T09:00:00+01:00``)."""
        from zoneinfo import ZoneInfo

        return moment.astimezone(ZoneInfo(self.time_zone)).isoformat(timespec="seconds")


@dataclass(frozen=True)
class DialIn:
    label: str
    number: str


@dataclass(frozen=True)
class PlatformMeeting:
    """A meeting as the join block shows it; ``meeting_id`` is what update and delete need."""

    platform: str
    meeting_id: str
    join_url: str
    kind: MeetingKind = "scheduled"
    sip_uri: str | None = None
    meeting_number: str | None = None
    password: str | None = None
    dial_in: tuple[DialIn, ...] = field(default=())


class MeetingPlatform(Protocol):
    """Create, move and delete meetings on one platform for one tenant; ``warnings`` collects codes (see
    ``shared.errors.WARNINGS``) for the organizer's mailbox: work done, with something an admin should know."""

    name: str
    warnings: list[str]

    def create_meeting(self, request: MeetingRequest) -> PlatformMeeting:
        """A new meeting (or the one an earlier attempt with the same idempotency key made)."""
        ...

    def update_meeting(self, meeting: PlatformMeeting, request: MeetingRequest) -> PlatformMeeting:
        """The meeting moved to the request's times; the result may differ (new dial-in, ...)."""
        ...

    def delete_meeting(self, meeting: PlatformMeeting, *, organizer: str) -> None:
        """Remove the meeting; one already gone is success."""
        ...
