"""Webex meetings through the Webex REST API (``https://webexapis.com/v1``), for one tenant.

* Scheduled meetings: ``POST /meetings`` with ``hostEmail`` (an admin token with
  ``meeting:admin_schedule_write`` schedules on behalf of the organizer), ``PATCH
  /meetings/{id}`` to move one, ``DELETE /meetings/{id}?hostEmail=`` to remove it (204; a 404 is
  success). The idempotency key is written into ``agenda`` as ``[hc:<key>]``; before creating,
  the host's meetings in that time range are listed and one carrying the key is returned, so a
  retry after a crash never creates a second meeting.
* Personal rooms (``:myroom``): ``GET /meetingPreferences/personalMeetingRoom?userEmail=``;
  nothing is created, moved or deleted.
* Spaces (``:space``) are not offered on Webex yet: a ValidationError says so.

Errors map like Graph's: 429 and 5xx are retried (Retry-After) through :mod:`shared.retry`;
401 is ReauthorizationRequiredError (the tenant's Webex token expired or was revoked), 403
AccessDeniedError (not licensed, or not allowed to schedule for this host), 404 NotFoundError,
other 4xx ValidationError. Webex's ``message`` is kept in ``details`` only (it names people).
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

from shared.errors import (AccessDeniedError, DependencyUnavailableError, HybridCalendarError, NotFoundError,
                           ReauthorizationRequiredError, ServiceErrorDetails, ThrottledError, ValidationError)
from shared.platforms.base import DialIn, MeetingRequest, PlatformMeeting
from shared.retry import RetryPolicy, call_with_retries, retry_after_seconds

WEBEX_API = "https://webexapis.com/v1"
PERSONAL_ROOM = "pmr:"


class WebexPlatform:
    """The Webex REST API with one tenant's access token."""

    name = "webex"

    def __init__(self, token: str, *, base_url: str = WEBEX_API, session: Any = None, timeout: float = 30.0,
                 retry: RetryPolicy = RetryPolicy(), sleep: Callable[[float], None] = time.sleep) -> None:
        from shared.http import pooled_session

        self.token, self.base_url, self.timeout = token, base_url.rstrip("/"), timeout
        self.session = session or pooled_session()
        self.retry, self._sleep, self._rng = retry, sleep, random.Random()
        self.created = 0

    def create_meeting(self, request: MeetingRequest) -> PlatformMeeting:
        if request.kind == "personal_room":
            return self._personal_room(request.organizer)
        if request.kind == "space":
            raise ValidationError("webex: scheduling into a space (:space) is not offered yet")
        found = self._find(request)
        if found is not None:
            return _meeting(found)
        body = {"title": request.subject or "Meeting", "start": request.local(request.start),
                "end": request.local(request.end), "timezone": request.time_zone, "hostEmail": request.organizer,
                "agenda": f"[hc:{request.idempotency_key}]", "enabledAutoRecordMeeting": False}
        if request.recurrence:
            body["recurrence"] = request.recurrence
        self.created += 1
        return _meeting(self._call("POST", "/meetings", json=body, what="create meeting"))

    def update_meeting(self, meeting: PlatformMeeting, request: MeetingRequest) -> PlatformMeeting:
        if meeting.meeting_id.startswith(PERSONAL_ROOM):
            return meeting
        body = {"start": request.local(request.start), "end": request.local(request.end),
                "timezone": request.time_zone, "hostEmail": request.organizer}
        if request.recurrence:
            body["recurrence"] = request.recurrence
        return _meeting(self._call("PATCH", f"/meetings/{meeting.meeting_id}", json=body, what="update meeting"))

    def delete_meeting(self, meeting: PlatformMeeting, *, organizer: str) -> None:
        if meeting.meeting_id.startswith(PERSONAL_ROOM):
            return
        try:
            self._call("DELETE", f"/meetings/{meeting.meeting_id}", params={"hostEmail": organizer},
                       what="delete meeting")
        except NotFoundError:
            return

    def _find(self, request: MeetingRequest) -> Mapping[str, Any] | None:
        """A meeting an earlier attempt with this idempotency key created, if any."""
        params = {"hostEmail": request.organizer, "meetingType": "meetingSeries",
                  "from": _iso(request.start - timedelta(minutes=1)), "to": _iso(request.end + timedelta(minutes=1))}
        items = self._call("GET", "/meetings", params=params, what="list meetings").get("items", [])
        marker = f"[hc:{request.idempotency_key}]"
        return next((item for item in items if marker in str(item.get("agenda") or "")), None)

    def _personal_room(self, organizer: str) -> PlatformMeeting:
        room = self._call("GET", "/meetingPreferences/personalMeetingRoom", params={"userEmail": organizer},
                          what="personal room")
        telephony = room.get("telephony") or {}
        return PlatformMeeting(self.name, PERSONAL_ROOM + organizer.lower(), str(room["personalMeetingRoomLink"]),
                               "personal_room", room.get("sipAddress"), telephony.get("accessCode"), None,
                               _dial_in(telephony))

    def _call(self, method: str, path: str, *, what: str, json: Any = None,
              params: Mapping[str, str] | None = None) -> dict[str, Any]:
        return call_with_retries(lambda: self._attempt(method, path, json, params, what), policy=self.retry,
                                 sleep=self._sleep, rng=self._rng)

    def _attempt(self, method: str, path: str, body: Any, params: Mapping[str, str] | None,
                 what: str) -> dict[str, Any]:
        import requests

        headers = {"Authorization": f"Bearer {self.token}", "Accept": "application/json",
                   "TrackingID": f"HC_{uuid.uuid4()}"}
        try:
            response = self.session.request(method, self.base_url + path, headers=headers, json=body,
                                            params=dict(params or {}), timeout=self.timeout)
        except requests.RequestException as exc:
            raise DependencyUnavailableError(f"webex {what}: unreachable ({type(exc).__name__})") from None
        parsed = _json(response)
        if response.status_code >= 400:
            raise webex_error(response.status_code, parsed, response.headers, what=what)
        return parsed if isinstance(parsed, dict) else {}


def webex_error(status: int, body: Any, headers: Mapping[str, str], *, what: str) -> HybridCalendarError:
    """A Webex error answer as the product's error; the message stays in ``details``."""
    message = str(body.get("message") or "") if isinstance(body, dict) else ""
    tracking = (body.get("trackingId") if isinstance(body, dict) else None) or headers.get("trackingid")
    details = ServiceErrorDetails(status, f"webex_{status}", tracking, message)
    error: HybridCalendarError
    if status == 429:
        error = ThrottledError(f"webex {what}: throttled (HTTP 429)",
                               retry_after=retry_after_seconds(headers.get("Retry-After")))
    elif status >= 500:
        error = DependencyUnavailableError(f"webex {what}: HTTP {status}",
                                           retry_after=retry_after_seconds(headers.get("Retry-After")))
    elif status == 401:
        error = ReauthorizationRequiredError(f"webex {what}: the tenant's Webex token was refused (HTTP 401)")
    elif status == 403:
        error = AccessDeniedError(f"webex {what}: not allowed (HTTP 403; host not licensed or token lacks scope)")
    elif status == 404:
        error = NotFoundError(f"webex {what}: not found (HTTP 404)")
    else:
        error = ValidationError(f"webex {what}: refused (HTTP {status})")
    error.details = details
    return error


def _meeting(item: Mapping[str, Any]) -> PlatformMeeting:
    telephony = item.get("telephony") or {}
    return PlatformMeeting("webex", str(item["id"]), str(item["webLink"]), "scheduled", item.get("sipAddress"),
                           item.get("meetingNumber"), item.get("password"), _dial_in(telephony))


def _dial_in(telephony: Mapping[str, Any]) -> tuple[DialIn, ...]:
    return tuple(DialIn(str(n.get("label") or ""), str(n["callInNumber"]))
                 for n in telephony.get("callInNumbers") or [] if n.get("callInNumber"))


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _json(response: Any) -> Any:
    try:
        return response.json() if response.content else None
    except ValueError:
        return None
