"""The join block written into an invitation's body, and the Location rewrite.

The block is delimited (HTML comments, or marker lines in a text body) so it can be found,
rewritten and removed later without touching anything else: the rest of the body, a Teams
meeting block included, stays byte for byte as it was. In HTML it goes just before the last
``</body>``, or at the end when the markup has none (a malformed body still gets a
well-formed block); in text, at the end. Everything interpolated is HTML-escaped.
"""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from string import Template
from typing import Any

from shared.parsing.keywords import keyword_span
from shared.platforms.base import PlatformMeeting
from shared.timezones import resolve

HTML_START, HTML_END = "<!--hc:join:start-->", "<!--hc:join:end-->"
TEXT_START = "-- Join details from Hybrid Calendar (do not edit) --"
TEXT_END = "-- End of join details --"
_BODY_END = re.compile(r"</body\s*>", re.IGNORECASE)


def block_lines(meeting: PlatformMeeting, subject: str | None = None) -> list[tuple[str, str, bool]]:
    """(label, value, is_link) lines of the block, in order; the same for HTML and text."""
    lines = [("Join the meeting", meeting.join_url, True)]
    if meeting.meeting_number:
        lines.append(("Meeting number", meeting.meeting_number, False))
    if meeting.password:
        lines.append(("Password", meeting.password, False))
    if meeting.sip_uri:
        lines.append(("Join from a video system", meeting.sip_uri, False))
    lines += [(f"Join by phone ({d.label})" if d.label else "Join by phone", d.number, False) for d in meeting.dial_in]
    return lines


PLACEHOLDERS = ("join_url", "meeting_number", "password", "video_address", "dial_in", "start", "end", "time_zone")
"""What a tenant's block template may use (``$join_url`` ...); ``$join_url`` is required."""


@dataclass(frozen=True)
class BlockTime:
    """When the meeting is, shown in the organizer's time zone (their mailbox's, a Windows or IANA name)."""

    start: datetime | None
    end: datetime | None
    time_zone: str = "UTC"

    def values(self) -> dict[str, str]:
        """``start``/``end`` as ``2026-12-10 14:00`` in the zone (UTC when the name is not known), and its name."""
        found = resolve(self.time_zone)
        zone = found.zone or timezone.utc
        shown = lambda moment: moment.astimezone(zone).strftime("%Y-%m-%d %H:%M") if moment else ""  # noqa: E731
        return {
            "start": shown(self.start),
            "end": shown(self.end),
            "time_zone": self.time_zone if found.known else "UTC",
        }


def template_values(meeting: PlatformMeeting, *, for_html: bool, when: BlockTime | None = None) -> dict[str, str]:
    """The placeholders' values; escaped for HTML, dial-in numbers one per line."""
    dial_in = [f"{d.label}: {d.number}" if d.label else d.number for d in meeting.dial_in]
    values = {
        "join_url": meeting.join_url,
        "meeting_number": meeting.meeting_number or "",
        "password": meeting.password or "",
        "video_address": meeting.sip_uri or "",
        "dial_in": "\n".join(dial_in),
        **(when or BlockTime(None, None)).values(),
    }
    if not for_html:
        return values
    escaped = {key: html.escape(value, quote=True) for key, value in values.items()}
    return escaped | {"dial_in": "<br>".join(html.escape(line) for line in dial_in)}


def check_template(text: str) -> str | None:
    """Why a tenant's template cannot be used, or None."""
    template = Template(text)
    if not template.is_valid():
        return "a template may use $name or ${name} placeholders only; write $$ for a dollar sign"
    unknown = sorted(set(template.get_identifiers()) - set(PLACEHOLDERS))
    if unknown:
        return f"unknown placeholders {unknown}; use {', '.join('$' + p for p in PLACEHOLDERS)}"
    if "join_url" not in template.get_identifiers():
        return "a template must contain $join_url"
    return None


def render_html(meeting: PlatformMeeting, template: str | None = None, when: BlockTime | None = None) -> str:
    if template:
        return (
            f"{HTML_START}{Template(template).substitute(template_values(meeting, for_html=True, when=when))}{HTML_END}"
        )
    rows = "".join(
        f'<p style="margin:0">{html.escape(label)}: <a href="{html.escape(value, quote=True)}">'
        f"{html.escape(value)}</a></p>"
        if link
        else f'<p style="margin:0">{html.escape(label)}: {html.escape(value)}</p>'
        for label, value, link in block_lines(meeting)
    )
    return f'{HTML_START}<div style="margin-top:12px">{rows}</div>{HTML_END}'


def render_text(meeting: PlatformMeeting, template: str | None = None, when: BlockTime | None = None) -> str:
    if template:
        return (
            f"{TEXT_START}\n{Template(template).substitute(template_values(meeting, for_html=False, when=when))}"
            f"\n{TEXT_END}"
        )
    rows = "\n".join(f"{label}: {value}" for label, value, _ in block_lines(meeting))
    return f"{TEXT_START}\n{rows}\n{TEXT_END}"


def block_hash(
    meeting: PlatformMeeting, templates: Mapping[str, str] | None = None, when: BlockTime | None = None
) -> str:
    """What the block says, hashed: a rewrite happens only when this changes (a template showing times
    changes when the meeting moves; the default block does not show them)."""
    templates = templates or {}
    said = render_text(meeting, templates.get("text"), when) + render_html(meeting, templates.get("html"), when)
    return hashlib.sha256(said.encode()).hexdigest()[:16]


def with_block(
    body: str,
    meeting: PlatformMeeting,
    *,
    content_type: str,
    templates: Mapping[str, str] | None = None,
    when: BlockTime | None = None,
) -> str:
    """``body`` with the meeting's block (the tenant's template, or the default) in place of any earlier one."""
    templates = templates or {}
    if content_type.lower() == "text":
        return _place(
            without_block(body, content_type="text"), render_text(meeting, templates.get("text"), when), text=True
        )
    return _place(
        without_block(body, content_type="html"), render_html(meeting, templates.get("html"), when), text=False
    )


def without_block(body: str, *, content_type: str) -> str:
    """``body`` with our block (and the separator we added before it) taken out; the rest untouched."""
    start, end = (TEXT_START, TEXT_END) if content_type.lower() == "text" else (HTML_START, HTML_END)
    first = body.find(start)
    last = body.find(end, first + len(start)) if first != -1 else -1
    if first == -1 or last == -1:
        return body
    cut = first - 2 if content_type.lower() == "text" and body[max(0, first - 2) : first] == "\n\n" else first
    return body[:cut] + body[last + len(end) :]


def has_block(body: str) -> bool:
    return HTML_START in body or TEXT_START in body


def _place(body: str, block: str, *, text: bool) -> str:
    if text:
        return f"{body}\n\n{block}" if body else block
    closing = list(_BODY_END.finditer(body))
    if not closing:
        return body + block
    at = closing[-1].start()
    return body[:at] + block + body[at:]


def location_with_link(location: str, span: tuple[int, int] | None, join_url: str) -> str:
    """Location with the keyword (at ``span``) replaced by the join link; other parts kept."""
    if span is None:
        return location
    return location[: span[0]] + join_url + location[span[1] :]


ROOM_KEYS = ("locationEmailAddress", "locationUri", "uniqueId")


def locations_with_link(locations: list[dict[str, Any]], location: str, join_url: str) -> list[dict[str, Any]]:
    """The event's ``locations`` with the keyword replaced by the join link, every other entry kept as it is.

    Graph keeps ``location`` and ``locations`` in step, and writing ``location`` replaces ``locations`` with
    that one entry: a room booked through the room finder (an entry with its address and ids) would lose
    its structure and show as plain text. So the write is ``locations``: the entry whose name holds the
    keyword gets the link in its place (as plain text: its old ids named the keyword), the rest stay.
    Without such an entry, the Location text becomes the first entry and the rooms are kept after it.
    """
    written: list[dict[str, Any]] = []
    replaced = False
    for entry in locations:
        name = str(entry.get("displayName") or "")
        span = keyword_span(name)
        if span is not None and not replaced:
            written.append({"displayName": location_with_link(name, span, join_url), "locationType": "default"})
            replaced = True
        else:
            written.append(dict(entry))
    if replaced:
        return written
    rooms = [
        entry
        for entry in written
        if entry.get("locationType") == "conferenceRoom" or any(entry.get(key) for key in ROOM_KEYS)
    ]
    return [
        {"displayName": location_with_link(location, keyword_span(location), join_url), "locationType": "default"},
        *rooms,
    ]
