"""The sync engine: enabling mailboxes, subscriptions, change processing, catch-up and retention.

Every entry point takes references (tenant, mailbox, event ids) and is safe to run twice:
Graph delivers at least once, out of order and with duplicates, and queues redeliver.

* A change whose ``changeKey`` we already hold costs no Graph call; otherwise one GET of the
  event (plus its ``instances`` in the window for a series). Rows are replaced per event in
  entity group transactions, and an older delivery never overwrites newer data. Several
  changes of one mailbox (one queue message) share one index query, one ``$batch`` of GETs and
  their transactions (``apply_changes``).
* Subscriptions are renewed in ``$batch`` (about N/20 requests for N subscriptions); one Graph
  no longer knows (404) is recreated and the mailbox caught up by delta.
* Catch-up is a calendarView delta round over the window. A round from scratch (initial,
  daily, after a 410) also removes what we hold that Graph no longer has.
"""

from __future__ import annotations

import secrets
import threading
from functools import lru_cache
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, NamedTuple

from shared.cache import TtlCache
from shared.errors import (ConflictError, HybridCalendarError, MailboxNotFoundError, NotFoundError, QueueOutcome,
                           ResyncRequiredError, queue_outcome)
from shared.graph.batch import BatchRequest
from shared.graph.client import GraphClient, graph_time, parse_graph_time
from shared.storage.meetings import UNREAD, EventRows, MeetingRecord, index_key
from shared.storage.records import Mailbox, Subscription, Tenant, digest
from shared.storage.stores import Stores
from shared.sync.records import EVENT_FIELDS, last_modified, to_record
from shared.sync.window import Window
from shared.timezones import utcnow

if TYPE_CHECKING:
    from shared.scheduling.flow import KeywordScheduler

SERIES_TYPES = ("occurrence", "exception")
CHANGES_QUEUE = "hc-changes"
LIFECYCLE_QUEUE = "hc-lifecycle"
JOBS_QUEUE = "hc-jobs"
NOTED_EVERY = timedelta(minutes=1)
CLAIM_FOR = timedelta(minutes=5)
CLAIMS_HELD = 50_000
WRITE_WAIT = timedelta(seconds=10)


@dataclass(frozen=True)
class SyncOptions:
    """Where Graph posts notifications, how long subscriptions live, and the window kept."""

    public_base_url: str
    window: Window = Window()
    subscription_minutes: int = 10000
    renewal_margin: timedelta = timedelta(hours=48)

    @property
    def notification_url(self) -> str:
        return f"{self.public_base_url}/api/graph/notifications"

    @property
    def lifecycle_url(self) -> str:
        return f"{self.public_base_url}/api/graph/lifecycle"


Claim = tuple[str, str, str, str]
"""(tenant, mailbox, event id, changeKey): one version of an event being fetched by this process."""


class _Wanted(NamedTuple):
    claim: Claim
    index: Any


@dataclass
class _Together:
    """One :meth:`SyncEngine.apply_changes` call: the events to fetch (with their claim and index row as
    read), what was applied, and the references left for one-at-a-time processing."""

    tenant: str
    mailbox: str
    wanted: dict[str, _Wanted] = field(default_factory=dict)
    outcomes: list[str] = field(default_factory=list)
    left: list[Mapping[str, str]] = field(default_factory=list)
    done: set[str] = field(default_factory=set)

    def applied(self, event_id: str, outcome: str) -> None:
        self.outcomes.append(outcome)
        self.done.add(event_id)

    def leave(self, event_id: str) -> None:
        """Hand the event to :meth:`SyncEngine.apply_change` with the changeKey it was claimed for."""
        change_key = self.wanted[event_id].claim[3]
        self.left.append({"tenant_id": self.tenant, "mailbox_id": self.mailbox, "event_id": event_id}
                         | ({"change_key": change_key} if change_key else {}))


class SyncEngine:
    """What the triggers call; each method is one unit of queue work (or one admin request)."""

    def __init__(self, stores: Stores, graph: GraphClient, options: SyncOptions, *,
                 now: Callable[[], datetime] = utcnow, scheduler: KeywordScheduler | None = None) -> None:
        self.stores, self.graph, self.options, self.now = stores, graph, options, now
        self.scheduler = scheduler
        self._noted: dict[tuple[str, str], datetime] = {}
        self._claims: TtlCache[bool] = TtlCache(ttl=CLAIM_FOR.total_seconds(), maxsize=CLAIMS_HELD)
        self._writes: dict[tuple[str, str, str], threading.Event] = {}
        self._lock = threading.Lock()

    # mailboxes ----------------------------------------------------------------------------------

    def enable(self, tenant_id: str, mailbox_id: str, *, kind: str = "user") -> Mailbox:
        """Record the mailbox, subscribe to it and sync its window (idempotent).

        The tenant is discovered first (TenantNotFoundError for one Microsoft does not know, nothing
        stored); a mailbox the directory does not have, or that fails later, keeps a row with the error
        so that the tenant status shows it.
        """
        cloud = self.graph.auth.cloud(tenant_id)
        if self.stores.tenants.get(tenant_id) is None:
            self.stores.tenants.save(Tenant(tenant_id, cloud=cloud.instance))
        try:
            user = self.graph.get_user(tenant_id, mailbox_id, select=["id", "displayName", "mail"])
        except HybridCalendarError as error:
            if queue_outcome(error) is QueueOutcome.DROP and self.stores.mailboxes.get(tenant_id, mailbox_id) is None:
                self.stores.mailboxes.save(Mailbox(tenant_id, mailbox_id, kind, enabled=False, last_error=error.code))
            raise
        current = self.stores.mailboxes.get(tenant_id, user["id"])
        mailbox = Mailbox(tenant_id, user["id"], kind, user.get("mail"), user.get("displayName"), True,
                          current.subscription_id if current else None)
        self.stores.mailboxes.save(mailbox)
        try:
            subscription = self._live_subscription(mailbox) or self.subscribe(tenant_id, mailbox.mailbox_id)
            self.catch_up(tenant_id, mailbox.mailbox_id, fresh=True)
        except HybridCalendarError as error:
            self.record_failure(tenant_id, mailbox.mailbox_id, error)
            raise
        return replace(mailbox, subscription_id=subscription.subscription_id)

    def enable_item(self, tenant_id: str, mailbox_id: str, *, kind: str, operation_id: str,
                    last_attempt: bool) -> Mailbox:
        """:meth:`enable` as one item of a bulk operation, its result recorded for the admin: ``enabled``,
        ``failed`` (an error retrying cannot fix, or the last attempt) or ``retrying``."""
        try:
            enabled = self.enable(tenant_id, mailbox_id, kind=kind)
        except Exception as error:
            retried = queue_outcome(error) is QueueOutcome.RETRY and not last_attempt
            code = error.code if isinstance(error, HybridCalendarError) else HybridCalendarError.code
            self._item(tenant_id, operation_id, mailbox_id, kind, "retrying" if retried else "failed", code)
            raise
        self._item(tenant_id, operation_id, mailbox_id, kind, "enabled", None)
        return enabled

    def _item(self, tenant_id: str, operation_id: str, mailbox_id: str, kind: str, state: str,
              error: str | None) -> None:
        from shared.storage.operations import ItemResult

        self.stores.operations.record(tenant_id, operation_id, ItemResult(mailbox_id, kind, state, error, self.now()))

    def disable(self, tenant_id: str, mailbox_id: str) -> int:
        """Delete the subscription and every stored row of the mailbox; the number of rows removed."""
        mailbox = self.stores.mailboxes.get(tenant_id, mailbox_id)
        for subscription in self.stores.subscriptions.list_subscriptions(tenant_id):
            if subscription.mailbox_id == mailbox_id:
                self.graph.delete_subscription(tenant_id, subscription.subscription_id)
                self.stores.subscriptions.delete(tenant_id, subscription.subscription_id)
        removed = self.stores.meetings.delete_mailbox(tenant_id, mailbox_id)
        self.stores.delta_links.delete(tenant_id, mailbox_id)
        if mailbox is not None:
            self.stores.mailboxes.delete(tenant_id, mailbox_id)
        return removed

    # subscriptions ------------------------------------------------------------------------------

    def subscribe(self, tenant_id: str, mailbox_id: str) -> Subscription:
        """A new subscription for the mailbox, replacing the one it had, on Graph and in our store.

        Graph refuses a second subscription to the same resource (409, graph.md §1.1): a live one is
        deleted first. A create that succeeds means the mailbox's previous one is gone from Graph
        (expired, or removed), so only our row of it is deleted: left behind, renewing or reconciling
        it would recreate the mailbox's subscription, deleting the live one as a duplicate, on every pass.
        """
        client_state = secrets.token_urlsafe(48)
        expires = self.now() + timedelta(minutes=self.options.subscription_minutes)
        try:
            created = self._create(tenant_id, mailbox_id, client_state, expires)
        except ConflictError:
            self._delete_graph_duplicates(tenant_id, mailbox_id)
            created = self._create(tenant_id, mailbox_id, client_state, expires)
        subscription = Subscription(tenant_id, created["id"], mailbox_id, parse_graph_time(created["expirationDateTime"]),
                                    digest(client_state))
        self.stores.subscriptions.save(subscription)
        before = self._update_mailbox(tenant_id, mailbox_id, subscription_id=subscription.subscription_id,
                                      last_error=None)
        if before is not None and before.subscription_id not in (None, subscription.subscription_id):
            self.stores.subscriptions.delete(tenant_id, before.subscription_id)
        return subscription

    def renew_due(self, tenant_id: str) -> dict[str, int]:
        """Renew the tenant's subscriptions that expire within the margin, 20 per ``$batch``."""
        horizon = self.now() + self.options.renewal_margin
        due = [s for s in self.stores.subscriptions.list_subscriptions(tenant_id) if s.expires <= horizon]
        expires = self.now() + timedelta(minutes=self.options.subscription_minutes)
        requests = [BatchRequest(str(i), "PATCH", f"/subscriptions/{s.subscription_id}",
                                 body={"expirationDateTime": graph_time(expires)}) for i, s in enumerate(due)]
        counts = {"renewed": 0, "recreated": 0, "failed": 0}
        for key, result in self.graph.batch(tenant_id, requests).items():
            subscription = due[int(key)]
            if result.ok:
                self.stores.subscriptions.save(replace(subscription, expires=parse_graph_time(result.body["expirationDateTime"]),
                                                       etag=None))
                counts["renewed"] += 1
            elif isinstance(result.error, NotFoundError):
                counts[self._recreate(tenant_id, subscription)] += 1
            else:
                self.record_failure(tenant_id, subscription.mailbox_id, result.error)
                counts["failed"] += 1
        return counts

    def resubscribe(self, tenant_id: str, mailbox_id: str, old_subscription_id: str | None = None) -> Subscription:
        """Replace a subscription Graph removed, then catch up on what was missed meanwhile."""
        if old_subscription_id:
            self.stores.subscriptions.delete(tenant_id, old_subscription_id)
        subscription = self.subscribe(tenant_id, mailbox_id)
        self.catch_up(tenant_id, mailbox_id)
        return subscription

    def _recreate(self, tenant_id: str, subscription: Subscription) -> str:
        """Resubscribe one mailbox of a tenant-wide pass: ``recreated``, or ``failed`` with the error
        recorded on the mailbox (a mailbox deleted from the directory must not stop the others)."""
        try:
            self.resubscribe(tenant_id, subscription.mailbox_id, subscription.subscription_id)
        except HybridCalendarError as error:
            self.record_failure(tenant_id, subscription.mailbox_id, error)
            return "failed"
        return "recreated"

    def reauthorize(self, tenant_id: str, mailbox_id: str, subscription_id: str) -> None:
        try:
            self.graph.reauthorize_subscription(tenant_id, subscription_id)
        except NotFoundError:
            self.resubscribe(tenant_id, mailbox_id, subscription_id)

    def reconcile(self, tenant_id: str) -> dict[str, int]:
        """Make Graph's list and ours agree: recreate what Graph lost, delete our strays on Graph."""
        ours = {s.subscription_id: s for s in self.stores.subscriptions.list_subscriptions(tenant_id)}
        graphs = {s["id"] for s in self.graph.list_subscriptions(tenant_id)
                  if str(s.get("notificationUrl", "")).startswith(self.options.notification_url)}
        counts = {"recreated": 0, "deleted": 0, "failed": 0}
        for missing in set(ours) - graphs:
            counts[self._recreate(tenant_id, ours[missing])] += 1
        for stray in graphs - set(ours):
            self.graph.delete_subscription(tenant_id, stray)
            counts["deleted"] += 1
        return counts

    # changes ------------------------------------------------------------------------------------

    def apply_change(self, reference: Mapping[str, str]) -> str:
        """One notification: ``unchanged`` (no Graph call), ``deleted``, ``stored`` or ``stale``."""
        tenant, mailbox, event_id = reference["tenant_id"], reference["mailbox_id"], reference["event_id"]
        self._note_notification(tenant, mailbox)
        if reference.get("change_type") == "deleted":
            self._deleted(tenant, mailbox, event_id)
            return "deleted"
        change_key = reference.get("change_key")
        self._wait_for_write((tenant, mailbox, event_id))
        index = self.stores.meetings.event_index(tenant, mailbox, event_id)
        if change_key and index is not None and index.get("ChangeKey") == change_key:
            return "unchanged"
        claim = (tenant, mailbox, event_id, change_key or "")
        if change_key and not self._claim(claim):
            return "duplicate"
        try:
            return self._fetch_and_store(tenant, mailbox, event_id, index)
        except Exception:
            self._claims.discard(claim)
            raise

    def _fetch_and_store(self, tenant: str, mailbox: str, event_id: str, index: Any) -> str:
        """One GET, then the rows; the index row read for the changeKey check is reused, not read again."""
        try:
            event = self.graph.get_event(tenant, mailbox, event_id, select=EVENT_FIELDS)
        except MailboxNotFoundError:
            raise
        except NotFoundError:
            self._deleted(tenant, mailbox, event_id)
            return "deleted"
        return self._store_fetched(tenant, mailbox, event_id, event, index)

    def _store_fetched(self, tenant: str, mailbox: str, event_id: str, event: dict[str, Any], index: Any) -> str:
        same = str(event.get("id")) == event_id
        return "stored" if self.store_event(tenant, mailbox, event, index=index if same else UNREAD) else "stale"

    def apply_changes(self, references: Sequence[Mapping[str, str]]) -> tuple[list[str], list[Mapping[str, str]]]:
        """Several notifications of one mailbox at once (a message of the webhook's group commit).

        One index query for their changeKeys, one ``$batch`` of GETs for the changed events, and one
        transaction for the plain single events among them: per change, a fraction of the requests
        and of the SDKs' per-request CPU. Returns the outcomes of what was applied and the references
        left for :meth:`apply_change` one at a time: deletions, and any event whose GET or write failed
        here (it then retries, fails or is recorded exactly as a lone notification would).
        """
        tenant, mailbox = references[0]["tenant_id"], references[0]["mailbox_id"]
        if any((r["tenant_id"], r["mailbox_id"]) != (tenant, mailbox) for r in references):
            return [], list(references)
        gone = {r["event_id"] for r in references if r.get("change_type") == "deleted"}
        latest = {r["event_id"]: r for r in references if r["event_id"] not in gone}
        run = _Together(tenant, mailbox, left=[r for r in references if r["event_id"] in gone])
        run.outcomes += ["superseded"] * (len(references) - len(run.left) - len(latest))
        self._note_notification(tenant, mailbox)
        for event_id in latest:
            self._wait_for_write((tenant, mailbox, event_id))
        self._claim_unheld(run, latest)
        try:
            self._fetch_and_store_all(run)
        finally:
            for event_id in run.wanted.keys() - run.done:
                self._claims.discard(run.wanted[event_id].claim)
        return run.outcomes, run.left

    def _claim_unheld(self, run: _Together, latest: Mapping[str, Mapping[str, str]]) -> None:
        """Claim the events whose notified version we neither hold nor are fetching already."""
        indexes = self.stores.meetings.event_indexes(run.tenant, run.mailbox, latest)
        for event_id, reference in latest.items():
            change_key, index = reference.get("change_key"), indexes[event_id]
            claim = (run.tenant, run.mailbox, event_id, change_key or "")
            if change_key and index is not None and index.get("ChangeKey") == change_key:
                run.outcomes.append("unchanged")
            elif change_key and not self._claim(claim):
                run.outcomes.append("duplicate")
            else:
                run.wanted[event_id] = _Wanted(claim, index)

    def _fetch_and_store_all(self, run: _Together) -> None:
        """GET the wanted events in ``$batch``; plain single events are written together, the rest one by one.
        A 404 item is a deleted event; any other failed item, or failed write, is left to :meth:`apply_change`."""
        fetched = self.graph.get_events(run.tenant, run.mailbox, list(run.wanted), select=EVENT_FIELDS) \
            if run.wanted else {}
        plain: list[EventRows] = []
        for event_id, result in fetched.items():
            if isinstance(result, NotFoundError) and not isinstance(result, MailboxNotFoundError):
                self._deleted(run.tenant, run.mailbox, event_id)
                run.applied(event_id, "deleted")
            elif isinstance(result, HybridCalendarError):
                run.leave(event_id)
            elif self._is_plain(event_id, result):
                plain.append(self._event_rows(event_id, result, run.wanted[event_id].index))
            else:
                self._store_alone(run, event_id, result)
        for event_id, outcome in self.stores.meetings.replace_events(run.tenant, run.mailbox, plain).items():
            if outcome == "conflict":
                run.leave(event_id)
            else:
                run.applied(event_id, outcome)

    def _store_alone(self, run: _Together, event_id: str, event: dict[str, Any]) -> None:
        """A series, a moved id or an event to schedule: written on its own, as :meth:`apply_change` would."""
        try:
            outcome = self._store_fetched(run.tenant, run.mailbox, event_id, event, run.wanted[event_id].index)
        except HybridCalendarError:
            run.leave(event_id)
            return
        run.applied(event_id, outcome)

    def _is_plain(self, event_id: str, event: Mapping[str, Any]) -> bool:
        """A single event under its notified id that keyword scheduling leaves alone: rows from the GET alone."""
        return str(event.get("id")) == event_id and event.get("type") in (None, "singleInstance") and \
            (self.scheduler is None or not self.scheduler.wants(event))

    def _event_rows(self, event_id: str, event: dict[str, Any], index: Any) -> EventRows:
        return EventRows(event_id, tuple(self._single_records(event)), str(event.get("changeKey") or ""),
                         last_modified(event), index)

    def _single_records(self, event: dict[str, Any]) -> list[MeetingRecord]:
        """A single event's one row, or none when it lies outside the window."""
        start, end = self.options.window.bounds(self.now())
        record = to_record(event)
        return [record] if record.start < end and record.end > start else []

    def _deleted(self, tenant: str, mailbox: str, event_id: str) -> None:
        """An event is gone: its rows, and the meeting keyword scheduling made for it."""
        self.stores.meetings.delete_event(tenant, mailbox, event_id)
        if self.scheduler is not None:
            self.scheduler.forget(tenant, mailbox, event_id)

    def _claim(self, key: Claim) -> bool:
        """First worker of this process to see this change version? Duplicates that arrive together
        (Graph sends them within moments) are then dropped without a GET; later ones meet the held key.
        A claim costs the same however many are held: at most ``CLAIMS_HELD``, the oldest dropped first,
        which only lets a very late duplicate reach the changeKey check instead."""
        return self._claims.add(key, True)

    def store_event(self, tenant_id: str, mailbox_id: str, event: dict[str, Any], *, index: Any = UNREAD) -> bool:
        """Write the rows of an event (a series: its occurrences in the window); False if we hold newer.

        ``index``: the event's index row as already read (see ``MeetingRepository.replace_event``).
        """
        if event.get("type") in SERIES_TYPES and event.get("seriesMasterId"):
            event, index = self.graph.get_event(tenant_id, mailbox_id, event["seriesMasterId"],
                                                select=EVENT_FIELDS), UNREAD
        organizers_series = event.get("type") == "seriesMaster" and event.get("isOrganizer")
        if self.scheduler is None or not (organizers_series or self.scheduler.wants(event)):
            return self._store(tenant_id, mailbox_id, event, index)
        with self._writing((tenant_id, mailbox_id, str(event["id"]))):
            return self._store(tenant_id, mailbox_id, self._scheduled(tenant_id, mailbox_id, event), index)

    def _store(self, tenant_id: str, mailbox_id: str, event: dict[str, Any], index: Any) -> bool:
        start, end = self.options.window.bounds(self.now())
        if event.get("type") == "seriesMaster":
            occurrences = self.graph.list_instances(tenant_id, mailbox_id, event["id"], start=start, end=end,
                                                    select=EVENT_FIELDS)
            records = [to_record(self._scheduled(tenant_id, mailbox_id, item) if item.get("type") == "exception"
                                 else item) for item in occurrences]
        else:
            records = self._single_records(event)
        return self.stores.meetings.replace_event(tenant_id, mailbox_id, event["id"], records,
                                                  change_key=str(event.get("changeKey") or ""),
                                                  last_modified=last_modified(event), index=index)

    @contextmanager
    def _writing(self, key: tuple[str, str, str]) -> Iterator[None]:
        """Mark an event (or an organizer's series, whose exceptions may be scheduled) as being written by
        keyword scheduling in this process until its rows are stored:
        the notification of our own PATCH, which Graph may deliver before the PATCH has even returned,
        waits for it and then finds the new changeKey held (no Graph call)."""
        done = threading.Event()
        with self._lock:
            self._writes[key] = done
        try:
            yield
        finally:
            with self._lock:
                self._writes.pop(key, None)
            done.set()

    def _wait_for_write(self, key: tuple[str, str, str]) -> None:
        with self._lock:
            pending = self._writes.get(key)
        if pending is not None:
            pending.wait(WRITE_WAIT.total_seconds())

    def _scheduled(self, tenant_id: str, mailbox_id: str, event: dict[str, Any]) -> dict[str, Any]:
        """The event after keyword scheduling (a single event, a series master, or one exception of a
        series with its own keyword), or as it is when there is nothing to schedule."""
        if self.scheduler is None or not self.scheduler.wants(event):
            return event
        return {**event, **(self.scheduler.apply(tenant_id, mailbox_id, event) or {})}

    # catch-up -----------------------------------------------------------------------------------

    def catch_up(self, tenant_id: str, mailbox_id: str, *, fresh: bool = False) -> dict[str, int]:
        """A delta round over the window: from the stored link, or from scratch (which also reconciles)."""
        link = None if fresh else self.stores.delta_links.load(tenant_id, mailbox_id)
        try:
            counts = self._delta_round(tenant_id, mailbox_id, link)
        except ResyncRequiredError:
            self.stores.delta_links.delete(tenant_id, mailbox_id)
            counts = self._delta_round(tenant_id, mailbox_id, None)
        self._update_mailbox(tenant_id, mailbox_id, last_sync=self.now(), last_error=None)
        return counts

    def _delta_round(self, tenant_id: str, mailbox_id: str, link: str | None) -> dict[str, int]:
        start, end = self.options.window.bounds(self.now())
        round_ = self.graph.calendar_view_delta(tenant_id, mailbox_id, start=start, end=end, delta_link=link)
        groups: dict[str, list[dict[str, Any]]] = {}
        removed: list[str] = []
        for item in round_:
            if item.removed:
                removed.append(item.id)
            else:
                groups.setdefault(str(item.event.get("seriesMasterId") or item.id), []).append(item.event)
        unknown = [event_id for event_id in removed
                   if not self.stores.meetings.delete_event(tenant_id, mailbox_id, event_id)]
        self.stores.meetings.delete_occurrences(tenant_id, mailbox_id, unknown)
        for key, items in groups.items():
            self._store_group(tenant_id, mailbox_id, key, items, complete=link is None)
        if link is None:
            self._forget_vanished(tenant_id, mailbox_id, {index_key(k) for k in groups})
        if round_.delta_link:
            self.stores.delta_links.save(tenant_id, mailbox_id, round_.delta_link)
        return {"events": len(groups), "removed": len(removed)}

    def _store_group(self, tenant_id: str, mailbox_id: str, key: str, items: list[dict[str, Any]], *,
                     complete: bool) -> None:
        """A single event from its delta item; a series from its occurrences if the round is complete.
        An event keyword scheduling wants (a keyword typed before the mailbox was enabled, or while a
        notification was lost) goes through :meth:`store_event`, which schedules it."""
        single = len(items) == 1 and items[0].get("type") in (None, "singleInstance")
        if self.scheduler is not None and any(self.scheduler.wants(item) for item in items):
            self.store_event(tenant_id, mailbox_id, items[0])
        elif single or complete:
            newest = max(items, key=lambda i: str(i.get("lastModifiedDateTime") or ""))
            change_key = str(newest.get("changeKey") or "") if single else f"delta:{newest.get('changeKey', '')}"
            self.stores.meetings.replace_event(tenant_id, mailbox_id, key, [to_record(i) for i in items],
                                               change_key=change_key, last_modified=last_modified(newest))
        else:
            self.store_event(tenant_id, mailbox_id, items[0])

    def _forget_vanished(self, tenant_id: str, mailbox_id: str, seen: set[str]) -> None:
        for key in self.stores.meetings.event_keys(tenant_id, mailbox_id) - seen:
            self.stores.meetings.delete_event_key(tenant_id, mailbox_id, key)

    # retention ----------------------------------------------------------------------------------

    def purge(self, tenant_id: str, mailbox_id: str) -> int:
        """Delete the mailbox's rows that slid out of the window (cost: the rows deleted)."""
        start, _ = self.options.window.bounds(self.now())
        return self.stores.meetings.purge_before(tenant_id, mailbox_id, start)

    # helpers ------------------------------------------------------------------------------------

    def _create(self, tenant_id: str, mailbox_id: str, client_state: str, expires: datetime) -> dict[str, Any]:
        return self.graph.create_subscription(tenant_id, mailbox_id, notification_url=self.options.notification_url,
                                              lifecycle_url=self.options.lifecycle_url, client_state=client_state,
                                              expires=expires)

    def _delete_graph_duplicates(self, tenant_id: str, mailbox_id: str) -> None:
        """Graph's subscriptions to the mailbox's events, and our rows of them, which they would outlive."""
        resource = f"/users/{mailbox_id}/events".lower()
        for existing in self.graph.list_subscriptions(tenant_id):
            if str(existing.get("resource", "")).lower().lstrip("/") == resource.lstrip("/"):
                self.graph.delete_subscription(tenant_id, existing["id"])
                self.stores.subscriptions.delete(tenant_id, existing["id"])

    def _live_subscription(self, mailbox: Mailbox) -> Subscription | None:
        if not mailbox.subscription_id:
            return None
        found = self.stores.subscriptions.get(mailbox.tenant_id, mailbox.subscription_id)
        return found if found is not None and found.expires > self.now() else None

    def _note_notification(self, tenant_id: str, mailbox_id: str) -> None:
        """The mailbox's last-notification time, written at most once a minute per worker."""
        now = self.now()
        if now - self._noted.get((tenant_id, mailbox_id), datetime.min.replace(tzinfo=timezone.utc)) >= NOTED_EVERY:
            self._noted[(tenant_id, mailbox_id)] = now
            self._update_mailbox(tenant_id, mailbox_id, last_notification=now)

    def record_failure(self, tenant_id: str, mailbox_id: str, error: HybridCalendarError | None) -> None:
        """What an admin sees on the mailbox: the error's code, never its message."""
        self._update_mailbox(tenant_id, mailbox_id, last_error=error.code if error else "unknown")

    def _update_mailbox(self, tenant_id: str, mailbox_id: str, **changes: Any) -> Mailbox | None:
        """Status fields of the mailbox row, retried once if someone else wrote it meanwhile; the row as it
        was before (None when there is no row, or both tries met another writer)."""
        for _ in range(2):
            mailbox = self.stores.mailboxes.get(tenant_id, mailbox_id)
            if mailbox is None:
                return None
            try:
                self.stores.mailboxes.save(replace(mailbox, **changes))
                return mailbox
            except ConflictError:
                continue
        return None


def build_engine(settings: Any) -> SyncEngine:
    """The engine over the process's stores and Graph client, as the settings describe."""
    from shared.config import public_base_url
    from shared.graph.factory import get_graph_client
    from shared.storage.stores import get_stores

    from shared.scheduling.factory import build_scheduler

    options = SyncOptions(public_base_url(settings), Window(settings.window_past_days, settings.window_future_days),
                          settings.subscription_minutes, timedelta(hours=settings.renewal_margin_hours))
    engine = SyncEngine(get_stores(), get_graph_client(), options)
    engine.scheduler = build_scheduler(settings, engine)
    return engine


@lru_cache(maxsize=1)
def get_engine() -> SyncEngine:
    """The process's engine (one Graph client, one key ring, shared by every function)."""
    from shared.config import get_settings

    return build_engine(get_settings())


WEBHOOK_WRITE_SECONDS = 1.5
"""A webhook's queue write waits this long to connect and again to read, without SDK retries: the
answer is then a 503 within the 3 s that older Graph documentation gives (10 s today), and Graph
delivers again (graph.md §1.6). A healthy write takes milliseconds."""


@lru_cache(maxsize=None)
def get_group_sender(queue: str) -> Any:
    """The webhook's group commit into ``queue``: one per queue and process (see ``GroupSender``)."""
    from shared.config import get_settings
    from shared.storage.queues import GroupSender, QueueWriter

    writer = QueueWriter(get_settings().storage_connection, timeout=WEBHOOK_WRITE_SECONDS)
    return GroupSender(lambda text: writer.send_text(queue, text))


@lru_cache(maxsize=1)
def get_verifier() -> Any:
    """The webhook's verifier: stored subscriptions only, no Graph or key-provider call."""
    from shared.storage.stores import get_stores
    from shared.sync.notifications import NotificationVerifier

    return NotificationVerifier(get_stores().subscriptions)
