"""Scheduling keywords typed into Location: ``@webex`` / ``@meet`` with an optional modifier.

Grammar: a standalone token, case-insensitive, not
preceded by a word character, ``.``, ``@`` or ``-`` and not followed by one (so
``team@webex.com`` is an address, not a keyword); an optional ``:space``,
``:myroom`` or ``:onetime`` modifier. ``@webex:other`` is not a keyword: an
unknown modifier is a typo we must not act on. The first keyword wins.
"""

from __future__ import annotations

import re

_KEYWORD = re.compile(r"(?<![\w.@-])@(webex|meet)(?::([A-Za-z]+))?(?![\w.@-])", re.IGNORECASE)
MODIFIERS = ("space", "myroom", "onetime")


def find_keyword(location: str) -> tuple[str | None, str | None]:
    """(lower-case keyword, lower-case modifier) of the first valid keyword in ``location``."""
    match = _first(location)
    if match is None:
        return None, None
    return "@" + match.group(1).lower(), match.group(2).lower() if match.group(2) else None


def keyword_span(location: str) -> tuple[int, int] | None:
    """Where the first valid keyword (with its modifier) stands in ``location``: what scheduling replaces."""
    match = _first(location)
    return match.span() if match else None


def _first(location: str) -> re.Match[str] | None:
    for match in _KEYWORD.finditer(location):
        if match.group(2) is None or match.group(2).lower() in MODIFIERS:
            return match
    return None
