"""Applying change notifications: plan one, or plan many and write many, around ``shared.sync.decide``.

Per change: the held index is read; if it holds the notified changeKey nothing else happens (no
Graph call). Otherwise one GET (claimed first, so duplicates that arrive together cost one), the
decision, and one entity group transaction. A series is read again whole (master and instances in
the window). A write that meets another writer (the index's etag changed) re-reads the index and
decides again at once, with what was fetched, instead of failing the message and waiting out a
visibility timeout.

Several changes of one mailbox (a message of the webhook's group commit) share one index query,
one ``$batch`` of GETs, and the transactions of their plain single events; whatever fails there
(an item still throttled, a row changed meanwhile, a series) is left to the one-at-a-time path.
Several changes of one event count once: the GET returns the current version whichever is fetched
for, so the one fetched for is the last whose version is not held yet (``decide.to_fetch``), never
simply the last delivered, which may be an older version already stored.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from shared.errors import ConflictError, HybridCalendarError, MailboxNotFoundError, NotFoundError, ThrottledError
from shared.graph.client import GraphClient
from shared.storage.meetings import EventIndex, EventRows, MeetingRepository
from shared.sync.decide import (
    ABSENT,
    Bounds,
    Decision,
    Defer,
    Delete,
    Fetched,
    FetchSeries,
    GraphEvent,
    Replace,
    Throttled,
    Unchanged,
    decide,
    decide_series,
    replace_single,
    runs_per_event,
    to_fetch,
)
from shared.sync.inflight import Claim, Inflight
from shared.sync.messages import ChangeRef, ChangeType, Outcome
from shared.sync.records import EVENT_FIELDS, zone_warning
from shared.timezones import fell_back, resolve
from shared.sync.status import MailboxStatus

if TYPE_CHECKING:
    from shared.scheduling.flow import KeywordScheduler

CONFLICT_TRIES = 4
"""Writes of one event that may meet another writer in a row before the message is retried by the queue."""


@dataclass
class Batch:
    """What :meth:`ChangeApplier.apply_many` did: the outcome of each change applied (by the change
    object's identity: two equal references of one message are two changes), and the changes left
    for one at a time."""

    applied: dict[int, Outcome] = field(default_factory=dict)
    left: list[ChangeRef] = field(default_factory=list)

    @property
    def outcomes(self) -> list[Outcome]:
        return list(self.applied.values())

    def done(self, change: ChangeRef, outcome: Outcome) -> None:
        self.applied[id(change)] = outcome


class ChangeApplier:
    """Decides and writes the changes of mailboxes; keyword scheduling hooks in through ``scheduler``."""

    def __init__(
        self,
        graph: GraphClient,
        meetings: MeetingRepository,
        status: MailboxStatus,
        inflight: Inflight,
        *,
        bounds: Callable[[], Bounds],
        scheduler: KeywordScheduler | None = None,
    ) -> None:
        self.graph, self.meetings, self.status, self.inflight = graph, meetings, status, inflight
        self.bounds, self.scheduler = bounds, scheduler

    # one ----------------------------------------------------------------------------------------

    def apply_one(self, change: ChangeRef) -> Outcome:
        """One notification: ``unchanged`` (no Graph call), ``duplicate``, ``deleted``, ``stored`` or ``stale``."""
        self.status.notified(change.tenant_id, change.mailbox_id)
        if change.change_type is ChangeType.DELETED:
            self.delete_event(change.tenant_id, change.mailbox_id, change.event_id)
            return Outcome.DELETED
        self.inflight.wait_for_write((change.tenant_id, change.mailbox_id, change.event_id))
        index = self.meetings.event_index(change.tenant_id, change.mailbox_id, change.event_id)
        if isinstance(decide(change, index, None, self.bounds()), Unchanged):
            return Outcome.UNCHANGED
        claim: Claim = (change.tenant_id, change.mailbox_id, change.event_id, change.change_key or "")
        if change.change_key and not self.inflight.claim(claim):
            return Outcome.DUPLICATE
        try:
            return self._decided(change, index, self._get(change))
        except BaseException:
            self.inflight.release(claim)
            raise

    def _decided(self, change: ChangeRef, index: EventIndex | None, fetched: Fetched) -> Outcome:
        """Carry out the decision; on a write conflict, read the index again and decide again."""
        for _ in range(CONFLICT_TRIES - 1):
            try:
                return self._carry_out(change, decide(change, index, fetched, self.bounds()), fetched)
            except ConflictError:
                index = self.meetings.event_index(change.tenant_id, change.mailbox_id, change.event_id)
        return self._carry_out(change, decide(change, index, fetched, self.bounds()), fetched)

    def _get(self, change: ChangeRef) -> Fetched:
        try:
            return GraphEvent(
                self.graph.get_event(change.tenant_id, change.mailbox_id, change.event_id, select=EVENT_FIELDS)
            )
        except MailboxNotFoundError:
            raise
        except NotFoundError:
            return ABSENT

    def _carry_out(self, change: ChangeRef, decision: Decision, fetched: Fetched) -> Outcome:
        tenant, mailbox = change.mailbox
        if isinstance(decision, Delete):
            self.delete_event(tenant, mailbox, decision.event_id)
            return Outcome.DELETED
        if isinstance(decision, FetchSeries):
            master = fetched if isinstance(fetched, GraphEvent) and fetched.id == decision.master_id else None
            return self.store_series(tenant, mailbox, decision.master_id, master=master)
        if isinstance(decision, Replace) and isinstance(fetched, GraphEvent):
            return self.store_single(
                tenant,
                mailbox,
                fetched,
                index=decision.rows.index
                if decision.rows.event_id == change.event_id
                else self._index(tenant, mailbox, fetched.id),
            )
        if isinstance(decision, Unchanged):
            return Outcome.STALE if decision.reason == "stale" else Outcome.UNCHANGED
        if isinstance(decision, Defer):
            raise ThrottledError("get event: Graph is throttling the mailbox", retry_after=decision.seconds)
        raise AssertionError(f"no way to carry out {type(decision).__name__} after a GET")

    def _index(self, tenant: str, mailbox: str, event_id: str) -> EventIndex | None:
        return self.meetings.event_index(tenant, mailbox, event_id)

    # single events and series -------------------------------------------------------------------

    def store_single(self, tenant: str, mailbox: str, event: GraphEvent, *, index: EventIndex | None) -> Outcome:
        """A single event's row, through keyword scheduling first when it wants the event."""
        self.warn_of_zones(tenant, mailbox, [event])
        if self.scheduler is not None and self.scheduler.wants(event.raw):
            with self.inflight.writing((tenant, mailbox, event.id)):
                event = self._scheduled(tenant, mailbox, event)
                return self._write(tenant, mailbox, lambda held: replace_single(event, held, self.bounds()), index)
        return self._write(tenant, mailbox, lambda held: replace_single(event, held, self.bounds()), index)

    def store_series(self, tenant: str, mailbox: str, master_id: str, *, master: GraphEvent | None = None) -> Outcome:
        """A series as its instances in the window: the master (the one given, from a delta round, or one
        GET) and one paged read of its instances. An organizer's series goes through keyword scheduling
        (the master and each exception may carry a keyword of their own)."""
        if master is None or master.is_stub:
            try:
                master = GraphEvent(self.graph.get_event(tenant, mailbox, master_id, select=EVENT_FIELDS))
            except MailboxNotFoundError:
                raise
            except NotFoundError:
                self.delete_event(tenant, mailbox, master_id)
                return Outcome.DELETED
        scheduled = self.scheduler is not None and (
            bool(master.raw.get("isOrganizer")) or self.scheduler.wants(master.raw)
        )
        if not scheduled:
            return self._write_series(tenant, mailbox, master, self._instances(tenant, mailbox, master.id))
        with self.inflight.writing((tenant, mailbox, master.id)):
            master = self._scheduled(tenant, mailbox, master)
            instances = [
                self._scheduled(tenant, mailbox, item) if item.type == "exception" else item
                for item in self._instances(tenant, mailbox, master.id)
            ]
            return self._write_series(tenant, mailbox, master, instances)

    def _instances(self, tenant: str, mailbox: str, master_id: str) -> list[GraphEvent]:
        bounds = self.bounds()
        return [
            GraphEvent(item)
            for item in self.graph.list_instances(
                tenant, mailbox, master_id, start=bounds.start, end=bounds.end, select=EVENT_FIELDS
            )
        ]

    def warn_of_zones(self, tenant: str, mailbox: str, events: Iterable[GraphEvent]) -> None:
        """A mailbox warning when an event's organizer zone is not known (its rows then show UTC)."""
        for event in events:
            warning = zone_warning(dict(event.raw)) if not event.is_stub else None
            if warning:
                fell_back(resolve(str(event.raw.get("originalStartTimeZone"))), "an event's display zone")
                self.status.warned(tenant, mailbox, warning)
                return

    def _write_series(self, tenant: str, mailbox: str, master: GraphEvent, instances: list[GraphEvent]) -> Outcome:
        self.warn_of_zones(tenant, mailbox, [master])
        return self._write(
            tenant,
            mailbox,
            lambda held: decide_series(master, instances, held, self.bounds()),
            self._index(tenant, mailbox, master.id),
            event_id=master.id,
        )

    def _write(
        self,
        tenant: str,
        mailbox: str,
        decision_for: Callable[[EventIndex | None], Replace | Unchanged],
        index: EventIndex | None,
        *,
        event_id: str | None = None,
    ) -> Outcome:
        """Write what ``decision_for(index)`` says; on a conflict read the index again and decide again."""
        for attempt in range(CONFLICT_TRIES):
            decision = decision_for(index)
            if isinstance(decision, Unchanged):
                return Outcome.STALE
            try:
                return Outcome.STORED if self.meetings.write_event(tenant, mailbox, decision.rows) else Outcome.STALE
            except ConflictError:
                if attempt == CONFLICT_TRIES - 1:
                    raise
                index = self._index(tenant, mailbox, event_id or decision.rows.event_id)
        raise AssertionError("unreachable")

    def _scheduled(self, tenant: str, mailbox: str, event: GraphEvent) -> GraphEvent:
        """The event after keyword scheduling, or as it is when there is nothing to schedule."""
        if self.scheduler is None or not self.scheduler.wants(event.raw):
            return event
        return GraphEvent({**event.raw, **(self.scheduler.apply(tenant, mailbox, dict(event.raw)) or {})})

    def delete_event(self, tenant: str, mailbox: str, event_id: str) -> int:
        """An event is gone: its rows, and the meeting keyword scheduling made for it; rows removed."""
        removed = self.meetings.delete_event(tenant, mailbox, event_id)
        if self.scheduler is not None:
            self.scheduler.forget(tenant, mailbox, event_id)
        return removed

    # many ---------------------------------------------------------------------------------------

    def apply_many(self, changes: Sequence[ChangeRef]) -> Batch:
        """Several notifications of one mailbox at once; see the module docstring."""
        batch = Batch()
        if not changes or any(c.mailbox != changes[0].mailbox for c in changes):
            batch.left = list(changes)
            return batch
        tenant, mailbox = changes[0].mailbox
        runs = runs_per_event(changes)
        self.status.notified(tenant, mailbox)
        batch.left = [run[-1] for run in runs.values() if run[-1].change_type is ChangeType.DELETED]
        wanted = {event_id: run[-1] for event_id, run in runs.items() if run[-1].change_type is not ChangeType.DELETED}
        for event_id in wanted:
            self.inflight.wait_for_write((tenant, mailbox, event_id))
        indexes = self.meetings.event_indexes(tenant, mailbox, wanted)
        claims: dict[str, Claim] = {}
        for event_id, latest in list(wanted.items()):
            change = to_fetch(runs[event_id], indexes[event_id])
            if change is None:
                batch.done(latest, Outcome.UNCHANGED)
                del wanted[event_id]
                continue
            wanted[event_id] = change
            claim = (tenant, mailbox, event_id, change.change_key or "")
            if change.change_key and not self.inflight.claim(claim):
                batch.done(change, Outcome.DUPLICATE)
                del wanted[event_id]
                continue
            claims[event_id] = claim
        acted = {id(c) for c in [*wanted.values(), *batch.left]} | set(batch.applied)
        for change in changes:
            if id(change) not in acted:
                batch.done(change, Outcome.SUPERSEDED)
        done: set[str] = set()
        try:
            self._fetch_and_write(tenant, mailbox, wanted, indexes, batch, done)
        finally:
            for event_id in claims.keys() - done:
                self.inflight.release(claims[event_id])
        return batch

    def _fetch_and_write(
        self,
        tenant: str,
        mailbox: str,
        wanted: dict[str, ChangeRef],
        indexes: dict[str, EventIndex | None],
        batch: Batch,
        done: set[str],
    ) -> None:
        fetched = self.graph.get_events(tenant, mailbox, list(wanted), select=EVENT_FIELDS) if wanted else {}
        plain: list[EventRows] = []
        for event_id, result in fetched.items():
            change = wanted[event_id]
            got = _as_fetched(result)
            if got is None:
                batch.left.append(change)
                continue
            decision = decide(change, indexes[event_id], got, self.bounds())
            if (
                isinstance(decision, Replace)
                and isinstance(got, GraphEvent)
                and decision.rows.event_id == event_id
                and not (self.scheduler is not None and self.scheduler.wants(got.raw))
            ):
                self.warn_of_zones(tenant, mailbox, [got])
                plain.append(decision.rows)
            elif isinstance(decision, Defer):
                batch.left.append(change)
            else:
                self._alone(change, decision, got, batch, done)
        for event_id, written in self.meetings.write_events(tenant, mailbox, plain).items():
            if written == "conflict":
                batch.left.append(wanted[event_id])
            else:
                batch.done(wanted[event_id], Outcome.STORED if written == "stored" else Outcome.STALE)
                done.add(event_id)

    def _alone(self, change: ChangeRef, decision: Decision, got: Fetched, batch: Batch, done: set[str]) -> None:
        """A series, a moved id, an event to schedule, a deletion: carried out on its own; a failure leaves it
        to the one-at-a-time path, where it is retried, dropped or recorded as a lone change would be."""
        try:
            outcome = self._carry_out(change, decision, got)
        except HybridCalendarError:
            batch.left.append(change)
            return
        batch.done(change, outcome)
        done.add(change.event_id)

    def rows_of(self, events: Iterable[GraphEvent], indexes: dict[str, EventIndex | None]) -> list[EventRows]:
        """The rows of single events from a delta round, where no newer version is held."""
        bounds = self.bounds()
        return [
            decision.rows
            for event in events
            if isinstance(decision := replace_single(event, indexes.get(event.id), bounds), Replace)
        ]


def _as_fetched(result: Any) -> Fetched | None:
    """A ``$batch`` item as a fetch result; None for a failure that the one-at-a-time path must meet."""
    if isinstance(result, dict):
        return GraphEvent(result)
    if isinstance(result, ThrottledError):
        return Throttled(result.retry_after or 1.0)
    if isinstance(result, NotFoundError) and not isinstance(result, MailboxNotFoundError):
        return ABSENT
    return None
