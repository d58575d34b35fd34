"""Graph change-notification subscriptions, one per enabled mailbox: create, renew, reauthorize, reconcile.

* Graph refuses a second subscription to the same resource (409): a live one is deleted first. A
  create that succeeds means the mailbox's previous subscription is gone from Graph, so only our row
  of it is deleted (left behind, renewing or reconciling it would recreate the mailbox's
  subscription, deleting the live one as a duplicate, on every pass).
* The expiry stored is the one Graph returned (it may grant less than asked), read with its offset.
* Renewal goes 20 subscriptions per ``$batch``: about N/20 requests for N subscriptions; one that
  Graph no longer knows (404) is recreated and its mailbox caught up.
* ``reauthorizationRequired`` may arrive every few minutes for every subscription: it costs at most
  one Graph call per subscription per ``REAUTHORIZE_EVERY`` (a renewal when the expiry is near,
  otherwise ``/reauthorize``), and never a catch-up.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from shared.errors import ConflictError, HybridCalendarError, NotFoundError
from shared.graph.batch import BatchRequest
from shared.graph.client import GraphClient, graph_time, parse_graph_time
from shared.storage.records import Subscription, SubscriptionRepository, digest
from shared.sync.messages import Outcome
from shared.sync.status import MailboxStatus
from shared.telemetry import RENEWALS, telemetry

REAUTHORIZE_EVERY = timedelta(minutes=30)


@dataclass(frozen=True)
class SubscriptionOptions:
    """Where Graph posts, how long subscriptions live, how early they are renewed."""

    notification_url: str
    lifecycle_url: str
    minutes: int = 10_000
    renewal_margin: timedelta = timedelta(hours=48)


class Subscriptions:
    """The subscriptions of every mailbox, on Graph and in our store."""

    def __init__(
        self,
        graph: GraphClient,
        store: SubscriptionRepository,
        status: MailboxStatus,
        options: SubscriptionOptions,
        *,
        now: Callable[[], datetime],
        catch_up: Callable[[str, str], object],
    ) -> None:
        self.graph, self.store, self.status, self.options, self.now = graph, store, status, options, now
        self._catch_up = catch_up

    def subscribe(self, tenant_id: str, mailbox_id: str) -> Subscription:
        """A new subscription for the mailbox, replacing the one it had, on Graph and in our store."""
        client_state = secrets.token_urlsafe(48)
        expires = self.now() + timedelta(minutes=self.options.minutes)
        try:
            created = self._create(tenant_id, mailbox_id, client_state, expires)
        except ConflictError:
            self._delete_graph_duplicates(tenant_id, mailbox_id)
            created = self._create(tenant_id, mailbox_id, client_state, expires)
        subscription = Subscription(
            tenant_id, created["id"], mailbox_id, parse_graph_time(created["expirationDateTime"]), digest(client_state)
        )
        self.store.save(subscription)
        before = self.status.update(
            tenant_id, mailbox_id, subscription_id=subscription.subscription_id, last_error=None
        )
        if before is not None and before.subscription_id not in (None, subscription.subscription_id):
            self.store.delete(tenant_id, before.subscription_id)
        return subscription

    def live(self, tenant_id: str, subscription_id: str | None) -> Subscription | None:
        """Our row of the subscription if it has not expired."""
        if not subscription_id:
            return None
        found = self.store.get(tenant_id, subscription_id)
        return found if found is not None and found.expires > self.now() else None

    def renew_due(self, tenant_id: str) -> dict[str, int]:
        """Renew the tenant's subscriptions that expire within the margin, 20 per ``$batch``."""
        horizon = self.now() + self.options.renewal_margin
        due = [s for s in self.store.list_subscriptions(tenant_id) if s.expires <= horizon]
        expires = self.now() + timedelta(minutes=self.options.minutes)
        requests = [
            BatchRequest(
                str(i), "PATCH", f"/subscriptions/{s.subscription_id}", body={"expirationDateTime": graph_time(expires)}
            )
            for i, s in enumerate(due)
        ]
        counts = {"renewed": 0, "recreated": 0, "failed": 0}
        for key, result in self.graph.batch(tenant_id, requests).items():
            subscription = due[int(key)]
            if result.ok:
                self.store.save(
                    replace(subscription, expires=parse_graph_time(result.body["expirationDateTime"]), etag=None)
                )
                counts["renewed"] += 1
            elif isinstance(result.error, NotFoundError):
                counts[self._recreate(tenant_id, subscription)] += 1
            else:
                self.status.failed(tenant_id, subscription.mailbox_id, result.error)
                counts["failed"] += 1
        recorder = telemetry()
        for result_name, count in counts.items():
            if count:
                recorder.record(RENEWALS, count, result=result_name)
        return counts

    def resubscribe(self, tenant_id: str, mailbox_id: str, old_subscription_id: str | None = None) -> Subscription:
        """Replace a subscription Graph removed, then catch up on what was missed meanwhile."""
        if old_subscription_id:
            self.store.delete(tenant_id, old_subscription_id)
        subscription = self.subscribe(tenant_id, mailbox_id)
        self._catch_up(tenant_id, mailbox_id)
        return subscription

    def reauthorize(self, tenant_id: str, mailbox_id: str, subscription_id: str) -> Outcome:
        """Answer ``reauthorizationRequired`` at most once per ``REAUTHORIZE_EVERY`` per subscription."""
        held = self.store.get(tenant_id, subscription_id)
        now = self.now()
        if held is None:
            return Outcome.SKIPPED
        if held.reauthorized is not None and now - held.reauthorized < REAUTHORIZE_EVERY:
            return Outcome.SKIPPED
        try:
            if held.expires - now <= self.options.renewal_margin:
                renewed = self.graph.renew_subscription(
                    tenant_id, subscription_id, expires=now + timedelta(minutes=self.options.minutes)
                )
                held = replace(held, expires=parse_graph_time(renewed["expirationDateTime"]))
            else:
                self.graph.reauthorize_subscription(tenant_id, subscription_id)
        except NotFoundError:
            self.resubscribe(tenant_id, mailbox_id, subscription_id)
            return Outcome.DONE
        try:
            self.store.save(replace(held, reauthorized=now))
        except ConflictError:
            pass
        return Outcome.DONE

    def reconcile(self, tenant_id: str) -> dict[str, int]:
        """Make Graph's list and ours agree: recreate what Graph lost, delete our strays on Graph."""
        ours = {s.subscription_id: s for s in self.store.list_subscriptions(tenant_id)}
        graphs = {
            s["id"]
            for s in self.graph.list_subscriptions(tenant_id)
            if str(s.get("notificationUrl", "")).startswith(self.options.notification_url)
        }
        counts = {"recreated": 0, "deleted": 0, "failed": 0}
        for missing in set(ours) - graphs:
            counts[self._recreate(tenant_id, ours[missing])] += 1
        for stray in graphs - set(ours):
            self.graph.delete_subscription(tenant_id, stray)
            counts["deleted"] += 1
        return counts

    def remove(self, tenant_id: str, mailbox_id: str) -> None:
        """Every subscription of the mailbox, on Graph and ours (disabling it)."""
        for subscription in self.store.list_subscriptions(tenant_id):
            if subscription.mailbox_id == mailbox_id:
                self.graph.delete_subscription(tenant_id, subscription.subscription_id)
                self.store.delete(tenant_id, subscription.subscription_id)

    def _recreate(self, tenant_id: str, subscription: Subscription) -> str:
        """Resubscribe one mailbox of a tenant-wide pass: ``recreated``, or ``failed`` with the error
        recorded on the mailbox (a mailbox deleted from the directory must not stop the others)."""
        try:
            self.resubscribe(tenant_id, subscription.mailbox_id, subscription.subscription_id)
        except HybridCalendarError as error:
            self.status.failed(tenant_id, subscription.mailbox_id, error)
            return "failed"
        return "recreated"

    def _create(self, tenant_id: str, mailbox_id: str, client_state: str, expires: datetime) -> dict[str, Any]:
        return self.graph.create_subscription(
            tenant_id,
            mailbox_id,
            notification_url=self.options.notification_url,
            lifecycle_url=self.options.lifecycle_url,
            client_state=client_state,
            expires=expires,
        )

    def _delete_graph_duplicates(self, tenant_id: str, mailbox_id: str) -> None:
        """Graph's subscriptions to the mailbox's events, and our rows of them, which they would outlive."""
        resource = f"/users/{mailbox_id}/events".lower()
        for existing in self.graph.list_subscriptions(tenant_id):
            if str(existing.get("resource", "")).lower().lstrip("/") == resource.lstrip("/"):
                self.graph.delete_subscription(tenant_id, existing["id"])
                self.store.delete(tenant_id, existing["id"])
