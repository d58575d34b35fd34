"""What join-info detection returns: an immutable result and every candidate it weighed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

Kind = Literal["join_url", "video_address", "non_join", "wrapped_unresolved"]
Source = Literal["online_meeting", "location", "body"]
Via = Literal["href", "text", "anchor_text", "field"]


class Candidate(NamedTuple):
    """One link or address found, where it came from, and what the rules made of it.

    A named tuple rather than a frozen dataclass: a body yields a dozen of them, and a frozen
    dataclass costs about three times as much to build (2.4 against 0.9 us).

    ``via`` is "href" for an ``<a href>``, "text" for visible text, "anchor_text" for
    the visible text of an ``<a>`` whose href is itself a join link (the href is
    ranked, its text is not), "field" for ``online_meeting_url``; ``wrappers``
    lists the protection layers removed (outermost first); ``corroborated`` is R3
    (meeting details such as an ID or passcode follow the link); ``usual_shape`` says a join
    link's id has the shape its service usually gives (reported, never required, never ranked:
    an unrelated signature link with a tidy id must not displace an older-style meeting id).
    """

    kind: Kind
    value: str
    provider: str | None
    source: Source
    via: Via
    position: int
    corroborated: bool = False
    wrappers: tuple[str, ...] = ()
    found_as: str | None = None
    usual_shape: bool = False


@dataclass(frozen=True)
class JoinInfo:
    """The contract of ``extract_join_info``."""

    provider: str | None
    join_url: str | None
    sip_uri: str | None
    keyword: str | None
    keyword_modifier: str | None
    candidates: tuple[Candidate, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "join_url": self.join_url,
            "sip_uri": self.sip_uri,
            "keyword": self.keyword,
            "keyword_modifier": self.keyword_modifier,
            "candidates": [c._asdict() for c in self.candidates],
        }
