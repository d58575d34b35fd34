"""Carrying out the Join button's timeline: after meeting rows change, when a message falls due, and
in each mailbox's reconcile pass.

* **After a write** (``MeetingRepository`` calls :meth:`Timeline.written` / :meth:`Timeline.removed`
  once its transaction is committed): the event's button rows are read (one query), planned against
  its new occurrences (``shared.timeline.buttons.plan``), written over their etags, and the
  messages sent, delayed to their due second.
* **When a message falls due** (:meth:`Timeline.handle`): the row is read and the decision taken by
  ``on_due``; a push is delivered, then the row records it, then the withdrawal at the end is
  queued. A worker that dies in between leaves the message to be delivered again; the push then
  goes out again with the same ``webhook-id``.
* **Reconcile** (:meth:`Timeline.reconcile`, with each mailbox's catch-up round): the meetings
  starting within the horizon are compared with the button rows, and every message due within the
  horizon is sent again. This is what times a meeting more than 7 days ahead, and what restores a
  message lost between a write and its send, or a button row a failed write left behind.

Worst cases: a push is late by the queue's polling interval (2 s, host.json) plus the worker's
time; a lost message is restored by the next reconcile pass, so one lost less than a pass before
its due time is late by up to one catch-up period (HC_CATCHUP_MINUTES).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from shared.api.meetings import PRIVATE_SUBJECT, meeting_id
from shared.cache import TtlCache
from shared.delivery.deliver import Deliverer, OutgoingEvent
from shared.errors import ConflictError, ValidationError
from shared.storage.meetings import MeetingRecord, MeetingRepository
from shared.storage.queues import QueueWriter, is_reference, visible_in
from shared.sync.messages import TIMELINE_QUEUE
from shared.storage.records import MailboxRepository, digest
from shared.timeline.buttons import Button, Later, Nothing, Send, Show, Wait, Withdraw, on_due, plan, wanted
from shared.timeline.store import ButtonRepository
from shared.timezones import utc_text, utcnow

log = logging.getLogger("hybridcalendar.timeline")
TRIES = 4
RECONCILE_AFTER = timedelta(seconds=5)
SHOWN, WITHDRAWN = "join_button.shown", "join_button.withdrawn"
EVENT_TYPES = (SHOWN, WITHDRAWN)


def message_fields(tenant_id: str, mailbox_id: str, send: Send) -> dict[str, str]:
    return {
        "tenant_id": tenant_id,
        "mailbox_id": mailbox_id,
        "button": send.key,
        "version": send.version,
        "action": send.action,
    }


def parse_fields(fields: Mapping[str, str]) -> tuple[str, str, Send]:
    """(tenant, mailbox, what to do) from a timeline message's fields; ValidationError for anything else."""
    if set(fields) != {"tenant_id", "mailbox_id", "button", "version", "action"} or fields["action"] not in (
        "show",
        "withdraw",
        "reconcile",
    ):
        raise ValidationError(
            "timeline message must name tenant_id, mailbox_id, button, version and action (show, withdraw or reconcile)"
        )
    return (
        fields["tenant_id"],
        fields["mailbox_id"],
        Send(fields["action"], fields["button"], fields["version"], utcnow()),
    )


class Timeline:
    """Times and pushes the Join buttons of every mailbox."""

    def __init__(
        self,
        buttons: ButtonRepository,
        meetings: MeetingRepository,
        mailboxes: MailboxRepository,
        deliverer: Deliverer,
        queues: QueueWriter,
        *,
        lead: timedelta,
        horizon: timedelta,
        now: Callable[[], datetime] = utcnow,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.buttons, self.meetings, self.mailboxes = buttons, meetings, mailboxes
        self.deliverer, self.queues, self.lead, self.horizon = deliverer, queues, lead, horizon
        self.now, self.sleep = now, sleep
        self._kinds: TtlCache[str] = TtlCache(ttl=300.0)

    # after meeting rows changed (MeetingRepository's observer) -----------------------------------

    def written(self, tenant_id: str, mailbox_id: str, event_key: str, rows: Mapping[str, MeetingRecord]) -> None:
        """An event's occurrences are now exactly ``rows`` (row key -> record; empty: the event is gone)."""
        now = self.now()
        want = {
            b.key: b
            for row_key, record in rows.items()
            if (
                b := wanted(
                    record, event_key=event_key, row_key=row_key, meeting_id=meeting_id(record), lead=self.lead, now=now
                )
            )
            is not None
        }
        self._settle_or_later(
            tenant_id,
            mailbox_id,
            lambda: self.buttons.for_event(tenant_id, mailbox_id, event_key),
            lambda held: (want, held.keys()),
        )

    def removed(self, tenant_id: str, mailbox_id: str, event_key: str, row_keys: Iterable[str]) -> None:
        """Some occurrences of an event are gone (purged, or cancelled one by one)."""
        gone = {key.rpartition("|")[2] for key in row_keys}
        self._settle_or_later(
            tenant_id,
            mailbox_id,
            lambda: self.buttons.for_event(tenant_id, mailbox_id, event_key),
            lambda held: ({k: b for k, b in held.items() if k not in gone}, held.keys()),
        )

    def mailbox_removed(self, tenant_id: str, mailbox_id: str) -> None:
        self.buttons.delete_mailbox(tenant_id, mailbox_id)

    def _settle_or_later(
        self,
        tenant_id: str,
        mailbox_id: str,
        read: Callable[[], dict[str, Button]],
        target: Callable[[dict[str, Button]], tuple[Mapping[str, Button], Iterable[str]]],
    ) -> None:
        """Settle now; when storage fails, a reconcile of the mailbox is queued for a few seconds later, since
        the change that caused this will not come again (its rows are written)."""
        try:
            self._settle(tenant_id, mailbox_id, read, target)
        except Exception:
            self._queue(tenant_id, mailbox_id, Send("reconcile", "mailbox", "any", self.now() + RECONCILE_AFTER))
            raise

    def _settle(
        self,
        tenant_id: str,
        mailbox_id: str,
        read: Callable[[], dict[str, Button]],
        target: Callable[[dict[str, Button]], tuple[Mapping[str, Button], Iterable[str]]],
        horizon: timedelta | None = None,
    ) -> int:
        """Plan against the rows as read and write; on a conflict, read again and plan again. Messages go
        after the write, so a message never finds a row older than itself."""
        for attempt in range(TRIES):
            held = read()
            want, covered = target(held)
            steps = plan(held, want, self.now(), covered=covered, horizon=horizon)
            try:
                self.buttons.write(tenant_id, mailbox_id, steps.save, steps.delete)
            except ConflictError:
                if attempt == TRIES - 1:
                    raise
                continue
            for send in steps.send:
                self._queue(tenant_id, mailbox_id, send)
            return len(steps.send)
        return 0

    def _queue(self, tenant_id: str, mailbox_id: str, send: Send) -> None:
        """Send a timeline message visible at ``send.at`` (see ``visible_in``)."""
        delay = visible_in(send.at, self.now())
        self.queues.send(TIMELINE_QUEUE, message_fields(tenant_id, mailbox_id, send), delay_seconds=delay or None)

    # a message falls due -----------------------------------------------------------------------

    def handle(self, tenant_id: str, mailbox_id: str, send: Send) -> str:
        """Carry out one timeline message; its outcome (``shown``, ``withdrawn``, ``later`` or why nothing)."""
        if not all(is_reference(v) for v in (tenant_id, mailbox_id, send.key, send.version)):
            raise ValidationError("timeline message has a malformed id")
        if send.action == "reconcile":
            self.reconcile(tenant_id, mailbox_id)
            return "reconciled"
        for _ in range(TRIES):
            button = self.buttons.get(tenant_id, mailbox_id, send.key)
            step = on_due(button, send, self.now())
            if isinstance(step, Nothing):
                return step.reason
            if isinstance(step, Wait):
                self.sleep(step.seconds)
                continue
            if isinstance(step, Later):
                self._queue(tenant_id, mailbox_id, replace(send, at=step.at))
                return "later"
            assert button is not None
            try:
                if isinstance(step, Show):
                    return self._show(tenant_id, mailbox_id, button, step)
                if isinstance(step, Withdraw):
                    return self._withdraw(tenant_id, mailbox_id, button, button.shown, step.reason, step.forget)
            except ConflictError:
                continue
        raise ConflictError("the button changed under every try; the message is retried")

    def _show(self, tenant_id: str, mailbox_id: str, button: Button, step: Show) -> str:
        record = self.meetings.get_row(tenant_id, mailbox_id, button.meeting_row)
        if record is None:
            return "meeting_gone"
        if step.withdraw_first:
            self._publish(tenant_id, mailbox_id, WITHDRAWN, button, step.withdraw_first, {"reason": "changed"})
        room = self._kind(tenant_id, mailbox_id) == "room"
        self._publish(tenant_id, mailbox_id, SHOWN, button, button.version, button_data(record, room=room))
        self.buttons.write(
            tenant_id, mailbox_id, [replace(button, shown=button.version, shown_meeting=button.meeting_id)], []
        )
        self._queue(tenant_id, mailbox_id, Send("withdraw", button.key, button.version, button.end_at))
        return "shown"

    def _withdraw(
        self, tenant_id: str, mailbox_id: str, button: Button, version: str, reason: str, forget: bool
    ) -> str:
        self._publish(tenant_id, mailbox_id, WITHDRAWN, button, version, {"reason": reason})
        if forget:
            self.buttons.write(tenant_id, mailbox_id, [], [button])
        else:
            self.buttons.write(tenant_id, mailbox_id, [replace(button, shown="", shown_meeting="")], [])
            if button.version and button.show_at <= self.now() < button.end_at:
                self._queue(tenant_id, mailbox_id, Send("show", button.key, button.version, self.now()))
        return "withdrawn"

    def _publish(
        self, tenant_id: str, mailbox_id: str, event_type: str, button: Button, version: str, data: dict[str, Any]
    ) -> None:
        webhook_id = "msg_" + digest(f"{tenant_id}|{mailbox_id}|{button.key}|{version}|{event_type}")[:32]
        kind = self._kind(tenant_id, mailbox_id)
        shown_id = button.meeting_id if event_type == SHOWN else (button.shown_meeting or button.meeting_id)
        event = OutgoingEvent(
            webhook_id,
            event_type,
            {"mailbox": mailbox_id, "mailboxKind": kind, "meetingId": shown_id, **data},
            self.now(),
        )
        self.deliverer.publish(tenant_id, mailbox_id, event)

    def _kind(self, tenant_id: str, mailbox_id: str) -> str:
        def load() -> str:
            mailbox = self.mailboxes.get(tenant_id, mailbox_id)
            return mailbox.kind if mailbox else "user"

        return self._kinds.get_or_load((tenant_id, mailbox_id), load)

    # reconcile ---------------------------------------------------------------------------------

    def reconcile(self, tenant_id: str, mailbox_id: str) -> int:
        """Make the mailbox's buttons agree with its meetings within the horizon, and send again every
        message due within it; the number of messages sent."""
        now = self.now()
        rows = self.meetings.rows_between(tenant_id, mailbox_id, start=now, end=now + self.horizon + self.lead)
        want: dict[str, Button] = {}
        for row_key, record, event_key in rows:
            button = wanted(
                record, event_key=event_key, row_key=row_key, meeting_id=meeting_id(record), lead=self.lead, now=now
            )
            if button is not None:
                want[button.key] = button

        def covered(held: dict[str, Button]) -> tuple[Mapping[str, Button], Iterable[str]]:
            limit = now + self.horizon
            return want, [k for k, b in held.items() if b.show_at < limit or b.end_at <= now or not b.version]

        return self._settle(
            tenant_id,
            mailbox_id,
            lambda: self.buttons.for_mailbox(tenant_id, mailbox_id),
            covered,
            horizon=self.horizon,
        )


def button_data(record: MeetingRecord, *, room: bool) -> dict[str, Any]:
    """What a button carries; a room shows a private meeting as "Private meeting", without organizer."""
    hidden = room and record.is_private
    return {
        "meetingId": meeting_id(record),
        "subject": PRIVATE_SUBJECT if hidden else record.subject,
        "start": utc_text(record.start),
        "end": utc_text(record.end),
        "timeZone": record.time_zone,
        "provider": record.provider,
        "joinUrl": record.join_url,
        "videoAddress": record.sip_uri,
        "organizerName": None if hidden else record.organizer_name,
        "isPrivate": record.is_private,
    }
