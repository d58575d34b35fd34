"""Every rule of the sync engine's decision core, in milliseconds: no storage, no Graph."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.graph.paging import DeltaItem
from shared.storage.meetings import EventIndex
from shared.sync.catchup import DeltaLink, spread_delay
from shared.sync.decide import (
    ABSENT,
    Bounds,
    Defer,
    Delete,
    Fetch,
    FetchSeries,
    GraphEvent,
    Replace,
    Throttled,
    Unchanged,
    decide,
    decide_series,
    plan_round,
    runs_per_event,
    to_fetch,
)
from shared.sync.messages import ChangeRef, ChangeType

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=timezone.utc)
BOUNDS = Bounds(NOW - timedelta(days=7), NOW + timedelta(days=32))
EDITED = "2026-12-04T10:00:00.0000000Z"


def event(
    event_id: str = "AAMk1=", *, start: datetime = NOW + timedelta(days=1), minutes: int = 30, **fields: Any
) -> dict[str, Any]:
    return {
        "id": event_id,
        "type": "singleInstance",
        "subject": "Review",
        "changeKey": "ck2",
        "lastModifiedDateTime": EDITED,
        "organizer": {"emailAddress": {"name": "Alice"}},
        "start": {"dateTime": start.strftime("%Y-%m-%dT%H:%M:%S.0000000"), "timeZone": "UTC"},
        "end": {
            "dateTime": (start + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%S.0000000"),
            "timeZone": "UTC",
        },
        "body": {"contentType": "html", "content": ""},
    } | fields


def index(change_key: str = "ck1", modified: datetime | None = NOW - timedelta(hours=5)) -> EventIndex:
    return EventIndex(change_key, modified, ("m|x",), "etag", {})


def change(kind: ChangeType = ChangeType.UPDATED, key: str | None = "ck2", event_id: str = "AAMk1=") -> ChangeRef:
    return ChangeRef("t", "m", event_id, kind, key)


def test_a_change_whose_version_is_held_needs_no_graph_call() -> None:
    assert decide(change(key="ck1"), index("ck1"), None, BOUNDS) == Unchanged("held")
    assert decide(change(key="ck2"), index("ck1"), None, BOUNDS) == Fetch("AAMk1=")
    assert decide(change(key=None), index("ck1"), None, BOUNDS) == Fetch("AAMk1="), "no key: never assumed held"
    assert decide(change(), None, None, BOUNDS) == Fetch("AAMk1=")


def test_deletions_and_404s_delete() -> None:
    assert decide(change(ChangeType.DELETED), index(), None, BOUNDS) == Delete("AAMk1=")
    assert decide(change(), index(), ABSENT, BOUNDS) == Delete("AAMk1=")


def test_a_throttled_fetch_defers() -> None:
    assert decide(change(), None, Throttled(7.0), BOUNDS) == Defer(7.0)


def test_a_single_event_is_its_row_in_the_window_or_none() -> None:
    decision = decide(change(), index(), GraphEvent(event()), BOUNDS)
    assert isinstance(decision, Replace) and [r.subject for r in decision.rows.occurrences] == ["Review"]
    assert decision.rows.change_key == "ck2" and decision.rows.index == index()
    outside = decide(change(), index(), GraphEvent(event(start=NOW + timedelta(days=40))), BOUNDS)
    assert isinstance(outside, Replace) and outside.rows.occurrences == ()


def test_an_older_version_never_overwrites_a_newer_one() -> None:
    newer = index("ck9", modified=datetime(2026, 12, 4, 11, tzinfo=timezone.utc))
    assert decide(change(), newer, GraphEvent(event()), BOUNDS) == Unchanged("stale")
    assert decide(change(), index("ck2"), GraphEvent(event()), BOUNDS) == Unchanged("stale")


def test_a_version_without_a_modification_time_is_judged_by_its_change_key_alone() -> None:
    """Delta stubs carry no lastModifiedDateTime: read as 1970 they would always look stale."""
    stub_like = GraphEvent(event(lastModifiedDateTime=None, changeKey=None, **{"@odata.etag": 'W/"ck3"'}))
    assert stub_like.last_modified is None and stub_like.change_key == "ck3"
    decision = decide(change(key="ck3"), index("ck1"), stub_like, BOUNDS)
    assert isinstance(decision, Replace) and decision.rows.last_modified is None
    assert not index("ck1").is_newer_than("ck3", None) and index("ck3").is_newer_than("ck3", None)


def test_members_of_a_series_and_masters_read_the_series_again() -> None:
    occurrence = GraphEvent({"id": "AAMkOC1=", "type": "occurrence", "seriesMasterId": "AAMkS="})
    assert decide(change(event_id="AAMkOC1="), None, occurrence, BOUNDS) == FetchSeries("AAMkS=")
    master = GraphEvent(event("AAMkS=", type="seriesMaster"))
    assert decide(change(event_id="AAMkS="), None, master, BOUNDS) == FetchSeries("AAMkS=")


def test_a_series_is_its_instances_in_the_window_under_the_masters_version() -> None:
    master = GraphEvent(event("AAMkS=", type="seriesMaster", changeKey="s2", subject="Standup"))
    instances = [
        GraphEvent(
            event(
                f"AAMkOC{d}=",
                type="occurrence",
                seriesMasterId="AAMkS=",
                subject="Standup",
                start=NOW + timedelta(days=d),
            )
        )
        for d in (1, 2, 40)
    ]
    instances.append(
        GraphEvent(
            event(
                "AAMkOC3=",
                type="exception",
                seriesMasterId="AAMkS=",
                subject="Moved",
                start=NOW + timedelta(days=3),
                isCancelled=True,
            )
        )
    )
    decision = decide_series(master, instances, None, BOUNDS)
    assert isinstance(decision, Replace)
    assert [(r.event_id, r.is_cancelled) for r in decision.rows.occurrences] == [
        ("AAMkOC1=", False),
        ("AAMkOC2=", False),
        ("AAMkOC3=", True),
    ]
    assert (decision.rows.event_id, decision.rows.change_key) == ("AAMkS=", "s2")
    assert decide_series(master, instances, index("s2"), BOUNDS) == Unchanged("stale")


def test_stubs_are_never_a_source_of_rows() -> None:
    master = GraphEvent(event("AAMkS=", type="seriesMaster"))
    stub = GraphEvent(
        {
            "id": "AAMkOC1=",
            "type": "occurrence",
            "seriesMasterId": "AAMkS=",
            "start": event()["start"],
            "end": event()["end"],
            "@odata.etag": 'W/"s"',
        }
    )
    assert stub.is_stub
    decision = decide_series(master, [stub], None, BOUNDS)
    assert isinstance(decision, Replace) and decision.rows.occurrences == ()


def test_a_delta_round_is_sorted_into_singles_series_and_removals() -> None:
    stub = {"id": "AAMkOC1=", "type": "occurrence", "seriesMasterId": "AAMkS=", "@odata.etag": 'W/"x"'}
    orphan = {"id": "AAMkOC9=", "type": "exception", "seriesMasterId": "AAMkT=", "@odata.etag": 'W/"y"'}
    items = [
        DeltaItem("AAMkS=", event("AAMkS=", type="seriesMaster")),
        DeltaItem("AAMkOC1=", stub),
        DeltaItem("AAMk1=", event("AAMk1=", subject="old")),
        DeltaItem("AAMk1=", event("AAMk1=", subject="new")),
        DeltaItem("AAMkOC9=", orphan),
        DeltaItem("AAMkGone=", None, "deleted"),
        DeltaItem("AAMk1=", None),
        DeltaItem("AAMk1=", event("AAMk1=", subject="back")),
    ]
    plan = plan_round(items)
    assert set(plan.series) == {"AAMkS=", "AAMkT="} and plan.series["AAMkT="] is None
    assert plan.series["AAMkS="] is not None and plan.series["AAMkS="].is_master
    assert {k: v.raw["subject"] for k, v in plan.singles.items()} == {"AAMk1=": "back"}
    assert plan.removed == ["AAMkGone="] and plan.seen == {"AAMkS=", "AAMkT=", "AAMk1="}


def test_an_events_changes_since_its_last_deletion_make_its_run() -> None:
    changes = [change(key="a"), change(key="b", event_id="AAMk2="), change(key="c"), change(ChangeType.DELETED)]
    runs = runs_per_event(changes)
    assert list(runs) == ["AAMk2=", "AAMk1="] and [c.change_type for c in runs["AAMk1="]] == [ChangeType.DELETED]
    again = runs_per_event([*changes, change(key="d")])
    assert [(c.change_type, c.change_key) for c in again["AAMk1="]] == [
        (ChangeType.DELETED, "ck2"),
        (ChangeType.UPDATED, "d"),
    ]


def test_a_later_notification_of_a_version_held_does_not_hide_an_earlier_one_not_held() -> None:
    """Out of order: the organizer's edit (b) is delivered before the notification of our own PATCH (a),
    whose version is already stored; the edit must still be fetched."""
    held = index("a")
    run = [change(key="b"), change(key="a")]
    assert to_fetch(run, held) is run[0]
    assert to_fetch([change(key="a"), change(key="a")], held) is None
    assert to_fetch(run, None) is run[1]
    assert to_fetch([change(ChangeType.DELETED), change(key="a")], held) is None


@given(st.text(min_size=1, max_size=60), st.integers(min_value=1, max_value=86_400))
def test_a_mailboxs_round_is_at_a_fixed_delay_within_the_period(mailbox: str, seconds: int) -> None:
    delay = spread_delay(mailbox, timedelta(seconds=seconds))
    assert 0 <= delay < seconds and delay == spread_delay(mailbox, timedelta(seconds=seconds))


def test_rounds_of_many_mailboxes_spread_over_the_period() -> None:
    delays = [spread_delay(f"mailbox-{i}", timedelta(minutes=30)) for i in range(3000)]
    per_minute = [sum(1 for d in delays if m * 60 <= d < (m + 1) * 60) for m in range(30)]
    assert min(per_minute) > 60 and max(per_minute) < 140, per_minute


def test_a_stored_delta_link_serves_only_the_window_it_was_made_for() -> None:
    link = DeltaLink("https://graph/delta?$deltatoken=x", BOUNDS.start, BOUNDS.end)
    assert DeltaLink.from_text(link.to_text()) == link and link.serves(BOUNDS)
    assert not link.serves(Bounds(BOUNDS.start + timedelta(days=1), BOUNDS.end + timedelta(days=1)))
    legacy = DeltaLink.from_text("https://graph/delta?$deltatoken=old")
    assert legacy.serves(BOUNDS) and json.loads(link.to_text())["link"] == link.link


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2026-12-10T10:00:00.0000000Z", datetime(2026, 12, 10, 10, tzinfo=timezone.utc)),
        ("2026-12-10T10:00:00+05:30", datetime(2026, 12, 10, 4, 30, tzinfo=timezone.utc)),
        ("2026-12-10T10:00:00.1234567-08:00", datetime(2026, 12, 10, 18, 0, 0, 123456, tzinfo=timezone.utc)),
        ("2026-12-10T10:00:00", datetime(2026, 12, 10, 10, tzinfo=timezone.utc)),
    ],
)
def test_graph_timestamps_are_read_with_their_offsets(text: str, expected: datetime) -> None:
    from shared.graph.client import parse_graph_time
    from shared.sync.records import graph_moment

    assert parse_graph_time(text) == expected
    assert graph_moment({"dateTime": text, "timeZone": "UTC"}) == expected


def test_not_a_timestamp_is_refused() -> None:
    from shared.graph.client import parse_graph_time

    with pytest.raises(ValueError):
        parse_graph_time("yesterday")
