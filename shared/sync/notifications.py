"""Reading Graph's webhook POSTs: the validation handshake, then each notification checked on its own.

No Graph or key-provider call happens here (Graph gives the endpoint 10 s, and cold starts eat
into them): a notification is kept only if its subscription is one we stored for that tenant
and its ``clientState`` matches the stored SHA-256 in constant time. What is kept becomes a
reference message (tenant, mailbox, subscription, event id, change type, change key); what is
not is counted by reason and dropped. A body that is too large, holds more than ``MAX_ITEMS``
notifications or is not a notification collection is refused whole, so nothing of it is queued.

The endpoint is anonymous, so its cost per POST must not grow with what a stranger sends:

* tenant and subscription ids must be GUIDs and event ids shaped as Graph writes them, checked
  before any read (anything else is ``malformed``, with no I/O);
* a (tenant, subscription) pair is looked up in storage once per POST however often it repeats,
  a known one is remembered for ``KNOWN_FOR_SECONDS`` and an unknown one for
  ``UNKNOWN_FOR_SECONDS`` (both bounded to ``HELD`` pairs, oldest dropped first), so a flood of
  forged ids costs one read per pair and period;
* once ``MAX_UNKNOWN`` pairs of a POST turned out unknown, its other uncached pairs are refused as
  ``unknown_subscription`` without reads. A POST from Graph carries the notifications of many
  subscriptions, all of them ours, so it never meets that limit however many it carries.

``reauthorizationRequired`` is queued at most once per subscription per
``REAUTHORIZATION_QUIET_SECONDS`` (the worker answers it at most every 30 minutes anyway).

The unknown period is short because a subscription's first notification can race its own row
(Graph may notify before the create call has returned and the row is written); what such a
race drops, the periodic catch-up restores.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from shared.cache import TtlCache
from shared.errors import PayloadTooLargeError, ValidationError
from shared.inputs import load_json
from shared.storage.queues import is_reference
from shared.storage.records import Subscription, SubscriptionRepository

MAX_BODY_BYTES = 1_048_576
MAX_ITEMS = 1_000
"""Notifications per POST. Graph sends the notifications queued for one URL together; a genuine
item is at least 400 bytes, so 1 MB carries fewer than 2,600, and Graph's batches are far smaller."""
MAX_UNKNOWN = 20
LIFECYCLE_EVENTS = frozenset({"reauthorizationRequired", "subscriptionRemoved", "missed"})
CHANGE_TYPES = frozenset({"created", "updated", "deleted"})
KNOWN_FOR_SECONDS = 60.0
REAUTHORIZATION_QUIET_SECONDS = 600.0
"""Graph may send ``reauthorizationRequired`` every few minutes per subscription; one is queued per period."""
UNKNOWN_FOR_SECONDS = 15.0
HELD = 50_000
_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


@dataclass
class Verdict:
    """What a POST yields: change and lifecycle references to queue, and what was refused, by reason."""

    changes: list[dict[str, str]] = field(default_factory=list)
    lifecycle: list[dict[str, str]] = field(default_factory=list)
    refused: dict[str, int] = field(default_factory=dict)

    def refuse(self, reason: str) -> None:
        self.refused[reason] = self.refused.get(reason, 0) + 1

    def measure(self, webhook: str) -> None:
        """Count the POST's notifications (received, refused by reason); with telemetry on, stamp each reference
        with the request's traceparent and the receipt time, so the worker continues the trace and measures lag."""
        from shared.telemetry import NOTIFICATIONS_RECEIVED, NOTIFICATIONS_REFUSED, milliseconds_now, telemetry

        recorder = telemetry()
        if not recorder.enabled:
            return
        received = len(self.changes) + len(self.lifecycle) + sum(self.refused.values())
        recorder.record(NOTIFICATIONS_RECEIVED, received, webhook=webhook)
        for reason, count in self.refused.items():
            recorder.record(NOTIFICATIONS_REFUSED, count, webhook=webhook, reason=reason)
        traceparent = recorder.traceparent()
        stamp = {"received": milliseconds_now()} | ({"traceparent": traceparent} if traceparent else {})
        for reference in (*self.changes, *self.lifecycle):
            reference.update(stamp)


def parse_collection(body: bytes) -> list[Any]:
    """The ``value`` array of a changeNotificationCollection; 413 / 400 with a clear message otherwise."""
    if len(body) > MAX_BODY_BYTES:
        raise PayloadTooLargeError(f"notification body is {len(body)} bytes; at most {MAX_BODY_BYTES} are accepted")
    document = load_json(body, what="notification body", walk=False)
    items = document.get("value") if isinstance(document, dict) else None
    if not isinstance(items, list):
        raise ValidationError("notification body is not a collection: expected an object with a 'value' array")
    if len(items) > MAX_ITEMS:
        raise PayloadTooLargeError(
            f"notification body holds {len(items)} notifications; at most {MAX_ITEMS} are accepted in one POST"
        )
    return items


def tenants_named(body: bytes) -> set[str]:
    """The tenant ids (GUIDs) a notification body names, read without any lookup (for recovery)."""
    try:
        items = parse_collection(body)
    except ValidationError:
        return set()
    return {item["tenantId"].lower() for item in items if isinstance(item, dict) and _is_guid(item.get("tenantId"))}


def change_key_of(resource_data: Mapping[str, Any]) -> str | None:
    """The changeKey inside ``@odata.etag`` (``W/"<changeKey>"``)."""
    etag = str(resource_data.get("@odata.etag") or "")
    if etag.startswith('W/"') and etag.endswith('"'):
        return etag[3:-1] or None
    return None


class NotificationVerifier:
    """Checks notifications against stored subscriptions (see the module docstring for the costs)."""

    def __init__(self, subscriptions: SubscriptionRepository, *, clock: Any = time.monotonic) -> None:
        self.subscriptions = subscriptions
        self._held: TtlCache[Subscription | None] = TtlCache(ttl=KNOWN_FOR_SECONDS, maxsize=HELD, clock=clock)
        self._answered: TtlCache[bool] = TtlCache(ttl=REAUTHORIZATION_QUIET_SECONDS, maxsize=HELD, clock=clock)
        self.lookups = 0

    def verify(self, body: bytes) -> Verdict:
        verdict, post = Verdict(), _Post()
        for item in parse_collection(body):
            self._one(item, verdict, post)
        return verdict

    def _one(self, item: Any, verdict: Verdict, post: _Post) -> None:
        if not isinstance(item, dict):
            return verdict.refuse("malformed")
        tenant, subscription_id = item.get("tenantId"), item.get("subscriptionId")
        if (
            not isinstance(tenant, str)
            or not isinstance(subscription_id, str)
            or not _is_guid(tenant)
            or not _is_guid(subscription_id)
        ):
            return verdict.refuse("malformed")
        subscription = self._subscription(tenant.lower(), subscription_id.lower(), post)
        if subscription is None:
            return verdict.refuse("unknown_subscription")
        if not isinstance(item.get("clientState"), str) or not subscription.accepts(item["clientState"]):
            return verdict.refuse("client_state_mismatch")
        reference = {
            "tenant_id": subscription.tenant_id,
            "mailbox_id": subscription.mailbox_id,
            "subscription_id": subscription.subscription_id,
        }
        if item.get("lifecycleEvent"):
            event = item["lifecycleEvent"]
            if event not in LIFECYCLE_EVENTS:
                return verdict.refuse("unknown_lifecycle_event")
            if event == "reauthorizationRequired" and not self._answered.add(
                (subscription.tenant_id, subscription.subscription_id), True
            ):
                return verdict.refuse("reauthorization_already_queued")
            verdict.lifecycle.append(reference | {"reason": str(event)})
            return None
        return self._change(item, reference, verdict)

    def _change(self, item: dict[str, Any], reference: dict[str, str], verdict: Verdict) -> None:
        data = item.get("resourceData")
        event_id = data.get("id") if isinstance(data, dict) else None
        if item.get("changeType") not in CHANGE_TYPES or not isinstance(event_id, str) or not is_reference(event_id):
            return verdict.refuse("malformed")
        assert isinstance(data, dict)
        change_key = change_key_of(data)
        verdict.changes.append(
            reference
            | {"event_id": event_id, "change_type": str(item["changeType"])}
            | ({"change_key": change_key} if change_key and is_reference(change_key) else {})
        )
        return None

    def _subscription(self, tenant: str, subscription_id: str, post: _Post) -> Subscription | None:
        key = (tenant, subscription_id)
        if key in post.seen:
            return post.seen[key]
        found = self._held.get(key, _UNSEEN)
        if found is _UNSEEN:
            if post.unknown >= MAX_UNKNOWN:
                return None
            self.lookups += 1
            found = self.subscriptions.get(tenant, subscription_id)
            self._held.put(key, found, ttl=None if found is not None else UNKNOWN_FOR_SECONDS)
            post.unknown += found is None
        post.seen[key] = found
        return found


class _Post:
    """What one POST has looked up already: repeated pairs cost nothing more."""

    def __init__(self) -> None:
        self.seen: dict[tuple[str, str], Subscription | None] = {}
        self.unknown = 0


_UNSEEN: Any = object()


def _is_guid(value: object) -> bool:
    return isinstance(value, str) and bool(_GUID.fullmatch(value))
