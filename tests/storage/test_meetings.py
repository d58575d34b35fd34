"""Meeting rows: idempotent replacement, out-of-order safety, range listing, purge, deletes."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from shared.storage.meetings import MeetingRecord, MeetingRepository, partition_of
from shared.storage.stores import Stores
from tests.storage.conftest import new_id

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)
EDITED = datetime(2026, 11, 25, 8, 0, tzinfo=timezone.utc)


def occurrence(event: str, day: int, *, hours: float = 1, subject: str = "Weekly sync") -> MeetingRecord:
    start = T0 + timedelta(days=day)
    return MeetingRecord(
        f"{event}-occ-{day}",
        start,
        start + timedelta(hours=hours),
        "W. Europe Standard Time",
        subject,
        "Alice Organizer",
        "webex",
        f"https://contoso.webex.com/meet/{event}",
        f"{event}@contoso.webex.com",
        f"uid-{event}",
        True,
        False,
    )


def rows(meetings: MeetingRepository, tenant: str, mailbox: str) -> list[str]:
    query = f"PartitionKey eq '{partition_of(tenant, mailbox)}'"
    return sorted(e["RowKey"] for e in meetings.table.client.query_entities(query))


def ids() -> tuple[str, str, str]:
    return new_id(), new_id(), "AAMkAGI2TG93AAA=" + new_id()


def test_replace_lists_and_decrypts_in_start_order(stores: Stores) -> None:
    tenant, mailbox, event = ids()
    series = [occurrence(event, day) for day in (2, 0, 1)]
    assert stores.meetings.replace_event(tenant, mailbox, event, series, change_key="ck1", last_modified=EDITED)
    listed = stores.meetings.list_meetings(tenant, mailbox, start=T0 - timedelta(days=1), end=T0 + timedelta(days=7))
    assert listed == sorted(series, key=lambda r: r.start)
    assert stores.meetings.held_change_key(tenant, mailbox, event) == "ck1"
    assert len(rows(stores.meetings, tenant, mailbox)) == 4


def test_duplicates_and_older_deliveries_change_nothing(stores: Stores) -> None:
    tenant, mailbox, event = ids()
    newer = [occurrence(event, 0, subject="Renamed")]
    assert stores.meetings.replace_event(tenant, mailbox, event, newer, change_key="ck2", last_modified=EDITED)
    before = [
        dict(e)
        for e in stores.meetings.table.client.query_entities(f"PartitionKey eq '{partition_of(tenant, mailbox)}'")
    ]
    assert not stores.meetings.replace_event(tenant, mailbox, event, newer, change_key="ck2", last_modified=EDITED)
    older = [occurrence(event, 3, subject="Original")]
    assert not stores.meetings.replace_event(
        tenant, mailbox, event, older, change_key="ck1", last_modified=EDITED - timedelta(minutes=5)
    )
    after = [
        dict(e)
        for e in stores.meetings.table.client.query_entities(f"PartitionKey eq '{partition_of(tenant, mailbox)}'")
    ]
    assert after == before


def test_moved_occurrences_replace_the_old_rows(stores: Stores) -> None:
    tenant, mailbox, event = ids()
    stores.meetings.replace_event(
        tenant, mailbox, event, [occurrence(event, d) for d in range(3)], change_key="ck1", last_modified=EDITED
    )
    moved = [occurrence(event, d) for d in (5, 6)]
    assert stores.meetings.replace_event(
        tenant, mailbox, event, moved, change_key="ck2", last_modified=EDITED + timedelta(minutes=1)
    )
    listed = stores.meetings.list_meetings(tenant, mailbox, start=T0 - timedelta(days=1), end=T0 + timedelta(days=9))
    assert [r.event_id for r in listed] == [r.event_id for r in moved]
    assert len(rows(stores.meetings, tenant, mailbox)) == 3


def test_more_than_a_transaction_of_occurrences(stores: Stores) -> None:
    tenant, mailbox, event = ids()
    many = [occurrence(event, d / 24, hours=0.5) for d in range(130)]
    stores.meetings.replace_event(tenant, mailbox, event, many, change_key="ck1", last_modified=EDITED)
    assert len(rows(stores.meetings, tenant, mailbox)) == 131
    stores.meetings.replace_event(
        tenant, mailbox, event, many[:10], change_key="ck2", last_modified=EDITED + timedelta(minutes=1)
    )
    assert len(rows(stores.meetings, tenant, mailbox)) == 11


def test_range_includes_meetings_that_overlap_its_start(stores: Stores) -> None:
    tenant, mailbox, event = ids()
    long_one = occurrence(event, 0, hours=50)
    short_one = occurrence(event + "b", 0, hours=1)
    stores.meetings.replace_event(tenant, mailbox, event, [long_one], change_key="a", last_modified=EDITED)
    stores.meetings.replace_event(tenant, mailbox, event + "b", [short_one], change_key="b", last_modified=EDITED)
    listed = stores.meetings.list_meetings(tenant, mailbox, start=T0 + timedelta(days=1), end=T0 + timedelta(days=2))
    assert [r.event_id for r in listed] == [long_one.event_id]
    assert (
        stores.meetings.list_meetings(tenant, mailbox, start=T0 + timedelta(days=10), end=T0 + timedelta(days=11)) == []
    )


def test_mailboxes_never_see_each_others_rows(stores: Stores) -> None:
    tenant, mailbox, event = ids()
    stores.meetings.replace_event(tenant, mailbox, event, [occurrence(event, 0)], change_key="a", last_modified=EDITED)
    window = {"start": T0 - timedelta(days=1), "end": T0 + timedelta(days=1)}
    assert stores.meetings.list_meetings(tenant, new_id(), **window) == []
    assert stores.meetings.list_meetings(new_id(), mailbox, **window) == []


def test_purge_removes_past_rows_and_keeps_indexes_true(stores: Stores) -> None:
    tenant, mailbox, series = ids()
    single = series + "-single"
    stores.meetings.replace_event(
        tenant, mailbox, series, [occurrence(series, d) for d in range(4)], change_key="a", last_modified=EDITED
    )
    stores.meetings.replace_event(
        tenant, mailbox, single, [occurrence(single, 0)], change_key="b", last_modified=EDITED
    )
    assert stores.meetings.purge_before(tenant, mailbox, T0 + timedelta(days=2)) == 3
    assert stores.meetings.held_change_key(tenant, mailbox, single) is None
    assert stores.meetings.held_change_key(tenant, mailbox, series) == "a"
    assert stores.meetings.purge_before(tenant, mailbox, T0 + timedelta(days=2)) == 0
    assert stores.meetings.delete_event(tenant, mailbox, series) == 2
    assert rows(stores.meetings, tenant, mailbox) == []


def test_occurrences_removed_by_their_own_ids_keep_their_series_index_true(stores: Stores) -> None:
    tenant, mailbox, series = ids()
    stores.meetings.replace_event(
        tenant, mailbox, series, [occurrence(series, d) for d in range(3)], change_key="a", last_modified=EDITED
    )
    assert stores.meetings.delete_event(tenant, mailbox, f"{series}-occ-1") == 0
    assert stores.meetings.delete_occurrences(tenant, mailbox, [f"{series}-occ-1", "never-held"]) == 1
    assert stores.meetings.delete_occurrences(tenant, mailbox, [f"{series}-occ-1"]) == 0
    assert stores.meetings.delete_occurrences(tenant, mailbox, []) == 0
    listed = stores.meetings.list_meetings(tenant, mailbox, start=T0 - timedelta(days=1), end=T0 + timedelta(days=9))
    assert [r.event_id for r in listed] == [f"{series}-occ-0", f"{series}-occ-2"]
    assert stores.meetings.held_change_key(tenant, mailbox, series) == "a"
    assert stores.meetings.delete_occurrences(tenant, mailbox, [f"{series}-occ-0", f"{series}-occ-2"]) == 2
    assert rows(stores.meetings, tenant, mailbox) == []


def test_delete_event_and_mailbox_are_idempotent(stores: Stores) -> None:
    tenant, mailbox, event = ids()
    stores.meetings.replace_event(
        tenant, mailbox, event, [occurrence(event, d) for d in range(2)], change_key="a", last_modified=EDITED
    )
    assert stores.meetings.delete_event(tenant, mailbox, event) == 2
    assert stores.meetings.delete_event(tenant, mailbox, event) == 0
    stores.meetings.replace_event(tenant, mailbox, event, [occurrence(event, 0)], change_key="b", last_modified=EDITED)
    assert stores.meetings.delete_mailbox(tenant, mailbox) == 2
    assert stores.meetings.delete_mailbox(tenant, mailbox) == 0


def test_times_must_carry_a_zone(stores: Stores) -> None:
    tenant, mailbox, event = ids()
    naive = MeetingRecord(event, datetime(2026, 12, 1, 9), datetime(2026, 12, 1, 10))
    with pytest.raises(ValueError, match="timezone-aware"):
        stores.meetings.replace_event(tenant, mailbox, event, [naive], change_key="a", last_modified=EDITED)
    assert rows(stores.meetings, tenant, mailbox) == []


def test_pages_read_only_what_they_return_with_one_request_each(stores: Stores) -> None:
    from shared.storage.clients import table_requests

    tenant, mailbox, event = ids()
    series = [occurrence(event, day) for day in range(12)]
    stores.meetings.replace_event(tenant, mailbox, event, series, change_key="ck1", last_modified=EDITED)
    window = {"start": T0 - timedelta(days=1), "end": T0 + timedelta(days=30)}
    before = table_requests()
    first = stores.meetings.page_meetings(tenant, mailbox, limit=5, **window)
    assert table_requests() - before == 1
    rest = stores.meetings.page_meetings(tenant, mailbox, after=first[-1][0], **window)
    assert [r for _, r in first + rest] == series
    assert [key for key, _ in first] == sorted(key for key, _ in first)
    assert stores.meetings.page_meetings(tenant, mailbox, after=rest[-1][0], **window) == []


def test_index_rows_of_many_events_in_one_query_per_fourteen(stores: Stores) -> None:
    from shared.storage.clients import table_requests

    tenant, mailbox, _ = ids()
    events = [f"AAMk{new_id()}" for _ in range(20)]
    for number, event in enumerate(events[:15]):
        stores.meetings.replace_event(
            tenant, mailbox, event, [occurrence(event, number % 7)], change_key=f"ck{number}", last_modified=EDITED
        )
    before = table_requests()
    indexes = stores.meetings.event_indexes(tenant, mailbox, events)
    assert table_requests() - before == 2
    assert [indexes[e].change_key if indexes[e] else None for e in events] == [f"ck{n}" for n in range(15)] + [None] * 5


def test_events_replaced_together_share_transactions_and_keep_every_rule(stores: Stores) -> None:
    from shared.storage.clients import table_requests
    from shared.storage.meetings import EventRows

    tenant, mailbox, _ = ids()
    held, moved, new, outside = (f"AAMk{new_id()}" for _ in range(4))
    stores.meetings.replace_event(tenant, mailbox, held, [occurrence(held, 0)], change_key="h1", last_modified=EDITED)
    stores.meetings.replace_event(tenant, mailbox, moved, [occurrence(moved, 1)], change_key="m1", last_modified=EDITED)
    stores.meetings.replace_event(
        tenant, mailbox, outside, [occurrence(outside, 2)], change_key="o1", last_modified=EDITED
    )
    indexes = stores.meetings.event_indexes(tenant, mailbox, [held, moved, new, outside])
    later = EDITED + timedelta(minutes=5)
    many = [
        EventRows(event, (occurrence(f"bulk{event}", 3),), "b1", later)
        for event in (f"AAMk{new_id()}" for _ in range(60))
    ]
    before = table_requests()
    outcomes = stores.meetings.write_events(
        tenant,
        mailbox,
        [
            EventRows(held, (occurrence(held, 0, subject="Older"),), "h0", EDITED - timedelta(days=1), indexes[held]),
            EventRows(moved, (occurrence(moved, 4, subject="Moved"),), "m2", later, indexes[moved]),
            EventRows(new, (occurrence(new, 5),), "n1", later, None),
            EventRows(outside, (), "o2", later, indexes[outside]),
            *many,
        ],
    )
    assert outcomes == {held: "stale", moved: "stored", new: "stored", outside: "stored"} | {
        e.event_id: "stored" for e in many
    }
    assert table_requests() - before == 2 + 2, "the event now outside: read + delete; 125 operations: 2 transactions"
    listed = stores.meetings.list_meetings(tenant, mailbox, start=T0 - timedelta(days=1), end=T0 + timedelta(days=7))
    assert [(r.event_id, r.subject) for r in listed if not r.event_id.startswith("bulk")] == [
        (f"{held}-occ-0", "Weekly sync"),
        (f"{moved}-occ-4", "Moved"),
        (f"{new}-occ-5", "Weekly sync"),
    ]
    assert stores.meetings.event_index(tenant, mailbox, outside) is None


def test_a_refused_transaction_reports_its_events_as_conflicts(stores: Stores) -> None:
    from shared.storage.meetings import EventRows

    tenant, mailbox, _ = ids()
    raced, other = f"AAMk{new_id()}", f"AAMk{new_id()}"
    stores.meetings.replace_event(tenant, mailbox, raced, [occurrence(raced, 0)], change_key="r1", last_modified=EDITED)
    read = stores.meetings.event_index(tenant, mailbox, raced)
    stores.meetings.replace_event(
        tenant, mailbox, raced, [occurrence(raced, 1)], change_key="r2", last_modified=EDITED + timedelta(minutes=1)
    )
    later = EDITED + timedelta(minutes=2)
    outcomes = stores.meetings.write_events(
        tenant,
        mailbox,
        [
            EventRows(raced, (occurrence(raced, 2),), "r3", later, read),
            EventRows(other, (occurrence(other, 3),), "x1", later, None),
        ],
    )
    assert outcomes == {raced: "conflict", other: "conflict"}
    assert stores.meetings.held_change_key(tenant, mailbox, raced) == "r2"
    assert stores.meetings.event_index(tenant, mailbox, other) is None
