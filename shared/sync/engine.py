"""The sync engine: one facade over the modules that keep every enabled mailbox's meetings current.

* ``decide`` — the pure decision core (what to do with a change, a series, a delta round);
* ``changes`` — applying notifications one at a time or many together;
* ``subscriptions`` — creating, renewing, reauthorizing and reconciling Graph subscriptions;
* ``catchup`` — delta rounds, and the sweep that gives every mailbox one per catch-up period;
* ``status`` — what an admin sees per mailbox; ``inflight`` — claims and writes in progress.

Every entry point takes references (tenant, mailbox, event ids) and is safe to run twice: Graph
delivers at least once, out of order and with duplicates, and queues redeliver.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from shared.errors import HybridCalendarError, QueueOutcome, queue_outcome
from shared.graph.client import GraphClient
from shared.storage.records import Mailbox, Subscription, Tenant
from shared.storage.stores import Stores
from shared.sync.catchup import CatchUp, spread_delay
from shared.sync.changes import Batch, ChangeApplier
from shared.sync.decide import Bounds
from shared.sync.inflight import Inflight
from shared.sync.messages import JOBS_QUEUE, ChangeRef, JobKind, JobRef, Outcome
from shared.sync.status import MailboxStatus
from shared.sync.subscriptions import SubscriptionOptions, Subscriptions
from shared.sync.window import Window
from shared.timezones import utcnow

if TYPE_CHECKING:
    from shared.scheduling.flow import KeywordScheduler
    from shared.presence.service import PresenceService
    from shared.timeline.timeline import Timeline

RECOVERY_SPREAD = timedelta(minutes=1)
"""How widely the rounds owed after an outage are spread: soon, but not all in the same second."""


@dataclass(frozen=True)
class SyncOptions:
    """Where Graph posts notifications, how long subscriptions live, the window kept, the catch-up period."""

    public_base_url: str
    window: Window = Window()
    subscription_minutes: int = 10_000
    renewal_margin: timedelta = timedelta(hours=48)
    catch_up_every: timedelta = timedelta(minutes=30)

    @property
    def notification_url(self) -> str:
        return f"{self.public_base_url}/api/graph/notifications"

    @property
    def lifecycle_url(self) -> str:
        return f"{self.public_base_url}/api/graph/lifecycle"


class SyncEngine:
    """What the queue worker, the timers and the admin API call; each method is one unit of work."""

    def __init__(
        self,
        stores: Stores,
        graph: GraphClient,
        options: SyncOptions,
        *,
        now: Callable[[], datetime] = utcnow,
        scheduler: KeywordScheduler | None = None,
    ) -> None:
        self.stores, self.graph, self.options, self.now = stores, graph, options, now
        self.status = MailboxStatus(stores.mailboxes, now=now)
        self.inflight = Inflight()
        self.changes = ChangeApplier(graph, stores.meetings, self.status, self.inflight, bounds=self.bounds)
        self.catchup = CatchUp(
            graph, stores.meetings, stores.delta_links, self.changes, self.status, bounds=self.bounds
        )
        self.subscriptions = Subscriptions(
            graph,
            stores.subscriptions,
            self.status,
            SubscriptionOptions(
                options.notification_url, options.lifecycle_url, options.subscription_minutes, options.renewal_margin
            ),
            now=now,
            catch_up=lambda tenant, mailbox: self.catch_up(tenant, mailbox),
        )
        self.scheduler = scheduler
        self.timeline: Timeline | None = None
        self.presence: PresenceService | None = None

    def attach_timeline(self, timeline: Timeline) -> None:
        """The Join button's timeline hears of every committed meeting row change and reconciles with each
        mailbox's catch-up round."""
        self.timeline = timeline
        self.stores.meetings.observer = timeline

    @property
    def scheduler(self) -> KeywordScheduler | None:
        return self.changes.scheduler

    @scheduler.setter
    def scheduler(self, scheduler: KeywordScheduler | None) -> None:
        self.changes.scheduler = scheduler

    def bounds(self) -> Bounds:
        return Bounds(*self.options.window.bounds(self.now()))

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
        mailbox = Mailbox(
            tenant_id,
            user["id"],
            kind,
            user.get("mail"),
            user.get("displayName"),
            True,
            current.subscription_id if current else None,
        )
        self.stores.mailboxes.save(mailbox)
        try:
            subscription = self.subscriptions.live(tenant_id, mailbox.subscription_id) or self.subscriptions.subscribe(
                tenant_id, mailbox.mailbox_id
            )
            self.catch_up(tenant_id, mailbox.mailbox_id, fresh=True)
        except HybridCalendarError as error:
            self.record_failure(tenant_id, mailbox.mailbox_id, error)
            raise
        return replace(mailbox, subscription_id=subscription.subscription_id)

    def enable_item(
        self, tenant_id: str, mailbox_id: str, *, kind: str, operation_id: str, last_attempt: bool
    ) -> Mailbox:
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

    def _item(
        self, tenant_id: str, operation_id: str, mailbox_id: str, kind: str, state: str, error: str | None
    ) -> None:
        from shared.storage.operations import ItemResult

        self.stores.operations.record(tenant_id, operation_id, ItemResult(mailbox_id, kind, state, error, self.now()))

    def disable(self, tenant_id: str, mailbox_id: str) -> int:
        """Delete the subscription and every stored row of the mailbox; the number of rows removed."""
        mailbox = self.stores.mailboxes.get(tenant_id, mailbox_id)
        self.subscriptions.remove(tenant_id, mailbox_id)
        removed = self.stores.meetings.delete_mailbox(tenant_id, mailbox_id)
        self.stores.delta_links.delete(tenant_id, mailbox_id)
        self.stores.endpoints.delete_mailbox(tenant_id, mailbox_id)
        self.stores.presence.delete(tenant_id, mailbox_id)
        if mailbox is not None:
            self.stores.mailboxes.delete(tenant_id, mailbox_id)
        return removed

    # subscriptions ------------------------------------------------------------------------------

    def subscribe(self, tenant_id: str, mailbox_id: str) -> Subscription:
        return self.subscriptions.subscribe(tenant_id, mailbox_id)

    def renew_due(self, tenant_id: str) -> dict[str, int]:
        return self.subscriptions.renew_due(tenant_id)

    def resubscribe(self, tenant_id: str, mailbox_id: str, old_subscription_id: str | None = None) -> Subscription:
        return self.subscriptions.resubscribe(tenant_id, mailbox_id, old_subscription_id)

    def reauthorize(self, tenant_id: str, mailbox_id: str, subscription_id: str) -> Outcome:
        return self.subscriptions.reauthorize(tenant_id, mailbox_id, subscription_id)

    def reconcile(self, tenant_id: str) -> dict[str, int]:
        return self.subscriptions.reconcile(tenant_id)

    # changes ------------------------------------------------------------------------------------

    def apply_change(self, change: ChangeRef) -> Outcome:
        return self.changes.apply_one(change)

    def apply_changes(self, changes: Sequence[ChangeRef]) -> Batch:
        return self.changes.apply_many(changes)

    def store_event(self, tenant_id: str, mailbox_id: str, event: dict[str, Any]) -> Outcome:
        """Store an event as Graph returned it (a series: read whole), through keyword scheduling."""
        from shared.sync.decide import GraphEvent

        item = GraphEvent(event)
        if item.is_master or item.in_series:
            return self.changes.store_series(
                tenant_id, mailbox_id, item.id if item.is_master else str(item.series_master_id)
            )
        return self.changes.store_single(
            tenant_id, mailbox_id, item, index=self.stores.meetings.event_index(tenant_id, mailbox_id, item.id)
        )

    # catch-up -----------------------------------------------------------------------------------

    def catch_up(self, tenant_id: str, mailbox_id: str, *, fresh: bool = False) -> dict[str, int]:
        """A delta round, then the mailbox's Join buttons reconciled with what is stored."""
        counts = self.catchup.run(tenant_id, mailbox_id, fresh=fresh)
        if self.timeline is not None:
            counts["buttonMessages"] = self.timeline.reconcile(tenant_id, mailbox_id)
        return counts

    def sweep(self, tenant_id: str, *, within: timedelta | None = None) -> int:
        """Queue a resumed delta round for every enabled mailbox of the tenant, each at its own delay within
        ``within`` (the catch-up period by default); the number queued. Queue messages may wait up to 7 days."""
        period = within or self.options.catch_up_every
        queued = 0
        for mailbox_id in self.stores.mailboxes.list_ids(tenant_id):
            job = JobRef(tenant_id, JobKind.RESUME, mailbox_id)
            self.stores.queues.send(JOBS_QUEUE, job.fields(), delay_seconds=spread_delay(mailbox_id, period) or None)
            queued += 1
        return queued

    # retention ----------------------------------------------------------------------------------

    def purge(self, tenant_id: str, mailbox_id: str) -> int:
        """Delete the mailbox's rows that slid out of the window (cost: the rows deleted)."""
        return self.stores.meetings.purge_before(tenant_id, mailbox_id, self.bounds().start)

    def record_failure(self, tenant_id: str, mailbox_id: str, error: BaseException | None) -> None:
        """What an admin sees on the mailbox: the error's code, never its message."""
        self.status.failed(tenant_id, mailbox_id, error)

    def record_warning(self, tenant_id: str, mailbox_id: str, code: str) -> None:
        """A warning an admin sees on the mailbox (its code; see ``shared.errors.WARNINGS``)."""
        self.status.warned(tenant_id, mailbox_id, code)


def build_engine(settings: Any, stores: Stores, graph: GraphClient) -> SyncEngine:
    """The engine over the process's stores and Graph client, as the settings describe."""
    from shared.config import public_base_url
    from shared.scheduling.factory import build_scheduler

    options = SyncOptions(
        public_base_url(settings),
        Window(settings.window_past_days, settings.window_future_days),
        settings.subscription_minutes,
        timedelta(hours=settings.renewal_margin_hours),
        timedelta(minutes=settings.catchup_minutes),
    )
    engine = SyncEngine(stores, graph, options)
    engine.scheduler = build_scheduler(settings, engine)
    engine.attach_timeline(build_timeline(settings, stores, horizon=2 * options.catch_up_every))
    engine.presence = build_presence(settings, stores, graph, engine.timeline, warn=engine.record_warning)
    return engine


def build_presence(
    settings: Any,
    stores: Stores,
    graph: GraphClient,
    timeline: Timeline | None,
    *,
    warn: Callable[[str, str, str], None],
) -> PresenceService:
    """Out-of-office presence, pushing through the Join button's deliverer (one mechanism for both); a
    window in a zone not known is read as UTC and the mailbox gets the warning (written once)."""
    from shared.presence.service import PresenceService

    return PresenceService(
        stores.presence,
        stores.mailboxes,
        graph,
        timeline.deliverer if timeline else None,
        stores.queues,
        every=timedelta(minutes=settings.presence_poll_minutes),
        warn=warn,
    )


def build_timeline(settings: Any, stores: Stores, *, horizon: timedelta) -> Timeline:
    """The Join button's timeline and its deliverer, as the settings describe."""
    from shared.config import loopback_storage_ports
    from shared.delivery.deliver import Deliverer, DeliveryOptions
    from shared.timeline.timeline import Timeline

    options = DeliveryOptions(
        timedelta(hours=settings.delivery_retry_hours),
        settings.delivery_first_retry_seconds,
        timedelta(hours=settings.endpoint_disable_hours),
        local=loopback_storage_ports(settings.storage_connection) is not None,
    )
    deliverer = Deliverer(stores.endpoints, stores.deliveries, stores.queues, stores.keyring, options=options)
    return Timeline(
        stores.buttons,
        stores.meetings,
        stores.mailboxes,
        deliverer,
        stores.queues,
        lead=timedelta(minutes=settings.join_lead_minutes),
        horizon=horizon,
    )
