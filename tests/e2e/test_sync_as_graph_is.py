"""The sync engine against a stand-in as awkward as the real Graph: delta stubs and masters, no
``@removed`` for a cancelled occurrence, MailboxConcurrency across instances, lifecycle noise,
``location`` and ``locations`` kept in step, concurrent writes of one event."""

from __future__ import annotations

import logging
import threading
import uuid
from datetime import datetime, timedelta, timezone

import requests

from local.graphsim.store import User
from tests.e2e.conftest import Stack, eventually
from tests.e2e.test_meetings_api import invite
from tests.e2e.test_scheduling import written
from tests.e2e.test_sync import TOMORROW, enabled, mailbox, outlook, stored, when
from tests.graph.conftest import make_client

JOIN = '<p><a href="https://contoso.zoom.us/j/5550001111">Join Zoom Meeting</a></p>'


def control(stack: Stack, path: str, body: dict | None = None) -> None:
    answer = requests.post(f"{stack.sim.url}/_sim/{path}", json=body or {}, verify=stack.sim.ca_bundle, timeout=10)
    assert answer.status_code < 300, answer.text


def daily(stack: Stack, user: User, subject: str, count: int, **extra) -> str:
    return outlook(
        stack,
        user,
        subject=subject,
        body={"contentType": "html", "content": JOIN},
        recurrence={
            "pattern": {"type": "daily", "interval": 1},
            "range": {"type": "numbered", "startDate": TOMORROW.date().isoformat(), "numberOfOccurrences": count},
        },
        **extra,
    )


def test_a_fresh_round_of_stubs_stores_every_occurrence_with_its_details(stack: Stack) -> None:
    user, store = mailbox(stack), stack.sim.app.store
    series = daily(stack, user, "Daily standup", 5)
    occurrences = store.instances(
        store.event(user.id, series), TOMORROW - timedelta(days=1), TOMORROW + timedelta(days=10)
    )
    store.update_event(
        user.id, occurrences[1]["id"], {"subject": "Standup (moved)", "start": when(24 + 3), "end": when(24 + 3.5)}
    )
    store.delete_event(user.id, occurrences[3]["id"])
    outlook(stack, user, subject="One-off", start=when(50), end=when(51))
    round_items = store.delta_items(user.id, TOMORROW - timedelta(days=1), TOMORROW + timedelta(days=10))
    assert [i["type"] for i in round_items] == ["seriesMaster"] + [
        "occurrence",
        "exception",
        "occurrence",
        "occurrence",
        "singleInstance",
    ]
    assert "subject" not in round_items[1] and "lastModifiedDateTime" not in round_items[2]
    gets = stack.sim.app.faults.requests_for(user.id, "GET")
    answer = stack.admin("POST", f"tenants/{stack.demo.tenant_id}/mailboxes/{user.id}")
    assert answer.status_code == 200, answer.text
    rows = stored(stack, user)
    assert [(r.subject, r.join_url) for r in rows] == [
        ("Daily standup", "https://contoso.zoom.us/j/5550001111"),
        ("Standup (moved)", "https://contoso.zoom.us/j/5550001111"),
        ("Daily standup", "https://contoso.zoom.us/j/5550001111"),
        ("One-off", None),
        ("Daily standup", "https://contoso.zoom.us/j/5550001111"),
    ]
    assert stack.sim.app.faults.requests_for(user.id, "GET") - gets == 3, (
        "the user, one delta page, and one read of the series (1 per series, not per occurrence or exception)"
    )


def test_a_cancelled_occurrence_disappears_though_delta_reports_no_removal(stack: Stack) -> None:
    user = enabled(stack)
    series = daily(stack, user, "Weekly review", 3)
    assert eventually(lambda: len(stored(stack, user)) == 3)
    store = stack.sim.app.store
    control(stack, "faults/notifications", {"drop": 1.0})
    try:
        second = store.instances(
            store.event(user.id, series), TOMORROW - timedelta(days=1), TOMORROW + timedelta(days=5)
        )[1]
        store.delete_event(user.id, second["id"])
    finally:
        control(stack, "faults/clear")
    stack.engine.catch_up(stack.demo.tenant_id, user.id)
    assert [r.start - TOMORROW for r in stored(stack, user)] == [timedelta(0), timedelta(days=2)]


def test_a_series_entering_the_window_comes_in_on_a_later_days_round(stack: Stack) -> None:
    user = enabled(stack)
    first = TOMORROW + timedelta(days=33)
    outlook(
        stack,
        user,
        subject="Far series",
        start=when(24 * 33),
        end=when(24 * 33 + 1),
        recurrence={
            "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": [first.strftime("%A").lower()]},
            "range": {"type": "numbered", "startDate": first.date().isoformat(), "numberOfOccurrences": 2},
        },
    )
    assert eventually(lambda: stack.sim.app.deliverer.delivered) and stored(stack, user, days=60) == []
    engine = stack.engine
    later = type(engine)(
        engine.stores, engine.graph, engine.options, now=lambda: datetime.now(timezone.utc) + timedelta(days=4)
    )
    later.catch_up(stack.demo.tenant_id, user.id)
    assert [r.subject for r in stored(stack, user, days=60)] == ["Far series"]


def test_a_burst_meeting_mailbox_concurrency_from_other_instances_loses_nothing(stack: Stack) -> None:
    """Three other instances of the app keep the mailbox's four Graph slots busy while 15 changes arrive:
    Graph answers 429 MailboxConcurrency, which is retried after its Retry-After (or deferred), never lost."""
    user, tenant = enabled(stack), stack.demo.tenant_id
    others = [make_client(stack.sim) for _ in range(3)]
    refused, stop = stack.sim.app.limits.refused.get("concurrency", 0), threading.Event()

    def busy(client) -> None:
        while not stop.is_set():
            try:
                client.get_mailbox_settings(tenant, user.id)
            except Exception:
                pass

    control(stack, "faults/latency", {"ms": 60})
    threads = [threading.Thread(target=busy, args=(client,), daemon=True) for client in others]
    for thread in threads:
        thread.start()
    try:
        for i in range(15):
            outlook(stack, user, subject=f"Burst {i}", start=when(i), end=when(i + 0.5))
        assert eventually(lambda: len(stored(stack, user)) == 15, timeout=90)
    finally:
        stop.set()
        control(stack, "faults/clear")
        for thread in threads:
            thread.join(timeout=30)
    assert sorted(r.subject for r in stored(stack, user)) == sorted(f"Burst {i}" for i in range(15))
    assert stack.sim.app.limits.refused.get("concurrency", 0) > refused
    assert stack.sim.app.peak[user.id] <= 4


def test_reauthorization_noise_costs_at_most_one_call_per_subscription_and_no_catch_up(stack: Stack) -> None:
    user = enabled(stack)
    live = len(stack.sim.app.store.subscriptions)
    before_calls = stack.sim.app.faults.http_requests_for("subscriptions")
    before_gets = stack.sim.app.faults.requests_for(user.id, "GET")
    noise = stack.sim.app.deliverer.noise_sent
    calls = lambda: stack.sim.app.faults.http_requests_for("subscriptions") - before_calls  # noqa: E731
    control(stack, "faults/lifecycle-noise", {"everySeconds": 0.3})
    try:
        assert eventually(lambda: calls() >= 1, timeout=30)
        sent = stack.sim.app.deliverer.noise_sent
        assert eventually(lambda: stack.sim.app.deliverer.noise_sent - sent >= 4 * live, timeout=30)
    finally:
        control(stack, "faults/clear")
    assert stack.sim.app.deliverer.noise_sent - noise >= 5 * live
    assert calls() <= live, "each subscription answered at most once in the interval"
    assert stack.sim.app.faults.requests_for(user.id, "GET") == before_gets, "no delta round for noise"


def test_a_rooms_structured_location_is_kept_when_the_keyword_is_replaced(stack: Stack) -> None:
    alice, room = enabled(stack), enabled(stack, "room")
    entry = {
        "displayName": room.display_name,
        "locationType": "conferenceRoom",
        "locationEmailAddress": room.mail,
        "uniqueId": room.mail,
        "uniqueIdType": "directory",
    }
    event = stack.sim.app.store.create_event(
        alice.id,
        {
            "subject": "Board",
            "start": when(5),
            "end": when(6),
            "attendees": invite(room),
            "locations": [{"displayName": "@webex", "locationType": "default"}, entry],
        },
    )
    data = eventually(lambda: written(stack, alice, event.id))["data"]
    join_url = data["locations"][0]["displayName"]
    assert join_url.startswith("https://") and data["locations"][1] == entry
    assert data["location"]["displayName"] == f"{join_url}; {room.display_name}"


def test_concurrent_messages_about_one_event_converge_without_waiting_out_a_visibility_timeout(
    stack: Stack, caplog
) -> None:
    """Eight change messages of one event, each without a changeKey (so none is a duplicate), are picked up
    together: their writes meet each other's etags, re-read and decide again at once; none fails back to
    the queue (whose visibility timeout is 10 s)."""
    from shared.storage.clients import queue_client
    from shared.storage.queues import reference_message

    caplog.set_level(logging.INFO)
    user, tenant = enabled(stack), stack.demo.tenant_id
    control(stack, "faults/notifications", {"drop": 1.0})
    try:
        event_id = outlook(stack, user, subject="Contended")
    finally:
        control(stack, "faults/clear")
    changes = queue_client(stack.settings.storage_connection, "hc-changes")
    sent = {
        changes.send_message(
            reference_message(
                {"tenant_id": tenant, "mailbox_id": user.id, "event_id": event_id, "change_type": "updated"}
            )
        ).id
        for _ in range(8)
    }
    assert eventually(lambda: [r.subject for r in stored(stack, user)] == ["Contended"], timeout=8)

    def said(words: str) -> set[str]:
        return {m for m in sent for r in caplog.records if f"message {m}" in r.getMessage() and words in r.getMessage()}

    assert eventually(lambda: said(": ") == sent, timeout=8), "each message was applied once, at its first attempt"
    assert said("failed") == set()


def test_a_message_that_fails_validation_in_the_worker_is_poisoned_at_once(stack: Stack) -> None:
    import base64

    from shared.storage.clients import ensure_queue, queue_client

    jobs = queue_client(stack.settings.storage_connection, "hc-jobs")
    body = '{"tenant_id": "%s", "kind": "enable", "mailbox_id": "x", "reason": "kiosk"}' % uuid.uuid4()
    jobs.send_message(body)
    poison = queue_client(stack.settings.storage_connection, "hc-jobs-poison", base64=False)
    ensure_queue(poison)
    assert eventually(
        lambda: body in [base64.b64decode(m.content).decode() for m in poison.peek_messages(max_messages=32)],
        timeout=10,
    )
