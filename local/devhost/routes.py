"""Route templates of HTTP triggers, matched the way ASP.NET Core routing does.

Supported: literal segments (case-insensitive), ``{name}``, ``{name?}`` (optional,
last segments), ``{*name}`` (catch-all) and the constraints ``int``, ``long``,
``double``, ``bool``, ``guid``, ``alpha``. An unknown constraint is an error at
start-up rather than a route that silently never matches. When several templates
match, the most specific wins: literals before constrained parameters before plain
ones before optional and catch-all ones.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Generic, TypeVar
from urllib.parse import unquote

from shared.errors import ConfigError

T = TypeVar("T")

_CONSTRAINTS = {
    "int": r"-?\d+",
    "long": r"-?\d+",
    "double": r"-?\d+(?:\.\d+)?",
    "bool": r"(?i:true|false)",
    "guid": r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}",
    "alpha": r"[A-Za-z]+",
}
_PARAM = re.compile(r"^\{(\*)?([A-Za-z_][A-Za-z0-9_]*)(?::([a-z]+))?(\?)?\}$")


@dataclass(frozen=True)
class Route(Generic[T]):
    """A compiled template and what it routes to."""

    template: str
    pattern: re.Pattern[str]
    specificity: tuple[int, ...]
    target: T


def compile_route(template: str, target: T) -> Route[T]:
    """Compile ``rooms/{room}/meetings`` into a regex with named groups."""
    parts, rank = [], []
    for segment in template.strip("/").split("/") if template.strip("/") else []:
        regex, score = _segment(segment, template)
        parts.append(regex)
        rank.append(score)
    body = "".join(parts)
    return Route(template, re.compile(f"^{body}/?$", re.IGNORECASE), tuple(rank), target)


def _segment(segment: str, template: str) -> tuple[str, int]:
    match = _PARAM.match(segment)
    if not match:
        if "{" in segment or "}" in segment:
            raise ConfigError([(f"route {template!r}", segment, "a literal or a {name[:constraint][?]} segment")])
        return "/" + re.escape(segment), 0
    catch_all, name, constraint, optional = match.groups()
    if constraint and constraint not in _CONSTRAINTS:
        raise ConfigError([(f"route {template!r}", constraint, "one of " + ", ".join(_CONSTRAINTS))])
    value = ".*" if catch_all else _CONSTRAINTS.get(constraint or "", "[^/]+")
    if catch_all or optional:
        return f"(?:/(?P<{name}>{value}))?", 4 if catch_all else 3
    return f"/(?P<{name}>{value})", 1 if constraint else 2


def match_route(routes: list[Route[T]], path: str) -> list[tuple[Route[T], dict[str, str]]]:
    """Every route matching ``path`` (no leading prefix), most specific first, with decoded params."""
    found = []
    for route in routes:
        hit = route.pattern.match("/" + path.strip("/") if path.strip("/") else "")
        if hit:
            params = {k: unquote(v) for k, v in hit.groupdict().items() if v is not None}
            found.append((route, params))
    return sorted(found, key=lambda pair: pair[0].specificity)
