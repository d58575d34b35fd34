"""Outlook's limits per app and mailbox, enforced as the real service enforces them.

* **Concurrency**: at most 4 requests of one app on one mailbox at a time, across every caller and
  instance of the app. A ``$batch`` holds as many slots as it has items for the mailbox, up to 4
  (Graph runs up to 4 of a batch's items at once). Over the limit: 429 ``ApplicationThrottled``,
  "Application is over its MailboxConcurrency limit.", with a short Retry-After. The documentation
  states the limit; the error code and that batch items count are what public reports observed.
* **Budget**: 10,000 requests per app and mailbox per 10 minutes, every item of a ``$batch``
  counted. Over it: 429 ``ApplicationThrottled`` with Retry-After until the oldest request of the
  window leaves it. Tests lower the budget through the control API to meet it in seconds.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable

from local.graphsim.store import GraphFault

MAILBOX_CONCURRENCY = 4
BUDGET_REQUESTS = 10_000
BUDGET_SECONDS = 600.0
CONCURRENCY_RETRY_AFTER = 1


class MailboxLimits:
    """Slots in use and recent requests per (app, mailbox); thread-safe."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._inflight: dict[tuple[str, str], int] = {}
        self._recent: dict[tuple[str, str], deque[float]] = {}
        self.peak: dict[str, int] = {}
        self.refused: dict[str, int] = {}
        self.budget_requests, self.budget_seconds = BUDGET_REQUESTS, BUDGET_SECONDS

    def enter(self, app: str, mailbox: str, slots: int = 1) -> None:
        """Take ``slots`` for a request (or a batch's items) on the mailbox; GraphFault 429 if over the limit."""
        key = (app, mailbox)
        with self._lock:
            held = self._inflight.get(key, 0)
            if held + slots > MAILBOX_CONCURRENCY:
                self.refused["concurrency"] = self.refused.get("concurrency", 0) + 1
                raise GraphFault(
                    429,
                    "ApplicationThrottled",
                    "Application is over its MailboxConcurrency limit.",
                    {"Retry-After": str(CONCURRENCY_RETRY_AFTER)},
                )
            self._inflight[key] = held + slots
            self.peak[mailbox] = max(self.peak.get(mailbox, 0), held + slots)

    def leave(self, app: str, mailbox: str, slots: int = 1) -> None:
        with self._lock:
            self._inflight[(app, mailbox)] = max(0, self._inflight.get((app, mailbox), 0) - slots)

    def spend(self, app: str, mailbox: str) -> None:
        """Count one request against the mailbox's budget; GraphFault 429 when it is spent."""
        now = self._clock()
        with self._lock:
            recent = self._recent.setdefault((app, mailbox), deque())
            while recent and recent[0] <= now - self.budget_seconds:
                recent.popleft()
            if len(recent) >= self.budget_requests:
                self.refused["budget"] = self.refused.get("budget", 0) + 1
                wait = math.ceil(recent[0] + self.budget_seconds - now)
                raise GraphFault(
                    429,
                    "ApplicationThrottled",
                    "Application is over its request limit for this mailbox.",
                    {"Retry-After": str(max(1, wait))},
                )
            recent.append(now)

    def set_budget(self, requests: int, seconds: float) -> None:
        with self._lock:
            self.budget_requests, self.budget_seconds = requests, seconds
            self._recent.clear()
