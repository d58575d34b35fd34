"""Meeting platforms: the built-in rooms, and the Webex client against the API's documented shapes."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from shared.errors import AccessDeniedError, ReauthorizationRequiredError, ThrottledError, ValidationError
from shared.platforms.base import DialIn, MeetingRequest
from shared.platforms.builtin import BuiltinPlatform
from shared.platforms.webex import WebexPlatform
from shared.retry import RetryPolicy

SHAPES = Path(__file__).resolve().parents[2] / "fixtures" / "webex"
START = datetime(2026, 12, 1, 8, 0, tzinfo=timezone.utc)


def request(kind: str = "scheduled", key: str = "key-1", organizer: str = "alice@contoso.example") -> MeetingRequest:
    return MeetingRequest(organizer, "Project kickoff", START, START + timedelta(hours=1), "Europe/Berlin", kind, key)  # type: ignore[arg-type]


def shape(name: str, **changes: Any) -> dict[str, Any]:
    return json.loads((SHAPES / f"{name}.json").read_text()) | changes


class Answer:
    def __init__(self, status: int, body: Any = None, headers: dict[str, str] | None = None) -> None:
        self.status_code, self.headers = status, headers or {}
        self.content = json.dumps(body).encode() if body is not None else b""

    def json(self) -> Any:
        return json.loads(self.content)


class FakeWebex:
    """Answers queued per (method, path); records every request as the API received it. A path without answers
    gets 404 (so a host's site look-up finds nothing and the tenant's site is used)."""

    def __init__(self) -> None:
        self.answers: dict[tuple[str, str], list[Answer]] = {}
        self.requests: list[dict[str, Any]] = []

    def on(self, method: str, path: str, *answers: Answer) -> None:
        self.answers.setdefault((method, path), []).extend(answers)

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: dict[str, str],
        json: Any = None,
        params: dict[str, str] | None = None,
        timeout: float,
        data: Any = None,
    ) -> Answer:
        path, _, query = url.removeprefix("https://webexapis.com/v1").partition("?")
        params = params or dict(part.split("=", 1) for part in query.split("&") if part)
        self.requests.append({"method": method, "path": path, "json": json, "params": params, "headers": headers})
        queue = self.answers.get((method, path)) or [Answer(404, {"message": "not found"})]
        return queue.pop(0) if len(queue) > 1 else queue[0]


def webex(fake: FakeWebex, *, now: datetime = START - timedelta(days=1), **options: Any) -> WebexPlatform:
    return WebexPlatform(
        options.pop("tokens", "webex-token"),
        session=fake,
        retry=RetryPolicy(max_attempts=3),
        sleep=lambda s: None,
        clock=lambda: now,
        tenant_id=str(uuid.uuid4()),
        **options,
    )


def test_builtin_rooms_are_unguessable_stable_per_key_and_personal_per_organizer() -> None:
    platform = BuiltinPlatform("https://meet.example/", sip_domain="sip.meet.example", secret="s3cret")
    first, again = platform.create_meeting(request()), platform.create_meeting(request())
    assert first == again and first.join_url.startswith("https://meet.example/hc-") and len(first.meeting_id) == 23
    assert first.sip_uri == f"{first.meeting_id}@sip.meet.example"
    assert platform.create_meeting(request(key="key-2")).meeting_id != first.meeting_id
    mine = platform.create_meeting(request("personal_room", key="a"))
    assert mine == platform.create_meeting(request("personal_room", key="b")) and mine.kind == "personal_room"
    assert (
        BuiltinPlatform("https://meet.example", secret="other").create_meeting(request()).meeting_id != first.meeting_id
    )
    assert platform.update_meeting(first, request()) == first and platform.delete_meeting(first, organizer="a") is None


def test_builtin_rooms_are_recognised_as_join_links_by_the_parser() -> None:
    from shared.parsing import extract_join_info

    room = BuiltinPlatform("https://jitsi.contoso.example", secret="x").create_meeting(request())
    info = extract_join_info("", f'<p>Join: <a href="{room.join_url}">{room.join_url}</a></p>')
    assert (info.provider, info.join_url) == ("jitsi", room.join_url)


def test_webex_creates_a_scheduled_meeting_tagged_with_the_key_and_without_email() -> None:
    fake = FakeWebex()
    fake.on("GET", "/meetings", Answer(200, {"items": []}))
    fake.on("POST", "/meetings", Answer(200, shape("meeting")))
    meeting = webex(fake).create_meeting(request())
    posted = fake.requests[-1]
    assert posted["json"] == {
        "title": "Project kickoff",
        "start": "2026-12-01T09:00:00+01:00",
        "end": "2026-12-01T10:00:00+01:00",
        "timezone": "Europe/Berlin",
        "hostEmail": "alice@contoso.example",
        "integrationTags": ["hc-key-1"],
        "sendEmail": False,
        "enabledAutoRecordMeeting": False,
    }
    assert posted["headers"]["Authorization"] == "Bearer webex-token"
    looked = [r for r in fake.requests if r["path"] == "/meetings" and r["method"] == "GET"][0]["params"]
    assert (looked["integrationTag"], looked["max"], looked["hostEmail"]) == (
        "hc-key-1",
        "100",
        "alice@contoso.example",
    )
    assert meeting.meeting_id == "870f51ff287b41be84648412901e0402"
    assert meeting.join_url.startswith("https://contoso.webex.com/contoso/j.php?MTID=m")
    assert (meeting.sip_uri, meeting.meeting_number, meeting.password) == (
        "26554857231@contoso.webex.com",
        "26554857231",
        "BgJep@43",
    )
    assert meeting.dial_in == (
        DialIn("United States Toll", "+1-415-527-5035"),
        DialIn("United States Toll Free", "+1-866-432-9903"),
    )


def test_webex_finds_the_tagged_meeting_on_a_later_page_instead_of_creating_another() -> None:
    fake = FakeWebex()
    later = "https://webexapis.com/v1/meetings?cursor=abc"
    fake.on(
        "GET",
        "/meetings",
        Answer(
            200,
            {"items": [shape("meeting", id="other", integrationTags=["hc-key-0"])]},
            {"Link": f'<{later}>; rel="next"'},
        ),
        Answer(200, {"items": [shape("meeting", integrationTags=["crm-9", "hc-key-1"])]}),
    )
    platform = webex(fake)
    meeting = platform.create_meeting(request())
    assert meeting.meeting_id == "870f51ff287b41be84648412901e0402" and platform.created == 0
    assert [(r["method"], r["path"]) for r in fake.requests][-2:] == [("GET", "/meetings"), ("GET", "/meetings")]
    assert fake.requests[-1]["params"] == {"cursor": "abc"}


def test_a_next_page_on_another_origin_is_not_followed_with_the_token() -> None:
    fake = FakeWebex()
    fake.on("GET", "/meetings", Answer(200, {"items": []}, {"Link": '<https://evil.example/v1/meetings>; rel="next"'}))
    fake.on("POST", "/meetings", Answer(200, shape("meeting")))
    webex(fake).create_meeting(request())
    assert not [r for r in fake.requests if "evil" in r["path"]]


def test_a_create_whose_answer_was_lost_is_looked_up_before_it_is_sent_again() -> None:
    fake = FakeWebex()
    fake.on(
        "GET",
        "/meetings",
        Answer(200, {"items": []}),
        Answer(200, {"items": [shape("meeting", integrationTags=["hc-key-1"])]}),
    )
    fake.on("POST", "/meetings", Answer(504, {"message": "gateway timeout"}, {"Retry-After": "0"}))
    platform = webex(fake)
    assert platform.create_meeting(request()).meeting_id == "870f51ff287b41be84648412901e0402"
    assert [r["method"] for r in fake.requests if r["path"] == "/meetings"] == ["GET", "POST", "GET"]
    fake = FakeWebex()
    fake.on("GET", "/meetings", Answer(200, {"items": []}))
    fake.on(
        "POST",
        "/meetings",
        Answer(429, {"message": "slow"}, {"Retry-After": "0"}),
        Answer(423, {"message": "locked"}, {"Retry-After": "0"}),
        Answer(200, shape("meeting")),
    )
    webex(fake).create_meeting(request())
    assert [r["method"] for r in fake.requests if r["path"] == "/meetings"] == ["GET", "POST", "POST", "POST"], (
        "a 429 or 423 made nothing: no look-up before the next try"
    )


def test_webex_refuses_and_adjusts_what_webex_would_refuse() -> None:
    from shared.errors import MeetingNotPossibleError
    from shared.platforms.webex import webex_times, webex_title

    now = datetime(2026, 12, 1, 7, 59, 30, tzinfo=timezone.utc)
    assert webex_times(START, START + timedelta(minutes=5), now).end == START + timedelta(minutes=10)
    assert webex_times(START, START + timedelta(minutes=5), now).lengthened
    under_way = webex_times(START - timedelta(minutes=20), START + timedelta(minutes=30), now)
    assert (under_way.start, under_way.end, under_way.lengthened) == (START, START + timedelta(minutes=30), False)
    assert webex_times(START - timedelta(minutes=20), START + timedelta(minutes=2), now).end == START + timedelta(
        minutes=10
    )
    for start, end in ((START, START + timedelta(days=1)), (now - timedelta(hours=2), now - timedelta(hours=1))):
        with pytest.raises(MeetingNotPossibleError):
            webex_times(start, end, now)
    assert webex_times(START, START + timedelta(hours=23, minutes=59), now).end == START + timedelta(
        hours=23, minutes=59
    )
    assert len(webex_title("x" * 200)) == 128 and webex_title("x" * 200).endswith("\u2026")
    assert webex_title("  ") == "Meeting" and webex_title("a\nb") == "a b" and webex_title("x" * 128) == "x" * 128


def test_integration_tags_fit_webex_and_are_one_per_key() -> None:
    from shared.platforms.webex import integration_tag

    assert integration_tag("0f" * 16) == "hc-" + "0f" * 16
    long, odd = integration_tag("k" * 100), integration_tag("mailbox|key with spaces")
    assert len(long) <= 64 and len(odd) <= 64 and long != odd and long == integration_tag("k" * 100)


def test_a_short_event_gets_a_ten_minute_meeting_and_the_mailbox_a_warning() -> None:
    fake = FakeWebex()
    fake.on("GET", "/meetings", Answer(200, {"items": []}))
    fake.on("POST", "/meetings", Answer(200, shape("meeting")))
    platform = webex(fake)
    platform.create_meeting(
        MeetingRequest("alice@contoso.example", "S" * 200, START, START + timedelta(minutes=5), "UTC", "scheduled", "k")
    )
    posted = fake.requests[-1]["json"]
    assert (posted["start"], posted["end"], len(posted["title"])) == (
        "2026-12-01T08:00:00+00:00",
        "2026-12-01T08:10:00+00:00",
        128,
    )
    assert platform.warnings == ["webex_meeting_lengthened"]


def test_webex_personal_room_moves_and_deletes() -> None:
    fake = FakeWebex()
    fake.on("GET", "/meetingPreferences/personalMeetingRoom", Answer(200, shape("personal_room")))
    platform = webex(fake, site_url="contoso.webex.com")
    room = platform.create_meeting(request("personal_room"))
    assert (room.join_url, room.sip_uri, room.kind) == (
        "https://contoso.webex.com/meet/alice",
        "alice@contoso.webex.com",
        "personal_room",
    )
    assert fake.requests[-1]["params"] == {"userEmail": "alice@contoso.example", "siteUrl": "contoso.webex.com"}
    assert platform.update_meeting(room, request()) == room
    platform.delete_meeting(room, organizer="alice@contoso.example")
    assert [r["path"] for r in fake.requests] == [
        "/meetingPreferences/sites",
        "/meetingPreferences/personalMeetingRoom",
    ]
    fake.on("GET", "/meetings/870f", Answer(200, shape("meeting")))
    fake.on("PATCH", "/meetings/870f", Answer(200, shape("meeting", start="2026-12-01T10:00:00+01:00")))
    fake.on("DELETE", "/meetings/870f", Answer(204), Answer(404, {"message": "gone"}))
    scheduled = shape("meeting", id="870f")
    from shared.platforms.webex import _meeting

    moved = platform.update_meeting(_meeting(scheduled), request())
    assert fake.requests[-1]["json"]["start"] == "2026-12-01T09:00:00+01:00"
    assert fake.requests[-1]["json"]["sendEmail"] is False
    assert moved.meeting_id == "870f51ff287b41be84648412901e0402"
    platform.delete_meeting(_meeting(scheduled), organizer="alice@contoso.example")
    platform.delete_meeting(_meeting(scheduled), organizer="alice@contoso.example")
    assert fake.requests[-1]["params"] == {"hostEmail": "alice@contoso.example", "sendEmail": "false"}


def test_a_meeting_under_way_is_not_moved() -> None:
    from shared.platforms.webex import _meeting

    fake = FakeWebex()
    fake.on("GET", "/meetings/870f", Answer(200, shape("meeting")))
    platform = webex(fake, now=START + timedelta(minutes=5))
    held = _meeting(shape("meeting", id="870f"))
    assert platform.update_meeting(held, request()) == held
    assert [r["method"] for r in fake.requests] == ["GET"] and platform.warnings == ["webex_meeting_under_way"]


def test_each_host_s_meetings_go_to_the_host_s_preferred_site() -> None:
    fake = FakeWebex()
    fake.on(
        "GET",
        "/meetingPreferences/sites",
        Answer(
            200,
            {
                "sites": [
                    {"siteUrl": "contoso.webex.com", "default": False},
                    {"siteUrl": "contoso-eu.webex.com", "default": True},
                ]
            },
        ),
    )
    fake.on("GET", "/meetings", Answer(200, {"items": []}))
    fake.on("POST", "/meetings", Answer(200, shape("meeting")))
    platform = webex(fake, site_url="contoso.webex.com")
    platform.create_meeting(request(key="a"))
    platform.create_meeting(request(key="b"))
    assert [r["json"]["siteUrl"] for r in fake.requests if r["method"] == "POST"] == ["contoso-eu.webex.com"] * 2
    assert len([r for r in fake.requests if r["path"] == "/meetingPreferences/sites"]) == 1, "once per host"


def test_a_refused_token_is_renewed_once_then_reported() -> None:
    class Tokens:
        def __init__(self) -> None:
            self.current, self.renewed = "old", 0

        def token(self) -> str:
            return self.current

        def after_unauthorized(self, stale: str) -> str:
            self.renewed += 1
            self.current = "new"
            return self.current

    fake = FakeWebex()
    fake.on("GET", "/meetings", Answer(401, {"message": "expired"}), Answer(200, {"items": []}))
    fake.on("POST", "/meetings", Answer(200, shape("meeting")))
    tokens = Tokens()
    webex(fake, tokens=tokens).create_meeting(request())
    assert tokens.renewed == 1 and fake.requests[-1]["headers"]["Authorization"] == "Bearer new"
    fake.answers[("GET", "/meetings")] = [Answer(401, {"message": "expired"})]
    with pytest.raises(ReauthorizationRequiredError):
        webex(fake, tokens=tokens).create_meeting(request())
    assert tokens.renewed == 2, "one renewal per call, not a loop"


def test_webex_errors_map_like_graphs_and_never_carry_the_message() -> None:
    fake = FakeWebex()
    fake.on("GET", "/meetings", Answer(200, {"items": []}))
    fake.on("POST", "/meetings", Answer(403, shape("error_403")))
    with pytest.raises(AccessDeniedError) as denied:
        webex(fake).create_meeting(request())
    assert "alice@" not in str(denied.value) and denied.value.details.request_id.startswith("ROUTER_")
    fake.answers[("POST", "/meetings")] = [Answer(401, {"message": "The request requires a valid access token"})]
    with pytest.raises(ReauthorizationRequiredError):
        webex(fake).create_meeting(request())
    fake.answers[("POST", "/meetings")] = [
        Answer(423, {"message": "locked"}, {"Retry-After": "0"}),
        Answer(200, shape("meeting")),
    ]
    assert webex(fake).create_meeting(request()).meeting_number == "26554857231"
    fake.answers[("POST", "/meetings")] = [Answer(429, {"message": "slow down"}, {"Retry-After": "120"})]
    with pytest.raises(ThrottledError) as throttled:
        webex(fake).create_meeting(request())
    assert throttled.value.retry_after == 120
    with pytest.raises(ValidationError, match="space"):
        webex(fake).create_meeting(request("space"))
