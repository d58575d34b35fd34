"""HTTP to Graph: one pooled session, timeouts on every call, bounded retries, 4 calls per mailbox.

Graph throttles per app and mailbox: 4 concurrent requests and 10,000 per 10 minutes
(graph.md §7.1). A 429, 503 or 504 and connection failures are retried as :mod:`shared.retry` says (Retry-After
or jittered back-off, attempts and total time bounded; a wait that does not fit is returned as
``retry_after`` for the queue).
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from shared.errors import DependencyUnavailableError
from shared.graph.errors import graph_error
from shared.http import pooled_session
from shared.retry import RetryPolicy, call_with_retries

__all__ = ["GraphResponse", "GraphTransport", "RetryPolicy"]

PREFER_DEFAULTS = ('IdType="ImmutableId"', 'outlook.timezone="UTC"')
MAILBOX_CONCURRENCY = 4


@dataclass(frozen=True)
class GraphResponse:
    """A successful Graph answer: status, headers and the JSON body (None when empty)."""

    status: int
    headers: Mapping[str, str]
    body: Any


class GraphTransport:
    """Sends Graph requests with the product's headers, retries and per-mailbox concurrency."""

    def __init__(self, *, session: Any = None, timeout: float = 30.0, retry: RetryPolicy = RetryPolicy(),
                 verify: str | bool = True, sleep: Callable[[float], None] = time.sleep,
                 rng: random.Random | None = None) -> None:
        self.session = session or pooled_session(verify)
        self.timeout, self.retry, self._sleep = timeout, retry, sleep
        self._rng = rng or random.Random()
        self._mailboxes: dict[str, threading.BoundedSemaphore] = {}
        self._lock = threading.Lock()
        self.sent = 0

    def request(self, method: str, url: str, *, token: str, what: str, mailbox: str | None = None,
                json: Any = None, headers: Mapping[str, str] | None = None, prefer: Iterable[str] = ()) -> GraphResponse:
        """Send one request (retrying as the policy says); a typed error for any failure."""
        prepared = self._headers(token, headers, prefer)
        return call_with_retries(lambda: self._attempt(method, url, prepared, json, mailbox, what),
                                 policy=self.retry, sleep=self._sleep, rng=self._rng)

    def _attempt(self, method: str, url: str, headers: dict[str, str], body: Any, mailbox: str | None,
                 what: str) -> GraphResponse:
        import requests

        with self._slot(mailbox):
            try:
                self.sent += 1
                response = self.session.request(method, url, headers=headers, json=body, timeout=self.timeout)
            except requests.RequestException as exc:
                raise DependencyUnavailableError(f"{what}: Graph unreachable ({type(exc).__name__})") from None
        parsed = _json(response)
        if response.status_code >= 400:
            raise graph_error(response.status_code, parsed, response.headers, what=what)
        return GraphResponse(response.status_code, response.headers, parsed)

    def _headers(self, token: str, extra: Mapping[str, str] | None, prefer: Iterable[str]) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {token}", "Prefer": ", ".join((*PREFER_DEFAULTS, *prefer)),
                   "client-request-id": str(uuid.uuid4()), "Accept": "application/json"}
        return headers | dict(extra or {})

    def _slot(self, mailbox: str | None) -> Any:
        if mailbox is None:
            return _NoSlot()
        key = mailbox.lower()
        with self._lock:
            if key not in self._mailboxes:
                self._mailboxes[key] = threading.BoundedSemaphore(MAILBOX_CONCURRENCY)
            return self._mailboxes[key]


class _NoSlot:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def _json(response: Any) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return {"error": {"code": f"http{response.status_code}", "message": "not JSON"}} \
            if response.status_code >= 400 else None

