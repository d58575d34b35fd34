"""Catching up by calendarView delta: what notifications missed comes back without Graph's help.

A round is one delta round over the retention window: from the stored link (cheap: one request
when nothing changed), or from scratch, which also removes what we hold that Graph no longer has.
A link is kept with the window it was made for; on a new UTC day the window has moved, so the
round starts from scratch and what entered the horizon (a series' next occurrence) comes in.

Graph's delta is awkward about series (see ``shared.sync.decide``): occurrences and exceptions come
as stubs, the master as an item, and a cancelled occurrence not at all. So a round writes single
events from their items, and reads every series it touched again, whole: the master (its item, if
the round had one) and one paged read of its instances. A master is never stored as a meeting.

Every enabled mailbox gets a resumed round at least every ``HC_CATCHUP_MINUTES``: a sweep queues
one job per mailbox, each with its own delay spread over the period, so Graph sees a steady trickle
instead of a burst. The webhook front also owes a round to every mailbox whose notifications it
could not queue, and pays it as soon as storage answers again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from shared.errors import ResyncRequiredError
from shared.graph.client import GraphClient
from shared.storage.meetings import MeetingRepository, index_key
from shared.storage.records import SealedValueRepository
from shared.sync.changes import ChangeApplier
from shared.sync.decide import Bounds, plan_round
from shared.sync.status import MailboxStatus


@dataclass(frozen=True)
class DeltaLink:
    """A stored delta link and the window [start, end) it was made for (None: stored before windows were)."""

    link: str
    start: datetime | None = None
    end: datetime | None = None

    def serves(self, bounds: Bounds) -> bool:
        return self.start is None or (self.start == bounds.start and self.end == bounds.end)

    def to_text(self) -> str:
        return json.dumps({"link": self.link, "start": _iso(self.start), "end": _iso(self.end)})

    @classmethod
    def from_text(cls, text: str) -> DeltaLink:
        if not text.startswith("{"):
            return cls(text)
        data = json.loads(text)
        return cls(data["link"], _moment(data.get("start")), _moment(data.get("end")))


def spread_delay(mailbox_id: str, period: timedelta) -> int:
    """Seconds after a sweep at which the mailbox's round is due: fixed per mailbox (a hash of its id), so
    rounds of a tenant's mailboxes are spread evenly over the period and each comes once per period."""
    seconds = max(1, int(period.total_seconds()))
    return int.from_bytes(hashlib.sha256(mailbox_id.encode()).digest()[:4], "big") % seconds


DELTA_PAGE_SIZE = 50
"""Items per delta page (Graph's default is 10): fewer requests per round, pages of bodies still small."""


class CatchUp:
    """Delta rounds of one mailbox at a time."""

    def __init__(
        self,
        graph: GraphClient,
        meetings: MeetingRepository,
        links: SealedValueRepository,
        changes: ChangeApplier,
        status: MailboxStatus,
        *,
        bounds: Callable[[], Bounds],
    ) -> None:
        self.graph, self.meetings, self.links, self.changes, self.status = graph, meetings, links, changes, status
        self.bounds = bounds

    def run(self, tenant_id: str, mailbox_id: str, *, fresh: bool = False) -> dict[str, int]:
        """A delta round over the window: from the stored link, or from scratch (which also reconciles)."""
        stored = None if fresh else self.links.load(tenant_id, mailbox_id)
        link = DeltaLink.from_text(stored) if stored else None
        if link is not None and not link.serves(self.bounds()):
            link = None
        try:
            counts = self._round(tenant_id, mailbox_id, link)
        except ResyncRequiredError:
            self.links.delete(tenant_id, mailbox_id)
            counts = self._round(tenant_id, mailbox_id, None)
        self.status.synced(tenant_id, mailbox_id)
        return counts

    def _round(self, tenant_id: str, mailbox_id: str, link: DeltaLink | None) -> dict[str, int]:
        bounds = self.bounds()
        round_ = self.graph.calendar_view_delta(
            tenant_id,
            mailbox_id,
            start=bounds.start,
            end=bounds.end,
            delta_link=link.link if link else None,
            page_size=DELTA_PAGE_SIZE,
        )
        plan = plan_round(round_)
        unknown = [
            event_id for event_id in plan.removed if not self.changes.delete_event(tenant_id, mailbox_id, event_id)
        ]
        self.meetings.delete_occurrences(tenant_id, mailbox_id, unknown)
        self._singles(tenant_id, mailbox_id, plan.singles)
        for master_id, master in plan.series.items():
            self.changes.store_series(tenant_id, mailbox_id, master_id, master=master)
        if link is None:
            self._forget_vanished(tenant_id, mailbox_id, {index_key(event_id) for event_id in plan.seen})
        if round_.delta_link:
            self.links.save(tenant_id, mailbox_id, DeltaLink(round_.delta_link, bounds.start, bounds.end).to_text())
        return {"events": len(plan.singles), "series": len(plan.series), "removed": len(plan.removed)}

    def _singles(self, tenant_id: str, mailbox_id: str, singles: dict[str, Any]) -> None:
        """Single events from their items: written together in shared transactions; one keyword scheduling
        wants (typed before the mailbox was enabled, or while a notification was lost), or one whose
        transaction met another writer, on its own."""
        scheduler = self.changes.scheduler
        alone = {
            event_id for event_id, event in singles.items() if scheduler is not None and scheduler.wants(event.raw)
        }
        self.changes.warn_of_zones(tenant_id, mailbox_id, singles.values())
        indexes = self.meetings.event_indexes(tenant_id, mailbox_id, [e for e in singles if e not in alone])
        rows = self.changes.rows_of([singles[e] for e in indexes], indexes)
        for event_id, written in self.meetings.write_events(tenant_id, mailbox_id, rows).items():
            if written == "conflict":
                alone.add(event_id)
        for event_id in alone:
            self.changes.store_single(
                tenant_id,
                mailbox_id,
                singles[event_id],
                index=self.meetings.event_index(tenant_id, mailbox_id, event_id),
            )

    def _forget_vanished(self, tenant_id: str, mailbox_id: str, seen: set[str]) -> None:
        for key in self.meetings.event_keys(tenant_id, mailbox_id) - seen:
            self.meetings.delete_event_key(tenant_id, mailbox_id, key)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _moment(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None
