"""Meeting rows: one per occurrence in the retention window, one partition per mailbox.

Rows are keyed ``m|{startUTC}|{occurrence hash}`` so a time range is one range query, and an
event index row ``e|{event hash}`` per notified event (a series master or a single event)
lists its occurrence rows with the ``changeKey`` and ``lastModifiedDateTime`` written. Rows
and index change together in entity group transactions (100 operations, one partition),
which is what makes :meth:`MeetingRepository.replace_event` safe to run twice and safe
against out-of-order deliveries. Only what the meetings list and the Join button need is
stored; subject, organizer name, ids and join details are sealed.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator
from itertools import islice
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Protocol

from shared.crypto.fields import FieldCipher
from shared.storage.records import digest
from shared.errors import ConflictError
from shared.storage.tables import MAX_TRANSACTION, Entity, Operation, Table

log = logging.getLogger("hybridcalendar.storage")
LONGEST_MEETING = timedelta(days=14)
"""How far before a range's start a meeting may begin and still overlap it (multi-day events)."""
_TIME = "%Y%m%dT%H%M%SZ"
FILTER_KEYS = 14
"""Row keys per index query: Tables allows 15 comparisons in a ``$filter``, one is the partition."""


@dataclass(frozen=True)
class MeetingRecord:
    """One occurrence as the meetings list needs it; times in UTC, the event's zone for display."""

    event_id: str
    start: datetime
    end: datetime
    time_zone: str = "UTC"
    subject: str | None = None
    organizer_name: str | None = None
    provider: str | None = None
    join_url: str | None = None
    sip_uri: str | None = None
    ical_uid: str | None = None
    is_online: bool = False
    is_cancelled: bool = False
    sensitivity: str = "normal"
    invitees: tuple[str, ...] = ()
    """Display names of the people invited (never addresses), at most ``MAX_INVITEE_NAMES``."""
    invitee_count: int = 0
    is_organizer: bool = False
    response: str | None = None
    """This mailbox's answer as Graph names it (``organizer``, ``accepted``, ``tentativelyAccepted``, ``declined``,
    ``notResponded``, ``none``); None for rows written before it was kept."""

    @property
    def is_private(self) -> bool:
        """Outlook's private or confidential: rooms show neither subject nor organizer."""
        return self.sensitivity in ("private", "confidential")

    @property
    def has_join_details(self) -> bool:
        """A meeting one can join: not cancelled, with a join link or a video address."""
        return not self.is_cancelled and bool(self.join_url or self.sip_uri)


MAX_INVITEE_NAMES = 50
"""Names kept per meeting: what a list can show; the count stays exact."""


@dataclass(frozen=True)
class EventIndex:
    """An event's index row as read: the version held (``changeKey``; ``lastModifiedDateTime`` when the
    version came with one), the keys of its occurrence rows, and the row's etag for the next write."""

    change_key: str
    last_modified: datetime | None
    rows: tuple[str, ...]
    etag: str
    entity: Entity

    @classmethod
    def from_entity(cls, row: Entity) -> EventIndex:
        held = row.get("LastModifiedUtc")
        return cls(
            str(row.get("ChangeKey") or ""),
            _utc(held) if held is not None else None,
            tuple(json.loads(row["Rows"])),
            str(row["etag"]),
            row,
        )

    def holds(self, change_key: str | None) -> bool:
        """The index already holds this version."""
        return bool(change_key) and self.change_key == change_key

    def is_newer_than(self, change_key: str, last_modified: datetime | None) -> bool:
        """What is held is this version or a later one. A version without ``lastModifiedDateTime`` (a delta
        stub has none) is judged by its changeKey alone, never as older than everything."""
        if self.holds(change_key):
            return True
        return last_modified is not None and self.last_modified is not None and self.last_modified > _utc(last_modified)


@dataclass(frozen=True)
class EventRows:
    """What :meth:`MeetingRepository.write_events` writes for one event: its occurrences in the window,
    the version they come from, and its index as already read (None: not held)."""

    event_id: str
    occurrences: tuple[MeetingRecord, ...]
    change_key: str
    last_modified: datetime | None
    index: EventIndex | None = None


def partition_of(tenant_id: str, mailbox_id: str) -> str:
    return f"{tenant_id}|{mailbox_id}"


def rows_filter(partition: str, row_keys: list[str]) -> tuple[str, dict[str, str]]:
    """A ``$filter`` and its parameters for some rows of one partition (at most ``FILTER_KEYS`` of them)."""
    names = {f"k{i}": key for i, key in enumerate(row_keys)}
    condition = " or ".join(f"RowKey eq @{name}" for name in names)
    return f"PartitionKey eq @p and ( {condition} )", {"p": partition} | names


def _row_key(record: MeetingRecord) -> str:
    return f"m|{_utc(record.start).strftime(_TIME)}|{_id_part(record.event_id)}"


def _id_part(event_id: str) -> str:
    """How an occurrence's row key (its last part) and an event's index key name the event."""
    return digest(event_id)[:32]


def index_key(event_id: str) -> str:
    """The RowKey of an event's index row."""
    return f"e|{_id_part(event_id)}"


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("meeting times must be timezone-aware")
    return moment.astimezone(timezone.utc)


class RowsObserver(Protocol):
    """Told about occurrence rows after their transaction committed (the Join button's timeline).

    Only events that have or had an occurrence with join details are told (the index row's
    ``Buttons`` flag), so an event no button concerns costs nothing more.
    """

    def written(self, tenant_id: str, mailbox_id: str, event_key: str, rows: dict[str, MeetingRecord]) -> None: ...

    def removed(self, tenant_id: str, mailbox_id: str, event_key: str, row_keys: Iterable[str]) -> None: ...

    def mailbox_removed(self, tenant_id: str, mailbox_id: str) -> None: ...


class MeetingRepository:
    """A mailbox's meetings: replace an event's occurrences, list a range, purge the past.

    ``observer`` (None: nobody) hears of every committed change to rows that have or had join details.
    Its failures are logged and left to its own reconcile pass: the rows are written, and a retry of the
    change would find them current and tell nobody.
    """

    TABLE = "meetings"
    SEALED = ("EventId", "ICalUId", "Subject", "OrganizerName", "JoinUrl", "SipUri", "Invitees")
    LISTED = [
        "PartitionKey",
        "RowKey",
        "StartUtc",
        "EndUtc",
        "TimeZone",
        "Provider",
        "IsOnline",
        "IsCancelled",
        "Sensitivity",
        "InviteeCount",
        "IsOrganizer",
        "Response",
        *SEALED,
    ]
    """What a list reads: not the service's Timestamp, nor the index key (less to move and parse)."""

    def __init__(self, table: Table, cipher: FieldCipher) -> None:
        self.table, self.cipher = table, cipher
        self.observer: RowsObserver | None = None

    def _tell(self, what: str, *args: Any) -> None:
        if self.observer is None:
            return
        try:
            getattr(self.observer, what)(*args)
        except Exception as exc:  # the rows are written; the observer's reconcile pass restores its state
            log.warning(
                "meeting rows observer %s failed (%s); its reconcile pass will restore it", what, type(exc).__name__
            )

    def held_change_key(self, tenant_id: str, mailbox_id: str, event_id: str) -> str | None:
        """The changeKey stored for an event: a notification carrying it needs no Graph call."""
        index = self.event_index(tenant_id, mailbox_id, event_id)
        return index.change_key if index else None

    def event_index(self, tenant_id: str, mailbox_id: str, event_id: str) -> EventIndex | None:
        """The event's index (changeKey, rows, etag), to check and then hand to :meth:`write_event`."""
        row = self.table.get(partition_of(tenant_id, mailbox_id), index_key(event_id))
        return EventIndex.from_entity(row) if row else None

    def event_indexes(self, tenant_id: str, mailbox_id: str, event_ids: Iterable[str]) -> dict[str, EventIndex | None]:
        """Several events' indexes (None: not held), in one query per ``FILTER_KEYS`` events.

        Azure Tables accepts at most 15 comparisons in one ``$filter``: the partition and 14 row keys.
        """
        by_key = {index_key(event_id): event_id for event_id in event_ids}
        found: dict[str, EventIndex | None] = dict.fromkeys(by_key.values())
        keys = list(by_key)
        for start in range(0, len(keys), FILTER_KEYS):
            query, parameters = rows_filter(partition_of(tenant_id, mailbox_id), keys[start : start + FILTER_KEYS])
            for row in self.table.query(query, parameters=parameters):
                found[by_key[row["RowKey"]]] = EventIndex.from_entity(row)
        return found

    def replace_event(
        self,
        tenant_id: str,
        mailbox_id: str,
        event_id: str,
        occurrences: Iterable[MeetingRecord],
        *,
        change_key: str,
        last_modified: datetime | None,
    ) -> bool:
        """Read the event's index, then :meth:`write_event`."""
        index = self.event_index(tenant_id, mailbox_id, event_id)
        return self.write_event(
            tenant_id, mailbox_id, EventRows(event_id, tuple(occurrences), change_key, last_modified, index)
        )

    def write_event(self, tenant_id: str, mailbox_id: str, rows: EventRows) -> bool:
        """Make the event's rows exactly ``rows.occurrences``; False when what is held is as new or newer.

        The index is written only over the version read (its etag), so one changed meanwhile is a
        ConflictError: read it again and decide again. An event with no occurrence in the window keeps
        no rows at all, not even its index.
        """
        operations = self._operations(tenant_id, mailbox_id, rows)
        if operations is not None:
            self.table.transact(operations)
            if operations:
                self._written(tenant_id, mailbox_id, rows)
        return operations != []

    def _written(self, tenant_id: str, mailbox_id: str, rows: EventRows) -> None:
        if _has_buttons(rows.occurrences) or (rows.index is not None and rows.index.entity.get("Buttons")):
            self._tell(
                "written", tenant_id, mailbox_id, index_key(rows.event_id), {_row_key(r): r for r in rows.occurrences}
            )

    def write_events(self, tenant_id: str, mailbox_id: str, events: Iterable[EventRows]) -> dict[str, str]:
        """Several events of one mailbox as :meth:`write_event` does each, sharing transactions.

        A transaction costs the SDK and the service far more than the rows in it, so the events go
        into as few as fit (100 operations each, an event never split). Outcome per event id:
        ``stored``, ``stale`` (newer held), or ``conflict`` when its transaction was refused because
        a row changed meanwhile; the caller then writes those one by one, which finds the culprit.
        """
        outcomes: dict[str, str] = {}
        pending: list[tuple[str, list[Operation]]] = []
        by_id: dict[str, EventRows] = {}
        for rows in events:
            by_id[rows.event_id] = rows
            operations = self._operations(tenant_id, mailbox_id, rows)
            if operations:
                pending.append((rows.event_id, operations))
            else:
                outcomes[rows.event_id] = "stale" if operations == [] else "stored"
        for group in _packed(pending):
            try:
                self.table.transact([operation for _, operations in group for operation in operations])
                outcomes.update((event_id, "stored") for event_id, _ in group)
                for event_id, _ in group:
                    self._written(tenant_id, mailbox_id, by_id[event_id])
            except ConflictError:
                outcomes.update((event_id, "conflict") for event_id, _ in group)
        return outcomes

    def _operations(self, tenant_id: str, mailbox_id: str, rows: EventRows) -> list[Operation] | None:
        """The transaction that replaces an event's rows: [] when what is held is as new or newer, None
        when the event has no occurrence in the window (its rows are deleted here, not in the transaction)."""
        partition, index = partition_of(tenant_id, mailbox_id), rows.index
        if index is not None and index.is_newer_than(rows.change_key, rows.last_modified):
            return []
        if not rows.occurrences:
            self.delete_event(tenant_id, mailbox_id, rows.event_id)
            return None
        entities = {
            _row_key(r): self._entity(tenant_id, partition, index_key(rows.event_id), r) for r in rows.occurrences
        }
        stale = set(index.rows) - entities.keys() if index else set()
        operations: list[Operation] = [("delete", {"PartitionKey": partition, "RowKey": key}) for key in sorted(stale)]
        operations += [("upsert", entity, {"mode": _replace()}) for entity in entities.values()]
        operations.append(
            self._index_operation(
                partition,
                rows.event_id,
                index,
                sorted(entities),
                rows.change_key,
                rows.last_modified,
                _has_buttons(rows.occurrences),
            )
        )
        return operations

    def delete_event(self, tenant_id: str, mailbox_id: str, event_id: str) -> int:
        """Remove an event's rows and index (idempotent); the number of occurrence rows removed, 0 when
        no event is held under that id (an index row always lists at least one row)."""
        return self.delete_event_key(tenant_id, mailbox_id, index_key(event_id))

    def event_keys(self, tenant_id: str, mailbox_id: str) -> set[str]:
        """The index keys of every event held for the mailbox (for a full catch-up's reconciliation)."""
        query = "PartitionKey eq @p and RowKey ge 'e|' and RowKey lt 'e}'"
        rows = self.table.query(query, parameters={"p": partition_of(tenant_id, mailbox_id)}, select=["RowKey"])
        return {row["RowKey"] for row in rows}

    def delete_event_key(self, tenant_id: str, mailbox_id: str, event_key: str) -> int:
        """Remove an event's rows and index by its index key (idempotent); the occurrence rows removed.

        The index goes only if unchanged since read (etag), so a concurrent rewrite is not lost.
        """
        partition = partition_of(tenant_id, mailbox_id)
        index = self.table.get(partition, event_key)
        if index is None:
            return 0
        keys = json.loads(index["Rows"])
        operations: list[Operation] = [("delete", {"PartitionKey": partition, "RowKey": key}) for key in keys]
        operations.append(
            (
                "delete",
                {"PartitionKey": partition, "RowKey": event_key},
                {"etag": index["etag"], "match_condition": _if_not_modified()},
            )
        )
        self.table.transact(operations)
        if index.get("Buttons"):
            self._tell("written", tenant_id, mailbox_id, event_key, {})
        return len(keys)

    def list_meetings(self, tenant_id: str, mailbox_id: str, *, start: datetime, end: datetime) -> list[MeetingRecord]:
        """Occurrences overlapping [start, end), sorted by start: one partition range query."""
        return [record for _, record in self.page_meetings(tenant_id, mailbox_id, start=start, end=end)]

    def page_meetings(
        self,
        tenant_id: str,
        mailbox_id: str,
        *,
        start: datetime,
        end: datetime,
        after: str | None = None,
        limit: int | None = None,
    ) -> list[tuple[str, MeetingRecord]]:
        """(row key, occurrence) overlapping [start, end) in row-key order (by start), after the row key
        ``after``, at most ``limit``: one range query, and only the rows returned are read and opened."""
        rows = self._overlapping(tenant_id, mailbox_id, start, end, after=after, limit=limit, select=self.LISTED)
        return [(row["RowKey"], self._record(tenant_id, row)) for row in rows]

    def _overlapping(
        self,
        tenant_id: str,
        mailbox_id: str,
        start: datetime,
        end: datetime,
        *,
        select: list[str],
        after: str | None = None,
        limit: int | None = None,
    ) -> list[Entity]:
        low = "m|" + (_utc(start) - LONGEST_MEETING).strftime(_TIME)
        query = f"PartitionKey eq @p and RowKey {'gt' if after else 'ge'} @lo and RowKey lt @hi and EndUtc gt @start"
        parameters = {
            "p": partition_of(tenant_id, mailbox_id),
            "start": _utc(start),
            "lo": max(low, after) if after else low,
            "hi": "m|" + _utc(end).strftime(_TIME),
        }
        rows = self.table.query(
            query, parameters=parameters, page_size=min(limit, 1000) if limit else None, select=select
        )
        return list(islice(rows, limit))

    def get_row(self, tenant_id: str, mailbox_id: str, row_key: str) -> MeetingRecord | None:
        """One occurrence by its row key (a Join button's meeting), or None when it is gone."""
        row = self.table.get(partition_of(tenant_id, mailbox_id), row_key)
        return self._record(tenant_id, row) if row else None

    def rows_between(
        self, tenant_id: str, mailbox_id: str, *, start: datetime, end: datetime
    ) -> list[tuple[str, MeetingRecord, str]]:
        """(row key, occurrence, its event's index key) overlapping [start, end): one range query."""
        rows = self._overlapping(tenant_id, mailbox_id, start, end, select=[*self.LISTED, "EventKey"])
        return [(row["RowKey"], self._record(tenant_id, row), str(row["EventKey"])) for row in rows]

    def purge_before(self, tenant_id: str, mailbox_id: str, cutoff: datetime) -> int:
        """Delete occurrences that ended before ``cutoff`` and update their event indexes."""
        partition = partition_of(tenant_id, mailbox_id)
        query = "PartitionKey eq @p and RowKey ge 'm|' and RowKey lt @hi and EndUtc lt @cutoff"
        rows = self.table.query(
            query,
            parameters={"p": partition, "hi": "m|" + _utc(cutoff).strftime(_TIME), "cutoff": _utc(cutoff)},
            select=["RowKey", "EventKey"],
        )
        return self._remove_rows(partition, rows)

    def delete_occurrences(self, tenant_id: str, mailbox_id: str, event_ids: Iterable[str]) -> int:
        """Rows of occurrences known only by their own ids; the number of rows removed.

        Delta reports a cancelled occurrence as ``@removed`` under the occurrence's id, and no index
        row has that id (a series is indexed under its master). The row keys end with the id's digest,
        so one key-only query of the mailbox's meeting rows finds them; they go as the purge removes
        rows, their series' index updated over its etag.
        """
        wanted = {_id_part(event_id) for event_id in event_ids}
        if not wanted:
            return 0
        partition = partition_of(tenant_id, mailbox_id)
        rows = self.table.query(
            "PartitionKey eq @p and RowKey ge 'm|' and RowKey lt 'm}'",
            parameters={"p": partition},
            select=["RowKey", "EventKey"],
        )
        return self._remove_rows(partition, (row for row in rows if row["RowKey"].rpartition("|")[2] in wanted))

    def _remove_rows(self, partition: str, rows: Iterable[Entity]) -> int:
        """Occurrence rows removed together with their keys in each event's index (one transaction per event)."""
        by_event: dict[str, set[str]] = {}
        for row in rows:
            by_event.setdefault(row["EventKey"], set()).add(row["RowKey"])
        for event_key, gone in by_event.items():
            self._purge_event(partition, event_key, gone)
        return sum(len(gone) for gone in by_event.values())

    def delete_mailbox(self, tenant_id: str, mailbox_id: str) -> int:
        """Every row of the mailbox (disabling it): the number of rows deleted."""
        partition = partition_of(tenant_id, mailbox_id)
        keys = [
            row["RowKey"]
            for row in self.table.query("PartitionKey eq @p", parameters={"p": partition}, select=["RowKey"])
        ]
        removed = self.table.transact(("delete", {"PartitionKey": partition, "RowKey": key}) for key in keys)
        self._tell("mailbox_removed", tenant_id, mailbox_id)
        return removed

    def _purge_event(self, partition: str, event_key: str, gone: set[str]) -> None:
        index = self.table.get(partition, event_key)
        operations: list[Operation] = [("delete", {"PartitionKey": partition, "RowKey": key}) for key in sorted(gone)]
        if index is not None:
            left = [key for key in json.loads(index["Rows"]) if key not in gone]
            condition = {"etag": index["etag"], "match_condition": _if_not_modified()}
            verb = "update" if left else "delete"
            entity = (
                {**_index_fields(index), "Rows": json.dumps(left)}
                if left
                else {"PartitionKey": partition, "RowKey": event_key}
            )
            operations.append((verb, entity, {**condition, **({"mode": _replace()} if left else {})}))
        self.table.transact(operations)
        if index is not None and index.get("Buttons"):
            tenant_id, _, mailbox_id = partition.partition("|")
            self._tell("removed", tenant_id, mailbox_id, event_key, gone)

    def _index_operation(
        self,
        partition: str,
        event_id: str,
        index: EventIndex | None,
        keys: list[str],
        change_key: str,
        last_modified: datetime | None,
        buttons: bool,
    ) -> Operation:
        entity = {
            "PartitionKey": partition,
            "RowKey": index_key(event_id),
            "Rows": json.dumps(keys),
            "ChangeKey": change_key,
            "LastModifiedUtc": _utc(last_modified) if last_modified else None,
            "Buttons": buttons,
        }
        if index is None:
            return ("create", entity)
        return ("update", entity, {"etag": index.etag, "match_condition": _if_not_modified(), "mode": _replace()})

    def _entity(self, tenant_id: str, partition: str, event_key: str, record: MeetingRecord) -> dict[str, Any]:
        entity = {
            "PartitionKey": partition,
            "RowKey": _row_key(record),
            "EventKey": event_key,
            "StartUtc": _utc(record.start),
            "EndUtc": _utc(record.end),
            "TimeZone": record.time_zone,
            "Provider": record.provider,
            "IsOnline": record.is_online,
            "IsCancelled": record.is_cancelled,
            "EventId": record.event_id,
            "ICalUId": record.ical_uid,
            "Subject": record.subject,
            "OrganizerName": record.organizer_name,
            "JoinUrl": record.join_url,
            "SipUri": record.sip_uri,
            "Sensitivity": record.sensitivity,
            "InviteeCount": record.invitee_count,
            "Invitees": json.dumps(list(record.invitees)) if record.invitees else None,
            "IsOrganizer": record.is_organizer,
            "Response": record.response,
        }
        return self.cipher.seal_fields(self.TABLE, entity, self.SEALED, tenant_id=tenant_id)

    def _record(self, tenant_id: str, row: Entity) -> MeetingRecord:
        row = self.cipher.open_fields(self.TABLE, row, self.SEALED, tenant_id=tenant_id)
        return MeetingRecord(
            row["EventId"],
            row["StartUtc"],
            row["EndUtc"],
            row.get("TimeZone", "UTC"),
            row.get("Subject"),
            row.get("OrganizerName"),
            row.get("Provider"),
            row.get("JoinUrl"),
            row.get("SipUri"),
            row.get("ICalUId"),
            bool(row.get("IsOnline")),
            bool(row.get("IsCancelled")),
            str(row.get("Sensitivity") or "normal"),
            tuple(json.loads(row["Invitees"])) if row.get("Invitees") else (),
            int(row.get("InviteeCount") or 0),
            bool(row.get("IsOrganizer")),
            row.get("Response"),
        )


def _packed(pending: list[tuple[str, list[Operation]]]) -> Iterator[list[tuple[str, list[Operation]]]]:
    """Consecutive events grouped into transactions of at most MAX_TRANSACTION operations; an event
    larger than that goes alone (``Table.transact`` then splits it, as for a long series)."""
    group: list[tuple[str, list[Operation]]] = []
    size = 0
    for item in pending:
        if group and size + len(item[1]) > MAX_TRANSACTION:
            yield group
            group, size = [], 0
        group.append(item)
        size += len(item[1])
    if group:
        yield group


def _index_fields(index: Entity) -> dict[str, Any]:
    return {
        key: index[key]
        for key in ("PartitionKey", "RowKey", "Rows", "ChangeKey", "LastModifiedUtc", "Buttons")
        if key in index
    }


def _has_buttons(occurrences: Iterable[MeetingRecord]) -> bool:
    return any(record.has_join_details for record in occurrences)


def _if_not_modified() -> Any:
    from azure.core import MatchConditions

    return MatchConditions.IfNotModified


def _replace() -> Any:
    from azure.data.tables import UpdateMode

    return UpdateMode.REPLACE
