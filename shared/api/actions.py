"""What a user does from an app beyond reading: answer an invitation, look up free/busy.

The caller is authenticated as for the lists (:meth:`MeetingsApi.user`); the Graph call is made
for the caller's own mailbox, with the application's permissions, so a user can only ever act
on their own calendar. A meeting is named by the id the lists show, which every copy of one
occurrence shares; the caller's own copy is found among the meetings stored for the mailbox
(one storage query over the retention window). Meetings outside that window, or not in the
caller's calendar, are not found.

Decisions are pure (``parse_response``, ``decide_response``, :mod:`shared.api.availability`);
the class fetches and calls.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from shared.api.availability import parse_query, shape
from shared.api.meetings import meeting_id
from shared.errors import NotFoundError, RefusedError, ValidationError
from shared.storage.meetings import MeetingRecord, MeetingRepository
from shared.sync.window import Window
from shared.timezones import utcnow

if TYPE_CHECKING:
    from shared.api.service import MeetingsApi
    from shared.graph.client import GraphClient

ANSWERS = {"accept": "accept", "tentative": "tentativelyAccept", "decline": "decline"}
"""The API's answers and Graph's actions for them."""
ANSWERED = {"accept": "accepted", "tentative": "tentativelyAccepted", "decline": "declined"}
MAX_COMMENT_CHARS = 2000
_MEETING_ID_CHARS = 32


@dataclass(frozen=True)
class ResponseRequest:
    answer: str
    comment: str
    send_response: bool


def parse_response(body: Any) -> ResponseRequest:
    """The checked body of ``POST /api/me/meetings/{id}/response``; ValidationError naming the field."""
    if not isinstance(body, dict):
        raise ValidationError("the body must be a JSON object with response (accept, tentative or decline)")
    unknown = sorted(set(body) - {"response", "comment", "sendResponse"})
    if unknown:
        raise ValidationError(f"unknown field(s) {', '.join(unknown)}; send response, comment, sendResponse")
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
        raise RefusedError("you organize this meeting; an organizer does not answer their own invitation "
                           "(change or cancel it instead)")
    if record.is_cancelled:
        raise RefusedError("the meeting is cancelled; there is nothing to answer")


@dataclass
class MeetingActions:
    """Graph calls on the caller's own calendar, behind the API's authentication."""

    api: MeetingsApi
    graph: GraphClient
    meetings: MeetingRepository
    window: Window
    now: Callable[[], datetime] = utcnow

    def availability(self, authorization: str | None, params: Mapping[str, str]) -> dict[str, Any]:
        """Free/busy of up to 20 people and rooms in one getSchedule call."""
        tenant_id, mailbox_id = self.api.user(authorization)
        query = parse_query(params, now=self.now())
        answered = self.graph.get_schedule(tenant_id, mailbox_id, query.schedules, start=query.start, end=query.end,
                                           interval_minutes=query.interval)
        return shape(query, answered)

    def respond(self, authorization: str | None, identifier: str, body: Any) -> dict[str, Any]:
        """Accept, tentatively accept or decline the caller's copy of a meeting."""
        tenant_id, mailbox_id = self.api.user(authorization)
        request = parse_response(body)
        record = self.own_copy(tenant_id, mailbox_id, identifier)
        event = self.graph.get_event(tenant_id, mailbox_id, record.event_id, select=["isOrganizer"])
        decide_response(record, bool(event.get("isOrganizer")))
        self.graph.respond(tenant_id, mailbox_id, record.event_id, ANSWERS[request.answer], comment=request.comment,
                           send_response=request.send_response)
        return {"id": identifier, "response": ANSWERED[request.answer]}

    def own_copy(self, tenant_id: str, mailbox_id: str, identifier: str) -> MeetingRecord:
        """The caller's stored copy of the meeting the lists call ``identifier``; NotFoundError otherwise."""
        if len(identifier) != _MEETING_ID_CHARS or not all(c in "0123456789abcdef" for c in identifier):
            raise NotFoundError("no meeting with this id in your calendar (ids are as the meetings list shows them)")
        low, high = self.window.bounds(self.now())
        for record in self.meetings.list_meetings(tenant_id, mailbox_id, start=low, end=high):
            if meeting_id(record) == identifier:
                return record
        raise NotFoundError("no meeting with this id in your calendar (ids are as the meetings list shows them)")
