"""What join-info detection returns: an immutable result and every candidate it weighed."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

Kind = Literal["join_url", "video_address", "non_join", "wrapped_unresolved"]
Source = Literal["online_meeting", "location", "body"]


@dataclass(frozen=True)
class Candidate:
    """One link or address found, where it came from, and what the rules made of it.

    ``via`` is "href" for an ``<a href>``, "text" for visible text, "anchor_text" for
    the visible text of an ``<a>`` whose href is itself a join link (the href is
    ranked, its text is not), "field" for ``online_meeting_url``; ``wrappers``
    lists the protection layers removed (outermost first); ``corroborated`` is R3
    (meeting details such as an ID or passcode follow the link).
    """

    kind: Kind
    value: str
    provider: str | None
    source: Source
    via: Literal["href", "text", "anchor_text", "field"]
    position: int
    corroborated: bool = False
    wrappers: tuple[str, ...] = ()
    found_as: str | None = None


@dataclass(frozen=True)
class JoinInfo:
    """The contract of ``extract_join_info`` (DESIGN.md; reference/joinlinks.md §5)."""

    provider: str | None
    join_url: str | None
    sip_uri: str | None
    keyword: str | None
    keyword_modifier: str | None
    candidates: tuple[Candidate, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
