"""Keyword scheduling end to end: Outlook (the stand-in) -> webhook -> queue -> platform -> PATCH -> lists."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import requests

from local.graphsim.store import User
from shared.scheduling.blocks import HTML_END, HTML_START, TEXT_END, TEXT_START
from shared.scheduling.flow import PROPERTY
from tests.e2e.conftest import Stack, eventually
from tests.e2e.test_meetings_api import every_meeting, invite, token
from tests.e2e.test_sync import enabled, when

TEAMS_BLOCK = (
    '<div style="width:100%"><span style="white-space:nowrap;color:#5F5F5F">________________'
    '</span><div style="margin-top:24px;margin-bottom:20px"><span style="font-size:24px;color:#252424">'
    'Microsoft Teams <span style="font-size:12px">Need help?</span></span></div><div><a href="https://'
    "teams.microsoft.com/l/meetup-join/19%3ameeting_NjFh%40thread.v2/0?context=%7b%22Tid%22%3a%22x%22"
    '%7d" style="font-size:20px">Join the meeting now</a></div></div>'
)


def organizer_event(stack: Stack, user: User, event_id: str) -> dict[str, Any]:
    with stack.sim.app.store.lock:
        event = stack.sim.app.store.event(user.id, event_id)
        return {
            "data": json.loads(json.dumps(event.data)),
            "extended": dict(event.extended),
            "change_key": event.change_key,
        }


def written(stack: Stack, user: User, event_id: str) -> dict[str, Any] | None:
    event = organizer_event(stack, user, event_id)
    return event if PROPERTY in event["extended"] else None


def scheduler(stack: Stack) -> Any:
    return stack.engine.scheduler


def schedule(stack: Stack, organizer: User, location: str, body: dict[str, str], **extra: Any) -> tuple[str, dict]:
    event = stack.sim.app.store.create_event(
        organizer.id,
        {
            "subject": "Design review",
            "start": when(2),
            "end": when(3),
            "location": {"displayName": location},
            "body": body,
            **extra,
        },
    )
    return event.id, eventually(lambda: written(stack, organizer, event.id))


def service_app(stack: Stack, app: dict[str, Any] | None = None) -> dict[str, str]:
    """The ``webex`` part of a scheduling configuration for a Service App of the Webex stand-in."""
    app = app or stack.webex_app
    return {
        "clientId": app["clientId"],
        "clientSecret": app["clientSecret"],
        "refreshToken": app["refreshToken"],
        "checkHost": "alice@contoso.example",
    }


@contextmanager
def on_webex(stack: Stack) -> Iterator[Any]:
    """While it lasts, the tenant's @webex makes meetings on the Webex stand-in with its demo Service App (the
    tenant must be served: a mailbox of it is enabled first)."""
    enabled(stack)
    path = f"tenants/{stack.demo.tenant_id}/scheduling"
    answer = stack.admin("PUT", path, json={"keywords": {"@webex": "webex"}, "webex": service_app(stack)})
    assert answer.status_code == 200, answer.text
    try:
        yield stack.webex.app
    finally:
        stack.webex.app.throttle(0)
        stack.admin("PUT", path, json={"keywords": {"@webex": "builtin"}, "webex": None})


def posted(webex: Any, subject: str) -> dict[str, Any]:
    """The body of the create the Webex stand-in received for ``subject``."""
    return [
        r["body"]
        for r in webex.requests
        if (r["method"], r["path"]) == ("POST", "/v1/meetings") and (r["body"] or {}).get("title") == subject
    ][0]


def writes_since(stack: Stack, creates: int, patches: int) -> tuple[int, int]:
    """Platform creates and invite PATCHes since the counts given, once counted: the stand-in shows a PATCH
    before our client has returned from it and counted it, so the counts are read after the first PATCH
    is counted, and a moment later (a second write would show up)."""

    def counts() -> tuple[int, int]:
        return scheduler(stack).creates - creates, scheduler(stack).patches - patches

    eventually(lambda: counts()[1] >= 1)
    time.sleep(0.3)
    return counts()


def test_webex_keyword_writes_the_invite_once_and_every_list_shows_it(stack: Stack) -> None:
    alice, bob, room = enabled(stack), enabled(stack), enabled(stack, "room")
    creates, patches = scheduler(stack).creates, scheduler(stack).patches
    original = f"<html><body><p>Agenda: the new lobby.</p>{TEAMS_BLOCK}</body></html>"
    event_id, event = schedule(
        stack, alice, "@webex; Room 2", {"contentType": "html", "content": original}, attendees=invite(bob, room)
    )
    content = event["data"]["body"]["content"]
    join_url = event["data"]["location"]["displayName"].split(";")[0]
    assert (
        join_url.startswith("https://meet.jit.si/hc-")
        and event["data"]["location"]["displayName"] == f"{join_url}; Room 2"
    )
    before, block_and_after = content.split(HTML_START)
    assert before == original[: original.rindex("</body>")] and TEAMS_BLOCK in before
    assert block_and_after.split(HTML_END)[1] == "</body></html>" and join_url in block_and_after
    recorded = json.loads(event["extended"][PROPERTY])
    assert recorded["platform"] == "builtin" and recorded["keyword"] == "@webex"
    assert writes_since(stack, creates, patches) == (1, 1)
    assert eventually(
        lambda: stack.stores.meetings.held_change_key(stack.demo.tenant_id, alice.id, event_id) == event["change_key"]
    )
    for user in (alice, bob):
        assert eventually(
            lambda: (
                [
                    (m["provider"], m["joinUrl"])
                    for m in every_meeting(stack, token(stack, user))
                    if m["subject"] == "Design review"
                ]
                == [("jitsi", join_url)]
            )
        )
    assert eventually(
        lambda: (
            [
                r.join_url
                for r in stack.stores.meetings.list_meetings(
                    stack.demo.tenant_id, room.id, start=_now(-1), end=_now(48)
                )
            ]
            == [join_url]
        )
    )
    assert writes_since(stack, creates, patches) == (1, 1)


def test_meet_keyword_in_a_text_body_and_personal_rooms(stack: Stack) -> None:
    alice = enabled(stack)
    _, event = schedule(stack, alice, "@meet", {"contentType": "text", "content": "Bring the numbers."})
    content = event["data"]["body"]["content"]
    assert content.startswith("Bring the numbers.\n\n" + TEXT_START) and content.endswith(TEXT_END)
    assert event["data"]["location"]["displayName"] in content
    _, first = schedule(stack, alice, "@webex:myroom", {"contentType": "text", "content": ""})
    _, second = schedule(stack, alice, "Board room, @WEBEX:MyRoom", {"contentType": "html", "content": "<p>x</p>"})
    mine = first["data"]["location"]["displayName"]
    assert second["data"]["location"]["displayName"] == f"Board room, {mine}"
    assert json.loads(second["extended"][PROPERTY])["modifier"] == "myroom"


def test_triplicate_deliveries_create_one_meeting_and_one_patch(stack: Stack) -> None:
    alice = enabled(stack)
    creates, patches = scheduler(stack).creates, scheduler(stack).patches
    requests.post(
        f"{stack.sim.url}/_sim/faults/notifications",
        json={"duplicate": 1.0, "copies": 3},
        verify=stack.sim.ca_bundle,
        timeout=10,
    )
    try:
        schedule(stack, alice, "@webex", {"contentType": "html", "content": "<p>Triple</p>"})
        time.sleep(3)
    finally:
        requests.post(f"{stack.sim.url}/_sim/faults/clear", verify=stack.sim.ca_bundle, timeout=10)
    assert writes_since(stack, creates, patches) == (1, 1)


def test_a_crash_between_create_and_patch_does_not_create_a_second_meeting(stack: Stack) -> None:
    alice = enabled(stack)
    creates, patches = scheduler(stack).creates, scheduler(stack).patches
    requests.post(
        f"{stack.sim.url}/_sim/faults/throttle",
        json={"mailbox": alice.id, "status": 503, "count": 5, "method": "PATCH", "retryAfter": 0},
        verify=stack.sim.ca_bundle,
        timeout=10,
    )
    try:
        event_id, event = schedule(stack, alice, "@webex", {"contentType": "html", "content": "<p>Crash</p>"})
    finally:
        requests.post(f"{stack.sim.url}/_sim/faults/clear", verify=stack.sim.ca_bundle, timeout=10)
    assert writes_since(stack, creates, patches) == (1, 1)
    record = stack.stores.schedulings.get(stack.demo.tenant_id, alice.id, event_id)
    assert record.state == "written" and record.meeting.join_url in event["data"]["location"]["displayName"]


def test_time_change_a_new_keyword_removal_and_deletion(stack: Stack) -> None:
    alice = enabled(stack)
    creates, patches = scheduler(stack).creates, scheduler(stack).patches
    event_id, event = schedule(stack, alice, "@webex; Room 2", {"contentType": "html", "content": "<p>Life</p>"})
    join_url = event["data"]["location"]["displayName"].split(";")[0]
    assert writes_since(stack, creates, patches) == (1, 1)
    patches = scheduler(stack).patches
    stack.sim.app.store.update_event(alice.id, event_id, {"start": when(5), "end": when(6)})
    tenant = stack.demo.tenant_id
    assert eventually(
        lambda: stack.stores.schedulings.get(tenant, alice.id, event_id).start.hour == int(when(5)["dateTime"][11:13])
    )
    assert scheduler(stack).patches == patches
    stack.sim.app.store.update_event(alice.id, event_id, {"location": {"displayName": "@meet:myroom; Room 2"}})
    switched = eventually(
        lambda: (lambda r: r if r and r.keyword == "@meet" and r.state == "written" else None)(
            stack.stores.schedulings.get(tenant, alice.id, event_id)
        )
    )
    assert switched.meeting.join_url != join_url and switched.modifier == "myroom"
    join_url = switched.meeting.join_url
    content = organizer_event(stack, alice, event_id)["data"]["body"]["content"]
    assert content.count(HTML_START) == 1 and join_url in content
    stack.sim.app.store.update_event(alice.id, event_id, {"location": {"displayName": "Room 2"}})
    assert eventually(lambda: stack.stores.schedulings.get(tenant, alice.id, event_id) is None, timeout=30), (
        stack.stores.mailboxes.get(tenant, alice.id),
        stack.stores.schedulings.get(tenant, alice.id, event_id),
        organizer_event(stack, alice, event_id),
    )
    body = organizer_event(stack, alice, event_id)["data"]["body"]["content"]
    assert HTML_START not in body and body == "<p>Life</p>" and join_url not in body
    again, _ = schedule(stack, alice, "@meet", {"contentType": "html", "content": "<p>Gone soon</p>"})
    assert stack.stores.schedulings.get(tenant, alice.id, again) is not None
    stack.sim.app.store.delete_event(alice.id, again)
    assert eventually(lambda: stack.stores.schedulings.get(tenant, alice.id, again) is None)


def test_attendee_copies_are_never_written(stack: Stack) -> None:
    alice, bob = enabled(stack), enabled(stack)
    organizer = stack.sim.app.store.add_user(
        User(str(uuid.uuid4()), stack.demo.tenant_id, "ext@contoso.example", "Not enabled")
    )
    event = stack.sim.app.store.create_event(
        organizer.id,
        {
            "subject": "Theirs",
            "start": when(2),
            "end": when(3),
            "location": {"displayName": "@webex"},
            "attendees": invite(alice, bob),
        },
    )
    assert eventually(lambda: [m for m in every_meeting(stack, token(stack, bob)) if m["subject"] == "Theirs"])
    assert organizer_event(stack, organizer, event.id)["data"]["location"]["displayName"] == "@webex"
    assert PROPERTY not in organizer_event(stack, organizer, event.id)["extended"]


def _now(hours: float) -> Any:
    from datetime import datetime, timedelta, timezone

    return datetime.now(timezone.utc) + timedelta(hours=hours)


def test_tenant_configuration_is_checked_against_webex_before_it_is_kept(stack: Stack) -> None:
    from local.webexsim.app import PREFERENCES_READ, SCHEDULE_READ
    from tests.e2e.test_meetings_api import conforms

    path = f"tenants/{stack.demo.tenant_id}/scheduling"
    enabled(stack)
    assert conforms(stack.admin("GET", path).json(), "SchedulingConfig")["keywords"] == {
        "@webex": "builtin",
        "@meet": "builtin",
    }
    refused = stack.admin("PUT", path, json={"keywords": {"@webex": "webex"}})
    assert refused.status_code == 400 and "webex (a Service App" in refused.json()["error"]["message"]
    assert stack.admin("PUT", path, json={"keywords": {"@zoom": "builtin"}}).status_code == 400
    wrong_secret = service_app(stack) | {"clientSecret": "not-the-secret"}
    answer = stack.admin("PUT", path, json={"keywords": {"@webex": "webex"}, "webex": wrong_secret})
    assert answer.status_code == 400 and "clientId and clientSecret" in answer.json()["error"]["message"]
    read_only = stack.webex.app.add_service_app((SCHEDULE_READ, PREFERENCES_READ))
    answer = stack.admin("PUT", path, json={"keywords": {"@webex": "webex"}, "webex": service_app(stack, read_only)})
    assert answer.status_code == 400, answer.text
    assert "lacks meeting:admin_schedule_write;" in answer.json()["error"]["message"]
    assert "alice@" not in answer.text
    for hostile in (
        service_app(stack) | {"clientId": "C" * 5000},
        service_app(stack) | {"refreshToken": "a\x00b"},
        service_app(stack) | {"siteUrl": "<script>.webex.com"},
        {"siteUrl": "contoso.webex.com"},
    ):
        answer = stack.admin("PUT", path, json={"keywords": {"@webex": "webex"}, "webex": hostile})
        assert answer.status_code == 400 and "webex" in answer.json()["error"]["message"], answer.text
    broken = stack.admin(
        "PUT",
        path,
        data=b'{"webex": {"clientId": "\\ud800", "clientSecret": "s", '
        b'"refreshToken": "r", "checkHost": "a@b.example"}}',
    )
    assert broken.status_code == 400 and "surrogate" in broken.json()["error"]["message"], broken.text
    unchanged = stack.admin("GET", path).json()
    assert unchanged["webex"] is None and unchanged["keywords"]["@webex"] == "builtin", "nothing half-written"
    emails = len(stack.webex.app.emails)
    changed = stack.admin(
        "PUT",
        path,
        json={"keywords": {"@webex": "webex"}, "webex": service_app(stack) | {"siteUrl": "contoso.webex.com"}},
    )
    try:
        assert changed.status_code == 200, changed.text
        shown = conforms(changed.json(), "SchedulingConfig")["webex"]
        assert (shown["clientSecret"], shown["siteUrl"], shown["tokens"]["state"]) == ("set", "contoso.webex.com", "ok")
        assert set(shown["scopes"]) == {
            "meeting:admin_schedule_write",
            "meeting:admin_schedule_read",
            "meeting:admin_preferences_read",
        }
        for secret in (stack.webex_app["clientSecret"], stack.webex_app["refreshToken"]):
            assert secret not in changed.text and secret not in stack.admin("GET", path).text
        checks = list(stack.webex.app.emails)[emails:]
        assert [e["action"] for e in checks] == ["create", "delete"] and not any(e["sendEmail"] for e in checks)
        assert not [m for m in stack.webex.app.meetings_of("alice@contoso.example") if "check" in m["title"]], (
            "the check meeting is deleted"
        )
        moved = stack.admin("PUT", path, json={"webex": {"siteUrl": "contoso-eu.webex.com"}})
        assert moved.json()["webex"]["siteUrl"] == "contoso-eu.webex.com" and moved.json()["webex"]["scopes"]
    finally:
        stack.admin("PUT", path, json={"keywords": {"@webex": "builtin"}, "webex": None})
    assert stack.admin("GET", path).json()["webex"] is None


def test_a_refusing_webex_leaves_the_event_as_it_was(stack: Stack) -> None:
    tenant = stack.demo.tenant_id
    with on_webex(stack) as webex:
        alice = enabled(stack)
        webex.add_person(alice.mail, "Unlicensed", ("contoso.webex.com",), licensed=False)
        event = stack.sim.app.store.create_event(
            alice.id,
            {
                "subject": "Unlicensed",
                "start": when(2),
                "end": when(3),
                "location": {"displayName": "@webex"},
                "body": {"contentType": "html", "content": "<p>x</p>"},
            },
        )
        assert eventually(lambda: stack.stores.mailboxes.get(tenant, alice.id).last_error == "access_denied")
        untouched = organizer_event(stack, alice, event.id)
        assert untouched["data"]["location"]["displayName"] == "@webex" and PROPERTY not in untouched["extended"]
        assert eventually(lambda: stack.stores.meetings.list_meetings(tenant, alice.id, start=_now(-1), end=_now(48)))
        status = stack.admin("GET", f"tenants/{tenant}/status").json()
        assert next(m for m in status["mailboxes"] if m["id"] == alice.id)["lastError"]["code"] == "access_denied"
        webex.throttle(1000, retry_after=120)
        bob = enabled(stack)
        throttled = stack.sim.app.store.create_event(
            bob.id, {"subject": "Throttled", "start": when(2), "end": when(3), "location": {"displayName": "@webex"}}
        )
        assert eventually(lambda: stack.stores.mailboxes.get(tenant, bob.id).last_error == "throttled")
        assert organizer_event(stack, bob, throttled.id)["data"]["location"]["displayName"] == "@webex"
        webex.throttle(0)
        stack.sim.app.store.delete_event(bob.id, throttled.id)
        assert eventually(lambda: stack.stores.schedulings.get(tenant, bob.id, throttled.id) is None)


def test_a_keyword_on_a_series_makes_one_meeting_for_every_occurrence(stack: Stack) -> None:
    alice = enabled(stack)
    creates = scheduler(stack).creates
    start = when(2)
    day = start["dateTime"][:10]
    from datetime import date

    weekday = date.fromisoformat(day).strftime("%A").lower()
    event_id, event = schedule(
        stack,
        alice,
        "@webex",
        {"contentType": "html", "content": "<p>Weekly</p>"},
        recurrence={
            "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": [weekday]},
            "range": {"type": "numbered", "startDate": day, "numberOfOccurrences": 3},
        },
    )
    join_url = event["data"]["location"]["displayName"]
    rows = eventually(
        lambda: (
            [
                r
                for r in stack.stores.meetings.list_meetings(
                    stack.demo.tenant_id, alice.id, start=_now(-1), end=_now(24 * 30)
                )
                if r.subject == "Design review"
            ]
            if len(
                stack.stores.meetings.list_meetings(stack.demo.tenant_id, alice.id, start=_now(-1), end=_now(24 * 30))
            )
            >= 3
            else None
        )
    )
    assert [r.join_url for r in rows] == [join_url] * 3 and scheduler(stack).creates - creates == 1


def test_a_keyword_on_one_occurrence_gives_that_occurrence_its_own_meeting(stack: Stack) -> None:
    alice = enabled(stack)
    start = when(2)
    day = start["dateTime"][:10]
    from datetime import date

    weekday = date.fromisoformat(day).strftime("%A").lower()
    series = stack.sim.app.store.create_event(
        alice.id,
        {
            "subject": "Standup",
            "start": start,
            "end": when(2.5),
            "location": {"displayName": "Room 3"},
            "recurrence": {
                "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": [weekday]},
                "range": {"type": "numbered", "startDate": day, "numberOfOccurrences": 3},
            },
        },
    )
    tenant = stack.demo.tenant_id
    rows = lambda: [  # noqa: E731
        r
        for r in stack.stores.meetings.list_meetings(tenant, alice.id, start=_now(-1), end=_now(24 * 30))
        if r.subject == "Standup"
    ]
    eventually(lambda: len(rows()) == 3)
    second = sorted(
        stack.engine.graph.list_instances(tenant, alice.id, series.id, start=_now(-1), end=_now(24 * 30)),
        key=lambda i: i["start"]["dateTime"],
    )[1]
    creates = scheduler(stack).creates
    stack.sim.app.store.update_event(alice.id, second["id"], {"location": {"displayName": "@meet; Room 3"}})
    joined = eventually(lambda: [r.join_url for r in rows() if r.join_url] or None)
    assert len(joined) == 1 and joined[0].startswith("https://meet.jit.si/hc-")
    assert [r.join_url is not None for r in rows()] == [False, True, False]
    assert scheduler(stack).creates - creates == 1
    record = stack.stores.schedulings.get(tenant, alice.id, second["id"])
    assert record.state == "written" and record.keyword == "@meet"


def test_a_tenant_template_shapes_the_join_block(stack: Stack) -> None:
    path = f"tenants/{stack.demo.tenant_id}/scheduling"
    template = '<p class="hc">Video call: <a href="$join_url">join</a></p>'
    assert stack.admin("PUT", path, json={"templates": {"html": template}}).json()["templates"] == {"html": template}
    try:
        alice = enabled(stack)
        _, event = schedule(stack, alice, "@webex", {"contentType": "html", "content": "<p>Templated</p>"})
        join_url = event["data"]["location"]["displayName"]
        assert (
            f'{HTML_START}<p class="hc">Video call: <a href="{join_url}">join</a></p>{HTML_END}'
            in event["data"]["body"]["content"]
        )
    finally:
        stack.admin("PUT", path, json={"templates": {"html": None}})


def test_space_and_onetime_modifiers_on_the_builtin_platform(stack: Stack) -> None:
    alice = enabled(stack)
    _, space = schedule(stack, alice, "@meet:space", {"contentType": "html", "content": "<p>Space</p>"})
    _, once = schedule(stack, alice, "@webex:onetime", {"contentType": "html", "content": "<p>Once</p>"})
    links = {space["data"]["location"]["displayName"], once["data"]["location"]["displayName"]}
    assert len(links) == 2 and all(link.startswith("https://meet.jit.si/hc-") for link in links)
    assert [json.loads(e["extended"][PROPERTY])["modifier"] for e in (space, once)] == ["space", "onetime"]


def test_webex_meetings_are_created_moved_and_deleted_through_the_api_without_webex_email(stack: Stack) -> None:
    with on_webex(stack) as webex:
        alice = enabled(stack)
        event_id, event = schedule(stack, alice, "@webex", {"contentType": "html", "content": "<p>Webex</p>"})
        [made] = webex.meetings_of(alice.mail)
        assert posted(webex, "Design review")["hostEmail"] == alice.mail
        content = event["data"]["body"]["content"]
        assert event["data"]["location"]["displayName"] == made["webLink"]
        assert made["webLink"].startswith("https://contoso.webex.com/contoso/j.php?MTID=m")
        assert made["sipAddress"] in content and "+1-415-527-5035" in content
        stack.sim.app.store.update_event(alice.id, event_id, {"start": when(4), "end": when(5)})
        assert eventually(
            lambda: webex.meetings_of(alice.mail)[0]["start"] == when(4)["dateTime"] + "+00:00", timeout=30
        )
        stack.sim.app.store.delete_event(alice.id, event_id)
        assert eventually(lambda: not webex.meetings_of(alice.mail))
        assert eventually(lambda: stack.stores.schedulings.get(stack.demo.tenant_id, alice.id, event_id) is None)
        mine = [e for e in webex.emails if e["meetingId"] == made["id"]]
        assert [e["action"] for e in mine] == ["create", "update", "delete"]
        assert not any(e["sendEmail"] for e in mine), "no Webex email: Outlook carries the invitation"


def test_a_move_whose_meeting_comes_back_with_other_join_details_rewrites_the_block(stack: Stack) -> None:
    """What the moved meeting says (here: no dial-in any more) is what the invite then says."""
    from dataclasses import replace

    with on_webex(stack):
        original = scheduler(stack).platform_of

        def platform_of(tenant: str, name: str, config: Any) -> Any:
            platform = original(tenant, name, config)
            if name == "webex":
                update = platform.update_meeting
                platform.update_meeting = lambda meeting, request: replace(update(meeting, request), dial_in=())
            return platform

        scheduler(stack).platform_of = platform_of
        try:
            alice = enabled(stack)
            event_id, event = schedule(stack, alice, "@webex", {"contentType": "html", "content": "<p>Dial</p>"})
            assert "+1-415-527-5035" in event["data"]["body"]["content"]
            stack.sim.app.store.update_event(alice.id, event_id, {"start": when(4), "end": when(5)})
            assert eventually(
                lambda: "+1-415-527-5035" not in organizer_event(stack, alice, event_id)["data"]["body"]["content"],
                timeout=30,
            )
            assert (
                stack.webex.app.meetings_of(alice.mail)[0]["sipAddress"]
                in organizer_event(stack, alice, event_id)["data"]["body"]["content"]
            )
        finally:
            scheduler(stack).platform_of = original


def test_an_edit_notified_before_the_notification_of_our_own_patch_is_still_followed(stack: Stack) -> None:
    """Graph delivers out of order: one message carries the organizer's edit first and the notification of
    our own earlier PATCH (whose version is stored) after it. The edit must still be fetched and followed."""
    from shared.sync.messages import ChangeRef, Outcome

    alice = enabled(stack)
    event_id, _ = schedule(stack, alice, "@meet; Room 2", {"contentType": "html", "content": "<p>Order</p>"})
    tenant = stack.demo.tenant_id
    ours = organizer_event(stack, alice, event_id)["change_key"]
    assert eventually(
        lambda: (lambda i: i is not None and i.holds(ours))(
            stack.stores.meetings.event_index(tenant, alice.id, event_id)
        )
    )
    answer = requests.post(
        f"{stack.sim.url}/_sim/faults/notifications", json={"drop": 1.0}, verify=stack.sim.ca_bundle, timeout=10
    )
    assert answer.status_code == 204
    try:
        stack.sim.app.store.update_event(alice.id, event_id, {"location": {"displayName": "Room 2"}})
        edit = organizer_event(stack, alice, event_id)["change_key"]
        batch = stack.engine.apply_changes(
            [
                ChangeRef(tenant, alice.id, event_id, change_key=edit),
                ChangeRef(tenant, alice.id, event_id, change_key=ours),
            ]
        )
    finally:
        requests.post(f"{stack.sim.url}/_sim/faults/clear", verify=stack.sim.ca_bundle, timeout=10)
    assert sorted(o.value for o in batch.outcomes) == sorted([Outcome.STORED.value, Outcome.SUPERSEDED.value])
    assert stack.stores.schedulings.get(tenant, alice.id, event_id) is None, "the keyword's removal was followed"
    assert HTML_START not in organizer_event(stack, alice, event_id)["data"]["body"]["content"]
