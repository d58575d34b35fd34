"""Time zone names as Outlook gives them, resolved to zones: never a silent UTC.

Outlook writes the Windows name of the organizer's zone ("W. Europe Standard Time") in an
event's ``originalStartTimeZone`` and in mailbox settings, or an IANA name ("Europe/Berlin") when
an admin chose that format. Windows names map to IANA zones through CLDR's windowsZones table
(territory 001), the table Windows itself follows; it comes from ``tzlocal.windows_tz``, which
is generated from CLDR and kept current by its maintainers (about 140 names), and ``zoneinfo``
does the rest, DST included (``tzdata`` supplies the database where the system has none).

Besides those, Outlook writes ``UTC`` / ``Coordinated Universal Time``, and for events made by
other clients with a zone Outlook cannot name, a custom zone (``tzone://Microsoft/Custom``, or
"Customized Time Zone"). A custom or unknown name is never guessed: :func:`resolve` says so
(``known`` is False), callers fall back to UTC on purpose and record why (a mailbox warning),
and every fallback is counted in :data:`FALLBACKS`.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

log = logging.getLogger("hybridcalendar.timezones")

Kind = Literal["windows", "iana", "utc", "custom", "unknown"]
UTC_NAMES = frozenset({"utc", "etc/utc", "coordinated universal time", "z", "gmt", "etc/gmt"})
CUSTOM_NAMES = frozenset({"tzone://microsoft/custom", "customized time zone", "custom time zone"})
UTC = ZoneInfo("UTC")
FALLBACKS: Counter[str] = Counter()
"""How often this process fell back to UTC, by the kind of name it could not resolve."""
WARNING_CODES: Mapping[str, str] = {"custom": "custom_time_zone", "unknown": "unknown_time_zone"}
"""The mailbox warning recorded when a zone is not known, by kind."""


class UnknownZoneError(ValueError):
    """A zone name that is neither a Windows nor an IANA name (a custom zone, or nonsense)."""


@dataclass(frozen=True)
class ZoneName:
    """What a zone name turned out to be; ``zone`` is None when it is custom or unknown."""

    given: str
    kind: Kind
    zone: ZoneInfo | None

    @property
    def known(self) -> bool:
        return self.zone is not None

    @property
    def iana(self) -> str:
        """The IANA name (``UTC`` for a zone not known: the caller's explicit fallback)."""
        return self.zone.key if self.zone is not None else "UTC"

    @property
    def warning(self) -> str | None:
        """The mailbox warning code for a zone not known, None otherwise."""
        return WARNING_CODES.get(self.kind)


def windows_zones() -> Mapping[str, str]:
    """CLDR's Windows-to-IANA table (territory 001), as ``tzlocal`` ships it."""
    from tzlocal.windows_tz import win_tz

    return win_tz


@lru_cache(maxsize=512)
def resolve(name: str | None) -> ZoneName:
    """What ``name`` is, without raising: a Windows name, an IANA name, UTC, a custom zone, or unknown."""
    given = (name or "").strip()
    folded = given.lower()
    if folded in UTC_NAMES or folded == "":
        return ZoneName(given, "utc", UTC)
    if folded in CUSTOM_NAMES or folded.startswith("tzone://"):
        return ZoneName(given, "custom", None)
    iana = windows_zones().get(given)
    if iana:
        return ZoneName(given, "windows", ZoneInfo(iana))
    try:
        return ZoneName(given, "iana", ZoneInfo(given))
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneName(given, "unknown", None)


def zone(name: str) -> ZoneInfo:
    """The zone for a Windows or IANA name (or UTC); UnknownZoneError naming it when it is neither."""
    found = resolve(name)
    if found.zone is None:
        raise UnknownZoneError(
            f"unknown time zone {name!r}"
            if found.kind == "unknown"
            else f"custom time zone {name!r} (the event's own UTC times stand)"
        )
    return found.zone


def fell_back(found: ZoneName, where: str) -> str:
    """Record an explicit fallback to UTC for a zone not known: counted, and logged (without the name) at
    the 1st, 10th, 100th... of its kind in this process, so a tenant full of custom zones cannot flood
    the log; 'UTC'."""
    FALLBACKS[found.kind] += 1
    count = FALLBACKS[found.kind]
    if str(count).rstrip("0") == "1":
        log.info("time zone fallback to UTC in %s: a %s zone (%d so far in this process)", where, found.kind, count)
    return "UTC"


def utcnow() -> datetime:
    """The current time, aware, in UTC: every default clock of the product."""
    return datetime.now(timezone.utc)


def utc_text(moment: datetime) -> str:
    """An aware moment as every answer and push writes it: UTC to the second, ``2026-12-01T09:00:00Z``."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
