"""The presence rules: reading mailboxSettings (zones, DST, letter case), presence at a moment, and what a
poll or a flip writes, pushes and times."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from shared.errors import ValidationError
from shared.presence.model import (
    AutoReplies,
    Presence,
    PresenceRecord,
    decide,
    decide_error,
    decide_flip,
    next_flip,
    presence_at,
    read_settings,
)
from shared.presence.service import PresenceRef, failure_code

UTC = timezone.utc
NOW = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)


def body(
    status: str = "scheduled",
    start: str = "2026-12-04T10:00:00.0000000",
    end: str = "2026-12-04T12:00:00.0000000",
    zone: str = "UTC",
    **extra: object,
) -> dict[str, object]:
    return {
        "timeZone": "W. Europe Standard Time",
        "language": {"locale": "de-DE", "displayName": "German"},
        "automaticRepliesSetting": {
            "status": status,
            "internalReplyMessage": "<p>Away</p>",
            "scheduledStartDateTime": {"dateTime": start, "timeZone": zone},
            "scheduledEndDateTime": {"dateTime": end, "timeZone": zone},
        },
        **extra,
    }


def test_a_window_in_a_windows_zone_is_read_in_utc_with_the_zones_offset_on_each_date() -> None:
    winter = read_settings(body(start="2026-12-04T10:00:00", end="2026-12-04T18:00:00", zone="W. Europe Standard Time"))
    summer = read_settings(body(start="2026-07-01T10:00:00", end="2026-07-01T18:00:00", zone="W. Europe Standard Time"))
    assert winter.replies.start == datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
    assert summer.replies.start == datetime(2026, 7, 1, 8, 0, tzinfo=UTC)
    assert (winter.language, winter.time_zone, winter.replies.message) == (
        "de-DE",
        "W. Europe Standard Time",
        "<p>Away</p>",
    )


def test_a_window_across_a_dst_change_keeps_each_ends_own_offset() -> None:
    """US clocks go forward on 2026-03-08: 09:00 PST is 17:00 UTC, 09:00 PDT two days later is 16:00 UTC."""
    settings = read_settings(
        body(start="2026-03-07T09:00:00.0000000", end="2026-03-10T09:00:00.0000000", zone="Pacific Standard Time")
    )
    assert settings.replies.start == datetime(2026, 3, 7, 17, 0, tzinfo=UTC)
    assert settings.replies.end == datetime(2026, 3, 10, 16, 0, tzinfo=UTC)
    assert settings.replies.end - settings.replies.start == timedelta(days=3, hours=-1)


def test_iana_names_and_letter_case_are_accepted() -> None:
    settings = read_settings(
        body(status="Scheduled", start="2026-12-04T10:00:00", end="2026-12-04T11:00:00", zone="America/New_York")
    )
    assert settings.replies.status == "scheduled"
    assert settings.replies.start == datetime(2026, 12, 4, 15, 0, tzinfo=UTC)
    assert read_settings(body(status="AlwaysEnabled")).replies.status == "alwaysEnabled"
    assert read_settings(body(status="alwaysEnabled")).replies.start is None, "the window only counts when scheduled"


def test_an_unknown_zone_is_read_as_utc_with_a_warning() -> None:
    settings = read_settings(body(start="2026-12-04T10:00:00", end="2026-12-04T11:00:00", zone="Mars/Olympus"))
    assert settings.replies.start == datetime(2026, 12, 4, 10, 0, tzinfo=UTC)
    assert settings.zone_warning == "unknown_time_zone"


@pytest.mark.parametrize(
    "broken",
    [
        None,
        [],
        {},
        {"automaticRepliesSetting": "on"},
        {"automaticRepliesSetting": {"status": "sometimes"}},
        {"automaticRepliesSetting": {"status": "scheduled"}},
        body(start="not a date"),
    ],
)
def test_what_is_not_mailbox_settings_is_refused(broken: object) -> None:
    with pytest.raises(ValidationError):
        read_settings(broken)


def test_presence_inside_before_and_after_a_window() -> None:
    replies = AutoReplies("scheduled", NOW + timedelta(hours=1), NOW + timedelta(hours=3))
    assert presence_at(replies, NOW) == Presence(False)
    assert presence_at(replies, NOW + timedelta(hours=1)) == Presence(True, replies.start, replies.end)
    assert presence_at(replies, NOW + timedelta(hours=3)) == Presence(False), "the end is not inside"
    assert next_flip(replies, NOW) == replies.start
    assert next_flip(replies, NOW + timedelta(hours=1)) == replies.end
    assert next_flip(replies, NOW + timedelta(hours=4)) is None
    assert next_flip(AutoReplies("alwaysEnabled"), NOW) is None


def test_always_on_keeps_the_moment_it_was_first_seen_on() -> None:
    first = presence_at(AutoReplies("alwaysEnabled"), NOW)
    later = presence_at(AutoReplies("alwaysEnabled"), NOW + timedelta(hours=2), held=first)
    assert first == later == Presence(True, NOW, None)


def _record(replies: AutoReplies, presence: Presence, **kw: object) -> PresenceRecord:
    return PresenceRecord("t", "m", replies, presence, "de-DE", "W. Europe Standard Time", changed=NOW, etag="e1", **kw)  # type: ignore[arg-type]


def test_a_poll_that_reads_what_is_stored_writes_nothing() -> None:
    settings = read_settings(body())
    first = decide(None, "t", "m", settings, NOW)
    assert first.write is not None and not first.pushed and first.flip_at == settings.replies.start
    stored = replace(first.write, etag="e1")
    again = decide(stored, "t", "m", settings, NOW + timedelta(minutes=15))
    assert again.write is None and not again.pushed and again.flip_at is None


def test_a_poll_that_finds_replies_switched_on_pushes_and_one_that_finds_them_off_early_pushes_back() -> None:
    off = _record(AutoReplies("disabled"), Presence(False))
    on = decide(off, "t", "m", read_settings(body(status="alwaysEnabled")), NOW)
    assert on.write is not None and on.pushed and on.write.presence == Presence(True, NOW, None)
    assert on.write.etag == "e1", "written over the etag read"
    window = _record(
        AutoReplies("scheduled", NOW - timedelta(hours=1), NOW + timedelta(hours=5)),
        Presence(True, NOW - timedelta(hours=1), NOW + timedelta(hours=5)),
    )
    early = decide(window, "t", "m", read_settings(body(status="disabled")), NOW)
    assert early.write is not None and early.pushed and early.write.presence == Presence(False)


def test_a_new_message_alone_is_written_but_not_pushed() -> None:
    stored = replace(decide(None, "t", "m", read_settings(body()), NOW).write, etag="e1")  # type: ignore[arg-type]
    changed = body()
    changed["automaticRepliesSetting"]["internalReplyMessage"] = "<p>Back Monday</p>"  # type: ignore[index]
    decision = decide(stored, "t", "m", read_settings(changed), NOW)
    assert decision.write is not None and not decision.pushed and decision.flip_at is None
    assert decision.write.replies.message == "<p>Back Monday</p>"


def test_a_moved_window_is_timed_again_and_a_recovered_mailbox_clears_its_error() -> None:
    stored = replace(decide(None, "t", "m", read_settings(body()), NOW).write, etag="e1")  # type: ignore[arg-type]
    moved = decide(stored, "t", "m", read_settings(body(start="2026-12-04T11:00:00")), NOW)
    assert moved.flip_at == datetime(2026, 12, 4, 11, 0, tzinfo=UTC)
    failing = replace(stored, error="access_policy_denied", error_since=NOW)
    cleared = decide(failing, "t", "m", read_settings(body()), NOW)
    assert cleared.write is not None and cleared.write.error is None


def test_a_flip_applies_the_stored_window_once_and_a_stale_one_does_nothing() -> None:
    replies = AutoReplies("scheduled", NOW, NOW + timedelta(hours=2))
    stored = _record(replies, Presence(False))
    flipped = decide_flip(stored, replies.version, NOW)
    assert flipped.write is not None and flipped.pushed and flipped.flip_at == replies.end
    assert flipped.write.presence == Presence(True, NOW, NOW + timedelta(hours=2))
    assert decide_flip(flipped.write, replies.version, NOW + timedelta(seconds=1)).write is None, "a duplicate"
    assert decide_flip(stored, "0123456789abcdef", NOW).write is None, "the window changed since"
    assert decide_flip(None, replies.version, NOW).write is None
    back = decide_flip(flipped.write, replies.version, NOW + timedelta(hours=2))
    assert back.write is not None and back.write.presence == Presence(False) and back.flip_at is None


def test_an_error_is_written_once_and_keeps_the_presence_held() -> None:
    stored = _record(AutoReplies("alwaysEnabled"), Presence(True, NOW, None))
    first = decide_error(stored, "t", "m", "no_exchange_mailbox", NOW)
    assert first is not None and first.presence == stored.presence and first.error_since == NOW
    assert decide_error(first, "t", "m", "no_exchange_mailbox", NOW + timedelta(minutes=15)) is None
    assert decide_error(None, "t", "m", "access_policy_denied", NOW).presence == Presence(False)  # type: ignore[union-attr]


def test_the_version_follows_the_window_not_the_message() -> None:
    a = AutoReplies("scheduled", NOW, NOW + timedelta(hours=1), "one")
    assert a.version == replace(a, message="two").version
    assert a.version != replace(a, end=NOW + timedelta(hours=2)).version
    assert a.version != replace(a, status="disabled").version


def test_presence_references_are_checked() -> None:
    poll = PresenceRef("tenant-1", "poll", "a")
    assert PresenceRef.parse(poll.fields()) == poll
    flip = PresenceRef("tenant-1", "flip", "a", "0123456789abcdef")
    assert PresenceRef.parse(flip.fields()) == flip
    for hostile in (
        {"tenant_id": "t", "kind": "poll"},
        {"tenant_id": "t", "kind": "rm -rf", "mailbox_id": "a"},
        {"tenant_id": "t", "kind": "flip", "mailbox_id": "a"},
        {"tenant_id": "t", "kind": "poll", "mailbox_id": "a b"},
        {"tenant_id": "t\u202e", "kind": "poll", "mailbox_id": "a"},
        {"tenant_id": "t", "kind": "poll", "mailbox_id": 7},
        {"tenant_id": "t", "kind": "poll", "mailbox_id": "a", "extra": "x"},
        "poll",
        None,
    ):
        with pytest.raises(ValidationError):
            PresenceRef.parse(hostile)


def test_failure_codes_name_the_mailbox_without_exchange() -> None:
    from shared.graph.errors import graph_error

    no_exchange = graph_error(404, {"error": {"code": "MailboxNotEnabledForRESTAPI", "message": "x"}}, {}, what="get")
    denied = graph_error(
        403,
        {
            "error": {
                "code": "ErrorAccessDenied",
                "message": "Access to OData is disabled: "
                "[RAOP] : Blocked by tenant configured AppOnly AccessPolicy settings.",
            }
        },
        {},
        what="get",
    )
    assert failure_code(no_exchange) == "no_exchange_mailbox"
    assert failure_code(denied) == "access_policy_denied"
    assert failure_code(None) == "no_answer"


def test_reply_messages_are_cut_at_a_character_boundary_and_broken_unicode_is_replaced() -> None:
    long = body(status="alwaysEnabled")
    long["automaticRepliesSetting"]["internalReplyMessage"] = "é" * 20_000  # type: ignore[index]
    message = read_settings(long).replies.message
    assert len(message.encode()) <= 16_000 and set(message) == {"é"}
    broken = body(status="alwaysEnabled")
    broken["automaticRepliesSetting"]["internalReplyMessage"] = "away \ud800 now"  # type: ignore[index]
    assert read_settings(broken).replies.message == "away ? now"


@pytest.mark.parametrize(
    "text",
    [
        '{"tenant_id": "t", "kind": "explode", "mailbox_id": "m"}',
        '{"tenant_id": "t", "kind": "poll"}',
        '{"tenant_id": "t", "kind": "flip", "mailbox_id": "m"}',
        '{"tenant_id": "t", "kind": "poll", "mailbox_id": "m/../x y"}',
        '{"tenant_id": "t", "kind": "poll", "mailbox_id": "\\ud800"}',
        '{"tenant_id": "t", "kind": "poll", "mailbox_id": "' + "m" * 600 + '"}',
        "[" * 50,
        "",
        "not json",
        '{"references": []}',
    ],
)
def test_queue_texts_that_are_not_presence_references_are_refused(text: str) -> None:
    from shared.storage.queues import parse_references

    with pytest.raises(ValidationError):
        for fields in parse_references(text):
            PresenceRef.parse(fields)
