"""A tenant's Webex Service App tokens: used until shortly before they expire, refreshed, and stored.

Webex's way for a service that schedules for a whole organization is a Service App: a full admin
authorizes it in Control Hub, which gives an access token (valid 14 days) and a refresh token
(valid 90 days). ``POST /v1/access_token`` with ``grant_type=refresh_token`` and the app's client
id and secret gives a new access token. Observed behaviour this module relies on:

* The answer carries the *same* refresh token, with less of its lifetime left: using it does not
  extend it. Before it runs out an admin must authorize the app again; the tenant's scheduling
  status says when (:func:`grant_status`).
* An access token refreshed away stays valid until its own expiry, so two workers refreshing at
  once both hold a working token; the last one stored wins and nothing is lost.
* A refused refresh (revoked in Control Hub, expired, a re-created app) is 400 ``invalid_grant``
  or 401 ``invalid_client``. The grant is then stored as refused, so that every worker stops
  calling the token endpoint and the status shows it, until an admin sets a new token pair.

An access token is refreshed when less than :data:`REFRESH_MARGIN` of it is left, and once after
a 401 (a token revoked or expired early), never in a loop.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Protocol

from shared.errors import (
    DependencyUnavailableError,
    ReauthorizationRequiredError,
    ServiceErrorDetails,
    WebexReauthorizationRequiredError,
)
from shared.timezones import utc_text, utcnow

REFRESH_MARGIN = timedelta(hours=1)
EXPIRING_WITHIN = timedelta(days=14)
"""A refresh token with less than this left is shown as expiring in the tenant's scheduling status."""


@dataclass(frozen=True)
class ServiceApp:
    """The Service App's client credentials (sealed with the tenant's configuration)."""

    client_id: str
    client_secret: str = ""


@dataclass(frozen=True)
class WebexGrant:
    """A token pair as stored (sealed); ``refused`` holds the token endpoint's error once a refresh failed."""

    access_token: str
    access_expires: datetime
    refresh_token: str
    refresh_expires: datetime | None = None
    refused: str | None = None

    def to_json(self) -> str:
        values = asdict(self)
        for name in ("access_expires", "refresh_expires"):
            values[name] = values[name].isoformat() if values[name] else None
        return json.dumps(values)

    @classmethod
    def from_json(cls, text: str) -> WebexGrant:
        values = json.loads(text)
        for name in ("access_expires", "refresh_expires"):
            values[name] = datetime.fromisoformat(values[name]) if values.get(name) else None
        return cls(**values)


def needs_refresh(grant: WebexGrant, now: datetime) -> bool:
    return grant.access_expires - now < REFRESH_MARGIN


def grant_status(grant: WebexGrant | None, now: datetime) -> dict[str, Any] | None:
    """What an admin sees of the tokens (never the tokens): state and expiries."""
    if grant is None:
        return None
    state = "refused" if grant.refused else "ok"
    if state == "ok" and grant.refresh_expires is not None and grant.refresh_expires - now < EXPIRING_WITHIN:
        state = "expiring" if grant.refresh_expires > now else "expired"
    return {
        "state": state,
        "refusedWith": grant.refused,
        "accessExpires": utc_text(grant.access_expires),
        "refreshExpires": utc_text(grant.refresh_expires) if grant.refresh_expires else None,
    }


def grant_from_answer(answer: dict[str, Any], now: datetime) -> WebexGrant:
    """A token answer as a grant: ``expires_in`` and ``refresh_token_expires_in`` are seconds from now."""
    try:
        refresh_in = answer.get("refresh_token_expires_in")
        return WebexGrant(
            str(answer["access_token"]),
            now + timedelta(seconds=float(answer["expires_in"])),
            str(answer["refresh_token"]),
            now + timedelta(seconds=float(refresh_in)) if refresh_in is not None else None,
        )
    except (KeyError, TypeError, ValueError):
        raise DependencyUnavailableError("webex token refresh: the answer is not a token pair") from None


class TokenSource(Protocol):
    """Where a Webex client gets its bearer token, and a fresh one after a 401."""

    def token(self) -> str: ...

    def after_unauthorized(self, stale: str) -> str: ...


class StaticToken:
    """One access token and nothing to refresh it with (a configuration from before Service Apps)."""

    def __init__(self, token: str) -> None:
        self._token = token

    def token(self) -> str:
        return self._token

    def after_unauthorized(self, stale: str) -> str:
        raise ReauthorizationRequiredError(
            "webex: the tenant's Webex access token was refused (HTTP 401) and there is no refresh token to renew it"
        )


Refresher = Callable[[ServiceApp, str], dict[str, Any]]
"""Calls the token endpoint: the token answer, or WebexReauthorizationRequiredError when refused."""


class ServiceAppTokens:
    """One tenant's Service App tokens; ``load`` and ``save`` read and write the stored grant."""

    def __init__(
        self,
        app: ServiceApp,
        *,
        load: Callable[[], WebexGrant | None],
        save: Callable[[WebexGrant], None],
        refresher: Refresher,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.app, self._load, self._save, self._refresher, self._clock = app, load, save, refresher, clock

    def token(self) -> str:
        grant = self._grant()
        return self._refresh(grant).access_token if needs_refresh(grant, self._clock()) else grant.access_token

    def after_unauthorized(self, stale: str) -> str:
        """A fresh token after ``stale`` was refused: one another worker stored meanwhile, or a refresh."""
        grant = self._grant()
        return grant.access_token if grant.access_token != stale else self._refresh(grant).access_token

    def _grant(self) -> WebexGrant:
        grant = self._load()
        if grant is None:
            raise WebexReauthorizationRequiredError("webex: no Service App token is stored for the tenant")
        if grant.refused:
            raise WebexReauthorizationRequiredError(f"webex: the Service App's refresh was refused ({grant.refused})")
        return grant

    def _refresh(self, grant: WebexGrant) -> WebexGrant:
        try:
            answer = self._refresher(self.app, grant.refresh_token)
        except WebexReauthorizationRequiredError as error:
            code = error.details.code if error.details else "refused"
            self._save(replace(grant, refused=code))
            raise
        fresh = grant_from_answer(answer, self._clock())
        self._save(fresh)
        return fresh


def refused_refresh(status: int, body: Any, headers: Any) -> WebexReauthorizationRequiredError:
    """The token endpoint's refusal (OAuth's ``error`` shape) as the product's error."""
    error = str(body.get("error") or f"http_{status}") if isinstance(body, dict) else f"http_{status}"
    described = str(body.get("error_description") or "") if isinstance(body, dict) else ""
    tracking = (body.get("trackingID") if isinstance(body, dict) else None) or headers.get("trackingid")
    refused = WebexReauthorizationRequiredError(f"webex token refresh: refused (HTTP {status}, {error})")
    refused.details = ServiceErrorDetails(status, error, tracking, described)
    return refused
