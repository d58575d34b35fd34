"""Webex as a customer runs it, over the Webex stand-in (HTTPS): no duplicate meetings, tokens that renew, no
stray email, the meetings Webex refuses, multi-site organizations and 423.

The first tests drive the Webex client alone against a stand-in of their own (its clock can be moved); the
others run the whole stack: Outlook (the Graph stand-in) -> webhook -> queue -> keyword flow -> Webex stand-in.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from local.webexsim.server import WebexSim
from local.webexsim.server import seed_demo as seed_webex
from shared.http import pooled_session
from shared.platforms.base import MeetingRequest
from shared.platforms.webex import WebexPlatform
from shared.platforms.webex_auth import StaticToken
from shared.retry import RetryPolicy
from shared.scheduling.flow import PROPERTY
from tests.e2e.conftest import Stack, eventually
from tests.e2e.test_scheduling import on_webex, organizer_event, service_app, written
from tests.e2e.test_sync import TOMORROW, enabled, when

ALICE, BOB = "alice@contoso.example", "bob@contoso.example"
START = TOMORROW + timedelta(hours=3)


@pytest.fixture(scope="module")
def sim() -> Iterator[WebexSim]:
    with WebexSim() as started:
        seed_webex(started.app)
        yield started


def platform(sim: WebexSim, *, timeout: float = 10.0, sleep: Any = None, clock: Any = None) -> WebexPlatform:
    """The client with a fresh Service App's token (each test counts only its own app's requests)."""
    app = sim.app.add_service_app()
    return WebexPlatform(
        StaticToken(app["accessToken"]),
        base_url=sim.api,
        session=pooled_session(sim.ca_bundle),
        timeout=timeout,
        retry=RetryPolicy(max_attempts=4),
        sleep=sleep or (lambda s: None),
        clock=clock or (lambda: datetime.now(timezone.utc)),
        tenant_id=app["clientId"],
    )


def request(
    key: str, *, host: str = ALICE, start: datetime = START, minutes: int = 30, subject: str = "Design review"
) -> MeetingRequest:
    return MeetingRequest(host, subject, start, start + timedelta(minutes=minutes), "Europe/Berlin", "scheduled", key)


def tagged(sim: WebexSim, host: str, key: str) -> list[dict[str, Any]]:
    return [m for m in sim.app.meetings_of(host) if f"hc-{key}" in m["integrationTags"]]


def test_a_hosts_many_meetings_never_hide_the_one_an_earlier_attempt_made(sim: WebexSim) -> None:
    for hour in range(12):
        sim.app.add_meeting(ALICE, START - timedelta(hours=1) + timedelta(minutes=10 * hour), 90)
        sim.app.add_meeting(BOB, START, 60, invitees=(ALICE,), title="Bob's, Alice invited")
    first = platform(sim).create_meeting(request("twelve"))
    again = platform(sim).create_meeting(request("twelve"))
    assert again == first and len(tagged(sim, ALICE, "twelve")) == 1
    sim.app.faults.tag_filter = False
    try:
        for hour in range(120):
            sim.app.add_meeting(ALICE, START - timedelta(minutes=hour), 120)
        pages = len([r for r in sim.app.requests if "cursor" in r["query"]])
        assert platform(sim).create_meeting(request("twelve")) == first, "found on a later page"
        assert len([r for r in sim.app.requests if "cursor" in r["query"]]) > pages
    finally:
        sim.app.faults.tag_filter = True
    assert len(tagged(sim, ALICE, "twelve")) == 1


def test_a_create_webex_made_but_answered_too_late_leaves_one_meeting(sim: WebexSim) -> None:
    sim.app.slow_creates(1, 2.5)
    client = platform(sim, timeout=1.0)
    made = client.create_meeting(request("lost-answer"))
    assert [m["id"] for m in tagged(sim, ALICE, "lost-answer")] == [made.meeting_id]
    assert client.created == 0, "the second try found the meeting instead of posting again"


def test_423_and_429_are_waited_out_as_webex_says_and_retried(sim: WebexSim) -> None:
    waits: list[float] = []
    client = platform(sim, sleep=waits.append)
    sim.app.throttle(2, status=423, retry_after=0.25)
    made = client.create_meeting(request("locked"))
    sim.app.throttle(1, status=429, retry_after=0.5)
    assert client.create_meeting(request("locked")) == made
    assert waits == [0.25, 0.25, 0.5] and len(tagged(sim, ALICE, "locked")) == 1


def test_each_host_gets_meetings_and_personal_room_on_their_preferred_site(sim: WebexSim) -> None:
    client = platform(sim)
    assert client.create_meeting(request("bob-site", host=BOB)).join_url.startswith("https://contoso-eu.webex.com/")
    sim.app.add_person("dana@fabrikam.example", "Dana", ("fabrikam.webex.com",))
    room = client.create_meeting(
        MeetingRequest("dana@fabrikam.example", "", START, START + timedelta(hours=1), "UTC", "personal_room", "x")
    )
    assert room.join_url == "https://fabrikam.webex.com/meet/dana"
    assert client.create_meeting(request("dana", host="dana@fabrikam.example")).join_url.startswith(
        "https://fabrikam.webex.com/"
    ), "without siteUrl the stand-in, like Webex, uses the organization's site"


def test_a_meeting_already_under_way_is_not_moved_and_webex_would_have_refused(sim: WebexSim) -> None:
    now = [datetime.now(timezone.utc)]
    sim.app.now = lambda: now[0]
    try:
        client = platform(sim, clock=lambda: now[0])
        soon = now[0].replace(second=0, microsecond=0) + timedelta(hours=1)
        made = client.create_meeting(request("under-way", start=soon))
        now[0] = soon + timedelta(minutes=5)
        assert client.update_meeting(made, request("under-way", start=soon + timedelta(hours=2))) == made
        assert client.warnings == ["webex_meeting_under_way"]
        [held] = tagged(sim, ALICE, "under-way")
        assert datetime.fromisoformat(held["start"]) == soon
        from shared.errors import ValidationError

        with pytest.raises(ValidationError):
            client.call(
                "PATCH",
                f"/meetings/{made.meeting_id}",
                what="move",
                json={"start": (soon + timedelta(hours=2)).isoformat(), "end": (soon + timedelta(hours=3)).isoformat()},
            )
    finally:
        sim.app.now = lambda: datetime.now(timezone.utc)


def test_webex_refuses_what_the_client_never_sends(sim: WebexSim) -> None:
    """The stand-in's checks are real: what the client adjusts would be refused as it was."""
    from shared.errors import ValidationError

    client = platform(sim)
    for body in (
        {"title": "x" * 129, "start": START.isoformat(), "end": (START + timedelta(hours=1)).isoformat()},
        {"title": "short", "start": START.isoformat(), "end": (START + timedelta(minutes=5)).isoformat()},
        {
            "title": "past",
            "start": (START - timedelta(days=3)).isoformat(),
            "end": (START - timedelta(days=3) + timedelta(hours=1)).isoformat(),
        },
    ):
        with pytest.raises(ValidationError):
            client.call("POST", "/meetings", what="create", json=body | {"hostEmail": ALICE, "timezone": "UTC"})


def test_an_access_token_expiring_mid_run_is_refreshed_and_nothing_is_lost(stack: Stack) -> None:
    with on_webex(stack) as webex:
        alice, bob = enabled(stack), enabled(stack)
        first = stack.sim.app.store.create_event(
            alice.id,
            {"subject": "Before expiry", "start": when(2), "end": when(3), "location": {"displayName": "@webex"}},
        )
        eventually(lambda: written(stack, alice, first.id))
        refreshes = len([r for r in webex.requests if r["path"] == "/v1/access_token"])
        webex.expire_access_tokens(stack.webex_app["clientId"])
        second = stack.sim.app.store.create_event(
            bob.id, {"subject": "After expiry", "start": when(2), "end": when(3), "location": {"displayName": "@webex"}}
        )
        assert eventually(lambda: written(stack, bob, second.id))
        assert len([r for r in webex.requests if r["path"] == "/v1/access_token"]) == refreshes + 1
        assert len(webex.meetings_of(alice.mail)) == len(webex.meetings_of(bob.mail)) == 1
        shown = stack.admin("GET", f"tenants/{stack.demo.tenant_id}/scheduling").json()["webex"]["tokens"]
        assert shown["state"] == "ok" and stack.stores.mailboxes.get(stack.demo.tenant_id, bob.id).last_error is None


def test_a_revoked_service_app_shows_a_clear_status_and_leaves_events_as_they_are(stack: Stack) -> None:
    tenant, path = stack.demo.tenant_id, f"tenants/{stack.demo.tenant_id}/scheduling"
    alice = enabled(stack)
    revoked = stack.webex.app.add_service_app()
    assert (
        stack.admin(
            "PUT", path, json={"keywords": {"@webex": "webex"}, "webex": service_app(stack, revoked)}
        ).status_code
        == 200
    )
    try:
        stack.webex.app.revoke_refresh_tokens(revoked["clientId"])
        event = stack.sim.app.store.create_event(
            alice.id, {"subject": "Revoked", "start": when(2), "end": when(3), "location": {"displayName": "@webex"}}
        )
        assert eventually(
            lambda: stack.stores.mailboxes.get(tenant, alice.id).last_error == "webex_reauthorization_required"
        )
        untouched = organizer_event(stack, alice, event.id)
        assert untouched["data"]["location"]["displayName"] == "@webex" and PROPERTY not in untouched["extended"]
        assert not stack.webex.app.meetings_of(alice.mail)
        tokens = stack.admin("GET", path).json()["webex"]["tokens"]
        assert (tokens["state"], tokens["refusedWith"]) == ("refused", "invalid_grant")
        status = stack.admin("GET", f"tenants/{tenant}/status").json()
        error = next(m for m in status["mailboxes"] if m["id"] == alice.id)["lastError"]
        assert "Control Hub" in error["description"]
        answer = stack.admin("PUT", path, json={"webex": service_app(stack)})
        assert answer.status_code == 200 and answer.json()["webex"]["tokens"]["state"] == "ok"
        stack.sim.app.store.update_event(alice.id, event.id, {"subject": "Revoked, then authorized again"})
        assert eventually(lambda: written(stack, alice, event.id), timeout=30), "the next edit tries again"
    finally:
        stack.admin("PUT", path, json={"keywords": {"@webex": "builtin"}, "webex": None})


def test_a_five_minute_event_with_a_long_subject_and_an_all_day_event(stack: Stack) -> None:
    tenant = stack.demo.tenant_id
    with on_webex(stack) as webex:
        carol = enabled(stack)
        start = when(2)
        end = {"dateTime": (TOMORROW + timedelta(hours=2, minutes=5)).strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"}
        short = stack.sim.app.store.create_event(
            carol.id, {"subject": "S" * 200, "start": start, "end": end, "location": {"displayName": "@webex"}}
        )
        event = eventually(lambda: written(stack, carol, short.id))
        [made] = webex.meetings_of(carol.mail)
        assert len(made["title"]) == 128 and made["title"].endswith("\u2026")
        assert datetime.fromisoformat(made["end"]) - datetime.fromisoformat(made["start"]) == timedelta(minutes=10)
        assert event["data"]["end"]["dateTime"].startswith(end["dateTime"]), "the event keeps its own times"
        assert eventually(
            lambda: stack.stores.mailboxes.get(tenant, carol.id).last_warning == "webex_meeting_lengthened"
        )
        day = (TOMORROW + timedelta(days=2)).date()
        all_day = stack.sim.app.store.create_event(
            carol.id,
            {
                "subject": "Offsite",
                "isAllDay": True,
                "location": {"displayName": "@webex"},
                "start": {"dateTime": f"{day}T00:00:00", "timeZone": "UTC"},
                "end": {"dateTime": f"{day + timedelta(days=1)}T00:00:00", "timeZone": "UTC"},
            },
        )
        assert eventually(lambda: stack.stores.mailboxes.get(tenant, carol.id).last_error == "meeting_not_possible")
        assert organizer_event(stack, carol, all_day.id)["data"]["location"]["displayName"] == "@webex"
        assert len(webex.meetings_of(carol.mail)) == 1
