"""A small, bounded, thread-safe cache whose entries expire: for lookups that may be a minute stale.

Used where a storage read per request would dominate the cost (the webhook's subscription
check, the meetings API's tenant and mailbox checks), and for the change worker's claims.
Bounded so that callers sending random ids cannot grow it without limit; the oldest entries go
first.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")
_MISSING = object()


class TtlCache(Generic[V]):
    """``get_or_load(key, load)``: the cached value while younger than ``ttl`` seconds, else ``load()``."""

    def __init__(self, *, ttl: float, maxsize: int = 10_000, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl, self.maxsize, self._clock = ttl, maxsize, clock
        self._entries: OrderedDict[Hashable, tuple[V, float]] = OrderedDict()
        self._lock = threading.Lock()

    def get_or_load(self, key: Hashable, load: Callable[[], V], *, keep: Callable[[V], bool] = lambda _: True) -> V:
        """The value for ``key``; a freshly loaded one is kept only if ``keep(value)``."""
        found = self._get(key)
        if found is not _MISSING:
            return found  # type: ignore[return-value]
        value = load()
        if keep(value):
            self.put(key, value)
        return value

    def get(self, key: Hashable, default: V | None = None) -> V | None:
        """The live value for ``key``, or ``default``."""
        found = self._get(key)
        return default if found is _MISSING else found  # type: ignore[return-value]

    def put(self, key: Hashable, value: V, *, ttl: float | None = None) -> None:
        """Keep ``value`` for ``ttl`` seconds (the cache's own by default)."""
        with self._lock:
            self._store(key, value, ttl)

    def add(self, key: Hashable, value: V) -> bool:
        """Keep ``value`` unless a live entry holds ``key``; True if kept. A claim only the first caller
        wins, in constant time however many are held."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry[1] > self._clock():
                return False
            self._store(key, value)
            return True

    def discard(self, key: Hashable) -> None:
        with self._lock:
            self._entries.pop(key, None)

    def _store(self, key: Hashable, value: V, ttl: float | None = None) -> None:
        self._entries[key] = (value, self._clock() + (self.ttl if ttl is None else ttl))
        self._entries.move_to_end(key)
        while len(self._entries) > self.maxsize:
            self._entries.popitem(last=False)

    def _get(self, key: Hashable) -> object:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry[1] <= self._clock():
                return _MISSING
            return entry[0]
