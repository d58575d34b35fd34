"""What one worker process is doing right now about events: claims on versions, writes in progress.

Two things the queue alone cannot give, kept in one small object:

* **Claims.** Graph delivers duplicates within moments of each other, and they can be picked up by
  two invocations at once, before either has stored the version. The first to claim
  (tenant, mailbox, event, changeKey) fetches; the others are duplicates and cost no GET. A claim
  lasts ``CLAIM_FOR`` and at most ``CLAIMS_HELD`` are held (the oldest dropped first), which only lets
  a very late duplicate reach the changeKey check instead. A failed fetch gives its claim back.
* **Writes in progress.** Keyword scheduling PATCHes an organizer's event; Graph may deliver the
  notification of our own PATCH before the PATCH has returned. That notification waits (at most
  ``WRITE_WAIT``) for our write to be stored, then finds its changeKey held.

Across processes the changeKey in storage is what de-duplicates; this only saves GETs.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from shared.cache import TtlCache

CLAIM_FOR = timedelta(minutes=5)
CLAIMS_HELD = 50_000
WRITE_WAIT = timedelta(seconds=10)

Claim = tuple[str, str, str, str]
"""(tenant, mailbox, event id, changeKey): one version of an event being fetched by this process."""
EventKey = tuple[str, str, str]
"""(tenant, mailbox, event id)."""


class Inflight:
    """Claims and writes in progress of one process (thread-safe)."""

    def __init__(self) -> None:
        self._claims: TtlCache[bool] = TtlCache(ttl=CLAIM_FOR.total_seconds(), maxsize=CLAIMS_HELD)
        self._writes: dict[EventKey, threading.Event] = {}
        self._lock = threading.Lock()

    def claim(self, claim: Claim) -> bool:
        """First in this process to fetch this version? A claim costs the same however many are held."""
        return self._claims.add(claim, True)

    def release(self, claim: Claim) -> None:
        """Give a claim back (its fetch failed: a redelivery must be free to try)."""
        self._claims.discard(claim)

    @contextmanager
    def writing(self, key: EventKey) -> Iterator[None]:
        """Mark the event as being written by this process until the block ends."""
        done = threading.Event()
        with self._lock:
            self._writes[key] = done
        try:
            yield
        finally:
            with self._lock:
                self._writes.pop(key, None)
            done.set()

    def wait_for_write(self, key: EventKey) -> None:
        """Return once no write of this event is in progress here (or ``WRITE_WAIT`` has passed)."""
        with self._lock:
            pending = self._writes.get(key)
        if pending is not None:
            pending.wait(WRITE_WAIT.total_seconds())
