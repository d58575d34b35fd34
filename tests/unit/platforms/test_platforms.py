"""Meeting platforms: the built-in rooms, and the Webex client against the API's documented shapes."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from shared.errors import (AccessDeniedError, ReauthorizationRequiredError, ThrottledError, ValidationError)
from shared.platforms.base import DialIn, MeetingRequest
from shared.platforms.builtin import BuiltinPlatform
from shared.platforms.webex import WebexPlatform
from shared.retry import RetryPolicy

SHAPES = Path(__file__).resolve().parents[2] / "fixtures" / "webex"
START = datetime(2026, 12, 1, 8, 0, tzinfo=timezone.utc)


def request(kind: str = "scheduled", key: str = "key-1", organizer: str = "alice@contoso.example") -> MeetingRequest:
    return MeetingRequest(organizer, "Project kickoff", START, START + timedelta(hours=1), "Europe/Berlin",
                          kind, key)  # type: ignore[arg-type]


def shape(name: str, **changes: Any) -> dict[str, Any]:
    return json.loads((SHAPES / f"{name}.json").read_text()) | changes


class Answer:
    def __init__(self, status: int, body: Any = None, headers: dict[str, str] | None = None) -> None:
        self.status_code, self.headers = status, headers or {}
        self.content = json.dumps(body).encode() if body is not None else b""

    def json(self) -> Any:
        return json.loads(self.content)


class FakeWebex:
    """Answers queued per (method, path); records every request as the API received it."""

    def __init__(self) -> None:
        self.answers: dict[tuple[str, str], list[Answer]] = {}
        self.requests: list[dict[str, Any]] = []

    def on(self, method: str, path: str, *answers: Answer) -> None:
        self.answers.setdefault((method, path), []).extend(answers)

    def request(self, method: str, url: str, *, headers: dict[str, str], json: Any, params: dict[str, str],
                timeout: float) -> Answer:
        path = url.removeprefix("https://webexapis.com/v1")
        self.requests.append({"method": method, "path": path, "json": json, "params": params, "headers": headers})
        queue = self.answers.get((method, path)) or [Answer(404, {"message": "not found"})]
        return queue.pop(0) if len(queue) > 1 else queue[0]


def webex(fake: FakeWebex) -> WebexPlatform:
    return WebexPlatform("webex-token", session=fake, retry=RetryPolicy(max_attempts=3), sleep=lambda s: None)


def test_builtin_rooms_are_unguessable_stable_per_key_and_personal_per_organizer() -> None:
    platform = BuiltinPlatform("https://meet.example/", sip_domain="sip.meet.example", secret="s3cret")
    first, again = platform.create_meeting(request()), platform.create_meeting(request())
    assert first == again and first.join_url.startswith("https://meet.example/hc-") and len(first.meeting_id) == 23
    assert first.sip_uri == f"{first.meeting_id}@sip.meet.example"
    assert platform.create_meeting(request(key="key-2")).meeting_id != first.meeting_id
    mine = platform.create_meeting(request("personal_room", key="a"))
    assert mine == platform.create_meeting(request("personal_room", key="b")) and mine.kind == "personal_room"
    assert BuiltinPlatform("https://meet.example", secret="other").create_meeting(request()).meeting_id != \
        first.meeting_id
    assert platform.update_meeting(first, request()) == first and platform.delete_meeting(first, organizer="a") is None


def test_builtin_rooms_are_recognised_as_join_links_by_the_parser() -> None:
    from shared.parsing import extract_join_info

    room = BuiltinPlatform("https://jitsi.contoso.example", secret="x").create_meeting(request())
    info = extract_join_info("", f'<p>Join: <a href="{room.join_url}">{room.join_url}</a></p>')
    assert (info.provider, info.join_url) == ("jitsi", room.join_url)


def test_webex_creates_a_scheduled_meeting_for_the_host_with_the_idempotency_key() -> None:
    fake = FakeWebex()
    fake.on("GET", "/meetings", Answer(200, {"items": []}))
    fake.on("POST", "/meetings", Answer(200, shape("meeting")))
    meeting = webex(fake).create_meeting(request())
    posted = fake.requests[-1]
    assert posted["json"] == {"title": "Project kickoff", "start": "2026-12-01T09:00:00+01:00",
                              "end": "2026-12-01T10:00:00+01:00", "timezone": "Europe/Berlin",
                              "hostEmail": "alice@contoso.example", "agenda": "[hc:key-1]",
                              "enabledAutoRecordMeeting": False}
    assert posted["headers"]["Authorization"] == "Bearer webex-token"
    assert meeting.meeting_id == "870f51ff287b41be84648412901e0402"
    assert meeting.join_url.startswith("https://contoso.webex.com/contoso/j.php?MTID=m")
    assert (meeting.sip_uri, meeting.meeting_number, meeting.password) == (
        "26554857231@contoso.webex.com", "26554857231", "BgJep@43")
    assert meeting.dial_in == (DialIn("United States Toll", "+1-415-527-5035"),
                               DialIn("United States Toll Free", "+1-866-432-9903"))


def test_webex_finds_the_meeting_an_earlier_attempt_made_instead_of_creating_another() -> None:
    fake = FakeWebex()
    fake.on("GET", "/meetings", Answer(200, {"items": [shape("meeting", id="other", agenda="[hc:key-0]"),
                                                       shape("meeting", agenda="Agenda [hc:key-1]")]}))
    platform = webex(fake)
    meeting = platform.create_meeting(request())
    assert meeting.meeting_id == "870f51ff287b41be84648412901e0402" and platform.created == 0
    assert [r["method"] for r in fake.requests] == ["GET"]
    assert fake.requests[0]["params"]["hostEmail"] == "alice@contoso.example"


def test_webex_personal_room_moves_and_deletes() -> None:
    fake = FakeWebex()
    fake.on("GET", "/meetingPreferences/personalMeetingRoom", Answer(200, shape("personal_room")))
    platform = webex(fake)
    room = platform.create_meeting(request("personal_room"))
    assert (room.join_url, room.sip_uri, room.kind) == ("https://contoso.webex.com/meet/alice",
                                                        "alice@contoso.webex.com", "personal_room")
    assert fake.requests[0]["params"] == {"userEmail": "alice@contoso.example"}
    assert platform.update_meeting(room, request()) == room
    platform.delete_meeting(room, organizer="alice@contoso.example")
    assert len(fake.requests) == 1
    fake.on("PATCH", "/meetings/870f", Answer(200, shape("meeting", start="2026-12-01T10:00:00+01:00")))
    fake.on("DELETE", "/meetings/870f", Answer(204), Answer(404, {"message": "gone"}))
    scheduled = shape("meeting", id="870f")
    from shared.platforms.webex import _meeting

    moved = platform.update_meeting(_meeting(scheduled), request())
    assert fake.requests[-1]["json"]["start"] == "2026-12-01T09:00:00+01:00"
    assert moved.meeting_id == "870f51ff287b41be84648412901e0402"
    platform.delete_meeting(_meeting(scheduled), organizer="alice@contoso.example")
    platform.delete_meeting(_meeting(scheduled), organizer="alice@contoso.example")
    assert fake.requests[-1]["params"] == {"hostEmail": "alice@contoso.example"}


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
    fake.answers[("POST", "/meetings")] = [Answer(429, {"message": "slow down"}, {"Retry-After": "0"}),
                                           Answer(200, shape("meeting"))]
    assert webex(fake).create_meeting(request()).meeting_number == "26554857231"
    fake.answers[("POST", "/meetings")] = [Answer(429, {"message": "slow down"}, {"Retry-After": "120"})]
    with pytest.raises(ThrottledError) as throttled:
        webex(fake).create_meeting(request())
    assert throttled.value.retry_after == 120
    with pytest.raises(ValidationError, match="space"):
        webex(fake).create_meeting(request("space"))
