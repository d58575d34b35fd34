"""The Join button's rules, without I/O: what a meeting copy's button is, and what to do about it.

A button belongs to one occurrence row of one mailbox (a room's, the organizer's or an attendee's
copy). It *appears* at ``start - lead`` and is *withdrawn* at the end, or at once when the meeting
is cancelled, deleted, moved or loses its join details. Its ``version`` is a digest of everything
a receiver shows, so any such change is a new version: the old one (if on screen) is withdrawn and
the new one timed. A button row remembers the version on screen (``shown``) until its withdrawal
is delivered, so a withdrawal is never lost between the change and its delivery.

Timing is by queue messages made visible at the due second (Azure Queues: at most 7 days ahead);
each message names the version it is for, and one whose version is no longer current does nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from shared.storage.meetings import MeetingRecord
from shared.storage.records import digest

QUEUE_MAX_AHEAD = timedelta(days=7) - timedelta(minutes=1)
EARLY = timedelta(seconds=1.5)
"""A message this close to its due time waits for it in the worker; earlier, it is sent again."""


@dataclass(frozen=True)
class Button:
    """A button row: what is current (``version``, "" once the meeting is gone) and what is on screen."""

    key: str
    event_key: str
    version: str
    show_at: datetime
    end_at: datetime
    meeting_id: str
    meeting_row: str
    shown: str = ""
    shown_meeting: str = ""
    """The meeting id the version on screen carried (a moved meeting's id changes with its start)."""
    etag: str | None = field(default=None, compare=False)

    def same_timing(self, other: Button) -> bool:
        return (self.version, self.show_at, self.end_at) == (other.version, other.show_at, other.end_at)


@dataclass(frozen=True)
class Send:
    """A message for the timeline queue: do ``action`` (show / withdraw) for ``version`` at ``at``."""

    action: str
    key: str
    version: str
    at: datetime


@dataclass
class Plan:
    save: list[Button] = field(default_factory=list)
    delete: list[Button] = field(default_factory=list)
    send: list[Send] = field(default_factory=list)


def button_key(row_key: str) -> str:
    """A button's key: the occurrence part of its meeting row's key (unique within the mailbox)."""
    return row_key.rpartition("|")[2]


def version_of(record: MeetingRecord) -> str:
    shown = "|".join(
        str(part)
        for part in (
            record.start.isoformat(),
            record.end.isoformat(),
            record.join_url,
            record.sip_uri,
            record.provider,
            record.subject,
            record.organizer_name,
            record.sensitivity,
            record.ical_uid,
        )
    )
    return digest(shown)[:20]


def wanted(
    record: MeetingRecord, *, event_key: str, row_key: str, meeting_id: str, lead: timedelta, now: datetime
) -> Button | None:
    """The button a stored occurrence should have, or None (no join details, cancelled, over)."""
    if not record.has_join_details or record.end <= now:
        return None
    return Button(
        button_key(row_key), event_key, version_of(record), record.start - lead, record.end, meeting_id, row_key
    )


def plan(
    held: Mapping[str, Button],
    want: Mapping[str, Button],
    now: datetime,
    *,
    covered: Iterable[str],
    horizon: timedelta | None = None,
) -> Plan:
    """What to write and send so that the buttons of ``covered`` keys become ``want``.

    ``covered``: the held keys that ``want`` speaks for (an event's buttons after it was written; on a
    reconcile pass, those in the pass's range). With ``horizon`` (a reconcile pass), messages are sent
    again for whatever falls due within it, since a message may have been lost.
    """
    result = Plan()
    for key in set(covered) | set(want):
        old, new = held.get(key), want.get(key)
        if new is not None and (old is None or not old.same_timing(new)):
            result.save.append(
                replace(
                    new,
                    shown=old.shown if old else "",
                    shown_meeting=old.shown_meeting if old else "",
                    etag=old.etag if old else None,
                )
            )
            if old is not None and old.shown:
                result.send.append(Send("withdraw", key, old.shown, now))
            if new.show_at - now <= QUEUE_MAX_AHEAD:
                result.send.append(Send("show", key, new.version, max(now, new.show_at)))
        elif new is None and old is not None:
            if old.shown:
                if old.version:
                    result.save.append(replace(old, version=""))
                result.send.append(Send("withdraw", key, old.shown, now))
            else:
                result.delete.append(old)
        elif old is not None and horizon is not None:
            result.send.extend(_due_again(old, now, horizon))
    return result


def _due_again(button: Button, now: datetime, horizon: timedelta) -> list[Send]:
    """A reconcile pass's messages for an unchanged button: whatever falls due within the horizon."""
    if button.shown and button.shown != button.version:
        return [Send("withdraw", button.key, button.shown, now)]
    if button.shown and button.end_at <= now + horizon:
        return [Send("withdraw", button.key, button.shown, max(now, button.end_at))]
    if not button.shown and button.show_at <= now + horizon:
        return [Send("show", button.key, button.version, max(now, button.show_at))]
    return []


@dataclass(frozen=True)
class Nothing:
    reason: str


@dataclass(frozen=True)
class Later:
    at: datetime


@dataclass(frozen=True)
class Wait:
    seconds: float


@dataclass(frozen=True)
class Show:
    """Deliver ``join_button.shown``, after withdrawing ``withdraw_first`` (an older version on screen)."""

    withdraw_first: str | None


@dataclass(frozen=True)
class Withdraw:
    reason: str
    """``ended``, ``changed`` (moved, renamed, new join details) or ``removed`` (cancelled, deleted)."""
    forget: bool
    """The row goes after delivery (nothing else left to show); otherwise only ``shown`` is cleared."""


Step = Nothing | Later | Wait | Show | Withdraw


def on_due(button: Button | None, send: Send, now: datetime) -> Step:
    """What a timeline message does when it arrives at ``now``, given the button row as held."""
    if button is None:
        return Nothing("gone")
    if send.action == "show":
        return _on_show(button, send, now)
    return _on_withdraw(button, send, now)


def _on_show(button: Button, send: Send, now: datetime) -> Step:
    if button.version != send.version:
        return Nothing("stale")
    if button.shown == send.version:
        return Nothing("already_shown")
    if now >= button.end_at:
        return Nothing("over")
    if button.show_at - now > EARLY:
        return Later(button.show_at)
    if button.show_at > now:
        return Wait((button.show_at - now).total_seconds())
    return Show(button.shown or None)


def _on_withdraw(button: Button, send: Send, now: datetime) -> Step:
    if button.shown != send.version:
        return Nothing("not_shown")
    current = button.version == send.version
    if current and button.end_at - now > EARLY:
        return Later(button.end_at)
    if current and button.end_at > now:
        return Wait((button.end_at - now).total_seconds())
    reason = "ended" if now >= button.end_at else ("changed" if button.version else "removed")
    return Withdraw(reason, forget=current or not button.version)
