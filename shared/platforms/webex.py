"""Webex meetings through the Webex REST API (``https://webexapis.com/v1``), for one tenant.

* Scheduled meetings: ``POST /meetings`` with ``hostEmail`` (a Service App token with
  ``meeting:admin_schedule_write`` schedules on behalf of the organizer), ``PATCH /meetings/{id}``
  to move one, ``DELETE /meetings/{id}`` to remove it (204; a 404 is success). Every write sends
  ``sendEmail=false``: Webex's default is true, and Outlook already carries the invitation.
* Exactly one meeting per idempotency key. Create a Meeting has no idempotency parameter, so the
  key becomes one of the meeting's ``integrationTags`` (:func:`integration_tag`). Before creating,
  and before re-sending a create whose answer was lost (a timeout, a 5xx: Webex may have made it),
  the host's meetings are listed with the ``integrationTag`` filter, ``max=100`` and the ``Link``
  header's next pages (Webex answers 10 per page by default, and a host's listing also holds
  meetings where the host is only an invitee), and the meeting carrying the tag is returned.
  A 429 or 423 is retried without that look-up: Webex made nothing.
* What Webex refuses is decided before calling (:func:`webex_times`, :func:`webex_title`): a title is
  clipped to 128 characters; an event shorter than 10 minutes gets a 10-minute meeting (the mailbox
  shows the warning); an event longer than 23 h 59 min (an all-day event) or already over gets no
  meeting (MeetingNotPossibleError); a start already past becomes the next minute. A meeting
  already under way is not moved (Webex refuses it); its link keeps working.
* Sites: each host's meetings and personal room go to the host's preferred site, read once a day
  per host (``GET /meetingPreferences/sites``, ``meeting:admin_preferences_read``); without an
  answer, the tenant's ``siteUrl``. Without ``siteUrl`` Webex uses the *caller's* preferred site,
  which for a Service App in a multi-site organization may not be the host's.
* Personal rooms (``:myroom``): ``GET /meetingPreferences/personalMeetingRoom?userEmail=``;
  nothing is created, moved or deleted. Spaces (``:space``) are not offered on Webex yet.

Errors map like Graph's: 429, 423 and 5xx are retried (Retry-After) through :mod:`shared.retry`;
a 401 gets one fresh token from the :class:`~shared.platforms.webex_auth.TokenSource` and one more
try, then ReauthorizationRequiredError; 403 AccessDeniedError (scope, role or licence), 404
NotFoundError, other 4xx ValidationError. Webex's ``message`` is kept in ``details`` only (it names
people).
"""

from __future__ import annotations

import hashlib
import random
import re
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlsplit

from shared.cache import TtlCache
from shared.errors import (
    AccessDeniedError,
    DependencyUnavailableError,
    HybridCalendarError,
    MeetingNotPossibleError,
    NotFoundError,
    ReauthorizationRequiredError,
    ServiceErrorDetails,
    ThrottledError,
    ValidationError,
)
from shared.platforms.base import DialIn, MeetingRequest, PlatformMeeting
from shared.platforms.webex_auth import StaticToken, TokenSource, refused_refresh
from shared.retry import RetryPolicy, call_with_retries, retry_after_seconds
from shared.timezones import utc_text, utcnow

WEBEX_API = "https://webexapis.com/v1"
PERSONAL_ROOM = "pmr:"
TAG_PREFIX = "hc-"
MAX_TAG = 64
MAX_TITLE = 128
SHORTEST = timedelta(minutes=10)
LONGEST = timedelta(hours=23, minutes=59)
PAGE_SIZE = 100
MAX_PAGES = 20
"""A host's meetings around one event fit in far fewer pages; the bound stops a listing that never ends."""
SITES_FOR_SECONDS = 86400.0
_SITES: TtlCache[str] = TtlCache(ttl=SITES_FOR_SECONDS)
_SAFE_KEY = re.compile(r"[A-Za-z0-9._:-]+")


def integration_tag(key: str) -> str:
    """The integration tag for an idempotency key: the key itself when short and plain, else its digest
    (Webex takes at most 64 characters per tag)."""
    if len(TAG_PREFIX + key) <= MAX_TAG and _SAFE_KEY.fullmatch(key):
        return TAG_PREFIX + key
    return TAG_PREFIX + hashlib.sha256(key.encode("utf-8")).hexdigest()[:40]


def webex_title(subject: str) -> str:
    """The event's subject as a Webex title: Webex refuses more than 128 characters, or none."""
    title = " ".join(subject.split()) or "Meeting"
    return title if len(title) <= MAX_TITLE else title[: MAX_TITLE - 1] + "\u2026"


@dataclass(frozen=True)
class WebexTimes:
    start: datetime
    end: datetime
    lengthened: bool = False


def webex_times(start: datetime, end: datetime, now: datetime) -> WebexTimes:
    """The times to give Webex for an event from ``start`` to ``end``.

    Webex refuses a start before the current minute, and durations under 10 minutes or over 23 h 59 min.
    A start already past becomes the next minute (the meeting is under way in Outlook and needs its link
    now); a meeting shorter than 10 minutes is made 10 minutes long; a longer one, or one already over, is
    not possible.
    """
    if end - start > LONGEST:
        raise MeetingNotPossibleError("webex: the event lasts more than 23 h 59 min (Webex's longest meeting)")
    if end <= now:
        raise MeetingNotPossibleError("webex: the event is already over")
    earliest = now.replace(second=0, microsecond=0) + (
        timedelta(minutes=1) if now.second or now.microsecond else timedelta(0)
    )
    start = max(start, earliest)
    if end - start < SHORTEST:
        return WebexTimes(start, start + SHORTEST, True)
    return WebexTimes(start, end)


@dataclass(frozen=True)
class WebexAnswer:
    body: dict[str, Any]
    next_url: str | None = None


class WebexPlatform:
    """The Webex REST API for one tenant; ``warnings`` collects codes for the organizer's mailbox."""

    name = "webex"

    def __init__(
        self,
        tokens: TokenSource | str,
        *,
        base_url: str = WEBEX_API,
        session: Any = None,
        timeout: float = 30.0,
        retry: RetryPolicy = RetryPolicy(),
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], datetime] = utcnow,
        site_url: str | None = None,
        tenant_id: str = "",
    ) -> None:
        from shared.http import pooled_session

        self.tokens = StaticToken(tokens) if isinstance(tokens, str) else tokens
        self.base_url, self.timeout = base_url.rstrip("/"), timeout
        self.session = session or pooled_session()
        self.retry, self._sleep, self._rng, self._clock = retry, sleep, random.Random(), clock
        self.site_url, self.tenant_id = site_url, tenant_id
        self.warnings: list[str] = []
        self.created = 0

    # The platform interface ------------------------------------------------------------------------------

    def create_meeting(self, request: MeetingRequest) -> PlatformMeeting:
        if request.kind == "personal_room":
            return self._personal_room(request.organizer)
        if request.kind == "space":
            raise ValidationError("webex: scheduling into a space (:space) is not offered yet")
        times = webex_times(request.start, request.end, self._clock())
        tag = integration_tag(request.idempotency_key)
        found = self._find(request.organizer, tag, times)
        if found is not None:
            return _meeting(found)
        if times.lengthened:
            self.warnings.append("webex_meeting_lengthened")
        body = {
            "title": webex_title(request.subject),
            "start": request.local(times.start),
            "end": request.local(times.end),
            "timezone": request.time_zone,
            "hostEmail": request.organizer,
            "integrationTags": [tag],
            "sendEmail": False,
            "enabledAutoRecordMeeting": False,
        }
        site = self._site_of(request.organizer)
        if site:
            body["siteUrl"] = site
        if request.recurrence:
            body["recurrence"] = request.recurrence
        return _meeting(self._create(body, request.organizer, tag, times))

    def update_meeting(self, meeting: PlatformMeeting, request: MeetingRequest) -> PlatformMeeting:
        if meeting.meeting_id.startswith(PERSONAL_ROOM):
            return meeting
        now = self._clock()
        held = self.call("GET", f"/meetings/{meeting.meeting_id}", what="read meeting").body
        if _moment(held.get("start")) <= now:
            self.warnings.append("webex_meeting_under_way")
            return meeting
        times = webex_times(request.start, request.end, now)
        if times.lengthened:
            self.warnings.append("webex_meeting_lengthened")
        body = {
            "title": webex_title(request.subject),
            "start": request.local(times.start),
            "end": request.local(times.end),
            "timezone": request.time_zone,
            "hostEmail": request.organizer,
            "sendEmail": False,
        }
        if request.recurrence:
            body["recurrence"] = request.recurrence
        return _meeting(self.call("PATCH", f"/meetings/{meeting.meeting_id}", json=body, what="update meeting").body)

    def delete_meeting(self, meeting: PlatformMeeting, *, organizer: str) -> None:
        if meeting.meeting_id.startswith(PERSONAL_ROOM):
            return
        try:
            self.call(
                "DELETE",
                f"/meetings/{meeting.meeting_id}",
                params={"hostEmail": organizer, "sendEmail": "false"},
                what="delete meeting",
            )
        except NotFoundError:
            return

    # Look-ups --------------------------------------------------------------------------------------------

    def list_meetings(
        self, host: str, *, tag: str | None = None, start: datetime, end: datetime, page_size: int = PAGE_SIZE
    ) -> list[dict[str, Any]]:
        """The host's meetings overlapping ``start``..``end`` (with ``tag`` among their integration tags), every
        page followed."""
        params = {
            "hostEmail": host,
            "meetingType": "meetingSeries",
            "from": utc_text(start),
            "to": utc_text(end),
            "max": str(page_size),
        }
        if tag:
            params["integrationTag"] = tag
        answer = self.call("GET", "/meetings", params=params, what="list meetings")
        items = list(answer.body.get("items") or [])
        for _ in range(MAX_PAGES - 1):
            if not answer.next_url:
                break
            answer = self.call("GET", answer.next_url, what="list meetings")
            items += answer.body.get("items") or []
        return [item for item in items if tag is None or tag in (item.get("integrationTags") or [])]

    def _find(self, host: str, tag: str, times: WebexTimes) -> Mapping[str, Any] | None:
        """The meeting an earlier attempt with this tag made, if any."""
        found = self.list_meetings(
            host, tag=tag, start=times.start - timedelta(minutes=1), end=times.end + timedelta(minutes=1)
        )
        return found[0] if found else None

    def _site_of(self, host: str) -> str | None:
        """The host's preferred Webex site, once a day per host; the tenant's ``siteUrl`` without an answer."""

        def load() -> str:
            try:
                sites = (
                    self.call("GET", "/meetingPreferences/sites", params={"userEmail": host}, what="sites").body.get(
                        "sites"
                    )
                    or []
                )
            except (AccessDeniedError, NotFoundError, ValidationError):
                return ""
            preferred = [str(site.get("siteUrl")) for site in sites if site.get("default") and site.get("siteUrl")]
            return preferred[0] if preferred else ""

        return _SITES.get_or_load((self.tenant_id, host.lower()), load) or self.site_url

    def _personal_room(self, organizer: str) -> PlatformMeeting:
        params = {"userEmail": organizer}
        site = self._site_of(organizer)
        if site:
            params["siteUrl"] = site
        room = self.call("GET", "/meetingPreferences/personalMeetingRoom", params=params, what="personal room").body
        telephony = room.get("telephony") or {}
        return PlatformMeeting(
            self.name,
            PERSONAL_ROOM + organizer.lower(),
            str(room["personalMeetingRoomLink"]),
            "personal_room",
            room.get("sipAddress"),
            telephony.get("accessCode"),
            None,
            _dial_in(telephony),
        )

    # HTTP ------------------------------------------------------------------------------------------------

    def _create(self, body: dict[str, Any], host: str, tag: str, times: WebexTimes) -> Mapping[str, Any]:
        """POST, retried; before re-sending after an answer that was lost, look for what Webex made."""
        uncertain = False

        def attempt() -> Mapping[str, Any]:
            nonlocal uncertain
            if uncertain:
                found = self._find(host, tag, times)
                if found is not None:
                    return found
            try:
                created = self._attempt("POST", "/meetings", body, None, "create meeting").body
            except DependencyUnavailableError:
                uncertain = True
                raise
            self.created += 1
            return created

        return call_with_retries(attempt, policy=self.retry, sleep=self._sleep, rng=self._rng)

    def call(
        self, method: str, path: str, *, what: str, json: Any = None, params: Mapping[str, str] | None = None
    ) -> WebexAnswer:
        return call_with_retries(
            lambda: self._attempt(method, path, json, params, what), policy=self.retry, sleep=self._sleep, rng=self._rng
        )

    def _attempt(self, method: str, path: str, body: Any, params: Mapping[str, str] | None, what: str) -> WebexAnswer:
        token = self.tokens.token()
        response = self._send(method, path, body, params, what, token)
        if response.status_code == 401:
            response = self._send(method, path, body, params, what, self.tokens.after_unauthorized(token))
        parsed = _json(response)
        if response.status_code >= 400:
            raise webex_error(response.status_code, parsed, response.headers, what=what)
        return WebexAnswer(parsed if isinstance(parsed, dict) else {}, self._next(response.headers))

    def _send(self, method: str, path: str, body: Any, params: Mapping[str, str] | None, what: str, token: str) -> Any:
        import requests

        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json", "TrackingID": f"HC_{uuid.uuid4()}"}
        url = path if path.startswith("https://") else self.base_url + path
        try:
            return self.session.request(
                method, url, headers=headers, json=body, params=dict(params or {}), timeout=self.timeout
            )
        except requests.RequestException as exc:
            raise DependencyUnavailableError(f"webex {what}: unreachable ({type(exc).__name__})") from None

    def _next(self, headers: Mapping[str, str]) -> str | None:
        """The ``Link`` header's next page, only on this API's own origin (the token goes with it)."""
        from requests.utils import parse_header_links

        for link in parse_header_links(str(headers.get("Link") or headers.get("link") or "")):
            url = str(link.get("url") or "")
            if link.get("rel") == "next" and _origin(url) == _origin(self.base_url):
                return url
        return None


def refresh_service_app_token(base_url: str, *, session: Any, timeout: float) -> Callable[[Any, str], dict[str, Any]]:
    """The token endpoint's refresh-token grant (``POST {base_url}/access_token``, a form) for
    :class:`~shared.platforms.webex_auth.ServiceAppTokens`: 400 and 401 are refusals, the rest transient."""
    import requests

    def refresh(app: Any, refresh_token: str) -> dict[str, Any]:
        form = {
            "grant_type": "refresh_token",
            "client_id": app.client_id,
            "client_secret": app.client_secret,
            "refresh_token": refresh_token,
        }
        try:
            response = session.request(
                "POST",
                base_url.rstrip("/") + "/access_token",
                data=form,
                headers={"Accept": "application/json"},
                timeout=timeout,
            )
        except requests.RequestException as exc:
            raise DependencyUnavailableError(f"webex token refresh: unreachable ({type(exc).__name__})") from None
        parsed = _json(response)
        if response.status_code in (400, 401):
            raise refused_refresh(response.status_code, parsed, response.headers)
        if response.status_code >= 400:
            raise webex_error(response.status_code, parsed, response.headers, what="token refresh")
        if not isinstance(parsed, dict):
            raise DependencyUnavailableError("webex token refresh: the answer is not a token pair")
        return parsed

    return refresh


def webex_error(status: int, body: Any, headers: Mapping[str, str], *, what: str) -> HybridCalendarError:
    """A Webex error answer as the product's error; the message stays in ``details``."""
    message = str(body.get("message") or "") if isinstance(body, dict) else ""
    tracking = (body.get("trackingId") if isinstance(body, dict) else None) or headers.get("trackingid")
    details = ServiceErrorDetails(status, f"webex_{status}", tracking, message)
    error: HybridCalendarError
    if status in (423, 429):
        error = ThrottledError(
            f"webex {what}: throttled (HTTP {status})", retry_after=retry_after_seconds(headers.get("Retry-After"))
        )
    elif status >= 500:
        error = DependencyUnavailableError(
            f"webex {what}: HTTP {status}", retry_after=retry_after_seconds(headers.get("Retry-After"))
        )
    elif status == 401:
        error = ReauthorizationRequiredError(f"webex {what}: the tenant's Webex token was refused (HTTP 401)")
    elif status == 403:
        error = AccessDeniedError(
            f"webex {what}: not allowed (HTTP 403; the token lacks a scope, or the host has no Webex Meetings licence)"
        )
    elif status == 404:
        error = NotFoundError(f"webex {what}: not found (HTTP 404)")
    else:
        error = ValidationError(f"webex {what}: refused (HTTP {status})")
    error.details = details
    return error


def _meeting(item: Mapping[str, Any]) -> PlatformMeeting:
    telephony = item.get("telephony") or {}
    return PlatformMeeting(
        "webex",
        str(item["id"]),
        str(item["webLink"]),
        "scheduled",
        item.get("sipAddress"),
        item.get("meetingNumber"),
        item.get("password"),
        _dial_in(telephony),
    )


def _dial_in(telephony: Mapping[str, Any]) -> tuple[DialIn, ...]:
    return tuple(
        DialIn(str(n.get("label") or ""), str(n["callInNumber"]))
        for n in telephony.get("callInNumbers") or []
        if n.get("callInNumber")
    )


def _moment(value: Any) -> datetime:
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        raise DependencyUnavailableError("webex read meeting: the answer has no start time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme, parts.netloc.lower()


def _json(response: Any) -> Any:
    try:
        return response.json() if response.content else None
    except ValueError:
        return None
