"""The sync engine's decisions, apart from any I/O: what to do with one change, one series, one delta round.

Everything here is a pure function of typed values, so every rule is unit-tested in milliseconds
(``tests/unit/sync``); ``shared.sync.changes`` and ``shared.sync.catchup`` fetch what a decision
needs and write what it says.

What Graph does that the rules answer (observed, more than documented):

* A notification names an event and carries its ``changeKey`` (in ``@odata.etag``). Held already:
  nothing to do, no Graph call. Otherwise one GET; a 404 means the event is gone.
* Occurrences and exceptions of a series are kept as rows under their series master. Whatever
  names a member of a series, or the master, makes the whole series be read again: the master and
  its instances in the window (one paged call), because Graph reports no ``@removed`` for a
  cancelled occurrence, so only a fresh list of instances drops it.
* calendarView delta returns stubs for occurrences and exceptions (``id``, ``type``,
  ``seriesMasterId``, ``start``, ``end``, ``@odata.etag``: no subject, organizer, location or body)
  and the series master as an item of its own. A master is never a meeting; a stub is never a
  source of details; a version without ``lastModifiedDateTime`` is never judged older by time.
* An older delivery never overwrites a newer version held (its changeKey, then its
  ``lastModifiedDateTime`` when both have one).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shared.graph.client import parse_graph_time
from shared.graph.paging import DeltaItem
from shared.storage.meetings import EventIndex, EventRows, MeetingRecord
from shared.sync.messages import ChangeRef, ChangeType

SERIES_MEMBERS = frozenset({"occurrence", "exception"})
STUB_FIELDS = frozenset({"id", "type", "seriesMasterId", "start", "end", "@odata.etag", "@odata.type"})


@dataclass(frozen=True)
class GraphEvent:
    """A Graph event as the engine reads it (the JSON is kept as Graph sent it, in ``raw``)."""

    raw: Mapping[str, Any]

    @property
    def id(self) -> str:
        return str(self.raw["id"])

    @property
    def type(self) -> str:
        return str(self.raw.get("type") or "singleInstance")

    @property
    def series_master_id(self) -> str | None:
        value = self.raw.get("seriesMasterId")
        return str(value) if value else None

    @property
    def change_key(self) -> str:
        """``changeKey``, or the one inside ``@odata.etag`` (a stub has only that)."""
        if self.raw.get("changeKey"):
            return str(self.raw["changeKey"])
        etag = str(self.raw.get("@odata.etag") or "")
        return etag[3:-1] if etag.startswith('W/"') and etag.endswith('"') else ""

    @property
    def last_modified(self) -> datetime | None:
        """``lastModifiedDateTime``, or None when Graph sent none (a delta stub): never a guessed 1970."""
        text = self.raw.get("lastModifiedDateTime")
        return parse_graph_time(str(text)) if text else None

    @property
    def is_master(self) -> bool:
        return self.type == "seriesMaster"

    @property
    def in_series(self) -> bool:
        """An occurrence or exception (its rows live under its master)."""
        return self.type in SERIES_MEMBERS and self.series_master_id is not None

    @property
    def is_stub(self) -> bool:
        """A delta item with only an occurrence's identity and times: its details must come from elsewhere."""
        return set(self.raw) <= STUB_FIELDS

    @property
    def is_cancelled(self) -> bool:
        return bool(self.raw.get("isCancelled"))

    def record(self) -> MeetingRecord:
        """Its meeting row (join details from the parser); ValueError for an event without times."""
        from shared.sync.records import to_record

        return to_record(dict(self.raw))


class Absent:
    """Graph answered 404 for the event: it is gone (or moved out of reach)."""

    def __repr__(self) -> str:
        return "ABSENT"


ABSENT = Absent()


@dataclass(frozen=True)
class Throttled:
    """Graph kept answering 429 for the mailbox through the client's retries; ``retry_after`` in seconds."""

    retry_after: float


Fetched = GraphEvent | Absent | Throttled
"""What a GET of the event gave."""


@dataclass(frozen=True)
class Bounds:
    """The retention window at the time of the decision: [start, end)."""

    start: datetime
    end: datetime

    def holds(self, record: MeetingRecord) -> bool:
        return record.start < self.end and record.end > self.start


# decisions --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Unchanged:
    """Nothing to write: ``held`` (that version is stored), ``stale`` (a newer one is), ``duplicate``."""

    reason: str


@dataclass(frozen=True)
class Fetch:
    """One GET of the event is needed to decide."""

    event_id: str


@dataclass(frozen=True)
class Delete:
    """The event is gone: its rows and index go (and a meeting keyword scheduling made for it)."""

    event_id: str


@dataclass(frozen=True)
class Replace:
    """Its rows become exactly these (none at all when it has no occurrence in the window)."""

    rows: EventRows


@dataclass(frozen=True)
class FetchSeries:
    """The event belongs to a series (or is its master): read the master and its instances in the window."""

    master_id: str


@dataclass(frozen=True)
class Defer:
    """Graph is throttling the mailbox: try again after ``seconds`` without counting a failure."""

    seconds: float


Decision = Unchanged | Fetch | Delete | Replace | FetchSeries | Defer


def decide(change: ChangeRef, index: EventIndex | None, fetched: Fetched | None, bounds: Bounds) -> Decision:
    """The one decision for a change notification, given what is held and what a GET gave (None: no GET yet)."""
    if change.change_type is ChangeType.DELETED:
        return Delete(change.event_id)
    if fetched is None:
        if index is not None and index.holds(change.change_key):
            return Unchanged("held")
        return Fetch(change.event_id)
    if isinstance(fetched, Throttled):
        return Defer(fetched.retry_after)
    if isinstance(fetched, Absent):
        return Delete(change.event_id)
    if fetched.is_master:
        return FetchSeries(fetched.id)
    if fetched.in_series:
        return FetchSeries(str(fetched.series_master_id))
    if fetched.id != change.event_id:
        return Replace(single_rows(fetched, None, bounds))
    return replace_single(fetched, index, bounds)


def replace_single(event: GraphEvent, index: EventIndex | None, bounds: Bounds) -> Replace | Unchanged:
    """A single event's one row (or none, outside the window), unless what is held is as new or newer."""
    if index is not None and index.is_newer_than(event.change_key, event.last_modified):
        return Unchanged("stale")
    return Replace(single_rows(event, index, bounds))


def single_rows(event: GraphEvent, index: EventIndex | None, bounds: Bounds) -> EventRows:
    record = event.record()
    return EventRows(event.id, (record,) if bounds.holds(record) else (), event.change_key, event.last_modified, index)


def decide_series(
    master: GraphEvent, instances: Iterable[GraphEvent], index: EventIndex | None, bounds: Bounds
) -> Replace | Unchanged:
    """A series as its instances in the window, under the master's version. Graph does not list an occurrence
    the organizer deleted, so it has no row; one marked ``isCancelled`` (an attendee's copy) keeps its row,
    marked, as a cancelled single event does. The master itself is never a row."""
    if index is not None and index.is_newer_than(master.change_key, master.last_modified):
        return Unchanged("stale")
    records = tuple(
        record for record in (item.record() for item in instances if not item.is_stub) if bounds.holds(record)
    )
    return Replace(EventRows(master.id, records, master.change_key, master.last_modified, index))


# delta rounds -----------------------------------------------------------------------------------


@dataclass
class RoundPlan:
    """What one delta round asks for: single events to write as they came, series to read again (by
    master id, with the master's own item when the round had one), and ids reported removed."""

    singles: dict[str, GraphEvent] = field(default_factory=dict)
    series: dict[str, GraphEvent | None] = field(default_factory=dict)
    removed: list[str] = field(default_factory=list)

    @property
    def seen(self) -> set[str]:
        """Every event id the round holds as present (singles and series masters)."""
        return set(self.singles) | set(self.series)


def plan_round(items: Iterable[DeltaItem]) -> RoundPlan:
    """Sort a round's items: a stub or full member of a series names its master, a master item is kept
    for its details, a later item of the same event replaces an earlier one (Graph may repeat items)."""
    plan = RoundPlan()
    for item in items:
        if item.removed:
            plan.removed.append(item.id)
            continue
        event = GraphEvent(item.event or {})
        if event.is_master:
            plan.series[event.id] = event
        elif event.in_series:
            plan.series.setdefault(str(event.series_master_id), None)
        else:
            plan.singles[event.id] = event
    for master_id in plan.series:
        plan.singles.pop(master_id, None)
    plan.removed = [event_id for event_id in plan.removed if event_id not in plan.seen]
    return plan


def runs_per_event(changes: Iterable[ChangeRef]) -> dict[str, list[ChangeRef]]:
    """Each event's changes of a message since its last deletion (that deletion first), in order; events in
    the order of their last change."""
    runs: dict[str, list[ChangeRef]] = {}
    for change in changes:
        run = [] if change.change_type is ChangeType.DELETED else runs.pop(change.event_id, [])
        runs.pop(change.event_id, None)
        runs[change.event_id] = run + [change]
    return runs


def to_fetch(run: Sequence[ChangeRef], index: EventIndex | None) -> ChangeRef | None:
    """The change of an event's run to fetch for (its deletion, if first, is superseded by what follows): the
    last whose version is not held, or None when every version is held. Notifications arrive out of order:
    the one of our own PATCH may come last, after an organizer's later edit, and judging by the last alone
    would take that edit as already held and lose it."""
    fresh = [
        change
        for change in run
        if change.change_type is not ChangeType.DELETED and not (index is not None and index.holds(change.change_key))
    ]
    return fresh[-1] if fresh else None
