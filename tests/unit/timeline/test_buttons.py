"""The Join button's rules without I/O: planning after a write or in a reconcile pass, and what a message
does when it falls due."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from shared.storage.meetings import MeetingRecord
from shared.timeline.buttons import Button, Later, Nothing, Send, Show, Wait, Withdraw, on_due, plan, version_of, wanted

NOW = datetime(2026, 12, 4, 9, 0, tzinfo=timezone.utc)
LEAD = timedelta(minutes=5)


def record(start: timedelta, minutes: int = 30, **changes: object) -> MeetingRecord:
    fields = {"join_url": "https://contoso.zoom.us/j/1", "subject": "Review"} | changes
    return MeetingRecord("event-1", NOW + start, NOW + start + timedelta(minutes=minutes), **fields)  # type: ignore[arg-type]


def button(start: timedelta, *, shown: str = "", **changes: object) -> Button:
    made = wanted(record(start, **changes), event_key="e|1", row_key="m|x|k1", meeting_id="meeting", lead=LEAD, now=NOW)
    assert made is not None
    return Button(
        made.key,
        made.event_key,
        made.version,
        made.show_at,
        made.end_at,
        made.meeting_id,
        made.meeting_row,
        shown,
        "meeting" if shown else "",
        etag="etag",
    )


def test_only_a_joinable_meeting_that_is_not_over_has_a_button() -> None:
    assert (
        wanted(
            record(timedelta(hours=1), join_url=None), event_key="e", row_key="m|k", meeting_id="m", lead=LEAD, now=NOW
        )
        is None
    )
    assert (
        wanted(
            record(timedelta(hours=1), is_cancelled=True),
            event_key="e",
            row_key="m|k",
            meeting_id="m",
            lead=LEAD,
            now=NOW,
        )
        is None
    )
    assert (
        wanted(
            record(-timedelta(hours=1), minutes=30), event_key="e", row_key="m|k", meeting_id="m", lead=LEAD, now=NOW
        )
        is None
    )
    made = wanted(
        record(timedelta(hours=1), join_url=None, sip_uri="room@video.example"),
        event_key="e",
        row_key="m|20261204T100000Z|k",
        meeting_id="m",
        lead=LEAD,
        now=NOW,
    )
    assert made is not None and made.key == "k" and made.show_at == NOW + timedelta(minutes=55)


def test_anything_a_receiver_shows_makes_a_new_version() -> None:
    base = version_of(record(timedelta(hours=1)))
    for change in (
        {"subject": "Other"},
        {"join_url": "https://contoso.zoom.us/j/2"},
        {"sensitivity": "private"},
        {"organizer_name": "Bob"},
        {"sip_uri": "x@y.example"},
    ):
        assert version_of(record(timedelta(hours=1), **change)) != base, change
    assert version_of(record(timedelta(hours=2))) != base
    assert version_of(record(timedelta(hours=1), invitee_count=3)) == base, "invitees are not on a button"


def test_a_new_button_is_saved_and_timed_at_its_show_time() -> None:
    new = button(timedelta(hours=1))
    result = plan({}, {new.key: new}, NOW, covered=[])
    assert [b.key for b in result.save] == [new.key] and result.save[0].etag is None
    assert result.send == [Send("show", new.key, new.version, NOW + timedelta(minutes=55))]


def test_a_meeting_created_inside_the_lead_window_is_shown_at_once() -> None:
    new = button(timedelta(minutes=2))
    assert plan({}, {new.key: new}, NOW, covered=[]).send == [Send("show", new.key, new.version, NOW)]


def test_a_meeting_more_than_seven_days_ahead_waits_for_a_reconcile_pass() -> None:
    new = button(timedelta(days=9))
    result = plan({}, {new.key: new}, NOW, covered=[])
    assert result.save and result.send == []


def test_a_shown_button_that_changes_is_withdrawn_now_and_shown_again_when_due() -> None:
    old = button(timedelta(minutes=-1), shown="v-old")
    old = Button(
        old.key,
        old.event_key,
        "v-old",
        old.show_at,
        old.end_at,
        "meeting",
        old.meeting_row,
        "v-old",
        "meeting",
        etag="etag",
    )
    moved = button(timedelta(hours=1))
    result = plan({old.key: old}, {moved.key: moved}, NOW, covered=[old.key])
    assert result.save[0].shown == "v-old" and result.save[0].shown_meeting == "meeting"
    assert result.save[0].etag == "etag"
    assert result.send == [
        Send("withdraw", old.key, "v-old", NOW),
        Send("show", moved.key, moved.version, NOW + timedelta(minutes=55)),
    ]


def test_a_gone_meeting_keeps_its_row_until_its_withdrawal_is_delivered() -> None:
    shown = button(timedelta(minutes=-1))
    shown = Button(
        shown.key,
        shown.event_key,
        shown.version,
        shown.show_at,
        shown.end_at,
        "meeting",
        shown.meeting_row,
        shown.version,
        "meeting",
        etag="etag",
    )
    result = plan({shown.key: shown}, {}, NOW, covered=[shown.key])
    assert [b.version for b in result.save] == [""] and result.delete == []
    assert result.send == [Send("withdraw", shown.key, shown.version, NOW)]
    pending = button(timedelta(hours=1))
    result = plan({pending.key: pending}, {}, NOW, covered=[pending.key])
    assert result.delete == [pending] and result.send == []


def test_an_unchanged_button_costs_nothing_after_a_write_but_is_sent_again_by_a_reconcile_pass() -> None:
    held = button(timedelta(minutes=20))
    assert plan({held.key: held}, {held.key: held}, NOW, covered=[held.key]) == plan({}, {}, NOW, covered=[])
    again = plan({held.key: held}, {held.key: held}, NOW, covered=[held.key], horizon=timedelta(hours=1))
    assert again.save == [] and again.send == [Send("show", held.key, held.version, held.show_at)]
    far = button(timedelta(hours=3))
    assert plan({far.key: far}, {far.key: far}, NOW, covered=[far.key], horizon=timedelta(hours=1)).send == []


def test_a_reconcile_pass_sends_a_lost_withdrawal_again() -> None:
    shown = button(timedelta(minutes=-20), minutes=25)
    shown = Button(
        shown.key,
        shown.event_key,
        shown.version,
        shown.show_at,
        shown.end_at,
        "meeting",
        shown.meeting_row,
        shown.version,
        "meeting",
    )
    assert plan({shown.key: shown}, {shown.key: shown}, NOW, covered=[shown.key], horizon=timedelta(hours=1)).send == [
        Send("withdraw", shown.key, shown.version, shown.end_at)
    ]


@pytest.mark.parametrize(
    "offset, expected",
    [
        (timedelta(minutes=-1), Show(None)),
        (timedelta(seconds=1), Wait(1.0)),
        (timedelta(minutes=10), Later(NOW + timedelta(minutes=10))),
    ],
)
def test_a_show_message_waits_for_its_second(offset: timedelta, expected: object) -> None:
    held = button(offset + LEAD)
    assert on_due(held, Send("show", held.key, held.version, NOW), NOW) == expected


def test_a_show_message_for_another_version_or_one_already_shown_does_nothing() -> None:
    held = button(timedelta(minutes=-1))
    assert on_due(held, Send("show", held.key, "other", NOW), NOW) == Nothing("stale")
    assert on_due(None, Send("show", held.key, held.version, NOW), NOW) == Nothing("gone")
    shown = Button(
        held.key, held.event_key, held.version, held.show_at, held.end_at, "m", held.meeting_row, held.version, "m"
    )
    assert on_due(shown, Send("show", held.key, held.version, NOW), NOW) == Nothing("already_shown")
    over = button(-timedelta(minutes=29), minutes=30)
    assert on_due(over, Send("show", over.key, over.version, NOW), NOW + timedelta(minutes=2)) == Nothing("over")


def test_a_show_after_a_change_withdraws_the_version_on_screen_first() -> None:
    held = button(timedelta(minutes=-1))
    changed = Button(
        held.key, held.event_key, held.version, held.show_at, held.end_at, "m2", held.meeting_row, "v-old", "m1"
    )
    assert on_due(changed, Send("show", held.key, held.version, NOW), NOW) == Show("v-old")


def test_withdrawals_say_why_and_whether_the_row_goes() -> None:
    held = button(timedelta(minutes=-1), minutes=10)
    on_screen = Button(
        held.key, held.event_key, held.version, held.show_at, held.end_at, "m", held.meeting_row, held.version, "m"
    )
    send = Send("withdraw", held.key, held.version, NOW)
    assert on_due(on_screen, send, NOW) == Later(held.end_at)
    assert on_due(on_screen, send, held.end_at) == Withdraw("ended", forget=True)
    superseded = Button(
        held.key, held.event_key, "v-new", held.show_at, held.end_at, "m", held.meeting_row, held.version, "m"
    )
    assert on_due(superseded, send, NOW) == Withdraw("changed", forget=False)
    gone = Button(held.key, held.event_key, "", held.show_at, held.end_at, "m", held.meeting_row, held.version, "m")
    assert on_due(gone, send, NOW) == Withdraw("removed", forget=True)
    assert on_due(held, send, NOW) == Nothing("not_shown")
