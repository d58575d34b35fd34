"""What a user or a room device does beyond reading: schedule, change, cancel, answer, free/busy, book.

The caller is authenticated as for the lists (:meth:`MeetingsApi.user`); the Graph call is made
for the caller's own mailbox, with the application's permissions, so a user can only ever act
on their own calendar. A meeting is named by the id the lists show, which every copy of one
occurrence shares; the caller's own copy is found among the meetings stored for the mailbox
(one storage query over the retention window). Meetings outside that window, or not in the
caller's calendar, are not found.

Scheduling with a platform goes through the keyword flow's own writer
(:meth:`KeywordScheduler.draft`): the platform meeting is created first, and one Graph create
writes the event with its join block, Location and record, exactly as the flow's PATCH would,
so the webhook that follows costs nothing and later edits follow the keyword flow. An
``Idempotency-Key`` makes a retry find the same platform meeting (the platform's key) and the
same event (Graph's ``transactionId``), so it returns the first result. A crash between the
platform's meeting and Graph's create leaves a meeting no event uses until the request is
retried with its key (a built-in room costs nothing; a Webex meeting stays on the host's list).

Decisions are pure (``parse_response``, ``decide_response``, :mod:`shared.api.availability`,
:mod:`shared.api.bodies`, ``booking_end``); the class fetches and calls.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from shared.api.availability import parse_query, shape
from shared.api.bodies import (
    MeetingChange,
    NewMeeting,
    changed_times,
    graph_times,
    idempotency_key,
    json_object,
    parse_booking,
    parse_change,
    parse_new_meeting,
)
from shared.api.meetings import MeetingsService, meeting_id
from shared.errors import ForbiddenError, NotFoundError, RefusedError, ValidationError
from shared.storage.meetings import MeetingRecord
from shared.sync.records import graph_moment_or_none
from shared.timezones import resolve, utc_text, utcnow

if TYPE_CHECKING:
    from shared.api.service import MeetingsApi
    from shared.graph.client import GraphClient
    from shared.scheduling.flow import KeywordScheduler

ANSWERS = {"accept": "accept", "tentative": "tentativelyAccept", "decline": "decline"}
"""The API's answers and Graph's actions for them."""
ANSWERED = {"accept": "accepted", "tentative": "tentativelyAccepted", "decline": "declined"}
MAX_COMMENT_CHARS = 2000
_MEETING_ID_CHARS = 32
MIN_BOOKED_SLOT = 5


@dataclass(frozen=True)
class ResponseRequest:
    answer: str
    comment: str
    send_response: bool


def parse_response(body: Any) -> ResponseRequest:
    """The checked body of ``POST /api/me/meetings/{id}/response``; ValidationError naming the field."""
    body = json_object(body, {"response", "comment", "sendResponse"})
    answer = body.get("response")
    if not isinstance(answer, str) or answer not in ANSWERS:
        raise ValidationError("response: must be accept, tentative or decline")
    comment = body.get("comment", "")
    if not isinstance(comment, str) or len(comment) > MAX_COMMENT_CHARS:
        raise ValidationError(f"comment: must be text of at most {MAX_COMMENT_CHARS} characters")
    send = body.get("sendResponse", True)
    if not isinstance(send, bool):
        raise ValidationError("sendResponse: must be true or false")
    return ResponseRequest(answer, comment, send)


def decide_response(record: MeetingRecord, is_organizer: bool) -> None:
    """Whether the caller may answer this meeting; RefusedError (409) saying why not."""
    if is_organizer:
        raise RefusedError(
            "you organize this meeting; an organizer does not answer their own invitation (change or cancel it instead)"
        )
    if record.is_cancelled:
        raise RefusedError("the meeting is cancelled; there is nothing to answer")


READ_ONLY = ("originalStartTimeZone", "type")
"""What the keyword flow reads of an event but Graph refuses in a create (it sets them itself)."""
BOOKED_SUBJECT = "Booked on device"
LOOK_AHEAD = timedelta(hours=8)
"""How far a room's schedule is read when it is busy, to say when it is free next."""


def booking_end(items: list[dict[str, Any]], now: datetime, minutes: int) -> datetime:
    """When a booking from ``now`` ends: after ``minutes``, or at the next meeting; RefusedError (409) with the
    next free time when the room is busy now. ``items`` are getSchedule's items (UTC, not free)."""
    spans: list[tuple[datetime, datetime]] = []
    for item in items:
        start, end = graph_moment_or_none(item.get("start")), graph_moment_or_none(item.get("end"))
        if start is not None and end is not None and end > now:
            spans.append((start, end))
    spans.sort()
    if any(start <= now for start, _ in spans):
        free = now
        for start, end in spans:
            if start <= free:
                free = max(free, end)
        raise RefusedError(f"the room is busy now; it is free from {utc_text(free)}")
    return min([now + timedelta(minutes=minutes), *(start for start, _ in spans)])


@dataclass
class MeetingActions:
    """Graph calls on the caller's own calendar, behind the API's authentication."""

    api: MeetingsApi
    graph: GraphClient
    service: MeetingsService
    """The lists' service: its store, retention window and item shape are the ones actions use."""
    scheduler: KeywordScheduler | None = None
    now: Callable[[], datetime] = utcnow

    # a user's meetings --------------------------------------------------------------------------

    def schedule(self, authorization: str | None, body: Any, key_header: str | None) -> dict[str, Any]:
        """A new event in the caller's calendar, with the platform's meeting written in by the same create."""
        tenant_id, mailbox_id = self.api.user(authorization)
        request = parse_new_meeting(body)
        key = idempotency_key(key_header, tenant_id=tenant_id, mailbox_id=mailbox_id)
        self._in_window(request.start, request.end)
        event = self._event(request)
        platform = request.platform or (
            self.scheduler.config(tenant_id).platform_of("@meet") if self.scheduler else "none"
        )
        record = None
        if platform != "none":
            if self.scheduler is None:
                raise RefusedError("meeting platforms are not set up in this deployment; send platform none")
            organizer = (
                str(self.graph.get_user(tenant_id, mailbox_id, select=["mail"]).get("mail") or "")
                if platform == "webex"
                else ""
            )
            fields, record = self.scheduler.draft(
                tenant_id, mailbox_id, event, platform=platform, key=key or uuid.uuid4().hex, organizer=organizer
            )
            event |= fields
        sent = {name: value for name, value in event.items() if name not in READ_ONLY}
        created = self.graph.create_event(tenant_id, mailbox_id, sent, transaction_id=key)
        if record is not None and self.scheduler is not None:
            self.scheduler.adopt(record, created)
        return self._stored(tenant_id, mailbox_id, created)

    def meeting(self, authorization: str | None, identifier: str) -> dict[str, Any]:
        tenant_id, mailbox_id = self.api.user(authorization)
        return self.service.item(identifier, self.own_copy(tenant_id, mailbox_id, identifier), self.now())

    def change(self, authorization: str | None, identifier: str, body: Any) -> dict[str, Any]:
        """The organizer changes subject, times or attendees; the keyword flow moves the platform meeting."""
        tenant_id, mailbox_id = self.api.user(authorization)
        change = parse_change(body)
        record = self.own_copy(tenant_id, mailbox_id, identifier)
        event = self.graph.get_event(
            tenant_id, mailbox_id, record.event_id, select=["isOrganizer", "attendees", "originalStartTimeZone"]
        )
        if not event.get("isOrganizer"):
            raise ForbiddenError(
                "only the organizer can change this meeting; as an attendee, answer it "
                "(POST .../response) or remove it from your calendar (DELETE)"
            )
        changes = self._changes(change, record, event)
        patched = self.graph.update_event(
            tenant_id, mailbox_id, record.event_id, changes, etag=event.get("@odata.etag")
        )
        return self._stored(tenant_id, mailbox_id, patched, store=False)

    def cancel(self, authorization: str | None, identifier: str, comment: str | None) -> None:
        """The organizer's copy is cancelled (attendees are told, with ``comment``); an attendee's is removed."""
        tenant_id, mailbox_id = self.api.user(authorization)
        if comment is not None and len(comment) > MAX_COMMENT_CHARS:
            raise ValidationError(f"comment: must be text of at most {MAX_COMMENT_CHARS} characters")
        record = self.own_copy(tenant_id, mailbox_id, identifier)
        try:
            event = self.graph.get_event(tenant_id, mailbox_id, record.event_id, select=["isOrganizer", "attendees"])
            if event.get("isOrganizer") and event.get("attendees"):
                self.graph.cancel_event(tenant_id, mailbox_id, record.event_id, comment=comment or "")
            else:
                self.graph.delete_event(tenant_id, mailbox_id, record.event_id)
        except NotFoundError:
            return

    # a room's device ----------------------------------------------------------------------------

    def book_room(self, room_id: str, authorization: str | None, body: Any, key_header: str | None) -> dict[str, Any]:
        """The room from now for ``duration`` minutes (at most until its next meeting), if it is free now."""
        tenant_id, room = self.api.room_device(room_id, authorization)
        minutes = parse_booking(body)
        key = idempotency_key(key_header, tenant_id=tenant_id, mailbox_id=room)
        now = self.now().replace(microsecond=0)
        address = str(self.graph.get_user(tenant_id, room, select=["mail"]).get("mail") or "")
        answered = self.graph.get_schedule(
            tenant_id, room, [address], start=now, end=now + LOOK_AHEAD, interval_minutes=MIN_BOOKED_SLOT
        )
        items = [i for a in answered for i in a.get("scheduleItems") or [] if i.get("status") != "free"]
        end = booking_end(items, now, minutes)
        created = self.graph.create_event(
            tenant_id,
            room,
            {"subject": BOOKED_SUBJECT, **graph_times(now, end, "UTC"), "showAs": "busy", "isReminderOn": False},
            transaction_id=key,
        )
        return self._stored(tenant_id, room, created, room=True)

    # helpers ------------------------------------------------------------------------------------

    def _event(self, request: NewMeeting) -> dict[str, Any]:
        attendees = [{"emailAddress": {"address": a}, "type": "required"} for a in request.attendees]
        locations: list[dict[str, Any]] = []
        if request.room:
            attendees.append({"emailAddress": {"address": request.room}, "type": "resource"})
            locations.append(
                {"displayName": request.room, "locationType": "conferenceRoom", "locationEmailAddress": request.room}
            )
        return {
            "subject": request.subject,
            **graph_times(request.start, request.end, request.time_zone),
            "originalStartTimeZone": request.time_zone,
            "type": "singleInstance",
            "attendees": attendees,
            "locations": locations,
            "body": {"contentType": "html", "content": ""},
        }

    def _changes(self, change: MeetingChange, record: MeetingRecord, event: Mapping[str, Any]) -> dict[str, Any]:
        changes: dict[str, Any] = {}
        if change.subject is not None:
            changes["subject"] = change.subject
        moved = changed_times(change, record.start, record.end)
        if moved is not None or change.time_zone is not None:
            start, end = moved or (record.start, record.end)
            self._in_window(start, end)
            zone = change.time_zone or str(event.get("originalStartTimeZone") or record.time_zone or "UTC")
            changes |= graph_times(start, end, zone if resolve(zone).zone is not None else "UTC")
        if change.attendees is not None:
            rooms = [a for a in event.get("attendees") or [] if a.get("type") == "resource"]
            changes["attendees"] = [
                {"emailAddress": {"address": a}, "type": "required"} for a in change.attendees
            ] + rooms
        return changes

    def _in_window(self, start: datetime, end: datetime) -> None:
        low, high = self.service.window.bounds(self.now())
        if not (start < high and end > low):
            raise ValidationError(
                f"start: the meeting must fall within the retention window, from {utc_text(low)} "
                f"to {utc_text(high)}, for the lists to show it"
            )

    def _stored(
        self, tenant_id: str, mailbox_id: str, event: dict[str, Any], *, store: bool = True, room: bool = False
    ) -> dict[str, Any]:
        """The meeting as the list shows it, stored under Graph's changeKey so the webhook that follows costs
        no Graph call."""
        from shared.sync.records import to_record

        record = to_record(event)
        if store:
            self.service.meetings.replace_event(
                tenant_id,
                mailbox_id,
                str(event["id"]),
                [record],
                change_key=str(event.get("changeKey") or ""),
                last_modified=None,
            )
        return self.service.item(meeting_id(record), record, self.now(), room=room)

    def availability(self, authorization: str | None, params: Mapping[str, str]) -> dict[str, Any]:
        """Free/busy of up to 20 people and rooms in one getSchedule call."""
        tenant_id, mailbox_id = self.api.user(authorization)
        query = parse_query(params, now=self.now())
        answered = self.graph.get_schedule(
            tenant_id, mailbox_id, query.schedules, start=query.start, end=query.end, interval_minutes=query.interval
        )
        return shape(query, answered)

    def respond(self, authorization: str | None, identifier: str, body: Any) -> dict[str, Any]:
        """Accept, tentatively accept or decline the caller's copy of a meeting."""
        tenant_id, mailbox_id = self.api.user(authorization)
        request = parse_response(body)
        record = self.own_copy(tenant_id, mailbox_id, identifier)
        event = self.graph.get_event(tenant_id, mailbox_id, record.event_id, select=["isOrganizer"])
        decide_response(record, bool(event.get("isOrganizer")))
        self.graph.respond(
            tenant_id,
            mailbox_id,
            record.event_id,
            ANSWERS[request.answer],
            comment=request.comment,
            send_response=request.send_response,
        )
        return {"id": identifier, "response": ANSWERED[request.answer]}

    def own_copy(self, tenant_id: str, mailbox_id: str, identifier: str) -> MeetingRecord:
        """The caller's stored copy of the meeting the lists call ``identifier``; NotFoundError otherwise."""
        if len(identifier) != _MEETING_ID_CHARS or not all(c in "0123456789abcdef" for c in identifier):
            raise NotFoundError("no meeting with this id in your calendar (ids are as the meetings list shows them)")
        low, high = self.service.window.bounds(self.now())
        for record in self.service.meetings.list_meetings(tenant_id, mailbox_id, start=low, end=high):
            if meeting_id(record) == identifier:
                return record
        raise NotFoundError("no meeting with this id in your calendar (ids are as the meetings list shows them)")
