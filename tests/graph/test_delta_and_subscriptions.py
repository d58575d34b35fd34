"""calendarView delta rounds, and subscriptions with real webhook deliveries."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import pytest

from local.graphsim.demo import Demo
from local.graphsim.server import GraphSim
from shared.errors import NotFoundError, ResyncRequiredError, ValidationError
from shared.graph.client import GraphClient
from tests.graph.conftest import Receiver, control, new_user
from tests.graph.test_events import DAY, at, invite

WINDOW = {"start": DAY - timedelta(days=7), "end": DAY + timedelta(days=31)}


def test_delta_rounds_report_changes_and_removals(sim: GraphSim, client: GraphClient, demo: Demo) -> None:
    mailbox = new_user(sim, demo)
    kept = client.create_event(demo.tenant_id, mailbox.id, invite(subject="Kept"))
    gone = client.create_event(demo.tenant_id, mailbox.id, invite(subject="Gone") | {"start": at(30), "end": at(31)})
    first = client.calendar_view_delta(demo.tenant_id, mailbox.id, **WINDOW, page_size=1)
    assert sorted(i.event["subject"] for i in first) == ["Gone", "Kept"]
    assert first.pages == 2 and "$deltatoken=" in first.delta_link
    quiet = client.calendar_view_delta(demo.tenant_id, mailbox.id, delta_link=first.delta_link)
    assert list(quiet) == [] and quiet.delta_link
    client.update_event(demo.tenant_id, mailbox.id, kept["id"], {"subject": "Kept (edited)"})
    client.delete_event(demo.tenant_id, mailbox.id, gone["id"])
    second = client.calendar_view_delta(demo.tenant_id, mailbox.id, delta_link=quiet.delta_link)
    items = {i.id: i for i in second}
    assert items[kept["id"]].event["subject"] == "Kept (edited)"
    assert items[gone["id"]].removed and items[gone["id"]].removed_reason == "deleted"


def test_moving_out_of_the_window_is_a_removal(sim: GraphSim, client: GraphClient, demo: Demo) -> None:
    mailbox = new_user(sim, demo)
    event = client.create_event(demo.tenant_id, mailbox.id, invite())
    first = client.calendar_view_delta(demo.tenant_id, mailbox.id, **WINDOW)
    list(first)
    client.update_event(demo.tenant_id, mailbox.id, event["id"], {"start": at(24 * 60), "end": at(24 * 60 + 1)})
    after = list(client.calendar_view_delta(demo.tenant_id, mailbox.id, delta_link=first.delta_link))
    assert [(i.id, i.removed) for i in after] == [(event["id"], True)]


def test_a_reset_sync_state_means_resync_from_scratch(sim: GraphSim, client: GraphClient, demo: Demo) -> None:
    mailbox = new_user(sim, demo)
    first = client.calendar_view_delta(demo.tenant_id, mailbox.id, **WINDOW)
    list(first)
    control(sim, f"/_sim/users/{mailbox.id}/delta-reset")
    with pytest.raises(ResyncRequiredError, match="410 syncStateNotFound") as caught:
        list(client.calendar_view_delta(demo.tenant_id, mailbox.id, delta_link=first.delta_link))
    assert "/calendarView/delta?startDateTime=" in caught.value.restart_url
    assert list(client.calendar_view_delta(demo.tenant_id, mailbox.id, **WINDOW)) == []


def subscribe(client: GraphClient, demo: Demo, mailbox: str, receiver: Receiver, **extra):
    return client.create_subscription(
        demo.tenant_id,
        mailbox,
        notification_url=receiver.url,
        lifecycle_url=receiver.url + "?lifecycle=1",
        client_state="state-1234",
        expires=extra.get("expires", datetime.now(timezone.utc) + timedelta(days=2)),
    )


def test_subscription_handshake_notifications_and_renewal(
    sim: GraphSim, client: GraphClient, demo: Demo, receiver: Receiver
) -> None:
    mailbox, bob = new_user(sim, demo), new_user(sim, demo)
    subscription = subscribe(client, demo, mailbox.id, receiver)
    assert len(receiver.validations) == 2
    assert receiver.validations[0].startswith("Validation: Testing client application reachability")
    event = client.create_event(demo.tenant_id, mailbox.id, invite(bob))
    item = receiver.wait_for(1)[0]
    assert (item["subscriptionId"], item["changeType"], item["clientState"], item["tenantId"]) == (
        subscription["id"],
        "created",
        "state-1234",
        demo.tenant_id,
    )
    assert item["resource"] == f"Users/{mailbox.id}/Events/{event['id']}"
    assert item["resourceData"]["@odata.etag"] == event["@odata.etag"]
    later = datetime.now(timezone.utc) + timedelta(days=6)
    renewed = client.renew_subscription(demo.tenant_id, subscription["id"], expires=later)
    assert renewed["expirationDateTime"][:16] == later.strftime("%Y-%m-%dT%H:%M")
    client.reauthorize_subscription(demo.tenant_id, subscription["id"])
    assert [s["id"] for s in client.list_subscriptions(demo.tenant_id)].count(subscription["id"]) == 1
    client.delete_subscription(demo.tenant_id, subscription["id"])
    client.delete_subscription(demo.tenant_id, subscription["id"])
    with pytest.raises(NotFoundError):
        client.renew_subscription(demo.tenant_id, subscription["id"], expires=later)


def test_creation_fails_when_the_endpoint_does_not_echo(
    sim: GraphSim, client: GraphClient, demo: Demo, receiver: Receiver
) -> None:
    mailbox = new_user(sim, demo)
    receiver.mode = "wrong"
    with pytest.raises(ValidationError, match="400 ValidationError") as caught:
        subscribe(client, demo, mailbox.id, receiver)
    assert "must exactly match validationToken" in caught.value.details.message
    receiver.mode = "error"
    with pytest.raises(ValidationError, match="400 ValidationError"):
        subscribe(client, demo, mailbox.id, receiver)
    assert sim.app.store.subscriptions == {} or all(
        s.mailbox != mailbox.id for s in sim.app.store.subscriptions.values()
    )


def test_subscription_rules(sim: GraphSim, client: GraphClient, demo: Demo, receiver: Receiver) -> None:
    mailbox = new_user(sim, demo)
    with pytest.raises(ValidationError, match="400 InvalidRequest") as caught:
        subscribe(client, demo, mailbox.id, receiver, expires=datetime.now(timezone.utc) + timedelta(days=8))
    assert "10080 minutes" in caught.value.details.message
    short = subscribe(client, demo, mailbox.id, receiver, expires=datetime.now(timezone.utc) + timedelta(minutes=5))
    minimum = datetime.now(timezone.utc) + timedelta(minutes=44)
    assert datetime.fromisoformat(short["expirationDateTime"].replace("0Z", "+00:00")) > minimum
    from shared.errors import ConflictError

    with pytest.raises(ConflictError, match="409"):
        subscribe(client, demo, mailbox.id, receiver)
    with pytest.raises(ValueError, match="at most 128"):
        client.create_subscription(
            demo.tenant_id,
            mailbox.id,
            notification_url=receiver.url,
            lifecycle_url=receiver.url,
            client_state="x" * 129,
            expires=datetime.now(timezone.utc) + timedelta(days=1),
        )


def test_failed_deliveries_are_retried_and_duplicates_can_be_injected(
    sim: GraphSim, client: GraphClient, demo: Demo, receiver: Receiver
) -> None:
    mailbox = new_user(sim, demo)
    subscribe(client, demo, mailbox.id, receiver)
    receiver.failures_left = 2
    client.create_event(demo.tenant_id, mailbox.id, invite())
    assert len(receiver.wait_for(1)) == 1
    control(sim, "/_sim/faults/notifications", {"duplicate": 1.0})
    client.create_event(demo.tenant_id, mailbox.id, invite(subject="Twice"))
    items = receiver.wait_for(3)
    assert len(items) == 3 and items[1] == items[2]


def test_expired_subscriptions_stop_delivering(
    sim: GraphSim, client: GraphClient, demo: Demo, receiver: Receiver
) -> None:
    mailbox = new_user(sim, demo)
    subscription = subscribe(client, demo, mailbox.id, receiver)
    sim.app.expire_subscription(subscription["id"])
    client.create_event(demo.tenant_id, mailbox.id, invite())
    time.sleep(0.5)
    assert receiver.notifications() == []
    with pytest.raises(NotFoundError):
        client.renew_subscription(
            demo.tenant_id, subscription["id"], expires=datetime.now(timezone.utc) + timedelta(days=1)
        )


@pytest.mark.parametrize("event", ["reauthorizationRequired", "subscriptionRemoved", "missed"])
def test_lifecycle_notifications_on_demand(
    sim: GraphSim, client: GraphClient, demo: Demo, receiver: Receiver, event: str
) -> None:
    mailbox = new_user(sim, demo)
    subscription = subscribe(client, demo, mailbox.id, receiver)
    control(sim, f"/_sim/subscriptions/{subscription['id']}/lifecycle", {"event": event})
    item = receiver.wait_for(1)[0]
    assert (item["lifecycleEvent"], item["subscriptionId"], item["clientState"]) == (
        event,
        subscription["id"],
        "state-1234",
    )
    assert "resource" not in item
    assert (subscription["id"] in sim.app.store.subscriptions) is (event != "subscriptionRemoved")
