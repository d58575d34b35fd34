"""Webhook deliveries as Graph makes them: validation handshakes, change and lifecycle notifications.

Notifications are POSTed asynchronously after each change, to every live subscription on the
mailbox whose change types match, with ``clientState``, ``tenantId``, ``resource``
(``Users/{id}/Events/{id}``) and ``resourceData`` (``@odata.etag``). As Graph does ("if there are many
queued notifications, Microsoft Graph sends them in a single request"), notifications waiting for
the same URL leave together, up to ``PER_POST`` in one POST, at most ``POSTS_PER_URL`` POSTs to a URL
at a time; a lone notification leaves at once, alone. A delivery that is not
answered 2xx within 10 s is retried with back-off (Graph keeps trying for up to 4 hours; the
stand-in's schedule is compressed, see ``RETRY_DELAYS``). Expired subscriptions stop delivering.
Faults can drop, duplicate or delay deliveries.

Lifecycle noise: the real service may send ``reauthorizationRequired`` every few minutes for every
subscription (its documentation: "from once every few minutes for every subscription to rarely").
``noise(every)`` sends one to each live subscription every ``every`` seconds until set to 0.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote_plus

from local.graphsim.store import GraphFault, Store, Subscription

log = logging.getLogger("local.graphsim")
VALIDATION_TIMEOUT = 10.0
DELIVERY_TIMEOUT = 10.0
RETRY_DELAYS = (0.2, 0.5, 1.0, 2.0, 5.0)
DELIVERY_THREADS = 16
"""Graph delivers to an endpoint in parallel; 16 senders keep a slow endpoint from capping throughput."""
PER_POST = 50
POSTS_PER_URL = 8


@dataclass
class DeliveryFaults:
    """Share of deliveries dropped or repeated (``copies`` times in all), and a delay added before each."""

    drop: float = 0.0
    duplicate: float = 0.0
    copies: int = 2
    delay_seconds: float = 0.0


class Deliverer:
    """Posts notifications on a small thread pool, never on the request that made the change."""

    def __init__(self, store: Store, *, verify: bool | str = True) -> None:
        import requests

        self.store = store
        self.faults = DeliveryFaults()
        self.http = requests.Session()
        self.http.verify = verify
        self._pool = ThreadPoolExecutor(max_workers=DELIVERY_THREADS, thread_name_prefix="graphsim-notify")
        self._random = random.Random(7)
        self._lock = threading.Lock()
        self.delivered: list[dict[str, Any]] = []
        self._noise_every = 0.0
        self._noise: threading.Thread | None = None
        self.noise_sent = 0
        self.given_up = 0
        self._waiting: dict[str, list[dict[str, Any]]] = {}
        self._posting: dict[str, int] = {}

    def close(self) -> None:
        self._noise_every = 0.0
        self._pool.shutdown(wait=False, cancel_futures=True)

    def noise(self, every: float) -> None:
        """Send ``reauthorizationRequired`` to every live subscription each ``every`` seconds (0: stop)."""
        self._noise_every = every
        if every > 0 and (self._noise is None or not self._noise.is_alive()):
            self._noise = threading.Thread(target=self._make_noise, name="graphsim-noise", daemon=True)
            self._noise.start()

    def _make_noise(self) -> None:
        while self._noise_every > 0:
            time.sleep(self._noise_every)
            now = datetime.now(timezone.utc)
            with self.store.lock:
                live = [s for s in self.store.subscriptions.values() if s.expires > now and s.lifecycle_url]
            for subscription in live:
                self.lifecycle(subscription, "reauthorizationRequired")
                self.noise_sent += 1

    @property
    def notifications_delivered(self) -> int:
        """Notifications (not POSTs) answered 2xx so far."""
        with self._lock:
            return sum(len(payload["value"]) for payload in self.delivered)

    def changed(self, mailbox: str, event_id: str, change: str) -> None:
        """Called by the store (under its lock): queue one notification per matching subscription."""
        now = datetime.now(timezone.utc)
        for subscription in list(self.store.subscriptions.values()):
            if subscription.mailbox == mailbox and change in subscription.change_types and subscription.expires > now:
                self._queue(subscription, self._item(subscription, event_id, change))

    def _queue(self, subscription: Subscription, item: dict[str, Any]) -> None:
        """Faults decide per notification; what is sent waits for its URL's next POST."""
        with self._lock:
            if self._random.random() < self.faults.drop:
                return
            copies = max(2, self.faults.copies) if self._random.random() < self.faults.duplicate else 1
            url = subscription.notification_url
            self._waiting.setdefault(url, []).extend([item] * copies)
            if self._posting.get(url, 0) >= POSTS_PER_URL:
                return
            self._posting[url] = self._posting.get(url, 0) + 1
        self._pool.submit(self._drain, url)

    def _drain(self, url: str) -> None:
        """POST what waits for ``url``, ``PER_POST`` at a time, until nothing waits."""
        try:
            while True:
                if self.faults.delay_seconds:
                    time.sleep(self.faults.delay_seconds)
                with self._lock:
                    waiting = self._waiting.get(url, [])
                    batch, self._waiting[url] = waiting[:PER_POST], waiting[PER_POST:]
                if not batch:
                    return
                self._post_with_retries(url, {"value": batch})
        finally:
            with self._lock:
                self._posting[url] -= 1
                again = bool(self._waiting.get(url)) and self._posting[url] == 0
                if again:
                    self._posting[url] += 1
            if again:
                self._pool.submit(self._drain, url)

    def lifecycle(self, subscription: Subscription, event: str) -> None:
        item = {
            "subscriptionId": subscription.id,
            "subscriptionExpirationDateTime": _iso(subscription.expires),
            "tenantId": subscription.tenant_id,
            "clientState": subscription.client_state,
            "lifecycleEvent": event,
        }
        self._pool.submit(
            self._post_with_retries, subscription.lifecycle_url or subscription.notification_url, {"value": [item]}
        )

    def validate(self, url: str) -> None:
        """The handshake: 200 text/plain echoing the decoded token within 10 s, or GraphFault 400."""
        import requests

        token = f"Validation: Testing client application reachability for subscription Request-Id: {uuid.uuid4()}"
        separator = "&" if "?" in url else "?"
        try:
            answer = self.http.post(
                f"{url}{separator}validationToken={quote_plus(token)}",
                data=b"",
                headers={"Content-Type": "text/plain; charset=utf-8"},
                timeout=VALIDATION_TIMEOUT,
            )
        except requests.Timeout:
            raise GraphFault(400, "InvalidRequest", "Subscription validation request timed out.") from None
        except requests.RequestException:
            raise GraphFault(
                400,
                "ValidationError",
                "Subscription validation request failed. Notification endpoint "
                "must respond with 200 OK to validation request.",
            ) from None
        if answer.status_code != 200:
            raise GraphFault(
                400,
                "ValidationError",
                "Subscription validation request failed. Notification endpoint "
                "must respond with 200 OK to validation request.",
            )
        if not answer.headers.get("Content-Type", "").startswith("text/plain") or answer.text != token:
            raise GraphFault(
                400,
                "ValidationError",
                "Subscription validation request failed. Response must exactly match validationToken query parameter.",
            )

    def _item(self, subscription: Subscription, event_id: str, change: str) -> dict[str, Any]:
        event = self.store.events.get(subscription.mailbox, {}).get(event_id)
        etag = f'W/"{event.change_key}"' if event else None
        resource = f"Users/{subscription.mailbox}/Events/{event_id}"
        data = {"@odata.type": "#Microsoft.Graph.Event", "@odata.id": resource, "id": event_id}
        if etag:
            data["@odata.etag"] = etag
        return {
            "subscriptionId": subscription.id,
            "subscriptionExpirationDateTime": _iso(subscription.expires),
            "changeType": change,
            "resource": resource,
            "resourceData": data,
            "clientState": subscription.client_state,
            "tenantId": subscription.tenant_id,
        }

    def _post_with_retries(self, url: str, payload: dict[str, Any]) -> None:
        import requests

        body = json.dumps(payload).encode()
        for delay in (0.0, *RETRY_DELAYS):
            time.sleep(delay)
            try:
                answer = self.http.post(
                    url, data=body, headers={"Content-Type": "application/json"}, timeout=DELIVERY_TIMEOUT
                )
                if 200 <= answer.status_code < 300:
                    with self._lock:
                        self.delivered.append(payload)
                    return
            except requests.RequestException:
                pass
        with self._lock:
            self.given_up += 1
        log.warning("graphsim: gave up delivering %d notification(s)", len(payload["value"]))


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat()
