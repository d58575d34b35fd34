"""Out of office as presence: what Graph's ``mailboxSettings`` say, and what they mean at a moment.

Pure: no I/O. ``read_settings`` turns a ``mailboxSettings`` body into typed values (scheduled
windows converted from their Windows or IANA zone to UTC); ``presence_at`` says whether the mailbox
is out of office at a moment; ``next_flip`` when that next changes by itself; ``decide`` compares a
poll's reading with what is stored and says what to write, push and time.

Graph's facts this relies on: ``automaticRepliesSetting.status`` is ``disabled``, ``alwaysEnabled``
or ``scheduled`` in any letter case; a scheduled window is two dateTimeTimeZone values, kept in the
zone they were written in (often a Windows name); after a window ends the status stays
``scheduled`` with the old dates. Mailbox settings have no change notifications, so a change is
seen at the next poll; only the ends of a known window can be timed exactly.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Any, Literal

from shared.errors import ValidationError
from shared.timezones import resolve

Status = Literal["disabled", "alwaysEnabled", "scheduled"]
STATUSES: dict[str, Status] = {"disabled": "disabled", "alwaysenabled": "alwaysEnabled", "scheduled": "scheduled"}
MAX_MESSAGE_BYTES = 16_000
"""Reply messages are stored cut to this many bytes of UTF-8 (at a character boundary): sealed and
base64-encoded, that stays well inside Azure Tables' 64 KiB per string property."""


@dataclass(frozen=True)
class AutoReplies:
    """Automatic replies as set: the window in UTC (only meaningful when ``scheduled``)."""

    status: Status
    start: datetime | None = None
    end: datetime | None = None
    message: str = ""

    @property
    def version(self) -> str:
        """What decides the timing (status and window), not the message: a flip message carries it."""
        text = f"{self.status}|{_iso(self.start)}|{_iso(self.end)}"
        return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Settings:
    """One poll's reading of a mailbox: automatic replies, language (``de-DE``), time zone as Graph names it."""

    replies: AutoReplies
    language: str | None = None
    time_zone: str | None = None
    zone_warning: str | None = None


@dataclass(frozen=True)
class Presence:
    """Out of office or not at a moment; ``since``/``until`` when known."""

    out_of_office: bool
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True)
class PresenceRecord:
    """What is stored per mailbox: the settings last read, the presence they give, the last error's code."""

    tenant_id: str
    mailbox_id: str
    replies: AutoReplies
    presence: Presence
    language: str | None = None
    time_zone: str | None = None
    error: str | None = None
    error_since: datetime | None = None
    changed: datetime | None = None
    etag: str | None = None


@dataclass(frozen=True)
class Decision:
    """What a poll or a flip does: the row to write (None: nothing changed), whether presence changed
    (a ``presence.updated`` push), and when to look again by a delayed message (None: no timed change)."""

    write: PresenceRecord | None
    pushed: bool
    flip_at: datetime | None


def read_settings(body: Any) -> Settings:
    """Typed settings from a ``mailboxSettings`` body; ValidationError when it is not one."""
    if not isinstance(body, dict) or not isinstance(body.get("automaticRepliesSetting"), dict):
        raise ValidationError("mailboxSettings without automaticRepliesSetting")
    raw = body["automaticRepliesSetting"]
    status = STATUSES.get(str(raw.get("status") or "disabled").lower())
    if status is None:
        raise ValidationError("automaticRepliesSetting.status is not disabled, alwaysEnabled or scheduled")
    warning = None
    start = end = None
    if status == "scheduled":
        (start, w1), (end, w2) = (_utc(raw.get(k)) for k in ("scheduledStartDateTime", "scheduledEndDateTime"))
        warning = w1 or w2
        if start is None or end is None:
            raise ValidationError("a scheduled automatic reply without its start and end")
    message = raw.get("internalReplyMessage")
    language = body.get("language")
    locale = language.get("locale") if isinstance(language, dict) else None
    zone_name = body.get("timeZone")
    replies = AutoReplies(status, start, end, _cut(message) if isinstance(message, str) else "")
    return Settings(
        replies,
        locale if isinstance(locale, str) and locale else None,
        zone_name if isinstance(zone_name, str) and zone_name else None,
        warning,
    )


def _cut(message: str) -> str:
    """The message within ``MAX_MESSAGE_BYTES``; lone surrogates (broken UTF-16 from a client) replaced."""
    data = message.encode("utf-8", "replace")[:MAX_MESSAGE_BYTES]
    return data.decode("utf-8", "ignore")


def _utc(value: Any) -> tuple[datetime | None, str | None]:
    """A dateTimeTimeZone in UTC, and the warning code when its zone is unknown (read as UTC then)."""
    if not isinstance(value, dict) or not isinstance(value.get("dateTime"), str):
        return None, None
    try:
        local = datetime.fromisoformat(value["dateTime"][:26].rstrip("Z"))
    except ValueError:
        raise ValidationError("a scheduled automatic reply with a malformed date") from None
    if local.tzinfo is not None:
        return local.astimezone(timezone.utc), None
    found = resolve(value.get("timeZone"))
    zone = found.zone or timezone.utc
    return local.replace(tzinfo=zone).astimezone(timezone.utc), found.warning


def presence_at(replies: AutoReplies, now: datetime, *, held: Presence | None = None) -> Presence:
    """Out of office at ``now``. Always-on keeps the ``since`` already held (when it was first seen on)."""
    if replies.status == "alwaysEnabled":
        since = held.since if held is not None and held.out_of_office and held.until is None else now
        return Presence(True, since, None)
    if (
        replies.status == "scheduled"
        and replies.start is not None
        and replies.end is not None
        and replies.start <= now < replies.end
    ):
        return Presence(True, replies.start, replies.end)
    return Presence(False)


def next_flip(replies: AutoReplies, now: datetime) -> datetime | None:
    """When presence next changes by itself: the window's start or end still ahead, else None."""
    if replies.status != "scheduled" or replies.start is None or replies.end is None:
        return None
    return next((moment for moment in (replies.start, replies.end) if moment > now), None)


def decide(
    stored: PresenceRecord | None, tenant_id: str, mailbox_id: str, settings: Settings, now: datetime
) -> Decision:
    """A poll read ``settings``: write only what changed, push when presence changed, time the next flip
    when the timing or presence changed (a flip already queued for the same version still stands; a second
    one for the same moment finds nothing to do)."""
    presence = presence_at(settings.replies, now, held=stored.presence if stored else None)
    record = PresenceRecord(
        tenant_id,
        mailbox_id,
        settings.replies,
        presence,
        settings.language,
        settings.time_zone,
        None,
        None,
        now,
        stored.etag if stored else None,
    )
    if stored is not None and _same(stored, record):
        return Decision(None, False, None)
    pushed = stored is None and presence.out_of_office or stored is not None and stored.presence != presence
    retimed = stored is None or stored.replies.version != settings.replies.version
    if stored is not None and not pushed:
        record = replace(record, changed=stored.changed)
    return Decision(record, pushed, next_flip(settings.replies, now) if retimed or pushed else None)


def decide_flip(stored: PresenceRecord | None, version: str, now: datetime) -> Decision:
    """A timed flip fell due: presence from the stored window at ``now`` (a stale version, or nothing to
    change at ``now``, writes nothing); the window's next edge is timed in turn."""
    if stored is None or stored.replies.version != version:
        return Decision(None, False, None)
    presence = presence_at(stored.replies, now, held=stored.presence)
    if presence == stored.presence:
        return Decision(None, False, None)
    return Decision(replace(stored, presence=presence, changed=now), True, next_flip(stored.replies, now))


def decide_error(
    stored: PresenceRecord | None, tenant_id: str, mailbox_id: str, code: str, now: datetime
) -> PresenceRecord | None:
    """A poll failed for this mailbox: the row to write when the error is new (presence as it was)."""
    if stored is not None and stored.error == code:
        return None
    if stored is None:
        return PresenceRecord(
            tenant_id, mailbox_id, AutoReplies("disabled"), Presence(False), error=code, error_since=now, changed=now
        )
    return replace(stored, error=code, error_since=now)


def _same(stored: PresenceRecord, record: PresenceRecord) -> bool:
    return (stored.replies, stored.presence, stored.language, stored.time_zone, stored.error) == (
        record.replies,
        record.presence,
        record.language,
        record.time_zone,
        None,
    )


def _iso(moment: datetime | None) -> str:
    return moment.astimezone(timezone.utc).isoformat() if moment else ""
