"""Which platform each keyword uses and which kind of meeting each modifier makes, per tenant.

Defaults, when a tenant has set nothing: both ``@webex`` and ``@meet`` use the built-in platform;
no modifier and ``:onetime`` make a scheduled meeting, ``:myroom`` the organizer's personal room,
``:space`` a space. A tenant that sets ``webex`` for a keyword also stores the Webex access
token it is scheduled with (sealed, like every secret of a tenant).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from shared.errors import ValidationError
from shared.platforms.base import KINDS, MeetingKind

PLATFORMS = ("builtin", "webex")
KEYWORDS = ("@webex", "@meet")
MODIFIER_NAMES = ("", "onetime", "myroom", "space")
DEFAULT_MODIFIERS: Mapping[str, MeetingKind] = {"": "scheduled", "onetime": "scheduled", "myroom": "personal_room",
                                                "space": "space"}


@dataclass(frozen=True)
class SchedulingConfig:
    """A tenant's keyword configuration."""

    keywords: Mapping[str, str] = field(default_factory=lambda: {"@webex": "builtin", "@meet": "builtin"})
    modifiers: Mapping[str, MeetingKind] = field(default_factory=lambda: dict(DEFAULT_MODIFIERS))
    webex_token: str | None = None

    def platform_of(self, keyword: str) -> str:
        return self.keywords.get(keyword, "builtin")

    def kind_of(self, modifier: str | None) -> MeetingKind:
        return self.modifiers.get(modifier or "", "scheduled")

    def to_json(self) -> str:
        return json.dumps({"keywords": dict(self.keywords), "modifiers": dict(self.modifiers),
                           "webexToken": self.webex_token})

    def public(self) -> dict[str, Any]:
        """What the admin API shows: never the token, only whether one is set."""
        return {"keywords": dict(self.keywords), "modifiers": dict(self.modifiers),
                "webexToken": "set" if self.webex_token else None}


def parse_config(document: Any, *, current: SchedulingConfig | None = None) -> SchedulingConfig:
    """A configuration from an admin's JSON; ValidationError naming what is wrong. Omitted parts keep
    their current value (so the token need not be sent again)."""
    current = current or SchedulingConfig()
    if not isinstance(document, dict) or set(document) - {"keywords", "modifiers", "webexToken"}:
        raise ValidationError("body must be an object with keywords, modifiers and/or webexToken")
    keywords = {**current.keywords, **_mapping(document.get("keywords", {}), "keywords", KEYWORDS, PLATFORMS)}
    modifiers = {**current.modifiers, **_mapping(document.get("modifiers", {}), "modifiers", MODIFIER_NAMES, KINDS)}
    token = document.get("webexToken", current.webex_token)
    if token is not None and (not isinstance(token, str) or not token.strip()):
        raise ValidationError("webexToken must be a non-empty string, or null to remove it")
    if "webex" in keywords.values() and not token:
        raise ValidationError("a keyword uses webex, so webexToken (a Webex access token with "
                              "meeting:admin_schedule_write) is needed")
    return SchedulingConfig(keywords, modifiers, token)  # type: ignore[arg-type]


def _mapping(value: Any, name: str, keys: tuple[str, ...], values: tuple[str, ...]) -> dict[str, str]:
    if not isinstance(value, dict) or any(k not in keys or v not in values for k, v in value.items()):
        raise ValidationError(f"{name} maps {', '.join(repr(k) for k in keys)} to one of {', '.join(values)}")
    return dict(value)


def load_config(text: str | None) -> SchedulingConfig:
    if not text:
        return SchedulingConfig()
    data = json.loads(text)
    return SchedulingConfig(data["keywords"], data["modifiers"], data.get("webexToken"))
