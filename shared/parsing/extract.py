"""Join-info detection: which meeting an event holds, and whether Location asks for one.

The rules, applied in this order:

- R1: every link is unwrapped (Safe Links, Proofpoint, ...) before it is matched.
- ``online_meeting_url`` (Graph's ``onlineMeeting.joinUrl``) wins when present.
- R2: a join link in Location beats any in the body.
- R3: in the body, a link followed by its own meeting details (an ID, passcode,
  access code, conference or webinar ID, within 600 characters and before the
  next different join link) beats a bare link; ties go to document order, and
  an ``<a href>`` comes before its own anchor text.
- R4: a provider's non-join pages (help, dial-in, options, download) never count.
- Among links to the same meeting, the longer one that extends the winner is kept
  (a Zoom link with its passcode beats the same link without it); an app-scheme
  link (``zoommtg://``) gives way to a web link of the same service, never to an
  unrelated one (a signature link must not displace the meeting).

Video addresses follow the same source order; a video-system address beats a
Skype-for-Business interop one. Nothing is synthesised: ``join_url`` and
``sip_uri`` are always text of the (unwrapped, entity-decoded) input.
Work is bounded: per field at most ``MAX_EXAMINED`` URL and address matches are
looked at and ``MAX_LINKS`` links / ``MAX_ADDRESSES`` addresses kept; links
longer than ``MAX_URL`` characters are ignored. No meeting invitation comes near
these bounds; they keep a hostile 1 MB body from costing more than a fraction of
a second.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from itertools import islice

from shared.parsing.catalogue import APP_SCHEMES, VIDEO_DOMAINS, Verdict, classify, video_domain
from shared.parsing.keywords import find_keyword
from shared.parsing.model import Candidate, JoinInfo, Kind, Source, Via
from shared.parsing.text import HREF_END, HREF_START, html_to_stream, text_to_stream
from shared.parsing.urls import Unwrapped, could_matter, split_url, unwrap

MAX_LINKS = 400
MAX_EXAMINED = 1000
MAX_ADDRESSES = 200
MAX_URL = 8192
DETAIL_WINDOW = 600
VTC_WINDOW = 400

_AFTER_SCHEME = re.compile(r"://[^\s<>\"'`\x00-\x1f\x7f]+")
_SCHEME_BEFORE = re.compile(r"(?<![^\W_])(?ai:https?|zoommtg|msteams)\Z")
_DOMAIN_AFTER_AT = re.compile(r"@([A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){1,8})")
_USER_REVERSED = re.compile(r"([A-Za-z0-9._%+-]{1,128})(:pis|:spis)?", re.IGNORECASE)
_USER_READ = 136
"""How far before its ``@`` an address is read: a user of up to 128 characters and ``sips:``."""
_VIDEO_DOMAIN_AT = re.compile(
    "@(?:" + "|".join(f"(?:{pattern.pattern})" for pattern, _, _ in VIDEO_DOMAINS) + ")", re.IGNORECASE | re.ASCII
)
_VIDEO_USER_REVERSED = re.compile(
    r"@(?:[0-9]{128}|[0-9]{1,127}+(?![A-Za-z0-9._%+-])|[A-Za-z0-9._%+-]{1,128}+:s?pis)", re.IGNORECASE
)
_DETAILS = re.compile(
    r"(?=[mpacw])(?:meeting\s*(?:id|number|#\s*:?\s*\d)|pass\s*code|password|access\s*code|"
    r"conference\s*id|webinar\s*id|\bpin\b)",
    re.IGNORECASE,
)
_DETAILS_LOWER = re.compile(_DETAILS.pattern)
"""The same, case-sensitive: on lower-cased text without ``FOLDING`` characters it finds what ``_DETAILS`` finds."""
FOLDING = ("\u0130", "\u0131", "\u017f", "\u212a")
"""The characters outside ASCII that a case-insensitive pattern matches to an ASCII letter."""
_DETAIL_HINTS = ("meeting", "pass", "access", "conference", "webinar", "pin")
"""How each alternative of ``_DETAILS`` starts."""
_VTC_HEADING = re.compile(r"[Jj](?i:oin\s+(?:with|from)\s+a\s+video\s+(?:conferencing\s+)?(?:device|system))")
_TRAILING = ".,;:!?'\"*"
_DELIMITERS = " \t\r\n<>\"'`\x02"
_PAIRS = {")": "(", "]": "[", "}": "{"}
_Reading = tuple[Kind, str, "str | None", tuple[str, ...], "str | None", bool]
_SOURCE_ORDER = {"online_meeting": 0, "location": 1, "body": 2}


def extract_join_info(
    location: str | None, body: str | None, body_type: str = "html", online_meeting_url: str | None = None
) -> JoinInfo:
    """Find the join URL, video address and keyword of one event. Never raises on any input."""
    location = _as_text(location)
    body = _as_text(body)
    keyword, modifier = find_keyword(location)
    streams: list[tuple[Source, str]] = [("location", text_to_stream(location))]
    streams.append(("body", _body_stream(body, body_type)))
    candidates = list(_field_candidates(online_meeting_url))
    for source, stream in streams:
        candidates += _link_candidates(stream, source)
    for source, stream in streams:
        candidates += _address_candidates(stream, source)
    join = _best_join(candidates)
    address = _best_address(candidates)
    provider = join.provider if join else (address.provider if address else None)
    return JoinInfo(
        provider, join.value if join else None, address.value if address else None, keyword, modifier, tuple(candidates)
    )


def _as_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return value if isinstance(value, str) else str(value)


def _body_stream(body: str, body_type: str) -> str:
    """Graph's ``body.contentType`` is "html" or "text"; anything else is read as HTML."""
    return text_to_stream(body) if str(body_type).lower() == "text" else html_to_stream(body)


def _field_candidates(url: str | None) -> Iterator[Candidate]:
    """Graph's ``onlineMeeting.joinUrl``: authoritative when it is a web link, whatever its service."""
    url = _as_text(url).strip()
    parts = split_url(url) if 0 < len(url) <= MAX_URL else None
    if parts is None or parts[0] not in ("http", "https"):
        return
    unwrapped, verdict = _resolved(url, parts)
    if unwrapped.unresolved is None:
        yield Candidate(
            "join_url",
            unwrapped.url,
            verdict.provider if verdict else None,
            "online_meeting",
            "field",
            0,
            wrappers=unwrapped.wrappers,
            found_as=url if unwrapped.wrappers else None,
            usual_shape=bool(verdict and verdict.usual_shape),
        )


def _resolved(raw: str, parts: tuple[str, str, str]) -> tuple[Unwrapped, Verdict | None]:
    """Unwrap ``raw`` and classify the target: (unwrapped, the catalogue's verdict or None)."""
    unwrapped = unwrap(raw, parts)
    if unwrapped.unresolved:
        return unwrapped, None
    inner = unwrapped.parts
    return unwrapped, classify(inner[1], inner[2]) if inner else None


def _link_candidates(stream: str, source: Source) -> list[Candidate]:
    """Every link that some catalogue entry claims (or that a gateway hides), in stream order.

    A join link usually stands twice (href and anchor text) and is read once.
    """
    found: list[Candidate] = []
    readings: dict[str, _Reading | None] = {}
    for examined, (start, end) in enumerate(_url_spans(stream)):
        if len(found) >= MAX_LINKS or examined >= MAX_EXAMINED:
            break
        raw = _trim(stream[start:end])
        if len(raw) > MAX_URL:
            continue
        via: Via = "href" if start > 0 and stream[start - 1] == HREF_START else "text"
        if via == "text" and found and _is_anchor_text(found[-1], stream, start):
            via = "anchor_text"
        reading = readings[raw] if raw in readings else readings.setdefault(raw, _link(raw))
        if reading is not None:
            kind, url, provider, wrappers, found_as, usual = reading
            found.append(
                Candidate(
                    kind, url, provider, source, via, start, wrappers=wrappers, found_as=found_as, usual_shape=usual
                )
            )
    return _corroborate(found, stream) if source == "body" else found


def _is_anchor_text(previous: Candidate, stream: str, start: int) -> bool:
    """A URL shown as the text of an ``<a>`` whose href is a join link: the href speaks for it."""
    if previous.via != "href" or previous.kind != "join_url":
        return False
    end = stream.find(HREF_END, previous.position, start)
    return end != -1 and not stream[end + 1 : start].strip()


def _url_spans(stream: str) -> Iterator[tuple[int, int]]:
    """(start, end) of each URL with a scheme we read, found from its ``://`` (a fast literal search)."""
    for match in _AFTER_SCHEME.finditer(stream):
        at = match.start()
        scheme = _SCHEME_BEFORE.search(stream, max(0, at - 8), at)
        if scheme:
            yield scheme.start(), match.end()


def _trim(url: str) -> str:
    """Drop trailing punctuation and closing brackets that the URL does not open."""
    while url:
        last = url[-1]
        if last in _TRAILING or (last in _PAIRS and url.count(_PAIRS[last]) < url.count(last)):
            url = url[:-1]
        elif last == HREF_END:
            url = url[:-1]
        else:
            break
    return url


def _link(raw: str) -> _Reading | None:
    """What ``raw`` is, wherever it stands: (kind, URL, provider, wrappers removed, text as found, usual shape)."""
    first = split_url(raw)
    if first is None or not could_matter(first[1], first[2]):
        return None
    unwrapped, verdict = _resolved(raw, first)
    if unwrapped.unresolved:
        return "wrapped_unresolved", raw, None, (unwrapped.unresolved,), None, False
    if verdict is None:
        return None
    return (
        "join_url" if verdict.kind == "join" else "non_join",
        unwrapped.url,
        verdict.provider,
        unwrapped.wrappers,
        raw if unwrapped.wrappers else None,
        verdict.usual_shape,
    )


def _corroborate(found: list[Candidate], stream: str) -> list[Candidate]:
    """R3: mark body join links followed by their own meeting details."""
    joins = [c for c in found if c.kind == "join_url" and c.via != "anchor_text"]
    marked: set[int] = set()
    for i, link in enumerate(joins):
        start = link.position + len(link.found_as or link.value)
        following = next(
            (c.position for c in joins[i + 1 :] if c.value != link.value and not _same_meeting(c.value, link.value)),
            len(stream),
        )
        if _has_details(stream[start : min(following, start + DETAIL_WINDOW)].lower()):
            marked.add(id(link))
    return [c._replace(corroborated=True) if id(c) in marked else c for c in found]


def _has_details(window: str) -> bool:
    """Whether a lower-cased window holds meeting details (``_DETAILS``).

    Each of its alternatives starts with one of ``_DETAIL_HINTS``, so the pattern is only tried
    where a hint stands, not at every letter of the window.
    """
    if any(map(window.__contains__, FOLDING)):
        return _DETAILS.search(window) is not None
    for hint in _DETAIL_HINTS:
        at = window.find(hint)
        while at != -1:
            if _DETAILS_LOWER.match(window, at):
                return True
            at = window.find(hint, at + 1)
    return False


def _same_meeting(a: str, b: str) -> bool:
    """One URL is the other, or extends it with a query, fragment or path tail."""
    short, long = sorted((a, b), key=len)
    return long == short or (long.startswith(short) and long[len(short)] in "?&#/")


def _best_join(candidates: list[Candidate]) -> Candidate | None:
    joins = [c for c in candidates if c.kind == "join_url" and c.via != "anchor_text"]
    if not joins:
        return None
    best = min(joins, key=_rank)
    if best.source == "online_meeting":
        return best
    if _is_app(best):
        web = [c for c in joins if not _is_app(c) and c.provider == best.provider]
        best = min(web, key=_rank) if web else best
    extensions = [
        c
        for c in joins
        if c.value != best.value
        and _same_meeting(c.value, best.value)
        and len(c.value) > len(best.value)
        and _is_app(c) == _is_app(best)
    ]
    return max(extensions, key=lambda c: len(c.value)) if extensions else best


def _rank(candidate: Candidate) -> tuple[int, bool, int]:
    return _SOURCE_ORDER[candidate.source], not candidate.corroborated, candidate.position


def _is_app(candidate: Candidate) -> bool:
    return candidate.value.split(":", 1)[0].lower() in APP_SCHEMES


def _address_candidates(stream: str, source: Source) -> list[Candidate]:
    domains = list(islice(_DOMAIN_AFTER_AT.finditer(stream), MAX_EXAMINED))
    if not domains:
        return []
    headings = _headings(stream) if "ideo" in stream or "IDEO" in stream else []
    plausible = _plausible(stream, domains[-1].start(), headings)
    found: list[Candidate] = []
    for domain in domains:
        at = domain.start()
        user = _user_before(stream, at) if at in plausible else None
        if user is None:
            continue
        candidate = _address(stream, user, domain, source, headings)
        if candidate is not None and not _inside_url(stream, user[0]):
            found.append(candidate)
            if len(found) >= MAX_ADDRESSES:
                break
    return found


def _headings(stream: str) -> list[int]:
    """Where each video-device heading ends, in order; at most ``MAX_EXAMINED``.

    The pattern is tried only where a ``j`` or ``J`` stands (its first letter), not at every
    character, and at most at ``MAX_EXAMINED * 20`` of them.
    """
    ends: list[int] = []
    starts = sorted(at for letter in "jJ" for at in _all(stream, letter, limit=MAX_EXAMINED * 20))
    for at in starts[: MAX_EXAMINED * 20]:
        match = _VTC_HEADING.match(stream, at)
        if match:
            ends.append(match.end())
    return ends[:MAX_EXAMINED]


def _all(text: str, letter: str, start: int = 0, stop: int | None = None, *, limit: int) -> Iterator[int]:
    """Positions of ``letter`` in ``text[start:stop]``, at most ``limit`` of them."""
    stop = len(text) if stop is None else stop
    at = text.find(letter, start, stop)
    while at != -1 and limit > 0:
        yield at
        at, limit = text.find(letter, at + 1, stop), limit - 1


def _plausible(stream: str, last: int, headings: list[int]) -> set[int]:
    """Positions up to ``last`` of the ``@`` that could make a video address, found without per-address work.

    The video-address rule takes an address whose user is all digits or carries ``sip:``, whose domain is a video
    domain, or that stands in a video-device section; most addresses in an invitation are
    people's and are none of these.
    """
    ats = _video_users(stream[: last + 1])
    for match in _VIDEO_DOMAIN_AT.finditer(stream):
        if match.start() > last:
            break
        ats.add(match.start())
    for end in headings:
        ats.update(_all(stream, "@", end, min(last, end + VTC_WINDOW + _USER_READ) + 1, limit=MAX_EXAMINED))
    return ats


def _video_users(stream: str) -> set[int]:
    """Positions of the ``@`` whose user part is all digits or carries ``sip:``, found in one pass.

    The same reading as ``_user_before``: the reversed text, anchored at the ``@``.
    """
    end = len(stream) - 1
    return {end - match.start() for match in _VIDEO_USER_REVERSED.finditer(stream[::-1])}


def _user_before(stream: str, at: int) -> tuple[int, str | None, str] | None:
    """(start, "sip:"/"sips:" or None, user part) ending at ``at``; matched on the reversed text, anchored at '@'."""
    match = _USER_REVERSED.match(stream[max(0, at - _USER_READ) : at][::-1])
    if match is None:
        return None
    prefix = match.group(2)[::-1] if match.group(2) else None
    return at - match.end(), prefix, match.group(1)[::-1]


def _inside_url(stream: str, position: int) -> bool:
    """Whether the whitespace-delimited token around ``position`` is a URL (an address in a query is no address)."""
    low = max(0, position - MAX_URL)
    start = max(stream.rfind(c, low, position) for c in _DELIMITERS) + 1
    return "://" in stream[max(start, low) : position]


def _address(
    stream: str, user: tuple[int, str | None, str], at: re.Match[str], source: Source, headings: list[int]
) -> Candidate | None:
    """A video address by the video-address rule: sip: prefix, all-digit user, known video domain, or a VTC section."""
    start, explicit, name = user
    domain = at.group(1).rstrip(".")
    before = stream[start - 1] if start > 0 else " "
    if before.isalnum() or before in "._%+-" or stream[max(0, start - 7) : start].lower() == "mailto:":
        return None
    known = video_domain(domain.lower())
    in_section = any(0 <= start - end <= VTC_WINDOW for end in headings)
    if not (explicit or name.isdigit() or known or in_section):
        return None
    provider = known[0] if known else ("teams" if in_section else "sip")
    rank = known[1] if known else 0
    return Candidate(
        "video_address",
        f"{name}@{domain}",
        provider,
        source,
        "text",
        start,
        corroborated=rank == 0,
        found_as=f"{explicit}{name}{at.group(0)}" if explicit else None,
    )


def _best_address(candidates: list[Candidate]) -> Candidate | None:
    addresses = [c for c in candidates if c.kind == "video_address"]
    if not addresses:
        return None
    return min(addresses, key=lambda c: (_SOURCE_ORDER[c.source], not c.corroborated, c.position))
