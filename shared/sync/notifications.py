"""Reading Graph's webhook POSTs: the validation handshake, then each notification checked on its own.

No Graph or key-provider call happens here (Graph gives the endpoint 10 s, and cold starts eat
into them): a notification is kept only if its subscription is one we stored for that tenant
and its ``clientState`` matches the stored SHA-256 in constant time. What is kept becomes a
reference message (tenant, mailbox, subscription, event id, change type, change key); what is
not is counted by reason and dropped. A body that is too large or not a notification
collection is refused whole, so nothing of it is queued.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from shared.cache import TtlCache
from shared.errors import PayloadTooLargeError, ValidationError
from shared.storage.records import Subscription, SubscriptionRepository

MAX_BODY_BYTES = 1_048_576
LIFECYCLE_EVENTS = frozenset({"reauthorizationRequired", "subscriptionRemoved", "missed"})
CHANGE_TYPES = frozenset({"created", "updated", "deleted"})
KNOWN_FOR_SECONDS = 60.0


@dataclass
class Verdict:
    """What a POST yields: change and lifecycle references to queue, and what was refused, by reason."""

    changes: list[dict[str, str]] = field(default_factory=list)
    lifecycle: list[dict[str, str]] = field(default_factory=list)
    refused: dict[str, int] = field(default_factory=dict)

    def refuse(self, reason: str) -> None:
        self.refused[reason] = self.refused.get(reason, 0) + 1


def parse_collection(body: bytes) -> list[Any]:
    """The ``value`` array of a changeNotificationCollection; 413 / 400 with a clear message otherwise."""
    if len(body) > MAX_BODY_BYTES:
        raise PayloadTooLargeError(f"notification body is {len(body)} bytes; at most {MAX_BODY_BYTES} are accepted")
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise ValidationError("notification body is not JSON") from None
    items = document.get("value") if isinstance(document, dict) else None
    if not isinstance(items, list):
        raise ValidationError("notification body is not a collection: expected an object with a 'value' array")
    return items


def change_key_of(resource_data: Mapping[str, Any]) -> str | None:
    """The changeKey inside ``@odata.etag`` (``W/"<changeKey>"``)."""
    etag = str(resource_data.get("@odata.etag") or "")
    if etag.startswith('W/"') and etag.endswith('"'):
        return etag[3:-1] or None
    return None


class NotificationVerifier:
    """Checks notifications against stored subscriptions, remembering verified ones for a minute."""

    def __init__(self, subscriptions: SubscriptionRepository, *, clock: Any = time.monotonic) -> None:
        self.subscriptions = subscriptions
        self._known: TtlCache[Subscription | None] = TtlCache(ttl=KNOWN_FOR_SECONDS, clock=clock)

    def verify(self, body: bytes) -> Verdict:
        verdict = Verdict()
        for item in parse_collection(body):
            self._one(item, verdict)
        return verdict

    def _one(self, item: Any, verdict: Verdict) -> None:
        if not isinstance(item, dict):
            return verdict.refuse("malformed")
        tenant, subscription_id = str(item.get("tenantId") or ""), str(item.get("subscriptionId") or "")
        subscription = self._subscription(tenant, subscription_id) if tenant and subscription_id else None
        if subscription is None:
            return verdict.refuse("unknown_subscription")
        if not isinstance(item.get("clientState"), str) or not subscription.accepts(item["clientState"]):
            return verdict.refuse("client_state_mismatch")
        reference = {"tenant_id": tenant, "mailbox_id": subscription.mailbox_id, "subscription_id": subscription_id}
        if item.get("lifecycleEvent"):
            if item["lifecycleEvent"] not in LIFECYCLE_EVENTS:
                return verdict.refuse("unknown_lifecycle_event")
            verdict.lifecycle.append(reference | {"reason": str(item["lifecycleEvent"])})
            return None
        return self._change(item, reference, verdict)

    def _change(self, item: dict[str, Any], reference: dict[str, str], verdict: Verdict) -> None:
        data = item.get("resourceData") if isinstance(item.get("resourceData"), dict) else {}
        event_id = str(data.get("id") or "")
        if item.get("changeType") not in CHANGE_TYPES or not event_id:
            return verdict.refuse("malformed")
        change_key = change_key_of(data)
        verdict.changes.append(reference | {"event_id": event_id, "change_type": str(item["changeType"])}
                               | ({"change_key": change_key} if change_key else {}))
        return None

    def _subscription(self, tenant: str, subscription_id: str) -> Subscription | None:
        return self._known.get_or_load((tenant, subscription_id),
                                       lambda: self.subscriptions.get(tenant, subscription_id),
                                       keep=lambda found: found is not None)

