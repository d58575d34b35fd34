"""Delivering events to endpoints: the first attempt at once, retries from a queue, at least once.

An event has one ``webhook-id`` for its whole life: every endpoint and every attempt carry it, so a
receiver de-duplicates by it (a worker that dies after a POST succeeded sends the same id again).
Each attempt is signed anew with its own ``webhook-timestamp`` (receivers refuse old timestamps).
A failed attempt (not 2xx, a timeout, a refused address) is retried through ``DELIVERIES_QUEUE``
after ``first_retry * 4**(n-1)`` seconds (at most 10 hours) until ``retry_for`` has passed since
the first attempt; with the defaults (5 s, 26 h) that is 5 s, 20 s, 80 s, 5 min, 21 min, 85 min,
5.7 h, then every 10 h. While it waits in the queue the body is sealed with the tenant's data key,
so bodies exist in clear only in memory and on the wire. An endpoint whose every attempt has failed
for ``disable_after`` is disabled, and stays so until its owner enables it again.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from shared.crypto.envelope import Location, key_id_of, open_sealed, seal
from shared.crypto.keyring import KeyRing
from shared.delivery.endpoints import Attempt, DeliveryLog, Endpoint, EndpointRepository
from shared.delivery.signing import headers
from shared.delivery.urls import Resolver, check_addresses, system_resolver
from shared.errors import ConflictError, IntegrityError, InvalidParameterError, ValidationError
from shared.inputs import load_json
from shared.storage.queues import MAX_DELAY_SECONDS, QueueWriter
from shared.sync.messages import DELIVERIES_QUEUE
from shared.timezones import utc_text, utcnow

log = logging.getLogger("hybridcalendar.delivery")
LONGEST_RETRY = 10 * 3600
CONNECT_SECONDS = 3.0
READ_SECONDS = 10.0
MAX_BODY_BYTES = 32_000
"""A body that fits, sealed and in base64, in one queue message (64 KiB)."""


@dataclass(frozen=True)
class DeliveryOptions:
    retry_for: timedelta = timedelta(hours=26)
    first_retry: int = 5
    disable_after: timedelta = timedelta(hours=72)
    local: bool = False
    """The local stack: http and loopback receivers are allowed."""


@dataclass(frozen=True)
class OutgoingEvent:
    """One event for one mailbox's endpoints; ``webhook_id`` is the same for every attempt."""

    webhook_id: str
    event_type: str
    data: Mapping[str, Any]
    occurred: datetime

    def body(self) -> bytes:
        text = json.dumps(
            {"type": self.event_type, "timestamp": utc_text(self.occurred), "data": dict(self.data)},
            separators=(",", ":"),
            ensure_ascii=False,
        ).encode("utf-8")
        if len(text) > MAX_BODY_BYTES:
            raise ValidationError(f"an outgoing event is larger than {MAX_BODY_BYTES} bytes")
        return text


@dataclass(frozen=True)
class RetryRef:
    """A delivery waiting for its next attempt: which endpoint, which event, and its sealed body."""

    tenant_id: str
    mailbox_id: str
    endpoint_id: str
    webhook_id: str
    event_type: str
    first: datetime
    attempt: int
    sealed_body: str

    def to_text(self) -> str:
        return json.dumps(
            {
                "tenant": self.tenant_id,
                "mailbox": self.mailbox_id,
                "endpoint": self.endpoint_id,
                "id": self.webhook_id,
                "type": self.event_type,
                "first": utc_text(self.first),
                "attempt": self.attempt,
                "body": self.sealed_body,
            },
            separators=(",", ":"),
        )

    @classmethod
    def parse(cls, text: str) -> RetryRef:
        """A message as :meth:`to_text` wrote it; ValidationError (poison at once) for anything else."""
        document = load_json(text, what="delivery message", max_depth=2)
        fields = ("tenant", "mailbox", "endpoint", "id", "type", "first", "attempt", "body")
        if not isinstance(document, dict) or set(document) != set(fields):
            raise ValidationError("delivery message does not have exactly the fields " + ", ".join(fields))
        strings = [document[name] for name in fields if name != "attempt"]
        if (
            not all(isinstance(value, str) and value for value in strings)
            or not isinstance(document["attempt"], int)
            or not 0 < document["attempt"] < 1000
        ):
            raise ValidationError("delivery message has a field of the wrong type")
        try:
            first = datetime.fromisoformat(document["first"].replace("Z", "+00:00"))
        except ValueError:
            raise ValidationError("delivery message has no valid first-attempt time") from None
        return cls(
            document["tenant"],
            document["mailbox"],
            document["endpoint"],
            document["id"],
            document["type"],
            first,
            document["attempt"],
            document["body"],
        )


def retry_delay(attempt: int, *, first_retry: int) -> int:
    """Seconds before attempt ``attempt + 1`` (attempt 1 was the first)."""
    return int(min(first_retry * 4 ** (attempt - 1), LONGEST_RETRY))


def next_attempt_at(first: datetime, attempt: int, now: datetime, options: DeliveryOptions) -> datetime | None:
    """When the next attempt is due after attempt ``attempt`` failed at ``now``; None: give up."""
    due = now + timedelta(seconds=retry_delay(attempt, first_retry=options.first_retry))
    deadline = first + options.retry_for
    if now >= deadline:
        return None
    return min(due, deadline)


class Deliverer:
    """Publishes events to a mailbox's endpoints and retries what failed."""

    def __init__(
        self,
        endpoints: EndpointRepository,
        attempts: DeliveryLog,
        queues: QueueWriter,
        keyring: KeyRing,
        *,
        options: DeliveryOptions,
        post: Callable[..., Any] | None = None,
        resolve: Resolver = system_resolver,
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        self.endpoints, self.attempts, self.queues, self.keyring = endpoints, attempts, queues, keyring
        self.options, self.resolve, self.now = options, resolve, now
        self._post = post

    def publish(self, tenant_id: str, mailbox_id: str, event: OutgoingEvent) -> dict[str, int]:
        """Attempt the event at every enabled endpoint of the mailbox; failures wait for a retry."""
        body = event.body()
        counts = {"endpoints": 0, "delivered": 0, "retrying": 0}
        for endpoint in self.endpoints.list_for(tenant_id, mailbox_id):
            if not endpoint.enabled:
                continue
            counts["endpoints"] += 1
            outcome = self._attempt(endpoint, event.webhook_id, event.event_type, body, attempt=1, first=self.now())
            counts["delivered" if outcome == "delivered" else "retrying"] += 1
        return counts

    def retry(self, ref: RetryRef) -> str:
        """The next attempt of a waiting delivery: ``delivered``, ``failed``, ``gave_up``, or ``dropped`` when
        the endpoint is gone or disabled."""
        endpoint = self.endpoints.get(ref.tenant_id, ref.mailbox_id, ref.endpoint_id)
        if endpoint is None or not endpoint.enabled:
            return "dropped"
        body = self._open(ref)
        return self._attempt(endpoint, ref.webhook_id, ref.event_type, body, attempt=ref.attempt, first=ref.first)

    def _attempt(
        self, endpoint: Endpoint, webhook_id: str, event_type: str, body: bytes, *, attempt: int, first: datetime
    ) -> str:
        started, now = time.monotonic(), self.now()
        status, error = self._send(endpoint, webhook_id, body, now)
        latency = int((time.monotonic() - started) * 1000)
        delivered = status is not None and 200 <= status < 300
        if delivered:
            self._succeeded(endpoint, now)
            outcome = "delivered"
        else:
            outcome = self._failed(endpoint, webhook_id, event_type, body, attempt=attempt, first=first, now=now)
        self.attempts.record(
            endpoint.tenant_id,
            endpoint.endpoint_id,
            Attempt(now, webhook_id, event_type, attempt, status, latency, outcome, error),
        )
        log.info(
            "delivery %s endpoint %s attempt %d: %s (status %s, %d ms)",
            webhook_id,
            endpoint.endpoint_id,
            attempt,
            outcome,
            status,
            latency,
        )
        return outcome

    def _send(self, endpoint: Endpoint, webhook_id: str, body: bytes, now: datetime) -> tuple[int | None, str | None]:
        parts = urlsplit(endpoint.url)
        try:
            check_addresses(
                parts.hostname or "",
                parts.port or (443 if parts.scheme == "https" else 80),
                local=self.options.local,
                resolve=self.resolve,
            )
        except InvalidParameterError:
            return None, "refused_address"
        signed = headers(endpoint.signing_secrets(now), webhook_id, int(now.timestamp()), body)
        try:
            answer = self.post(
                endpoint.url, data=body, headers=signed, timeout=(CONNECT_SECONDS, READ_SECONDS), allow_redirects=False
            )
        except Exception as exc:  # any transport failure is a failed attempt, retried later
            return None, "timeout" if "Timeout" in type(exc).__name__ else "connection_failed"
        return int(answer.status_code), None

    @property
    def post(self) -> Callable[..., Any]:
        if self._post is None:
            from shared.http import pooled_session

            self._post = pooled_session(True).post
        return self._post

    def _succeeded(self, endpoint: Endpoint, now: datetime) -> None:
        if (
            endpoint.failing_since is None
            and endpoint.last_success is not None
            and now - endpoint.last_success < timedelta(minutes=1)
        ):
            return
        self._update(endpoint, lambda held: replace(held, failing_since=None, last_success=now))

    def _failed(
        self,
        endpoint: Endpoint,
        webhook_id: str,
        event_type: str,
        body: bytes,
        *,
        attempt: int,
        first: datetime,
        now: datetime,
    ) -> str:
        failing_since = endpoint.failing_since or now
        if now - failing_since >= self.options.disable_after:
            self._update(endpoint, lambda held: replace(held, enabled=False, disabled_reason="failing"))
            log.warning(
                "endpoint %s disabled: every delivery failed for %s", endpoint.endpoint_id, self.options.disable_after
            )
            return "disabled"
        if endpoint.failing_since is None:
            self._update(endpoint, lambda held: held if held.failing_since else replace(held, failing_since=now))
        due = next_attempt_at(first, attempt, now, self.options)
        if due is None:
            return "gave_up"
        ref = RetryRef(
            endpoint.tenant_id,
            endpoint.mailbox_id,
            endpoint.endpoint_id,
            webhook_id,
            event_type,
            first,
            attempt + 1,
            self._seal(endpoint, webhook_id, body),
        )
        delay = min(max(0, int((due - now).total_seconds())), MAX_DELAY_SECONDS)
        self.queues.send_text(DELIVERIES_QUEUE, ref.to_text(), delay_seconds=delay or None)
        return "failed"

    def _update(self, endpoint: Endpoint, change: Callable[[Endpoint], Endpoint]) -> None:
        """Change the stored endpoint over its etag, re-reading once when someone else changed it."""
        held: Endpoint | None = endpoint
        for _ in range(3):
            if held is None:
                return
            changed = change(held)
            if changed == held:
                return
            try:
                self.endpoints.save(changed)
                return
            except ConflictError:
                held = self.endpoints.get(endpoint.tenant_id, endpoint.mailbox_id, endpoint.endpoint_id)

    def _location(self, tenant_id: str, endpoint_id: str, webhook_id: str) -> Location:
        return Location(DELIVERIES_QUEUE, tenant_id, webhook_id, endpoint_id)

    def _seal(self, endpoint: Endpoint, webhook_id: str, body: bytes) -> str:
        key = self.keyring.current(endpoint.tenant_id)
        sealed = seal(key, body, self._location(endpoint.tenant_id, endpoint.endpoint_id, webhook_id))
        return base64.urlsafe_b64encode(sealed).decode("ascii")

    def _open(self, ref: RetryRef) -> bytes:
        try:
            record = base64.urlsafe_b64decode(ref.sealed_body)
        except (binascii.Error, ValueError):
            raise IntegrityError("a waiting delivery's body is not base64") from None
        key = self.keyring.get(ref.tenant_id, key_id_of(record))
        return open_sealed(key, record, self._location(ref.tenant_id, ref.endpoint_id, ref.webhook_id))
