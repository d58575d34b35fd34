"""Repositories round-trip through Azurite with sealed fields; tampering and moving rows is caught."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from shared.errors import ConflictError, IntegrityError, KeyUnavailableError
from shared.storage.records import Mailbox, Subscription, Tenant, digest
from shared.storage.stores import Stores
from tests.storage.conftest import new_id

WHEN = datetime(2026, 11, 25, 9, 0, tzinfo=timezone.utc)


def raw(stores: Stores, table: str, partition: str, row: str) -> dict:
    return stores.mailboxes.table._service.get_table_client(table).get_entity(partition, row)


def test_tenant_round_trip_and_kek_lookup(stores: Stores) -> None:
    tenant = new_id()
    stores.tenants.save(Tenant(tenant, "Contoso Ltd", cloud="USGovGCCHigh"))
    got = stores.tenants.get(tenant)
    assert (got.display_name, got.cloud, got.kek_provider, got.enabled) == ("Contoso Ltd", "USGovGCCHigh", None, True)
    assert stores.tenants.kek_of(tenant) is None
    assert tenant in stores.tenants.list_ids()
    assert b"Contoso" not in bytes(raw(stores, "tenants", "tenant", tenant)["DisplayName"])
    stores.tenants.delete(tenant)
    stores.tenants.delete(tenant)
    assert stores.tenants.get(tenant) is None


def test_mailbox_round_trip_with_etag_concurrency(stores: Stores) -> None:
    tenant, mailbox = new_id(), new_id()
    stores.mailboxes.save(Mailbox(tenant, mailbox, "room", "board-room@contoso.com", "Board Room"))
    first = stores.mailboxes.get(tenant, mailbox)
    assert (first.address, first.display_name, first.kind) == ("board-room@contoso.com", "Board Room", "room")
    stored = raw(stores, "mailboxes", tenant, mailbox)
    assert isinstance(stored["Address"], bytes) and b"board-room" not in stored["Address"]
    from dataclasses import replace

    stores.mailboxes.save(replace(first, last_sync=WHEN))
    with pytest.raises(ConflictError, match="etag"):
        stores.mailboxes.save(replace(first, last_error="access_denied"))
    assert stores.mailboxes.get(tenant, mailbox).last_sync == WHEN
    assert [m.mailbox_id for m in stores.mailboxes.list_mailboxes(tenant)] == [mailbox]


def test_subscription_checks_client_state_without_a_key(stores: Stores) -> None:
    tenant, sub = new_id(), new_id()
    stores.subscriptions.save(Subscription(tenant, sub, new_id(), WHEN + timedelta(days=3), digest("s3cret-state")))
    got = stores.subscriptions.get(tenant, sub)
    assert got.accepts("s3cret-state") and not got.accepts("s3cret-statf") and not got.accepts("")
    assert "s3cret" not in str(raw(stores, "subscriptions", tenant, sub))
    assert got.expires == WHEN + timedelta(days=3)
    stores.subscriptions.delete(tenant, sub)
    assert stores.subscriptions.get(tenant, sub) is None
    stores.subscriptions.delete(tenant, sub)


def test_delta_links_and_token_caches_are_sealed(stores: Stores) -> None:
    tenant, mailbox = new_id(), new_id()
    link = "https://graph.microsoft.com/v1.0/users/x/calendarView/delta?$deltatoken=abc"
    stores.delta_links.save(tenant, mailbox, link)
    stores.token_caches.save(tenant, mailbox, '{"RefreshToken": {"secret": "rt-123"}}')
    assert stores.delta_links.load(tenant, mailbox) == link
    assert "rt-123" in stores.token_caches.load(tenant, mailbox)
    assert b"deltatoken" not in bytes(raw(stores, "deltalinks", tenant, mailbox)["DeltaLink"])
    stores.delta_links.delete(tenant, mailbox)
    assert stores.delta_links.load(tenant, mailbox) is None


def test_tampered_field_is_an_integrity_error(stores: Stores) -> None:
    tenant, mailbox = new_id(), new_id()
    stores.mailboxes.save(Mailbox(tenant, mailbox, address="alice@contoso.com"))
    client = stores.mailboxes.table.client
    entity = client.get_entity(tenant, mailbox)
    damaged = bytearray(entity["Address"])
    damaged[-1] ^= 1
    entity["Address"] = bytes(damaged)
    client.upsert_entity(entity)
    with pytest.raises(IntegrityError, match="failed authentication"):
        stores.mailboxes.get(tenant, mailbox)


def test_plaintext_put_in_place_of_a_sealed_field_is_refused(stores: Stores) -> None:
    tenant, mailbox = new_id(), new_id()
    stores.mailboxes.save(Mailbox(tenant, mailbox, address="alice@contoso.com"))
    client = stores.mailboxes.table.client
    entity = client.get_entity(tenant, mailbox)
    entity["Address"] = "mallory@evil.example"
    client.upsert_entity(entity)
    with pytest.raises(IntegrityError, match="not a record"):
        stores.mailboxes.get(tenant, mailbox)


def test_a_field_copied_to_another_row_fails(stores: Stores) -> None:
    tenant, alice, bob = new_id(), new_id(), new_id()
    stores.mailboxes.save(Mailbox(tenant, alice, address="alice@contoso.com"))
    stores.mailboxes.save(Mailbox(tenant, bob, address="bob@contoso.com"))
    client = stores.mailboxes.table.client
    bob_row = client.get_entity(tenant, bob)
    bob_row["Address"] = client.get_entity(tenant, alice)["Address"]
    client.upsert_entity(bob_row)
    with pytest.raises(IntegrityError, match="moved from another row"):
        stores.mailboxes.get(tenant, bob)


def test_a_row_copied_to_another_tenant_fails(stores: Stores) -> None:
    tenant_a, tenant_b, mailbox = new_id(), new_id(), new_id()
    stores.mailboxes.save(Mailbox(tenant_a, mailbox, address="alice@contoso.com"))
    stores.mailboxes.save(Mailbox(tenant_b, new_id(), address="someone@fabrikam.com"))
    client = stores.mailboxes.table.client
    copied = dict(client.get_entity(tenant_a, mailbox))
    copied["PartitionKey"] = tenant_b
    client.upsert_entity(copied)
    with pytest.raises(KeyUnavailableError, match="data key not found for this tenant"):
        stores.mailboxes.get(tenant_b, mailbox)
    key_id = stores.keyring.current(tenant_a).key_id
    keys = stores.data_keys.table.client
    stolen_key = dict(keys.get_entity(tenant_a, key_id))
    stolen_key["PartitionKey"] = tenant_b
    keys.upsert_entity(stolen_key)
    with pytest.raises(IntegrityError, match="moved from another row, field or tenant"):
        stores.mailboxes.get(tenant_b, mailbox)


def test_a_field_swapped_between_fields_fails(stores: Stores) -> None:
    tenant, mailbox = new_id(), new_id()
    stores.mailboxes.save(Mailbox(tenant, mailbox, address="alice@contoso.com", display_name="Alice"))
    client = stores.mailboxes.table.client
    entity = client.get_entity(tenant, mailbox)
    entity["Address"], entity["DisplayName"] = entity["DisplayName"], entity["Address"]
    client.upsert_entity(entity)
    with pytest.raises(IntegrityError, match="failed authentication"):
        stores.mailboxes.get(tenant, mailbox)


def test_a_transaction_of_one_keeps_a_transactions_conditions(stores: Stores) -> None:
    """One operation goes as a plain request: the same etag checks, and a delete of a row gone is success."""
    from azure.core import MatchConditions
    from azure.data.tables import UpdateMode

    table, partition = stores.buttons.table, new_id()
    row = {"PartitionKey": partition, "RowKey": "r", "Value": 1}
    assert table.transact([("create", row)]) == 1
    with pytest.raises(ConflictError):
        table.transact([("create", row)])
    etag = table.get(partition, "r")["etag"]
    stale = {"etag": etag, "match_condition": MatchConditions.IfNotModified, "mode": UpdateMode.REPLACE}
    table.transact([("update", row | {"Value": 2}, stale)])
    with pytest.raises(ConflictError):
        table.transact([("update", row | {"Value": 3}, stale)])
    assert table.get(partition, "r")["Value"] == 2
    with pytest.raises(ConflictError):
        table.transact(
            [
                (
                    "delete",
                    {"PartitionKey": partition, "RowKey": "r"},
                    {"etag": etag, "match_condition": MatchConditions.IfNotModified},
                )
            ]
        )
    table.transact([("delete", {"PartitionKey": partition, "RowKey": "r"})])
    assert table.transact([("delete", {"PartitionKey": partition, "RowKey": "r"})]) == 1, "gone already: success"
    assert table.get(partition, "r") is None


def test_presence_rows_seal_the_message_and_read_a_polls_neighbours_with_one_query(stores: Stores) -> None:
    from shared.presence.model import AutoReplies, Presence, PresenceRecord

    tenant, now = new_id(), datetime(2026, 12, 4, 9, 0, tzinfo=timezone.utc)
    ids = sorted(new_id() for _ in range(5))
    for mailbox in ids:
        stores.presence.save(
            PresenceRecord(
                tenant,
                mailbox,
                AutoReplies("alwaysEnabled", message="Away until Monday"),
                Presence(True, now),
                "de-DE",
                "W. Europe Standard Time",
                changed=now,
            )
        )
    raw = stores.presence.table.get(tenant, ids[0])
    assert raw is not None and "Away" not in repr(raw)
    got = stores.presence.get_many(tenant, ids[1:4])
    assert sorted(got) == ids[1:4] and got[ids[2]].replies.message == "Away until Monday"
    assert got[ids[2]].presence == Presence(True, now) and got[ids[2]].language == "de-DE"
    stores.presence.save(got[ids[2]])
    with pytest.raises(ConflictError):
        stores.presence.save(got[ids[2]])
    listed = stores.presence.list_tenant(tenant)
    assert len(listed) == 5 and all(r.replies.message == "" for r in listed), "status pages never open messages"
