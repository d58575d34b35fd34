"""The stand-in's directory and calendars: tenants, apps, users and rooms, events, subscriptions.

Events behave as Exchange keeps them: immutable ids; a new ``changeKey`` (and ``@odata.etag``)
on every change; an organizer's event has a copy in each attendee's and room's mailbox (own id,
same ``iCalUId``), kept in step with the organizer's edits; rooms accept automatically; a
cancelled meeting stays in attendees' calendars marked ``isCancelled``. Series masters expand to
occurrences (with modified and cancelled exceptions) in ``instances`` and ``calendarView``.
Every change is recorded per mailbox for delta queries and reported to ``on_change`` for
change notifications.
"""

from __future__ import annotations

import base64
import copy
import itertools
import secrets
import threading
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from local.graphsim.recurrence import RecurrenceError, in_window
from shared.timezones import zone

PROPAGATED = (
    "subject",
    "body",
    "location",
    "locations",
    "start",
    "end",
    "recurrence",
    "isAllDay",
    "isOnlineMeeting",
    "onlineMeeting",
    "onlineMeetingProvider",
    "attendees",
    "organizer",
    "sensitivity",
    "importance",
    "originalStartTimeZone",
    "originalEndTimeZone",
    "isCancelled",
    "allowNewTimeProposals",
    "hideAttendees",
)
STUB_FIELDS = ("@odata.etag", "id", "type", "seriesMasterId", "start", "end")
"""What calendarView delta keeps of an occurrence or exception (see ``Store.delta_items``)."""
WRITABLE = set(PROPAGATED) | {
    "showAs",
    "categories",
    "responseRequested",
    "isReminderOn",
    "reminderMinutesBeforeStart",
    "singleValueExtendedProperties",
    "transactionId",
    "isDraft",
}


class GraphFault(Exception):
    """A Graph error answer: status, code and message (raised by the store, rendered by the app)."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers or {}


def new_id(prefix: str = "AAMkAG") -> str:
    return prefix + base64.urlsafe_b64encode(secrets.token_bytes(33)).decode()


def change_key() -> str:
    return base64.b64encode(secrets.token_bytes(16)).decode()


def utc(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def graph_datetime(moment: datetime) -> dict[str, str]:
    """A dateTimeTimeZone in UTC, as Graph returns it (no offset, 7 fractional digits)."""
    return {"dateTime": moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f") + "0", "timeZone": "UTC"}


def parse_datetime_tz(value: Any, name: str) -> tuple[datetime, str]:
    """UTC moment and zone name of a dateTimeTimeZone; GraphFault 400 when malformed."""
    if not isinstance(value, dict) or not value.get("dateTime"):
        raise GraphFault(400, "ErrorInvalidRequest", f"{name} must be a dateTimeTimeZone")
    tz_name = value.get("timeZone") or "UTC"
    try:
        local = datetime.fromisoformat(str(value["dateTime"])[:26].rstrip("Z"))
        tz = zone(tz_name)
    except ValueError:
        raise GraphFault(400, "ErrorInvalidRequest", f"{name} is not a valid date and time") from None
    return local.replace(tzinfo=local.tzinfo or tz).astimezone(timezone.utc), tz_name


@dataclass
class Tenant:
    id: str
    domain: str
    display_name: str
    openid: dict[str, Any] = field(default_factory=dict)
    consented_apps: set[str] = field(default_factory=set)


@dataclass
class App:
    """An app registration, which lives in one Azure environment's Entra ID (``azure``): AzureCloud,
    AzureUSGovernment or AzureChinaCloud. Its id is unknown to the others' sign-in."""

    client_id: str
    secret: str | None = None
    certificates: dict[str, str] = field(default_factory=dict)
    redirect_uris: set[str] = field(default_factory=set)
    api_audience: str | None = None
    azure: str = "AzureCloud"


@dataclass
class User:
    id: str
    tenant_id: str
    mail: str
    display_name: str
    kind: str = "user"
    time_zone: str = "UTC"
    language: str = "en-US"
    exchange: bool = True
    automatic_replies: dict[str, Any] = field(
        default_factory=lambda: {
            "status": "disabled",
            "externalAudience": "all",
            "internalReplyMessage": "",
            "externalReplyMessage": "",
            "scheduledStartDateTime": graph_datetime(datetime(2026, 1, 1, tzinfo=timezone.utc)),
            "scheduledEndDateTime": graph_datetime(datetime(2026, 1, 2, tzinfo=timezone.utc)),
        }
    )


@dataclass
class Event:
    id: str
    mailbox: str
    data: dict[str, Any]
    ical_uid: str
    created: datetime
    modified: datetime
    change_key: str = field(default_factory=change_key)
    exceptions: dict[str, dict[str, Any]] = field(default_factory=dict)
    cancelled: set[str] = field(default_factory=set)
    extended: dict[str, str] = field(default_factory=dict)
    organizer_copy: tuple[str, str] | None = None
    copies: dict[str, str] = field(default_factory=dict)
    ever_ids: set[str] = field(default_factory=set)
    deleted: bool = False

    @property
    def start(self) -> datetime:
        return utc(self.data["start"]["dateTime"])

    @property
    def end(self) -> datetime:
        return utc(self.data["end"]["dateTime"])

    @property
    def is_series(self) -> bool:
        return bool(self.data.get("recurrence"))


@dataclass
class Subscription:
    id: str
    tenant_id: str
    app_id: str
    mailbox: str
    resource: str
    change_types: frozenset[str]
    notification_url: str
    lifecycle_url: str | None
    client_state: str | None
    expires: datetime
    tls: str = "v1_2"
    creator_id: str = ""


def occurrence_id(master_id: str, original_start: datetime) -> str:
    raw = f"{master_id}|{original_start.strftime('%Y%m%dT%H%M%S')}".encode()
    return "AAMkOC" + base64.urlsafe_b64encode(raw).decode()


def split_occurrence_id(event_id: str) -> tuple[str, datetime] | None:
    if not event_id.startswith("AAMkOC"):
        return None
    try:
        master, stamp = base64.urlsafe_b64decode(event_id[6:]).decode().rsplit("|", 1)
        return master, datetime.strptime(stamp, "%Y%m%dT%H%M%S").replace(tzinfo=timezone.utc)
    except (ValueError, UnicodeDecodeError):
        return None


class Store:
    """All state, behind one lock; ``on_change(mailbox, event_id, change_type)`` hears every change."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.tenants: dict[str, Tenant] = {}
        self.apps: dict[str, App] = {}
        self.users: dict[str, User] = {}
        self.events: dict[str, dict[str, Event]] = {}
        self.subscriptions: dict[str, Subscription] = {}
        self.changes: dict[str, list[tuple[int, str]]] = {}
        self.delta_generation: dict[str, int] = {}
        self._seq = itertools.count(1)
        self.on_change: Callable[[str, str, str], None] = lambda mailbox, event_id, change: None

    # directory ----------------------------------------------------------------------------------

    def add_tenant(self, tenant: Tenant) -> Tenant:
        with self.lock:
            self.tenants[tenant.id] = tenant
        return tenant

    def add_user(self, user: User) -> User:
        with self.lock:
            self.users[user.id] = user
            self.events.setdefault(user.id, {})
            self.changes.setdefault(user.id, [])
        return user

    def user(self, tenant_id: str, key: str) -> User:
        """A user or room of the tenant by object id or address; 404 ErrorInvalidUser otherwise."""
        with self.lock:
            found = self.users.get(key) or next((u for u in self.users.values() if u.mail.lower() == key.lower()), None)
        if found is None or found.tenant_id != tenant_id:
            raise GraphFault(404, "ErrorInvalidUser", f"The requested user '{key}' is invalid.")
        return found

    def user_by_mail(self, address: str) -> User | None:
        return next((u for u in self.users.values() if u.mail.lower() == (address or "").lower()), None)

    # events -------------------------------------------------------------------------------------

    def create_event(self, mailbox: str, body: dict[str, Any]) -> Event:
        with self.lock:
            existing = self._by_transaction(mailbox, body.get("transactionId"))
            if existing is not None:
                return existing
            data = self._event_data(body, {})
            owner = self.users[mailbox]
            data.setdefault("organizer", {"emailAddress": {"name": owner.display_name, "address": owner.mail}})
            data["isOrganizer"] = True
            data["responseStatus"] = {"response": "organizer", "time": "0001-01-01T00:00:00Z"}
            now = datetime.now(timezone.utc)
            ical_uid = "040000008200E00074C5B7101A82E008" + uuid.uuid4().hex.upper()
            event = Event(new_id(), mailbox, data, ical_uid, now, now, extended=_extended(body))
            self.events[mailbox][event.id] = event
            self._changed(event, "created")
            self._propagate(event)
            return event

    def update_event(self, mailbox: str, event_id: str, body: dict[str, Any], *, if_match: str | None = None) -> Event:
        with self.lock:
            occurrence = split_occurrence_id(event_id)
            event = self.event(mailbox, occurrence[0] if occurrence else event_id)
            if if_match and if_match.strip() not in (f'W/"{event.change_key}"', event.change_key):
                raise GraphFault(
                    412,
                    "ErrorIrresolvableConflict",
                    "The send or update operation could not be performed because the change key passed "
                    "in the request does not match the current change key for the item.",
                )
            if occurrence:
                self._update_occurrence(event, occurrence[1], body)
            else:
                event.data = self._event_data(body, event.data)
                event.extended.update(_extended(body))
            self._touch(event, "updated")
            if event.organizer_copy is None:
                self._propagate(event)
            return event

    def delete_event(self, mailbox: str, event_id: str) -> None:
        with self.lock:
            occurrence = split_occurrence_id(event_id)
            event = self.event(mailbox, occurrence[0] if occurrence else event_id)
            if occurrence:
                event.cancelled.add(occurrence[1].isoformat())
                self._touch(event, "updated")
                if event.organizer_copy is None:
                    self._propagate(event)
                return
            del self.events[mailbox][event.id]
            event.deleted = True
            self._changed(event, "deleted")
            if event.organizer_copy is None:
                for copy_mailbox, copy_id in event.copies.items():
                    self._cancel_copy(copy_mailbox, copy_id)

    def cancel(self, mailbox: str, event_id: str) -> None:
        """Graph's ``cancel``: the organizer's only (an attendee gets Exchange's 400); like a delete otherwise."""
        with self.lock:
            occurrence = split_occurrence_id(event_id)
            event = self.event(mailbox, occurrence[0] if occurrence else event_id)
            if event.organizer_copy is not None:
                raise GraphFault(
                    400,
                    "ErrorInvalidRequest",
                    "Your request can't be completed. You need to be an organizer to cancel a meeting.",
                )
            self.delete_event(mailbox, event_id)

    def respond(self, mailbox: str, event_id: str, response: str) -> None:
        with self.lock:
            event = self.event(mailbox, event_id)
            if event.organizer_copy is None:
                raise GraphFault(400, "ErrorInvalidRequest", "The organizer cannot respond to their own meeting.")
            event.data["responseStatus"] = {"response": response, "time": _now_text()}
            self._touch(event, "updated")
            organizer_mailbox, organizer_id = event.organizer_copy
            organizer = self.events.get(organizer_mailbox, {}).get(organizer_id)
            if organizer:
                address = self.users[mailbox].mail.lower()
                for attendee in organizer.data.get("attendees", []):
                    if (attendee.get("emailAddress") or {}).get("address", "").lower() == address:
                        attendee["status"] = {"response": response, "time": _now_text()}
                self._touch(organizer, "updated")

    def event(self, mailbox: str, event_id: str) -> Event:
        with self.lock:
            event = self.events.get(mailbox, {}).get(event_id)
        if event is None:
            raise GraphFault(404, "ErrorItemNotFound", "The specified object was not found in the store.")
        return event

    # views --------------------------------------------------------------------------------------

    def render(self, event: Event, original_start: datetime | None = None) -> dict[str, Any]:
        """The Graph JSON of an event, or of one occurrence of a series when ``original_start`` is given."""
        data = copy.deepcopy(event.data)
        item: dict[str, Any] = {
            "@odata.etag": f'W/"{event.change_key}"',
            "id": event.id,
            "createdDateTime": _text(event.created),
            "lastModifiedDateTime": _text(event.modified),
            "changeKey": event.change_key,
            "iCalUId": event.ical_uid,
            "type": "seriesMaster" if event.is_series else "singleInstance",
            "seriesMasterId": None,
            "isCancelled": False,
            **data,
        }
        if original_start is None:
            return item
        key = original_start.isoformat()
        override = event.exceptions.get(key, {})
        duration = event.end - event.start
        start = utc(override["start"]["dateTime"]) if "start" in override else original_start
        end = utc(override["end"]["dateTime"]) if "end" in override else start + duration
        item |= copy.deepcopy(override) | {
            "id": occurrence_id(event.id, original_start),
            "type": "exception" if override else "occurrence",
            "seriesMasterId": event.id,
            "recurrence": None,
            "originalStart": original_start.isoformat().replace("+00:00", "Z"),
            "start": graph_datetime(start),
            "end": graph_datetime(end),
            "iCalUId": event.ical_uid[:-8] + original_start.strftime("%Y%m%d"),
        }
        return item

    def instances(self, event: Event, start: datetime, end: datetime) -> list[dict[str, Any]]:
        """Occurrences and exceptions of a series overlapping [start, end); cancelled ones left out."""
        items = []
        duration = event.end - event.start
        try:
            starts = in_window(
                event.data["recurrence"],
                event.start,
                duration,
                event.data.get("originalStartTimeZone") or "UTC",
                start=start - timedelta(days=1),
                end=end + timedelta(days=1),
            )
        except RecurrenceError as exc:
            raise GraphFault(400, "ErrorInvalidRequest", str(exc)) from None
        for original in starts:
            if original.isoformat() in event.cancelled:
                continue
            item = self.render(event, original)
            if utc(item["start"]["dateTime"]) < end and utc(item["end"]["dateTime"]) > start:
                items.append(item)
        return items

    def calendar_view(
        self, mailbox: str, start: datetime, end: datetime, only: Iterable[Event] | None = None
    ) -> list[dict[str, Any]]:
        """Single events, occurrences and exceptions overlapping [start, end), by start time."""
        with self.lock:
            events = list(only) if only is not None else list(self.events.get(mailbox, {}).values())
            items: list[dict[str, Any]] = []
            for event in events:
                if event.is_series:
                    found = self.instances(event, start, end)
                elif event.start < end and event.end > start:
                    found = [self.render(event)]
                else:
                    found = []
                event.ever_ids.update(item["id"] for item in found)
                items += found
        return sorted(items, key=lambda item: (item["start"]["dateTime"], item["id"]))

    def delta_items(
        self, mailbox: str, start: datetime, end: datetime, only: Iterable[Event] | None = None
    ) -> list[dict[str, Any]]:
        """What calendarView delta returns for [start, end), as observed of the real service rather than as
        documented: a single event in full; a series as its master in full (its own first times) followed by
        a stub per occurrence and exception in the window (``id``, ``type``, ``seriesMasterId``, ``start``,
        ``end``, ``@odata.etag`` only: no subject, organizer, location or body); cancelled occurrences are
        simply absent. Public reports on the Graph documentation repositories describe all three; the
        documentation says delta returns what calendarView returns."""
        with self.lock:
            events = list(only) if only is not None else list(self.events.get(mailbox, {}).values())
            items: list[dict[str, Any]] = []
            for event in events:
                if not event.is_series:
                    if event.start < end and event.end > start:
                        items.append(self.render(event))
                        event.ever_ids.add(event.id)
                    continue
                instances = self.instances(event, start, end)
                if instances:
                    items.append(self.render(event))
                    items += [{key: item[key] for key in STUB_FIELDS if key in item} for item in instances]
                    event.ever_ids.update(item["id"] for item in instances)
        return [{"@odata.type": "#microsoft.graph.event", **item} for item in items]

    def changed_since(self, mailbox: str, seq: int) -> list[str]:
        with self.lock:
            return list(dict.fromkeys(event_id for s, event_id in self.changes.get(mailbox, []) if s > seq))

    def current_seq(self) -> int:
        with self.lock:
            return next(self._seq)

    # internals ----------------------------------------------------------------------------------

    def _event_data(self, body: dict[str, Any], current: dict[str, Any]) -> dict[str, Any]:
        unknown = [key for key in body if key not in WRITABLE and not key.startswith("@odata")]
        if unknown:
            raise GraphFault(
                400, "RequestBodyRead", f"The property '{unknown[0]}' does not exist on type 'microsoft.graph.event'."
            )
        data = copy.deepcopy(current)
        for key, value in body.items():
            if key == "singleValueExtendedProperties" or key.startswith("@odata"):
                continue
            data[key] = copy.deepcopy(value)
        for name in ("start", "end"):
            if name in body:
                moment, tz_name = parse_datetime_tz(body[name], name)
                data[name] = graph_datetime(moment)
                original = "originalStartTimeZone" if name == "start" else "originalEndTimeZone"
                if original not in body:  # a client importing an event may name a zone Outlook cannot resolve
                    data[original] = tz_name
        if "start" not in data or "end" not in data:
            raise GraphFault(400, "ErrorInvalidRequest", "An event needs a start and an end.")
        if utc(data["end"]["dateTime"]) < utc(data["start"]["dateTime"]):
            raise GraphFault(400, "ErrorInvalidRequest", "The end of the event is before its start.")
        _correspond(body, data)
        if (
            data.get("isOnlineMeeting")
            and not data.get("onlineMeeting")
            and data.get("onlineMeetingProvider") == "teamsForBusiness"
        ):
            data["onlineMeeting"] = {
                "joinUrl": f"https://teams.microsoft.com/l/meetup-join/19%3ameeting_{uuid.uuid4().hex}%40thread.v2/0"
            }
        data.setdefault("subject", "")
        data.setdefault("body", {"contentType": "html", "content": ""})
        data.setdefault("attendees", [])
        data.setdefault("location", {"displayName": ""})
        data.setdefault("isOnlineMeeting", False)
        data.setdefault("onlineMeeting", None)
        data.setdefault("recurrence", None)
        data.setdefault("locations", [])
        data.setdefault("isAllDay", False)
        data.setdefault("onlineMeetingProvider", "unknown")
        data.setdefault("onlineMeetingUrl", None)
        data.setdefault("showAs", "busy")
        data.setdefault("sensitivity", "normal")
        data.setdefault("importance", "normal")
        data.setdefault("isDraft", False)
        data.setdefault("bodyPreview", "")
        return data

    def _update_occurrence(self, event: Event, original: datetime, body: dict[str, Any]) -> None:
        override = dict(event.exceptions.get(original.isoformat(), {}))
        for key, value in body.items():
            if key in ("start", "end"):
                moment, _ = parse_datetime_tz(value, key)
                override[key] = graph_datetime(moment)
            elif key in WRITABLE and key != "recurrence":
                override[key] = copy.deepcopy(value)
        _correspond(body, override)
        event.exceptions[original.isoformat()] = override

    def _by_transaction(self, mailbox: str, transaction_id: str | None) -> Event | None:
        if not transaction_id:
            return None
        return next((e for e in self.events[mailbox].values() if e.data.get("transactionId") == transaction_id), None)

    def _touch(self, event: Event, change: str) -> None:
        event.change_key = change_key()
        event.modified = datetime.now(timezone.utc)
        self._changed(event, change)

    def _changed(self, event: Event, change: str) -> None:
        self.changes.setdefault(event.mailbox, []).append((next(self._seq), event.id))
        self.on_change(event.mailbox, event.id, change)

    def _propagate(self, organizer: Event) -> None:
        """Bring every attendee's and room's copy in step with the organizer's event (Exchange does this)."""
        invited = {
            u.id: u
            for a in organizer.data.get("attendees", [])
            if (u := self.user_by_mail((a.get("emailAddress") or {}).get("address", ""))) is not None
            and u.id != organizer.mailbox
        }
        for mailbox, user in invited.items():
            copy_id = organizer.copies.get(mailbox)
            if copy_id is None or copy_id not in self.events.get(mailbox, {}):
                self._new_copy(organizer, user)
            else:
                self._sync_copy(organizer, self.events[mailbox][copy_id])
        for mailbox in [m for m in organizer.copies if m not in invited]:
            self._cancel_copy(mailbox, organizer.copies.pop(mailbox))

    def _new_copy(self, organizer: Event, user: User) -> None:
        data = {key: copy.deepcopy(organizer.data.get(key)) for key in PROPAGATED if key in organizer.data}
        response = "accepted" if user.kind == "room" else "notResponded"
        data |= {"isOrganizer": False, "responseStatus": {"response": response, "time": _now_text()}}
        now = datetime.now(timezone.utc)
        attendee_copy = Event(
            new_id(),
            user.id,
            data,
            organizer.ical_uid,
            now,
            now,
            exceptions=copy.deepcopy(organizer.exceptions),
            cancelled=set(organizer.cancelled),
            organizer_copy=(organizer.mailbox, organizer.id),
        )
        self.events[user.id][attendee_copy.id] = attendee_copy
        organizer.copies[user.id] = attendee_copy.id
        self._changed(attendee_copy, "created")
        if user.kind == "room":
            self._room_accepts(organizer, user)

    def _sync_copy(self, organizer: Event, attendee_copy: Event) -> None:
        for key in PROPAGATED:
            if key in organizer.data:
                attendee_copy.data[key] = copy.deepcopy(organizer.data[key])
        attendee_copy.exceptions = copy.deepcopy(organizer.exceptions)
        attendee_copy.cancelled = set(organizer.cancelled)
        self._touch(attendee_copy, "updated")

    def _cancel_copy(self, mailbox: str, copy_id: str) -> None:
        attendee_copy = self.events.get(mailbox, {}).get(copy_id)
        if attendee_copy is not None and not attendee_copy.data.get("isCancelled"):
            attendee_copy.data["isCancelled"] = True
            self._touch(attendee_copy, "updated")

    def _room_accepts(self, organizer: Event, room: User) -> None:
        for attendee in organizer.data.get("attendees", []):
            if (attendee.get("emailAddress") or {}).get("address", "").lower() == room.mail.lower():
                attendee["status"] = {"response": "accepted", "time": _now_text()}


def _correspond(body: dict[str, Any], data: dict[str, Any]) -> None:
    """Keep ``location`` and ``locations`` in step after a write of either (see ``_joined``)."""
    if "locations" in body:
        data["location"] = _joined(data["locations"])
    elif "location" in body:
        data["locations"] = [copy.deepcopy(body["location"])] if body["location"].get("displayName") else []


def _joined(locations: list[dict[str, Any]]) -> dict[str, Any]:
    """``location`` as Exchange derives it from ``locations``: the one entry itself, or the display names
    joined with "; " (``location`` and ``locations`` always correspond; writing ``location`` alone replaces
    ``locations`` with that one entry, so a room's structured entry is lost unless ``locations`` is written)."""
    if len(locations) == 1:
        return copy.deepcopy(locations[0])
    names = [str(entry.get("displayName") or "") for entry in locations if entry.get("displayName")]
    return {"displayName": "; ".join(names), "locationType": "default", "uniqueIdType": "unknown"}


def _extended(body: dict[str, Any]) -> dict[str, str]:
    items = body.get("singleValueExtendedProperties") or []
    return {str(item["id"]): str(item.get("value", "")) for item in items if isinstance(item, dict) and "id" in item}


def _text(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"


def _now_text() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
