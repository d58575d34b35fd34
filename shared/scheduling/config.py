"""Which platform each keyword uses and which kind of meeting each modifier makes, per tenant.

Defaults, when a tenant has set nothing: both ``@webex`` and ``@meet`` use the built-in platform;
no modifier and ``:onetime`` make a scheduled meeting, ``:myroom`` the organizer's personal room,
``:space`` a space. A tenant that sets ``webex`` for a keyword also sets its Webex Service App
(``webex``: client id and secret, a refresh token, optionally the organization's ``siteUrl``,
and ``checkHost``, a licensed host the configuration is checked with). The secret is sealed
like every secret of a tenant; the token pair is kept apart (``webex_auth``), because it
changes at every refresh.
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
MAX_CREDENTIAL_CHARS = 4096
_SITE = re.compile(r"(?=.{4,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}")
_ADDRESS = re.compile(r"[^@\s\x00-\x1f]{1,64}@[^@\s\x00-\x1f]{1,255}")
_LANGUAGE = re.compile(r"[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8}){0,2}")
DEFAULT_MODIFIERS: Mapping[str, MeetingKind] = {
    "": "scheduled",
    "onetime": "scheduled",
    "myroom": "personal_room",
    "space": "space",
}


@dataclass(frozen=True)
class WebexConfig:
    """A tenant's Webex Service App: its client credentials, the organization's default site, and which
    scopes the last configuration check found (``checked`` is when)."""

    client_id: str
    client_secret: str
    site_url: str | None = None
    scopes: tuple[str, ...] = ()
    checked: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "clientId": self.client_id,
            "clientSecret": self.client_secret,
            "siteUrl": self.site_url,
            "scopes": list(self.scopes),
            "checked": self.checked,
        }

    def public(self) -> dict[str, Any]:
        return {
            "clientId": self.client_id,
            "clientSecret": "set",
            "siteUrl": self.site_url,
            "scopes": list(self.scopes),
            "checked": self.checked,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> WebexConfig:
        return cls(
            data["clientId"],
            data["clientSecret"],
            data.get("siteUrl"),
            tuple(data.get("scopes") or ()),
            data.get("checked"),
        )


@dataclass(frozen=True)
class WebexSetup:
    """New Service App credentials an admin sent: checked against Webex before anything is stored."""

    client_id: str
    client_secret: str
    refresh_token: str = field(repr=False)
    check_host: str = field(repr=False)
    site_url: str | None = None


@dataclass(frozen=True)
class SchedulingConfig:
    """A tenant's keyword configuration."""

    keywords: Mapping[str, str] = field(default_factory=lambda: {"@webex": "builtin", "@meet": "builtin"})
    modifiers: Mapping[str, MeetingKind] = field(default_factory=lambda: dict(DEFAULT_MODIFIERS))
    webex_token: str | None = None
    templates: Mapping[str, str] = field(default_factory=dict)
    language_templates: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    """Templates by language tag (``de``, ``fr-CA``), for organizers whose mailbox uses that language."""
    webex: WebexConfig | None = None
    """The Service App; ``webex_token`` is a single access token kept from configurations made before it."""

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
        return json.dumps(
            {
                "keywords": dict(self.keywords),
                "modifiers": dict(self.modifiers),
                "webexToken": self.webex_token,
                "templates": dict(self.templates),
                "languageTemplates": {k: dict(v) for k, v in self.language_templates.items()},
                "webex": self.webex.to_json() if self.webex else None,
            }
        )

    def public(self) -> dict[str, Any]:
        """What the admin API shows: never a secret or token, only whether one is set."""
        return {
            "keywords": dict(self.keywords),
            "modifiers": dict(self.modifiers),
            "webexToken": "set" if self.webex_token else None,
            "templates": dict(self.templates),
            "languageTemplates": {k: dict(v) for k, v in self.language_templates.items()},
            "webex": self.webex.public() if self.webex else None,
        }


def parse_config(
    document: Any, *, current: SchedulingConfig | None = None
) -> tuple[SchedulingConfig, WebexSetup | None]:
    """A configuration from an admin's JSON, and the new Webex credentials to check before it is stored (None
    when none were sent); ValidationError naming what is wrong. Omitted parts keep their current value (so the
    secret need not be sent again)."""
    current = current or SchedulingConfig()
    if not isinstance(document, dict) or set(document) - {
        "keywords",
        "modifiers",
        "webex",
        "webexToken",
        "templates",
        "languageTemplates",
    }:
        raise ValidationError(
            "body must be an object with keywords, modifiers, webex, templates and/or languageTemplates"
        )
    keywords = {**current.keywords, **_mapping(document.get("keywords", {}), "keywords", KEYWORDS, PLATFORMS)}
    modifiers = {**current.modifiers, **_mapping(document.get("modifiers", {}), "modifiers", MODIFIER_NAMES, KINDS)}
    token = current.webex_token
    if "webexToken" in document:
        if document["webexToken"] is not None:
            raise ValidationError(
                "webexToken (a single access token) is no longer accepted: set webex with a Service "
                "App's clientId, clientSecret, refreshToken and a checkHost"
            )
        token = None
    webex, setup = _webex(document["webex"], current.webex) if "webex" in document else (current.webex, None)
    if webex is None and setup is None:
        token = None if "webex" in document else token
    if "webex" in keywords.values() and webex is None and setup is None and not token:
        raise ValidationError(
            "a keyword uses webex, so webex (a Service App's clientId, clientSecret, refreshToken "
            "and a checkHost) is needed"
        )
    templates = {**current.templates, **_templates(document.get("templates", {}))}
    languages = _language_templates(document.get("languageTemplates", {}), current.language_templates)
    config = SchedulingConfig(
        keywords,
        modifiers,  # type: ignore[arg-type]
        token,
        {k: v for k, v in templates.items() if v},
        languages,
        webex,
    )
    return config, setup


def _webex(value: Any, current: WebexConfig | None) -> tuple[WebexConfig | None, WebexSetup | None]:
    """``webex`` of a configuration: null removes it; ``siteUrl`` alone changes the site; new credentials come
    whole (clientId, clientSecret, refreshToken, checkHost) and are checked before they are kept."""
    if value is None:
        return None, None
    names = {"clientId", "clientSecret", "refreshToken", "checkHost", "siteUrl"}
    if not isinstance(value, dict) or not value or set(value) - names:
        raise ValidationError(
            "webex must be null or an object with clientId, clientSecret, refreshToken, checkHost and/or siteUrl"
        )
    site = _site(value["siteUrl"]) if "siteUrl" in value else (current.site_url if current else None)
    if set(value) == {"siteUrl"}:
        if current is None:
            raise ValidationError("webex needs clientId, clientSecret, refreshToken and checkHost before a siteUrl")
        return WebexConfig(current.client_id, current.client_secret, site, current.scopes, current.checked), None
    credentials = {name: value.get(name) for name in ("clientId", "clientSecret", "refreshToken", "checkHost")}
    for name, given in credentials.items():
        if (
            not isinstance(given, str)
            or not given.strip()
            or len(given) > MAX_CREDENTIAL_CHARS
            or any(ord(c) < 32 or c.isspace() for c in given.strip())
        ):
            raise ValidationError(
                f"webex.{name} is needed: a non-empty string of at most {MAX_CREDENTIAL_CHARS} "
                "characters without spaces"
            )
    if not _ADDRESS.fullmatch(credentials["checkHost"] or ""):
        raise ValidationError("webex.checkHost must be the email address of a Webex Meetings host of the organization")
    return None, WebexSetup(
        str(credentials["clientId"]).strip(),
        str(credentials["clientSecret"]).strip(),
        str(credentials["refreshToken"]).strip(),
        str(credentials["checkHost"]).strip(),
        site,
    )


def _site(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not _SITE.fullmatch(value.strip().lower()):
        raise ValidationError("webex.siteUrl must be a Webex site's host name, such as contoso.webex.com, or null")
    return value.strip().lower()


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
    webex = WebexConfig.from_json(data["webex"]) if data.get("webex") else None
    return SchedulingConfig(
        data["keywords"],
        data["modifiers"],
        data.get("webexToken"),
        data.get("templates") or {},
        data.get("languageTemplates") or {},
        webex,
    )
