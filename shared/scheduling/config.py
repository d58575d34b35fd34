"""Which platform each keyword uses and which kind of meeting each modifier makes, per tenant.

Defaults, when a tenant has set nothing: both ``@webex`` and ``@meet`` use the built-in platform;
no modifier and ``:onetime`` make a scheduled meeting, ``:myroom`` the organizer's personal room,
``:space`` a space. A tenant that sets ``webex`` for a keyword also stores the Webex access
token it is scheduled with (sealed, like every secret of a tenant).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from shared.errors import ValidationError
from shared.platforms.base import KINDS, MeetingKind

PLATFORMS = ("builtin", "webex")
KEYWORDS = ("@webex", "@meet")
MODIFIER_NAMES = ("", "onetime", "myroom", "space")
MAX_TEMPLATE_CHARS = 8192
MAX_LANGUAGES = 40
_LANGUAGE = re.compile(r"[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8}){0,2}")
DEFAULT_MODIFIERS: Mapping[str, MeetingKind] = {"": "scheduled", "onetime": "scheduled", "myroom": "personal_room",
                                                "space": "space"}


@dataclass(frozen=True)
class SchedulingConfig:
    """A tenant's keyword configuration."""

    keywords: Mapping[str, str] = field(default_factory=lambda: {"@webex": "builtin", "@meet": "builtin"})
    modifiers: Mapping[str, MeetingKind] = field(default_factory=lambda: dict(DEFAULT_MODIFIERS))
    webex_token: str | None = None
    templates: Mapping[str, str] = field(default_factory=dict)
    language_templates: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    """Templates by language tag (``de``, ``fr-CA``), for organizers whose mailbox uses that language."""

    def templates_for(self, locale: str | None) -> Mapping[str, str]:
        """The organizer's language's templates (``de-DE`` matches ``de-DE``, then ``de``), else the default."""
        held = {tag.lower(): templates for tag, templates in self.language_templates.items()}
        for tag in ((locale or "").lower(), (locale or "").lower().partition("-")[0]):
            if tag and tag in held:
                return held[tag]
        return self.templates

    def platform_of(self, keyword: str) -> str:
        return self.keywords.get(keyword, "builtin")

    def kind_of(self, modifier: str | None) -> MeetingKind:
        return self.modifiers.get(modifier or "", "scheduled")

    def to_json(self) -> str:
        return json.dumps({"keywords": dict(self.keywords), "modifiers": dict(self.modifiers),
                           "webexToken": self.webex_token, "templates": dict(self.templates),
                           "languageTemplates": {k: dict(v) for k, v in self.language_templates.items()}})

    def public(self) -> dict[str, Any]:
        """What the admin API shows: never the token, only whether one is set."""
        return {"keywords": dict(self.keywords), "modifiers": dict(self.modifiers),
                "webexToken": "set" if self.webex_token else None, "templates": dict(self.templates),
                "languageTemplates": {k: dict(v) for k, v in self.language_templates.items()}}


def parse_config(document: Any, *, current: SchedulingConfig | None = None) -> SchedulingConfig:
    """A configuration from an admin's JSON; ValidationError naming what is wrong. Omitted parts keep
    their current value (so the token need not be sent again)."""
    current = current or SchedulingConfig()
    if not isinstance(document, dict) or set(document) - {"keywords", "modifiers", "webexToken", "templates",
                                                          "languageTemplates"}:
        raise ValidationError("body must be an object with keywords, modifiers, webexToken, templates and/or "
                              "languageTemplates")
    keywords = {**current.keywords, **_mapping(document.get("keywords", {}), "keywords", KEYWORDS, PLATFORMS)}
    modifiers = {**current.modifiers, **_mapping(document.get("modifiers", {}), "modifiers", MODIFIER_NAMES, KINDS)}
    token = document.get("webexToken", current.webex_token)
    if token is not None and (not isinstance(token, str) or not token.strip()):
        raise ValidationError("webexToken must be a non-empty string, or null to remove it")
    if "webex" in keywords.values() and not token:
        raise ValidationError("a keyword uses webex, so webexToken (a Webex access token with "
                              "meeting:admin_schedule_write) is needed")
    templates = {**current.templates, **_templates(document.get("templates", {}))}
    languages = _language_templates(document.get("languageTemplates", {}), current.language_templates)
    return SchedulingConfig(keywords, modifiers, token, {k: v for k, v in templates.items() if v},  # type: ignore[arg-type]
                            languages)


def _language_templates(value: Any, current: Mapping[str, Mapping[str, str]]) -> dict[str, dict[str, str]]:
    """``{"de": {"html": ..., "text": ...}}`` merged into what is held; a language mapped to null is removed."""
    if not isinstance(value, dict):
        raise ValidationError("languageTemplates maps language tags (de, fr-CA) to templates, or null to remove one")
    held = {tag: dict(templates) for tag, templates in current.items()}
    for tag, templates in value.items():
        if not isinstance(tag, str) or not _LANGUAGE.fullmatch(tag):
            raise ValidationError("languageTemplates keys must be language tags such as de, pt-BR or zh-Hant-TW")
        known = next((k for k in held if k.lower() == tag.lower()), tag)
        if templates is None:
            held.pop(known, None)
            continue
        merged = {k: v for k, v in {**held.get(known, {}), **_templates(templates)}.items() if v}
        if merged:
            held[known] = merged
        else:
            held.pop(known, None)
    if len(held) > MAX_LANGUAGES:
        raise ValidationError(f"languageTemplates may hold at most {MAX_LANGUAGES} languages")
    return held


def _templates(value: Any) -> dict[str, str]:
    """``{"html": ..., "text": ...}``; a null or empty template goes back to the default block."""
    from shared.scheduling.blocks import check_template

    if not isinstance(value, dict) or set(value) - {"html", "text"}:
        raise ValidationError("templates maps 'html' and/or 'text' to a template (or null for the default)")
    for name, text in value.items():
        if text is None or text == "":
            continue
        if not isinstance(text, str) or len(text) > MAX_TEMPLATE_CHARS:
            raise ValidationError(f"templates.{name} must be text of at most {MAX_TEMPLATE_CHARS} characters")
        problem = check_template(text)
        if problem:
            raise ValidationError(f"templates.{name}: {problem}")
    return {name: text or "" for name, text in value.items()}


def _mapping(value: Any, name: str, keys: tuple[str, ...], values: tuple[str, ...]) -> dict[str, str]:
    if not isinstance(value, dict) or any(k not in keys or v not in values for k, v in value.items()):
        raise ValidationError(f"{name} maps {', '.join(repr(k) for k in keys)} to one of {', '.join(values)}")
    return dict(value)


def load_config(text: str | None) -> SchedulingConfig:
    if not text:
        return SchedulingConfig()
    data = json.loads(text)
    return SchedulingConfig(data["keywords"], data["modifiers"], data.get("webexToken"), data.get("templates") or {},
                            data.get("languageTemplates") or {})
