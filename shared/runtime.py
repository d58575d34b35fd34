"""The process's runtime: everything built once from the settings and shared by every function.

The Functions worker keeps one Python process per instance, and each function would otherwise pay
again for what is costly to make: storage clients and the key ring (its data-key cache is what keeps
Key Vault calls proportional to tenants), the Graph client (MSAL token caches, pooled connections),
the engine and its in-flight claims, the webhook's verifier cache and group-commit senders. The
runtime builds each part on first use only, so a cold start of the webhook builds storage and the
verifier and never Graph or the parser. Tests and benchmarks make a runtime of their own from their
settings; ``get_runtime.cache_clear()`` forgets the process's.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import lru_cache
from typing import TYPE_CHECKING, Any, TypeVar

from shared.config import Settings, get_settings

if TYPE_CHECKING:
    from shared.api.actions import MeetingActions
    from shared.api.service import MeetingsApi
    from shared.graph.client import GraphClient
    from shared.presence.service import PresenceService
    from shared.storage.queues import GroupSender
    from shared.storage.stores import Stores
    from shared.sync.engine import SyncEngine
    from shared.sync.notifications import NotificationVerifier
    from shared.sync.recovery import Recovery
    from shared.sync.worker import QueueWorker
    from shared.timeline.timeline import Timeline

T = TypeVar("T")
WEBHOOK_WRITE_SECONDS = 1.5
"""A webhook's queue write waits this long to connect and again to read, without SDK retries: the
answer is then a 503 within the 3 s that older Graph documentation gives (10 s today), and Graph
delivers again. A healthy write takes milliseconds."""


class Runtime:
    """Parts of the product for one set of settings, each built on first use (thread-safe)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._parts: dict[str, Any] = {}
        self._lock = threading.RLock()

    def _part(self, name: str, build: Callable[[], T]) -> T:
        found = self._parts.get(name)
        if found is None:
            with self._lock:
                found = self._parts.get(name)
                if found is None:
                    found = self._parts[name] = build()
        return found

    def built(self, name: str) -> Any:
        """A part if it has been built already (None otherwise): for figures that must not build one."""
        return self._parts.get(name)

    @property
    def stores(self) -> Stores:
        from shared.storage.stores import build_stores

        return self._part("stores", lambda: build_stores(self.settings))

    @property
    def graph(self) -> GraphClient:
        from shared.graph.factory import build_graph_client

        return self._part("graph", lambda: build_graph_client(self.settings, token_caches=self.stores.token_caches))

    @property
    def engine(self) -> SyncEngine:
        from shared.sync.engine import build_engine

        return self._part("engine", lambda: build_engine(self.settings, self.stores, self.graph))

    @property
    def worker(self) -> QueueWorker:
        from shared.sync.worker import QueueWorker

        return self._part("worker", lambda: QueueWorker(self.engine, self.stores.queues))

    @property
    def verifier(self) -> NotificationVerifier:
        """The webhook's verifier: stored subscriptions only, no Graph or key-provider call."""
        from shared.sync.notifications import NotificationVerifier

        return self._part("verifier", lambda: NotificationVerifier(self.stores.subscriptions))

    def sender(self, queue: str) -> GroupSender:
        """The webhook's group commit into ``queue`` (see ``GroupSender``), over a writer with a deadline."""
        from shared.storage.queues import GroupSender

        return self._part(
            f"sender:{queue}", lambda: GroupSender(lambda text: self.webhook_writer.send_text(queue, text))
        )

    @property
    def webhook_writer(self) -> Any:
        from shared.storage.queues import QueueWriter

        return self._part(
            "webhook_writer", lambda: QueueWriter(self.settings.storage_connection, timeout=WEBHOOK_WRITE_SECONDS)
        )

    @property
    def recovery(self) -> Recovery:
        from shared.sync.recovery import Recovery

        return self._part("recovery", lambda: Recovery(self.webhook_writer))

    @property
    def timeline(self) -> Timeline:
        timeline = self.engine.timeline
        assert timeline is not None
        return timeline

    @property
    def presence(self) -> PresenceService:
        presence = self.engine.presence
        assert presence is not None
        return presence

    @property
    def actions(self) -> MeetingActions:
        """Scheduling, answers, free/busy and room booking from apps and devices: Graph calls on the caller's own
        calendar."""
        from shared.api.actions import MeetingActions

        return self._part(
            "actions", lambda: MeetingActions(self.api, self.graph, self.api.service, scheduler=self.engine.scheduler)
        )

    @property
    def api(self) -> MeetingsApi:
        from shared.api.service import build_api

        return self._part("api", lambda: build_api(self.settings, self.stores, self.graph))


@lru_cache(maxsize=1)
def get_runtime() -> Runtime:
    """The process's runtime, over the process's settings."""
    return Runtime(get_settings())
