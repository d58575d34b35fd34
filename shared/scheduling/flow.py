"""The keyword flow on an organizer's event: detect, create exactly once, write the invite, follow.

1. ``@webex`` / ``@meet`` (with ``:myroom``, ``:space``, ``:onetime``) in Location of the
   organizer's copy (``isOrganizer``; attendees' and rooms' copies are never written).
2. A row with a fresh idempotency key is recorded, then the tenant's platform creates the meeting
   (a retry after a crash resumes from the row: the same key finds the same meeting).
3. One PATCH, guarded by the event's etag (a concurrent edit by the organizer wins and the work is
   retried): the join block into the body, the keyword in Location replaced by the join link,
   and a single-value extended property recording the platform, meeting id and block written.
   Graph answers with the new changeKey; the caller stores the patched event under it, so the
   notification our own PATCH causes costs no Graph call.
4. Later versions of the event: new times move the platform meeting, and the block is rewritten
   only if what it says changed; Location without the join link (and without a keyword) removes
   the block and deletes the meeting, and a new keyword in place of the link replaces the meeting;
   a deleted event deletes the meeting.

A platform that refuses (not licensed, bad token) leaves the event as it was and the error is
recorded on the mailbox, where the tenant status shows it; the next edit of the event retries.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from shared.errors import AuthError, ConflictError, PermanentError, TransientError, ValidationError
from shared.parsing.keywords import find_keyword
from shared.platforms.base import MeetingPlatform, MeetingRequest
from shared.scheduling.blocks import BlockTime, block_hash, has_block, locations_with_link, with_block, without_block
from shared.scheduling.config import SchedulingConfig
from shared.scheduling.recurrence import to_rrule
from shared.timezones import UTC, fell_back, resolve
from shared.scheduling.records import Scheduling, SchedulingRepository

PROPERTY = "String {b7c1f1e2-3c4d-4e5f-8a9b-0c1d2e3f4a5b} Name HybridCalendarMeeting"
"""The single-value extended property on the organizer's event that records what we wrote."""
REFUSALS = (PermanentError, AuthError, ValidationError)

PlatformFactory = Callable[[str, str, SchedulingConfig], MeetingPlatform]


def _location(event: Mapping[str, Any]) -> str:
    return str((event.get("location") or {}).get("displayName") or "")


def _body(event: Mapping[str, Any]) -> tuple[str, str]:
    body = event.get("body") or {}
    return str(body.get("content") or ""), "text" if str(body.get("contentType", "html")).lower() == "text" else "html"


class KeywordScheduler:
    """Applies the keyword flow to organizers' events; ``creates`` and ``patches`` count its writes."""

    def __init__(
        self,
        graph: Any,
        records: SchedulingRepository,
        *,
        config_of: Callable[[str], SchedulingConfig],
        platform_of: PlatformFactory,
        moment: Callable[[Mapping[str, Any]], datetime],
        record_failure: Callable[[str, str, Exception], None],
        record_warning: Callable[[str, str, str], None] = lambda tenant, mailbox, code: None,
        locale_of: Callable[[str, str], tuple[str | None, str | None]] = lambda tenant, mailbox: (None, None),
    ) -> None:
        self.graph, self.records = graph, records
        self._locale_of = locale_of
        self._config_of, self.platform_of, self._moment = config_of, platform_of, moment
        self._record_warning = record_warning
        self._record_failure = record_failure
        self.creates = 0
        self.patches = 0

    def config(self, tenant_id: str) -> SchedulingConfig:
        """The tenant's scheduling configuration (cached as the flow reads it)."""
        return self._config_of(tenant_id)

    def wants(self, event: Mapping[str, Any]) -> bool:
        """The organizer's copy with a keyword in Location, or with our block (whose life we follow)."""
        if not event.get("isOrganizer"):
            return False
        return find_keyword(_location(event))[0] is not None or has_block(_body(event)[0])

    def apply(self, tenant_id: str, mailbox_id: str, event: dict[str, Any]) -> dict[str, Any] | None:
        """The event as our PATCH left it, or None when nothing was written."""
        try:
            return self._apply(tenant_id, mailbox_id, event)
        except REFUSALS as error:
            self._record_failure(tenant_id, mailbox_id, error)
            return None

    def forget(self, tenant_id: str, mailbox_id: str, event_id: str) -> None:
        """The organizer deleted the event: delete its meeting (idempotent)."""
        record = self.records.get(tenant_id, mailbox_id, event_id)
        if record is None:
            return
        if record.meeting is not None:
            config = self._config_of(tenant_id)
            self.platform_of(tenant_id, record.platform, config).delete_meeting(
                record.meeting, organizer=record.organizer
            )
        self.records.delete(tenant_id, mailbox_id, event_id)

    def draft(
        self, tenant_id: str, mailbox_id: str, event: Mapping[str, Any], *, platform: str, key: str, organizer: str
    ) -> tuple[dict[str, Any], Scheduling]:
        """What an app's new event carries so that one Graph create writes it as this flow's PATCH would.

        The platform meeting is created first under ``key`` (a retry with the same key finds the same
        meeting); the answer is the event's ``body``, ``locations`` and extended property, and the
        record to save under the new event's id (:meth:`adopt`) so that later edits follow this flow.
        """
        config = self._config_of(tenant_id)
        keyword = next((k for k, p in config.keywords.items() if p == platform), "@meet")
        record = Scheduling(tenant_id, mailbox_id, "", key, keyword, None, platform, organizer)
        maker = self.platform_of(tenant_id, platform, config)
        meeting = maker.create_meeting(self._request(record, event, config))
        self._warnings(record, maker)
        self.creates += 1
        record = replace(
            record, state="created", meeting=meeting, start=self._moment(event["start"]), end=self._moment(event["end"])
        )
        content, content_type = _body(event)
        templates, when = self._block_of(record, event, config)
        fields = {
            "body": {
                "contentType": content_type,
                "content": with_block(content, meeting, content_type=content_type, templates=templates, when=when),
            },
            "locations": locations_with_link(
                [{"displayName": keyword, "locationType": "default"}, *list(event.get("locations") or [])],
                keyword,
                meeting.join_url,
            ),
            "singleValueExtendedProperties": [{"id": PROPERTY, "value": self._property(record, templates, when)}],
        }
        return fields, replace(record, state="written", block=block_hash(meeting, templates, when))

    def adopt(self, record: Scheduling, created: Mapping[str, Any]) -> Scheduling:
        """Keep ``record`` for the event Graph created from :meth:`draft` (saving twice is harmless)."""
        return self.records.keep(
            replace(record, event_id=str(created["id"]), change_key=str(created.get("changeKey") or ""))
        )

    def _apply(self, tenant_id: str, mailbox_id: str, event: Mapping[str, Any]) -> dict[str, Any] | None:
        keyword, modifier = find_keyword(_location(event))
        record = self.records.get(tenant_id, mailbox_id, event["id"])
        if record is None or record.state == "creating":
            if keyword is None:
                return None
            record = self._create(record or self._begin(tenant_id, mailbox_id, event, keyword, modifier), event)
        if record.state == "created":
            return self._write(record, event)
        return self._follow(record, event, keyword)

    def _begin(
        self, tenant_id: str, mailbox_id: str, event: Mapping[str, Any], keyword: str, modifier: str | None
    ) -> Scheduling:
        platform = self._config_of(tenant_id).platform_of(keyword)
        organizer = str(((event.get("organizer") or {}).get("emailAddress") or {}).get("address") or "")
        fresh = Scheduling(
            tenant_id, mailbox_id, str(event["id"]), uuid.uuid4().hex, keyword, modifier, platform, organizer
        )
        try:
            return self.records.begin(fresh)
        except ConflictError:
            held = self.records.get(tenant_id, mailbox_id, fresh.event_id)
            if held is None:
                raise
            return held

    def _create(self, record: Scheduling, event: Mapping[str, Any]) -> Scheduling:
        """The platform's meeting; a platform still throttled or down after its retries is recorded on the
        mailbox too (the queue brings the work back a bounded number of times)."""
        config = self._config_of(record.tenant_id)
        platform = self.platform_of(record.tenant_id, record.platform, config)
        try:
            meeting = platform.create_meeting(self._request(record, event, config))
        except TransientError as error:
            self._record_failure(record.tenant_id, record.mailbox_id, error)
            raise
        self._warnings(record, platform)
        self.creates += 1
        return self.records.save(
            replace(
                record,
                state="created",
                meeting=meeting,
                start=self._moment(event["start"]),
                end=self._moment(event["end"]),
            )
        )

    def _request(self, record: Scheduling, event: Mapping[str, Any], config: SchedulingConfig) -> MeetingRequest:
        """The platform meeting in the organizer's own zone (a series with its recurrence, expanded in that
        zone). A zone Outlook could not name (a custom zone) is not guessed: the meeting is made in UTC,
        which keeps its moment right, and the mailbox shows the warning."""
        found = resolve(str(event.get("originalStartTimeZone") or "UTC"))
        if not found.known:
            fell_back(found, "keyword scheduling")
            self._record_warning(record.tenant_id, record.mailbox_id, found.warning or "unknown_time_zone")
        recurrence = (
            to_rrule(event.get("recurrence"), found.zone or UTC) if event.get("type") == "seriesMaster" else None
        )
        return MeetingRequest(
            record.organizer,
            str(event.get("subject") or ""),
            self._moment(event["start"]),
            self._moment(event["end"]),
            found.iana,
            config.kind_of(record.modifier),
            record.key,
            recurrence,
        )

    def _write(self, record: Scheduling, event: Mapping[str, Any]) -> dict[str, Any]:
        assert record.meeting is not None
        content, content_type = _body(event)
        location = _location(event)
        templates, when = self._block_of(record, event, self._config_of(record.tenant_id))
        changes = {
            "body": {
                "contentType": content_type,
                "content": with_block(
                    content, record.meeting, content_type=content_type, templates=templates, when=when
                ),
            },
            "locations": locations_with_link(list(event.get("locations") or []), location, record.meeting.join_url),
            "singleValueExtendedProperties": [{"id": PROPERTY, "value": self._property(record, templates, when)}],
        }
        patched = self.graph.update_event(
            record.tenant_id, record.mailbox_id, record.event_id, changes, etag=event.get("@odata.etag")
        )
        self.patches += 1
        self.records.save(
            replace(
                record,
                state="written",
                block=block_hash(record.meeting, templates, when),
                change_key=str(patched.get("changeKey") or ""),
            )
        )
        return patched

    def _follow(self, record: Scheduling, event: Mapping[str, Any], keyword: str | None) -> dict[str, Any] | None:
        assert record.meeting is not None
        if record.meeting.join_url not in _location(event):
            if keyword is None:
                return self._remove(record, event)
            self.forget(record.tenant_id, record.mailbox_id, record.event_id)
            return self._apply(record.tenant_id, record.mailbox_id, event)
        start, end = self._moment(event["start"]), self._moment(event["end"])
        if (start, end) == (record.start, record.end):
            return None
        config = self._config_of(record.tenant_id)
        platform = self.platform_of(record.tenant_id, record.platform, config)
        moved = platform.update_meeting(
            record.meeting, replace(self._request(record, event, config), start=start, end=end)
        )
        self._warnings(record, platform)
        record = self.records.save(replace(record, meeting=moved, start=start, end=end))
        if block_hash(moved, *self._block_of(record, event, config)) == record.block:
            return None
        return self._write(replace(record, state="created"), event)

    def _remove(self, record: Scheduling, event: Mapping[str, Any]) -> dict[str, Any]:
        content, content_type = _body(event)
        changes = {
            "body": {"contentType": content_type, "content": without_block(content, content_type=content_type)},
            "singleValueExtendedProperties": [{"id": PROPERTY, "value": json.dumps({"removed": True})}],
        }
        patched = self.graph.update_event(
            record.tenant_id, record.mailbox_id, record.event_id, changes, etag=event.get("@odata.etag")
        )
        self.patches += 1
        self.forget(record.tenant_id, record.mailbox_id, record.event_id)
        return patched

    def _warnings(self, record: Scheduling, platform: MeetingPlatform) -> None:
        """What the platform did differently from what the event asked (a meeting lengthened to the platform's
        shortest, one under way not moved), for the organizer's mailbox."""
        while platform.warnings:
            self._record_warning(record.tenant_id, record.mailbox_id, platform.warnings.pop(0))

    def _block_of(
        self, record: Scheduling, event: Mapping[str, Any], config: SchedulingConfig
    ) -> tuple[Mapping[str, str], BlockTime]:
        """The organizer's language's templates and the meeting's times in the organizer's zone: their
        mailbox's settings when known (read by the presence polls), else the event's own zone."""
        language, zone = self._locale_of(record.tenant_id, record.mailbox_id)
        zone = zone or str(event.get("originalStartTimeZone") or "UTC")
        return config.templates_for(language), BlockTime(record.start, record.end, zone)

    @staticmethod
    def _property(record: Scheduling, templates: Mapping[str, str], when: BlockTime) -> str:
        assert record.meeting is not None
        return json.dumps(
            {
                "platform": record.platform,
                "meetingId": record.meeting.meeting_id,
                "keyword": record.keyword,
                "modifier": record.modifier,
                "block": block_hash(record.meeting, templates, when),
            }
        )
