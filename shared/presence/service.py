"""Presence from automatic replies: polls in ``$batch`` calls, timed flips, ``presence.updated`` pushes.

Graph sends no change notifications for mailbox settings, so every enabled user mailbox is read
once per ``HC_PRESENCE_POLL_MINUTES``: a round (a timer, claimed by one instance per period) sorts
each tenant's user mailboxes, cuts them into polls of 20 (one JSON ``$batch`` each, Graph's most per
batch) and queues the polls on ``hc-presence`` with delays spread evenly over the period, so there
is no burst at the top of the hour. A poll reads the 20 rows with one range query and writes only
rows that changed.

A scheduled window's start and end are timed exactly with the Join button's mechanism: a queue
message made visible at that second carries the window's version; when it falls due the stored
window decides, and a message whose version is no longer stored does nothing. Worst cases: a
change made in Outlook (switched off early, a new window) is seen at the next poll, one period at
most; a lost flip message is corrected by the next poll, so presence is then late by one period.

Throttling: items of a batch throttled by Graph are sent again after their Retry-After inside the
same call (``run_batch``); mailboxes still throttled then are polled again by a message delayed by
the Retry-After, and the others go on. A failure of one mailbox (no Exchange mailbox, blocked by an
application access policy, gone) is recorded on that mailbox's row as a code and never fails the poll.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from shared.errors import ConflictError, HybridCalendarError, ValidationError
from shared.graph.batch import MAX_BATCH, BatchRequest
from shared.presence.model import Decision, PresenceRecord, decide, decide_error, decide_flip, next_flip, read_settings
from shared.storage.queues import is_reference, references_message, visible_in
from shared.storage.records import digest
from shared.sync.messages import PRESENCE_QUEUE, Outcome
from shared.timeline.buttons import EARLY
from shared.timezones import utc_text, utcnow

if TYPE_CHECKING:
    from shared.delivery.deliver import Deliverer
    from shared.graph.client import GraphClient
    from shared.presence.store import PresenceRepository
    from shared.storage.queues import QueueWriter
    from shared.storage.records import MailboxRepository

log = logging.getLogger("hybridcalendar.presence")

PRESENCE_UPDATED = "presence.updated"
NO_EXCHANGE_CODES = frozenset(
    {"MailboxNotEnabledForRESTAPI", "MailboxNotSupportedForRESTAPI", "ErrorMailboxNotEnabledForRESTAPI"}
)
TRIES = 3


@dataclass(frozen=True)
class PresenceRef:
    """A reference on ``hc-presence``: poll one mailbox (a poll message carries up to 20, read with one
    ``$batch``), or one mailbox's timed flip for a window ``version``."""

    tenant_id: str
    kind: Literal["poll", "flip"]
    mailbox_id: str
    version: str = ""

    def fields(self) -> dict[str, str]:
        fields = {"tenant_id": self.tenant_id, "kind": self.kind, "mailbox_id": self.mailbox_id}
        return fields | ({"version": self.version} if self.kind == "flip" else {})

    @classmethod
    def parse(cls, fields: Any) -> PresenceRef:
        """ValidationError for anything that is not one of ours (the message is then poisoned, not retried)."""
        if not isinstance(fields, dict) or fields.get("kind") not in ("poll", "flip"):
            raise ValidationError("presence reference must have kind poll or flip")
        allowed = {"tenant_id", "kind", "mailbox_id"} | ({"version"} if fields["kind"] == "flip" else set())
        if set(fields) != allowed:
            raise ValidationError(f"presence reference must have exactly {', '.join(sorted(allowed))}")
        if not all(is_reference(fields[name]) for name in allowed - {"kind"}):
            raise ValidationError("presence reference has a malformed id")
        return cls(fields["tenant_id"], fields["kind"], fields["mailbox_id"], fields.get("version", ""))


class PresenceService:
    """Polls, flips and answers for out-of-office presence (see the module's docstring)."""

    def __init__(
        self,
        repository: PresenceRepository,
        mailboxes: MailboxRepository,
        graph: GraphClient,
        deliverer: Deliverer | None,
        queues: QueueWriter,
        *,
        every: timedelta,
        now: Callable[[], datetime] = utcnow,
        sleep: Callable[[float], None] = time.sleep,
        warn: Callable[[str, str, str], None] = lambda tenant, mailbox, code: None,
    ) -> None:
        self.repository, self.mailboxes, self.graph = repository, mailboxes, graph
        self.warn = warn
        self.deliverer, self.queues, self.every = deliverer, queues, every
        self.now, self.sleep = now, sleep

    # the round ------------------------------------------------------------------------------------

    def round(self, tenant_ids: Iterable[str]) -> int:
        """Queue this period's polls of every enabled user mailbox, spread evenly; the number of polls."""
        polls = [
            (tenant, chunk)
            for tenant in tenant_ids
            for chunk in _chunks(sorted(self.mailboxes.list_enabled(tenant, kind="user")), MAX_BATCH)
        ]
        seconds = max(1, int(self.every.total_seconds()))
        for n, (tenant, chunk) in enumerate(polls):
            self._send_poll(tenant, chunk, delay=(n * seconds) // len(polls))
        return len(polls)

    def _send_poll(self, tenant_id: str, mailbox_ids: list[str], *, delay: int) -> None:
        text = references_message([PresenceRef(tenant_id, "poll", mailbox).fields() for mailbox in mailbox_ids])
        self.queues.send_text(PRESENCE_QUEUE, text, delay_seconds=delay or None)

    def handle(self, ref: PresenceRef) -> str:
        """One reference on its own (a poll of one mailbox, or a flip)."""
        if ref.kind == "poll":
            self._poll_logged(ref.tenant_id, [ref.mailbox_id])
            return "polled"
        return self.flip(ref.tenant_id, ref.mailbox_id, ref.version)

    def handle_together(self, refs: list[PresenceRef]) -> tuple[list[Outcome], list[PresenceRef]]:
        """A message's polls, each tenant's with one ``$batch`` per 20; its flips are left for one at a time."""
        polls: dict[str, list[str]] = {}
        for ref in refs:
            if ref.kind == "poll":
                polls.setdefault(ref.tenant_id, []).append(ref.mailbox_id)
        for tenant_id, mailbox_ids in polls.items():
            for chunk in _chunks(mailbox_ids, MAX_BATCH):
                self._poll_logged(tenant_id, chunk)
        return [Outcome.DONE] * sum(len(ids) for ids in polls.values()), [ref for ref in refs if ref.kind == "flip"]

    def _poll_logged(self, tenant_id: str, mailbox_ids: list[str]) -> None:
        counts = self.poll(tenant_id, mailbox_ids)
        log.info(
            "presence poll of %d mailbox(es) in tenant %s: %s",
            len(mailbox_ids),
            tenant_id,
            ", ".join(f"{n} {word}" for word, n in sorted(counts.items())),
        )

    # a poll -----------------------------------------------------------------------------------------

    def poll(self, tenant_id: str, mailbox_ids: Iterable[str]) -> Counter[str]:
        """Read up to 20 mailboxes' settings with one ``$batch`` and apply each; counts by outcome. A mailbox
        disabled since the round queued the poll is left out (its presence row went with it)."""
        asked = list(dict.fromkeys(mailbox_ids))[:MAX_BATCH]
        if not asked:
            return Counter()
        still = set(self.mailboxes.list_enabled(tenant_id, kind="user", first=min(asked), last=max(asked)))
        ids = [mailbox for mailbox in asked if mailbox in still]
        if not ids:
            return Counter({"disabled": len(asked)})
        requests = [BatchRequest(str(n), "GET", f"/users/{mailbox}/mailboxSettings") for n, mailbox in enumerate(ids)]
        results = self.graph.batch(tenant_id, requests)
        stored = self.repository.get_many(tenant_id, ids)
        counts: Counter[str] = Counter()
        throttled: list[tuple[str, float]] = []
        for n, mailbox_id in enumerate(ids):
            result = results.get(str(n))
            error = result.error if result is not None else None
            if result is not None and error is None:
                counts[self._apply(tenant_id, mailbox_id, stored.get(mailbox_id), result.body)] += 1
            elif error is not None and error.code == "throttled":
                throttled.append((mailbox_id, float(getattr(error, "retry_after", None) or 30.0)))
                counts["throttled"] += 1
            else:
                counts[self._failed(tenant_id, mailbox_id, stored.get(mailbox_id), error)] += 1
        if throttled:
            delay = int(min(max(seconds for _, seconds in throttled), 900)) + 1
            self._send_poll(tenant_id, [mailbox for mailbox, _ in throttled], delay=delay)
        return counts

    def _apply(self, tenant_id: str, mailbox_id: str, stored: PresenceRecord | None, body: Any) -> str:
        try:
            settings = read_settings(body)
        except ValidationError:
            return self._failed(tenant_id, mailbox_id, stored, ValidationError("unreadable mailbox settings"))
        if settings.zone_warning:
            self.warn(tenant_id, mailbox_id, settings.zone_warning)
        for _ in range(TRIES):
            decision = decide(stored, tenant_id, mailbox_id, settings, self.now())
            try:
                return self._carry_out(decision, "changed")
            except ConflictError:
                stored = self.repository.get(tenant_id, mailbox_id)
        raise ConflictError("the presence row changed under every try")

    def _failed(
        self, tenant_id: str, mailbox_id: str, stored: PresenceRecord | None, error: HybridCalendarError | None
    ) -> str:
        code = failure_code(error)
        row = decide_error(stored, tenant_id, mailbox_id, code, self.now())
        if row is not None:
            try:
                self.repository.save(row)
            except ConflictError:
                pass
            log.warning("presence of mailbox %s in tenant %s: %s", mailbox_id, tenant_id, code)
        return code

    # a timed flip ---------------------------------------------------------------------------------

    def flip(self, tenant_id: str, mailbox_id: str, version: str) -> str:
        """A window's start or end fell due: apply it if the window is still the one stored. A message up to
        ``EARLY`` ahead of its edge waits for it; one further ahead (a flip beyond the queue's 7 days) is
        sent on to the edge."""
        for _ in range(TRIES):
            stored = self.repository.get(tenant_id, mailbox_id)
            if stored is None or stored.replies.version != version:
                return "stale"
            now = self.now()
            decision = decide_flip(stored, version, now)
            if decision.write is None:
                edge = next_flip(stored.replies, now)
                if edge is None:
                    return "unchanged"
                if edge - now > EARLY:
                    self._queue_flip(tenant_id, mailbox_id, version, edge)
                    return "later"
                self.sleep((edge - now).total_seconds())
                continue
            try:
                return self._carry_out(decision, "flipped")
            except ConflictError:
                continue
        raise ConflictError("the presence row changed under every try")

    # writing, pushing, timing ------------------------------------------------------------------------

    def _carry_out(self, decision: Decision, changed: str) -> str:
        """Push, then write, then time the next flip. The push goes first: one that fails leaves the row as
        it was, so the retried message decides the same change again and pushes it (the same webhook-id,
        which receivers drop as a repeat); written first, the retry would find nothing left to do."""
        record = decision.write
        if record is None:
            return "unchanged"
        if decision.pushed:
            self._push(record)
        self.repository.save(record)
        if decision.flip_at is not None:
            self._queue_flip(record.tenant_id, record.mailbox_id, record.replies.version, decision.flip_at)
        return changed

    def _queue_flip(self, tenant_id: str, mailbox_id: str, version: str, at: datetime) -> None:
        delay = visible_in(at, self.now())
        self.queues.send(
            PRESENCE_QUEUE, PresenceRef(tenant_id, "flip", mailbox_id, version).fields(), delay_seconds=delay or None
        )

    def _push(self, record: PresenceRecord) -> None:
        if self.deliverer is None:
            return
        from shared.delivery.deliver import OutgoingEvent

        presence = record.presence
        state = f"{presence.out_of_office}|{_text(presence.since)}|{_text(presence.until)}"
        webhook_id = (
            "msg_"
            + digest(f"{record.tenant_id}|{record.mailbox_id}|{record.replies.version}|{state}|{PRESENCE_UPDATED}")[:32]
        )
        self.deliverer.publish(
            record.tenant_id,
            record.mailbox_id,
            OutgoingEvent(
                webhook_id, PRESENCE_UPDATED, {"mailbox": record.mailbox_id, **presence_json(record)}, self.now()
            ),
        )

    # reading and forgetting -----------------------------------------------------------------------------

    def get(self, tenant_id: str, mailbox_id: str) -> PresenceRecord | None:
        return self.repository.get(tenant_id, mailbox_id)

    def forget(self, tenant_id: str, mailbox_id: str) -> None:
        """The mailbox was disabled: its presence row goes (idempotent)."""
        self.repository.delete(tenant_id, mailbox_id)


def failure_code(error: HybridCalendarError | None) -> str:
    """The code recorded on a mailbox whose settings could not be read (never the error's text)."""
    if error is None:
        return "no_answer"
    details = error.details
    if details is not None and details.code in NO_EXCHANGE_CODES:
        return "no_exchange_mailbox"
    return error.code


def presence_json(record: PresenceRecord) -> dict[str, Any]:
    presence = record.presence
    return {"outOfOffice": presence.out_of_office, "since": _text(presence.since), "until": _text(presence.until)}


def _text(moment: datetime | None) -> str | None:
    return utc_text(moment) if moment else None


def _chunks(items: list[str], size: int) -> Iterable[list[str]]:
    return (items[start : start + size] for start in range(0, len(items), size))
