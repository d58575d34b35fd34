"""HTTP to Graph: one pooled session, timeouts on every call, bounded retries, 4 calls per mailbox.

Graph throttles per app and mailbox: 4 concurrent requests and 10,000 per 10 minutes
(graph.md §7.1). A 429, 503 or 504 and connection failures are retried, waiting what
``Retry-After`` says (seconds, fractional seconds or an HTTP date) or, without it, an
exponential back-off with jitter; both the number of attempts and the total time are bounded.
A wait that would not fit in the remaining budget is not slept: the ThrottledError carries
``retry_after`` so a queue can bring the work back later instead of holding a worker.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from shared.errors import DependencyUnavailableError, TransientError
from shared.graph.errors import graph_error

PREFER_DEFAULTS = ('IdType="ImmutableId"', 'outlook.timezone="UTC"')
MAILBOX_CONCURRENCY = 4


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry; back-off doubles from ``base_delay`` up to ``max_delay``."""

    max_attempts: int = 5
    max_total_seconds: float = 60.0
    base_delay: float = 0.5
    max_delay: float = 30.0

    def backoff(self, attempt: int, rng: random.Random) -> float:
        """Full-jitter exponential back-off for the attempt that just failed (1-based)."""
        return rng.uniform(0.5, 1.0) * min(self.max_delay, self.base_delay * 2 ** (attempt - 1))


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
        started = time.monotonic()
        for attempt in range(1, self.retry.max_attempts + 1):
            try:
                return self._attempt(method, url, prepared, json, mailbox, what)
            except TransientError as error:
                wait = error.retry_after if error.retry_after is not None else self.retry.backoff(attempt, self._rng)
                if attempt == self.retry.max_attempts or time.monotonic() - started + wait > self.retry.max_total_seconds:
                    error.retry_after = wait
                    raise
                self._sleep(wait)
        raise AssertionError("unreachable")

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


def pooled_session(verify: str | bool = True) -> Any:
    """A pooled ``requests.Session`` whose ``verify`` wins over REQUESTS_CA_BUNDLE.

    requests lets the environment's CA bundle override a session's ``verify`` (psf/requests
    #3829); a local stand-in's certificate must not be silently replaced by the system bundle.
    """
    import requests
    from requests.adapters import HTTPAdapter

    class _Session(requests.Session):
        def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
            kwargs.setdefault("verify", self.verify)
            return super().request(method, url, *args, **kwargs)

    session = _Session()
    session.verify = verify
    adapter = HTTPAdapter(pool_connections=16, pool_maxsize=32, max_retries=0)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


def _json(response: Any) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return {"error": {"code": f"http{response.status_code}", "message": "not JSON"}} \
            if response.status_code >= 400 else None

