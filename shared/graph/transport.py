"""HTTP to Graph: one pooled session, timeouts on every call, bounded retries, few calls per mailbox.

Graph throttles per app and mailbox: 4 concurrent requests across every instance of the app, each
item of a ``$batch`` counted (Graph runs up to 4 of a batch's items at once), and 10,000 requests
per 10 minutes. One instance cannot see the others, so it keeps its own share low:
``MAILBOX_SLOTS`` requests per mailbox at a time, and a ``$batch`` for a mailbox takes them all.
What the other instances add beyond 4 comes back as 429 (``ApplicationThrottled``,
MailboxConcurrency) and is expected: a 429, 503 or 504 and connection failures are retried as
:mod:`shared.retry` says (Retry-After or jittered back-off, attempts and total time bounded; a
wait that does not fit is returned as ``retry_after``, and the queue worker defers the message
by it instead of failing it).
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from shared.errors import DependencyUnavailableError
from shared.graph.errors import graph_error
from shared.http import pooled_session
from shared.retry import RetryPolicy, call_with_retries, retry_after_seconds
from shared.telemetry import GRAPH_REQUESTS, GRAPH_RETRY_AFTER, telemetry

__all__ = ["GraphResponse", "GraphTransport", "RetryPolicy"]

PREFER_DEFAULTS = ('IdType="ImmutableId"', 'outlook.timezone="UTC"')
MAILBOX_SLOTS = 2


@dataclass(frozen=True)
class GraphResponse:
    """A successful Graph answer: status, headers and the JSON body (None when empty)."""

    status: int
    headers: Mapping[str, str]
    body: Any


class GraphTransport:
    """Sends Graph requests with the product's headers, retries and per-mailbox concurrency."""

    def __init__(
        self,
        *,
        session: Any = None,
        timeout: float = 30.0,
        retry: RetryPolicy = RetryPolicy(),
        verify: str | bool = True,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.session = session or pooled_session(verify)
        self.timeout, self.retry, self._sleep = timeout, retry, sleep
        self._rng = rng or random.Random()
        self._slots = MailboxSlots(MAILBOX_SLOTS)
        self.sent = 0

    def request(
        self,
        method: str,
        url: str,
        *,
        token: str,
        what: str,
        mailbox: str | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        prefer: Iterable[str] = (),
        whole_mailbox: bool = False,
    ) -> GraphResponse:
        """Send one request (retrying as the policy says); a typed error for any failure. ``whole_mailbox``:
        the request takes every slot of the mailbox (a ``$batch`` of its items)."""
        prepared = self._headers(token, headers, prefer)
        return call_with_retries(
            lambda: self._attempt(method, url, prepared, json, mailbox, what, whole_mailbox),
            policy=self.retry,
            sleep=self._sleep,
            rng=self._rng,
        )

    def _attempt(
        self,
        method: str,
        url: str,
        headers: dict[str, str],
        body: Any,
        mailbox: str | None,
        what: str,
        whole_mailbox: bool,
    ) -> GraphResponse:
        """One request in a client span named by ``what`` (never the URL: it may name a mailbox by address)."""
        recorder = telemetry()
        with (
            self._slots.hold(mailbox, MAILBOX_SLOTS if whole_mailbox else 1),
            recorder.span(
                f"graph {what}",
                kind="client",
                attributes={"http.request.method": method, "server.address": urlsplit(url).hostname or ""},
            ) as span,
        ):
            response = self._send(method, url, headers, body, what)
            if span is not None:
                span.set_attribute("http.response.status_code", response.status_code)
                span.set_attribute("hc.graph.request_id", response.headers.get("request-id", ""))
        measure_answer(what, response.status_code, response.headers.get("Retry-After"))
        return self._answer(response, what)

    def _send(self, method: str, url: str, headers: dict[str, str], body: Any, what: str) -> Any:
        import requests

        try:
            self.sent += 1
            return self.session.request(method, url, headers=headers, json=body, timeout=self.timeout)
        except requests.RequestException as exc:
            measure_answer(what, 0, None)
            raise DependencyUnavailableError(f"{what}: Graph unreachable ({type(exc).__name__})") from None

    @staticmethod
    def _answer(response: Any, what: str) -> GraphResponse:
        parsed = _json(response)
        if response.status_code >= 400:
            raise graph_error(response.status_code, parsed, response.headers, what=what)
        return GraphResponse(response.status_code, response.headers, parsed)

    def _headers(self, token: str, extra: Mapping[str, str] | None, prefer: Iterable[str]) -> dict[str, str]:
        headers = {
            "Authorization": f"Bearer {token}",
            "Prefer": ", ".join((*PREFER_DEFAULTS, *prefer)),
            "client-request-id": str(uuid.uuid4()),
            "Accept": "application/json",
        }
        return headers | dict(extra or {})


def measure_answer(operation: str, status: int, retry_after: str | None) -> None:
    """``hc.graph.requests`` for one answer of Graph (status 0: none came), and ``hc.graph.throttled`` with the
    Retry-After of a 429; the items of a ``$batch`` are counted the same way (``shared.graph.batch``)."""
    recorder = telemetry()
    recorder.record(GRAPH_REQUESTS, operation=operation, status=status)
    if status == 429:
        recorder.record(GRAPH_RETRY_AFTER, retry_after_seconds(retry_after) or 0, operation=operation)


class MailboxSlots:
    """At most ``limit`` slots per mailbox in use by this process; a request waits for the slots it needs."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._used: dict[str, int] = {}
        self._changed = threading.Condition()

    @contextmanager
    def hold(self, mailbox: str | None, slots: int) -> Iterator[None]:
        if mailbox is None:
            yield
            return
        key, slots = mailbox.lower(), min(slots, self.limit)
        with self._changed:
            self._changed.wait_for(lambda: self._used.get(key, 0) + slots <= self.limit)
            self._used[key] = self._used.get(key, 0) + slots
        try:
            yield
        finally:
            with self._changed:
                left = self._used[key] - slots
                if left:
                    self._used[key] = left
                else:
                    del self._used[key]
                self._changed.notify_all()


def _json(response: Any) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return (
            {"error": {"code": f"http{response.status_code}", "message": "not JSON"}}
            if response.status_code >= 400
            else None
        )
