"""The Webex stand-in as one WSGI application: the meetings API (``/v1``) and Webex's token endpoint.

It behaves as Webex's published API description says, and as awkwardly as the real service:

* ``GET /v1/meetings`` answers 10 items unless ``max`` (at most 100) says otherwise, and pages
  with a ``Link: <...>; rel="next"`` header. A ``hostEmail`` listing also holds meetings where
  that person is only an invitee, and without ``from`` it starts at the current time. The
  ``integrationTag`` filter matches one of a meeting's ``integrationTags`` exactly.
* Create, update and delete send Webex's own emails unless ``sendEmail`` is false (the default
  is true); every write's flag is recorded in :attr:`WebexSimApp.emails`.
* Creating or moving refuses what Webex refuses, with 400: a title over 128 characters, a
  duration under 10 minutes or over 23 h 59 min, a start before the current minute, and a
  change of the times of a meeting already under way. A host without a Meetings licence gets
  403, a ``siteUrl`` that is not one of the host's sites 400.
* Access tokens expire (``expires_in``); the refresh-token grant of ``POST /v1/access_token``
  gives a new access token and the *same* refresh token, whose remaining lifetime keeps falling
  (observed: Webex does not extend it on use). A refreshed-away access token stays valid until its
  own expiry. A revoked or expired refresh token gets 400 ``invalid_grant``, a wrong client 401
  ``invalid_client``, in the OAuth error shape Webex uses there (``error``, ``error_description``,
  ``trackingID``), not the API's (``message``, ``errors``, ``trackingId``).
* People: those added one by one, and, for an organization whose directory is synchronised from
  Entra, every address of a domain (:meth:`WebexSimApp.add_domain`), licensed on that domain's site.
  Without ``siteUrl``, a meeting lands on the organization's default site (for a Service App,
  not necessarily the host's): a host without an account there gets 400.
* Token responses carry no ``scope`` (observed), so a client learns a missing scope only from a
  403 on the call that needs it. The three meeting scopes are enforced per endpoint.
* Faults for tests: a listing that ignores ``integrationTag`` (so that a test proves the client finds
  its meeting by paging, should a listing not filter), throttling (429 or 423 ``Locked``, with
  ``Retry-After``) for the next calls, and creates that are made on the server but answered only
  after the client's timeout.
"""

from __future__ import annotations

import secrets
import threading
from collections import deque
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from local.graphsim.web import Request, Response, Router, wsgi_response

SCHEDULE_WRITE = "meeting:admin_schedule_write"
SCHEDULE_READ = "meeting:admin_schedule_read"
PREFERENCES_READ = "meeting:admin_preferences_read"
MEETING_SCOPES = (SCHEDULE_WRITE, SCHEDULE_READ, PREFERENCES_READ)
ACCESS_SECONDS = 1209599
REFRESH_SECONDS = 7775999
DEFAULT_PAGE, MAX_PAGE = 10, 100
RECORDED = 10_000
"""Requests and emails kept for tests to read; a long make run forgets the oldest."""
MAX_TITLE = 128
SHORTEST, LONGEST = timedelta(minutes=10), timedelta(hours=23, minutes=59)
NO_TOKEN = "The request requires a valid access token set in the Authorization request header."
NO_SCOPE = (
    "The server understood the request, but refused to fulfill it because the access token is missing "
    "required scopes or the user is missing required roles or licenses."
)


class WebexFault(Exception):
    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers or {}


@dataclass
class Person:
    email: str
    name: str
    sites: tuple[str, ...]
    licensed: bool = True


@dataclass
class ServiceApp:
    client_id: str
    client_secret: str
    scopes: frozenset[str]


@dataclass
class Grant:
    client_id: str
    expires: float
    revoked: bool = False


@dataclass
class Faults:
    throttle_status: int = 429
    throttle_count: int = 0
    retry_after: float = 1.0
    slow_creates: int = 0
    slow_seconds: float = 0.0
    tag_filter: bool = True


@dataclass
class State:
    people: dict[str, Person] = field(default_factory=dict)
    domains: dict[str, tuple[str, ...]] = field(default_factory=dict)
    default_site: str = ""
    apps: dict[str, ServiceApp] = field(default_factory=dict)
    access: dict[str, Grant] = field(default_factory=dict)
    refresh: dict[str, Grant] = field(default_factory=dict)
    meetings: dict[str, dict[str, Any]] = field(default_factory=dict)


class WebexSimApp:
    """WSGI callable; ``base_url`` is set by the server once its port is known, ``now`` may be replaced."""

    def __init__(self) -> None:
        self.state = State()
        self.faults = Faults()
        self.emails: deque[dict[str, Any]] = deque(maxlen=RECORDED)
        self.requests: deque[dict[str, Any]] = deque(maxlen=RECORDED)
        self.base_url = ""
        self.now: Callable[[], datetime] = lambda: datetime.now(timezone.utc)
        self._lock = threading.Lock()
        self.routes = Router()
        for method, path, handler in (
            ("POST", "/v1/access_token", self.access_token),
            ("GET", "/v1/meetings", self.list_meetings),
            ("POST", "/v1/meetings", self.create_meeting),
            ("GET", "/v1/meetings/{meeting}", self.get_meeting),
            ("PATCH", "/v1/meetings/{meeting}", self.patch_meeting),
            ("DELETE", "/v1/meetings/{meeting}", self.delete_meeting),
            ("GET", "/v1/meetingPreferences/personalMeetingRoom", self.personal_room),
            ("GET", "/v1/meetingPreferences/sites", self.sites),
        ):
            self.routes.add(method, path, handler)

    # Set-up for demos and tests --------------------------------------------------------------------

    def add_person(self, email: str, name: str, sites: tuple[str, ...], *, licensed: bool = True) -> None:
        """A person of the organization; the first site is their default one."""
        self.state.people[email.lower()] = Person(email.lower(), name, sites, licensed)
        self.state.default_site = self.state.default_site or sites[0]

    def add_domain(self, domain: str, sites: tuple[str, ...]) -> None:
        """Every address of ``domain`` is a licensed person on ``sites`` (a directory synchronised from Entra)."""
        self.state.domains[domain.lower()] = sites
        self.state.default_site = self.state.default_site or sites[0]

    def add_service_app(
        self,
        scopes: Iterable[str] = MEETING_SCOPES,
        *,
        access_seconds: float = ACCESS_SECONDS,
        refresh_seconds: float = REFRESH_SECONDS,
        fixed: tuple[str, str, str] | None = None,
    ) -> dict[str, Any]:
        """A Service App authorized by a full admin: its client credentials and its first token pair (``fixed``
        client id, secret and refresh token for a demo that prints them)."""
        client_id, secret, refresh = fixed or ("C" + secrets.token_hex(32), secrets.token_hex(32), _token())
        app = ServiceApp(client_id, secret, frozenset(scopes))
        with self._lock:
            self.state.apps[client_id] = app
            access = self._issue_access(client_id, access_seconds)
            self.state.refresh[refresh] = Grant(client_id, time.time() + refresh_seconds)
        return {
            "clientId": client_id,
            "clientSecret": app.client_secret,
            "accessToken": access,
            "refreshToken": refresh,
            "expiresIn": int(access_seconds),
        }

    def expire_access_tokens(self, client_id: str) -> None:
        """The Service App's access tokens issued so far expire now (a token running out mid-run)."""
        with self._lock:
            for grant in self.state.access.values():
                if grant.client_id == client_id:
                    grant.expires = 0.0

    def revoke_refresh_tokens(self, client_id: str) -> None:
        """An admin revoked the Service App's authorization in Control Hub: its tokens stop working."""
        self.expire_access_tokens(client_id)
        with self._lock:
            for grant in self.state.refresh.values():
                if grant.client_id == client_id:
                    grant.revoked = True

    def throttle(self, count: int, *, status: int = 429, retry_after: float = 1.0) -> None:
        """The next ``count`` API calls are refused with ``status`` (429 or 423) and ``Retry-After``."""
        with self._lock:
            self.faults.throttle_status, self.faults.throttle_count = status, count
            self.faults.retry_after = retry_after

    def slow_creates(self, count: int, seconds: float) -> None:
        """The next ``count`` creates are made, then answered only after ``seconds``."""
        with self._lock:
            self.faults.slow_creates, self.faults.slow_seconds = count, seconds

    def meetings_of(self, host: str) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(m) for m in self.state.meetings.values() if m["hostEmail"] == host.lower()]

    def add_meeting(
        self, host: str, start: datetime, minutes: int = 30, *, invitees: tuple[str, ...] = (), title: str = "Meeting"
    ) -> dict[str, Any]:
        """A meeting made elsewhere (another app, the Webex site), for listings to hold."""
        person = self._host(host)
        with self._lock:
            return dict(
                self._store(
                    person,
                    {
                        "title": title,
                        "start": start.isoformat(),
                        "end": (start + timedelta(minutes=minutes)).isoformat(),
                        "timezone": "UTC",
                    },
                    person.sites[0],
                    invitees,
                )
            )

    # WSGI -------------------------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request.from_environ(environ, self.base_url)
        try:
            response = self.handle(request)
        except WebexFault as fault:
            response = self._error(fault)
        except Exception:  # a bug in the stand-in must still answer like a service would
            response = self._error(WebexFault(500, "An internal error occurred."))
        return wsgi_response(response, start_response)

    def handle(self, request: Request) -> Response:
        handler, params, known = self.routes.match(request.method, request.path.rstrip("/"))
        if handler is None:
            raise WebexFault(405 if known else 404, "The requested resource could not be found.")
        request.params = params
        with self._lock:
            self.requests.append(
                {
                    "method": request.method,
                    "path": request.path,
                    "query": dict(request.query),
                    "body": _body_or_none(request),
                }
            )
            if handler != self.access_token and self.faults.throttle_count > 0:
                self.faults.throttle_count -= 1
                raise WebexFault(
                    self.faults.throttle_status, "Too many requests.", {"Retry-After": f"{self.faults.retry_after:g}"}
                )
        return handler(request)

    def _error(self, fault: WebexFault) -> Response:
        tracking = f"ROUTER_{uuid.uuid4()}".upper()
        return Response(
            fault.status,
            {"message": fault.message, "errors": [{"description": fault.message}], "trackingId": tracking},
            {"trackingid": tracking, **fault.headers},
        )

    # Tokens -----------------------------------------------------------------------------------------

    def access_token(self, request: Request) -> Response:
        form = request.form()
        with self._lock:
            app = self.state.apps.get(form.get("client_id", ""))
            if form.get("grant_type") != "refresh_token":
                return _oauth_error(400, "unsupported_grant_type", "Only the refresh_token grant is offered here.")
            if app is None or not secrets.compare_digest(app.client_secret, form.get("client_secret", "")):
                return _oauth_error(401, "invalid_client", "The client credentials are invalid.")
            grant = self.state.refresh.get(form.get("refresh_token", ""))
            if grant is None or grant.revoked or grant.client_id != app.client_id or grant.expires <= time.time():
                return _oauth_error(
                    400, "invalid_grant", "The refresh token provided is expired, revoked, malformed, or invalid."
                )
            access = self._issue_access(app.client_id, ACCESS_SECONDS)
            return Response(
                200,
                {
                    "access_token": access,
                    "expires_in": ACCESS_SECONDS,
                    "refresh_token": form["refresh_token"],
                    "refresh_token_expires_in": int(grant.expires - time.time()),
                    "token_type": "Bearer",
                },
            )

    def _issue_access(self, client_id: str, seconds: float) -> str:
        token = _token()
        self.state.access[token] = Grant(client_id, time.time() + seconds)
        return token

    def _caller(self, request: Request, scope: str) -> ServiceApp:
        header = request.headers.get("authorization", "")
        with self._lock:
            grant = (
                self.state.access.get(header.removeprefix("Bearer ").strip()) if header.startswith("Bearer ") else None
            )
            if grant is None or grant.expires <= time.time():
                raise WebexFault(401, NO_TOKEN)
            app = self.state.apps[grant.client_id]
        if scope not in app.scopes:
            raise WebexFault(403, NO_SCOPE)
        return app

    # Meetings ---------------------------------------------------------------------------------------

    def list_meetings(self, request: Request) -> Response:
        self._caller(request, SCHEDULE_READ)
        query = request.query
        size = _int(query.get("max", str(DEFAULT_PAGE)), "max", 1, MAX_PAGE)
        offset = _int(query.get("cursor", "0"), "cursor", 0, 10**9)
        start = _moment(query["from"], "from") if "from" in query else self.now()
        end = _moment(query["to"], "to") if "to" in query else start + timedelta(days=7)
        host = (query.get("hostEmail") or "").lower()
        tag = query.get("integrationTag") if self.faults.tag_filter else None
        with self._lock:
            found = sorted(
                (
                    m
                    for m in self.state.meetings.values()
                    if (not host or m["hostEmail"] == host or host in m["invitees"])
                    and (tag is None or tag in m.get("integrationTags", ()))
                    and _moment(m["start"], "start") < end
                    and _moment(m["end"], "end") > start
                ),
                key=lambda m: (m["start"], m["id"]),
            )
        page = [_public(m) for m in found[offset : offset + size]]
        headers = {}
        if offset + size < len(found):
            nxt = urlencode({**query, "cursor": str(offset + size)})
            headers["Link"] = f'<{self.base_url}/v1/meetings?{nxt}>; rel="next"'
        return Response(200, {"items": page}, headers)

    def create_meeting(self, request: Request) -> Response:
        self._caller(request, SCHEDULE_WRITE)
        body = _object(request)
        person = self._host(body.get("hostEmail"))
        site = body.get("siteUrl") or self.state.default_site
        if site not in person.sites:
            raise WebexFault(400, "The host has no account on the site (siteUrl, or the organization's default).")
        tags = body.get("integrationTags", [])
        if not isinstance(tags, list) or len(tags) > 3 or not all(isinstance(t, str) and len(t) <= 64 for t in tags):
            raise WebexFault(400, "integrationTags holds at most 3 strings of at most 64 characters.")
        self._check_times(body, under_way=False)
        with self._lock:
            meeting = self._store(person, body, site, ())
            self.emails.append(
                {"action": "create", "meetingId": meeting["id"], "sendEmail": body.get("sendEmail", True) is not False}
            )
            slow = self.faults.slow_creates > 0
            if slow:
                self.faults.slow_creates -= 1
        if slow:
            time.sleep(self.faults.slow_seconds)
        return Response(200, _public(meeting))

    def get_meeting(self, request: Request) -> Response:
        self._caller(request, SCHEDULE_READ)
        return Response(200, _public(self._meeting(request.params["meeting"])))

    def patch_meeting(self, request: Request) -> Response:
        self._caller(request, SCHEDULE_WRITE)
        body = _object(request)
        meeting = self._meeting(request.params["meeting"])
        merged = {
            **meeting,
            **{k: v for k, v in body.items() if k in ("title", "start", "end", "timezone", "agenda", "recurrence")},
        }
        moved = (merged["start"], merged["end"]) != (meeting["start"], meeting["end"])
        self._check_times(merged, under_way=moved and _moment(meeting["start"], "start") <= self.now())
        with self._lock:
            meeting.update(merged)
            self.emails.append(
                {"action": "update", "meetingId": meeting["id"], "sendEmail": body.get("sendEmail", True) is not False}
            )
        return Response(200, _public(meeting))

    def delete_meeting(self, request: Request) -> Response:
        self._caller(request, SCHEDULE_WRITE)
        with self._lock:
            meeting = self.state.meetings.pop(request.params["meeting"], None)
            if meeting is None:
                raise WebexFault(404, "The requested resource could not be found.")
            self.emails.append(
                {
                    "action": "delete",
                    "meetingId": meeting["id"],
                    "sendEmail": request.query.get("sendEmail", "true").lower() != "false",
                }
            )
        return Response(204)

    def personal_room(self, request: Request) -> Response:
        self._caller(request, PREFERENCES_READ)
        person = self._host(request.query.get("userEmail"))
        site = request.query.get("siteUrl") or self.state.default_site
        if site not in person.sites:
            raise WebexFault(400, "The user has no account on the site (siteUrl, or the organization's default).")
        name = person.email.partition("@")[0]
        number = str(20000000000 + int(uuid.uuid5(uuid.NAMESPACE_URL, person.email).int % 10**10))
        return Response(
            200,
            {
                "topic": f"{person.name}'s Personal Room",
                "personalMeetingRoomLink": f"https://{site}/meet/{name}",
                "sipAddress": f"{name}@{site}",
                "telephony": {
                    "accessCode": number,
                    "callInNumbers": [
                        {"label": "United States Toll", "callInNumber": "+1-415-527-5035", "tollType": "toll"}
                    ],
                },
            },
        )

    def sites(self, request: Request) -> Response:
        self._caller(request, PREFERENCES_READ)
        person = self._host(request.query.get("userEmail"))
        return Response(200, {"sites": [{"siteUrl": site, "default": i == 0} for i, site in enumerate(person.sites)]})

    def _host(self, email: Any) -> Person:
        address = str(email or "").lower()
        person = self.state.people.get(address)
        domain = address.rpartition("@")[2]
        if person is None and domain in self.state.domains and address.count("@") == 1:
            person = Person(address, address.partition("@")[0], self.state.domains[domain])
        if person is None:
            raise WebexFault(400, "The user could not be found.")
        if not person.licensed:
            raise WebexFault(403, f"The user {person.email} does not have a valid Webex Meetings license.")
        return person

    def _meeting(self, meeting_id: str) -> dict[str, Any]:
        meeting = self.state.meetings.get(meeting_id)
        if meeting is None:
            raise WebexFault(404, "The requested resource could not be found.")
        return meeting

    def _check_times(self, body: dict[str, Any], *, under_way: bool) -> None:
        title = body.get("title")
        if not isinstance(title, str) or not title.strip() or len(title) > MAX_TITLE:
            raise WebexFault(400, f"title is required and at most {MAX_TITLE} characters long.")
        try:
            ZoneInfo(str(body.get("timezone") or "UTC"))
        except (ZoneInfoNotFoundError, ValueError):
            raise WebexFault(400, "timezone is not a valid time zone.") from None
        start, end = _moment(body.get("start"), "start"), _moment(body.get("end"), "end")
        if not SHORTEST <= end - start <= LONGEST:
            raise WebexFault(400, "The duration must be at least 10 minutes and at most 23 hours 59 minutes.")
        if under_way:
            raise WebexFault(400, "The meeting is in progress and its time cannot be changed.")
        if start < self.now().replace(second=0, microsecond=0):
            raise WebexFault(400, "The start time cannot be earlier than the current time.")

    def _store(self, person: Person, body: dict[str, Any], site: str, invitees: tuple[str, ...]) -> dict[str, Any]:
        meeting_id, number = uuid.uuid4().hex, str(20000000000 + secrets.randbelow(10**10))
        prefix = site.partition(".")[0]
        meeting = {
            "id": meeting_id,
            "meetingNumber": number,
            "title": body["title"],
            "agenda": body.get("agenda", ""),
            "password": secrets.token_urlsafe(6),
            "meetingType": "meetingSeries",
            "state": "active",
            "timezone": body.get("timezone") or "UTC",
            "start": body["start"],
            "end": body["end"],
            "hostEmail": person.email,
            "hostDisplayName": person.name,
            "siteUrl": site,
            "webLink": f"https://{site}/{prefix}/j.php?MTID=m{secrets.token_hex(16)}",
            "sipAddress": f"{number}@{site}",
            "integrationTags": list(body.get("integrationTags") or []),
            "invitees": list(invitees),
            "recurrence": body.get("recurrence"),
            "telephony": {
                "accessCode": number,
                "callInNumbers": [
                    {"label": "United States Toll", "callInNumber": "+1-415-527-5035", "tollType": "toll"}
                ],
            },
        }
        self.state.meetings[meeting_id] = meeting
        return meeting


def _public(meeting: dict[str, Any]) -> dict[str, Any]:
    shown = {k: v for k, v in meeting.items() if k not in ("invitees", "recurrence") or v}
    zone = ZoneInfo(meeting.get("timezone") or "UTC")
    for name in ("start", "end"):
        shown[name] = _moment(meeting[name], name).astimezone(zone).isoformat(timespec="seconds")
    return shown


def _object(request: Request) -> dict[str, Any]:
    try:
        body = request.json()
    except ValueError:
        raise WebexFault(400, "The request body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise WebexFault(400, "The request body must be a JSON object.")
    return body


def _body_or_none(request: Request) -> Any:
    try:
        return request.json()
    except ValueError:
        return None


def _moment(value: Any, name: str) -> datetime:
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        raise WebexFault(400, f"{name} is not a valid date and time.") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _int(value: str, name: str, low: int, high: int) -> int:
    try:
        number = int(value)
    except ValueError:
        number = low - 1
    if not low <= number <= high:
        raise WebexFault(400, f"{name} must be a whole number from {low} to {high}.")
    return number


def _token() -> str:
    return f"{secrets.token_urlsafe(48)}_PF84_{uuid.uuid4()}"


def _oauth_error(status: int, error: str, description: str) -> Response:
    return Response(status, {"error": error, "error_description": description, "trackingID": f"CLIENT_{uuid.uuid4()}"})
