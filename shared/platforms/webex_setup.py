"""Checking a tenant's Webex Service App when an admin sets it, before anything is stored.

Webex's token answers carry no ``scope``, so the only way to know what a token may do is to ask for
it. The refresh token is used once (which proves the client id, secret and refresh token, and gives
the token pair to store); then, for ``checkHost`` (a licensed host of the organization), one call
per scope the product needs:

* ``meeting:admin_schedule_read``: listing the host's meetings (``GET /meetings``, one item).
* ``meeting:admin_preferences_read``: reading the host's personal room.
* ``meeting:admin_schedule_write``: creating a 10-minute meeting a week ahead, tagged and without
  email (``sendEmail=false``), and deleting it at once.

A 403 on one of them means its scope is missing (or, when all three fail, that the host has no
Meetings licence). Webex also requires the admin who authorizes the Service App in Control Hub to be
a full administrator of the organization, and the hosts to have a Webex Meetings licence on a site.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from shared.errors import (
    AccessDeniedError,
    HybridCalendarError,
    NotFoundError,
    ValidationError,
    WebexReauthorizationRequiredError,
)
from shared.platforms.webex_auth import ServiceApp, WebexGrant, grant_from_answer
from shared.timezones import utc_text, utcnow

log = logging.getLogger("hybridcalendar.platforms")

SCHEDULE_READ = "meeting:admin_schedule_read"
PREFERENCES_READ = "meeting:admin_preferences_read"
SCHEDULE_WRITE = "meeting:admin_schedule_write"
SCOPES = (SCHEDULE_READ, PREFERENCES_READ, SCHEDULE_WRITE)
CHECK_TITLE = "Hybrid Calendar configuration check"


@dataclass(frozen=True)
class ServiceAppCheck:
    """What the check found: the token pair to store and the scopes that worked (all of :data:`SCOPES`)."""

    grant: WebexGrant
    scopes: tuple[str, ...]


def check_service_app(
    app: ServiceApp,
    refresh_token: str,
    check_host: str,
    *,
    refresher: Callable[..., Any],
    platform_of: Callable[[str], Any],
    site_url: str | None = None,
    clock: Callable[[], datetime] = utcnow,
) -> ServiceAppCheck:
    """The Service App checked end to end; ValidationError naming what Webex refused (the client, the refresh
    token, the host, or each missing scope). ``platform_of(token)`` is a WebexPlatform using that token."""
    try:
        grant = grant_from_answer(refresher(app, refresh_token), clock())
    except WebexReauthorizationRequiredError as refused:
        code = refused.details.code if refused.details else "refused"
        what = "clientId and clientSecret" if code == "invalid_client" else "refreshToken"
        raise ValidationError(f"webex.{what}: Webex refused the token refresh ({code})") from None
    platform = platform_of(grant.access_token)
    now = clock()
    missing = [
        scope
        for scope, probe in (
            (SCHEDULE_READ, _list),
            (PREFERENCES_READ, _personal_room),
            (SCHEDULE_WRITE, _create_and_delete),
        )
        if not _allowed(lambda: probe(platform, check_host, now, site_url))
    ]
    if missing:
        licence = " (or checkHost has no Webex Meetings licence)" if len(missing) == len(SCOPES) else ""
        raise ValidationError(
            f"webex: the Service App's token lacks {', '.join(missing)}{licence}; add the scope to "
            "the Service App and have a full admin authorize it again in Control Hub"
        )
    return ServiceAppCheck(grant, SCOPES)


def _allowed(probe: Callable[[], None]) -> bool:
    try:
        probe()
    except AccessDeniedError:
        return False
    except (NotFoundError, ValidationError) as refused:
        status = refused.details.status if refused.details else 400
        raise ValidationError(
            f"webex.checkHost: Webex does not know it as a host of the organization (HTTP {status})"
        ) from None
    return True


def _list(platform: Any, host: str, now: datetime, site_url: str | None) -> None:
    platform.call(
        "GET",
        "/meetings",
        params={"hostEmail": host, "max": "1", "from": utc_text(now), "to": utc_text(now + timedelta(days=1))},
        what="check listing",
    )


def _personal_room(platform: Any, host: str, now: datetime, site_url: str | None) -> None:
    params = {"userEmail": host} | ({"siteUrl": site_url} if site_url else {})
    platform.call("GET", "/meetingPreferences/personalMeetingRoom", params=params, what="check personal room")


def _create_and_delete(platform: Any, host: str, now: datetime, site_url: str | None) -> None:
    start = now.replace(minute=0, second=0, microsecond=0) + timedelta(days=7)
    body = {
        "title": CHECK_TITLE,
        "start": utc_text(start),
        "end": utc_text(start + timedelta(minutes=10)),
        "timezone": "UTC",
        "hostEmail": host,
        "sendEmail": False,
        "integrationTags": [f"hc-check-{uuid.uuid4().hex}"],
    }
    if site_url:
        body["siteUrl"] = site_url
    made = platform.call("POST", "/meetings", json=body, what="check create").body
    try:
        platform.call(
            "DELETE", f"/meetings/{made['id']}", params={"hostEmail": host, "sendEmail": "false"}, what="check delete"
        )
    except HybridCalendarError as error:
        log.warning("webex check: the check meeting %s was made but not deleted (%s)", made["id"], error.code)
