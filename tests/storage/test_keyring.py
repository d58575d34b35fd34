"""Data keys per tenant: rotation, caching, KEK re-wrap, expiry, shredding, customer KEKs, outages."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from shared.crypto.keyring import KeyPolicy
from shared.crypto.providers import AwsKmsKeyProvider, CountingKeyProvider, KeyVaultKeyProvider, LocalKeyProvider
from shared.errors import DependencyUnavailableError, KeyUnavailableError
from shared.storage.records import Mailbox, Tenant
from shared.storage.stores import Stores
from tests.fixtures.fakevault import FakeVault, StaticCredential
from tests.storage.conftest import Clock, kms_client, new_id

Make = Callable[..., Stores]


def save_mailbox(stores: Stores, tenant: str, address: str) -> str:
    mailbox = new_id()
    stores.mailboxes.save(Mailbox(tenant, mailbox, address=address))
    return mailbox


def test_new_writes_use_the_newest_key_and_old_rows_stay_readable(stores: Stores, clock: Clock) -> None:
    tenant = new_id()
    first = save_mailbox(stores, tenant, "old@contoso.com")
    old_key = stores.keyring.current(tenant).key_id
    clock.advance(days=31)
    second = save_mailbox(stores, tenant, "new@contoso.com")
    new_key = stores.keyring.current(tenant).key_id
    assert new_key != old_key
    assert [k.key_id for k in sorted(stores.data_keys.list_keys(tenant), key=lambda k: k.created)] == [old_key, new_key]
    assert stores.mailboxes.get(tenant, first).address == "old@contoso.com"
    assert stores.mailboxes.get(tenant, second).address == "new@contoso.com"


def test_key_provider_calls_scale_with_tenants_not_rows(make_stores: Make, settings, tmp_path: Path) -> None:
    from shared.config import local_key_path

    counting = CountingKeyProvider(LocalKeyProvider(local_key_path(settings)))
    writer = make_stores(provider=counting)
    tenants = [new_id() for _ in range(3)]
    rows = [(t, save_mailbox(writer, t, f"user{i}@contoso.com")) for t in tenants for i in range(10)]
    assert (counting.wraps, counting.unwraps) == (3, 0)
    reader_counting = CountingKeyProvider(LocalKeyProvider(local_key_path(settings)))
    reader = make_stores(provider=reader_counting)
    assert all(reader.mailboxes.get(t, m).address for t, m in rows)
    assert (reader_counting.wraps, reader_counting.unwraps) == (0, 3)
    assert (writer.keyring.providers.calls(), reader.keyring.providers.calls()) == (
        {"wraps": 3, "unwraps": 0},
        {"wraps": 0, "unwraps": 3},
    ), "what /api/health reports for each process"


def test_cache_lifetime_is_bounded(make_stores: Make, settings) -> None:
    from shared.config import local_key_path

    writer = make_stores()
    tenant = new_id()
    mailbox = save_mailbox(writer, tenant, "a@contoso.com")
    counting = CountingKeyProvider(LocalKeyProvider(local_key_path(settings)))
    seconds = [0.0]
    reader = make_stores(provider=counting, policy=KeyPolicy(cache_seconds=60), clock=lambda: seconds[0])
    reader.mailboxes.get(tenant, mailbox)
    seconds[0] = 59.0
    reader.mailboxes.get(tenant, mailbox)
    assert counting.unwraps == 1
    seconds[0] = 61.0
    reader.mailboxes.get(tenant, mailbox)
    assert counting.unwraps == 2


def test_expired_keys_are_deleted_and_their_data_is_unreadable(make_stores: Make, stores: Stores, clock: Clock) -> None:
    tenant = new_id()
    mailbox = save_mailbox(stores, tenant, "gone@contoso.com")
    clock.advance(days=30 + 38 + 7 - 1)
    assert make_stores().mailboxes.get(tenant, mailbox).address == "gone@contoso.com"
    clock.advance(days=1)
    with pytest.raises(KeyUnavailableError, match="expired"):
        make_stores().mailboxes.get(tenant, mailbox)
    assert stores.keyring.purge_expired(tenant) == 1
    with pytest.raises(KeyUnavailableError, match="not found"):
        make_stores().mailboxes.get(tenant, mailbox)


def test_kept_keys_survive_purge(stores: Stores, clock: Clock) -> None:
    tenant = new_id()
    save_mailbox(stores, tenant, "a@contoso.com")
    clock.advance(days=40)
    save_mailbox(stores, tenant, "b@contoso.com")
    assert stores.keyring.purge_expired(tenant) == 0
    assert len(stores.data_keys.list_keys(tenant)) == 2


def test_shredding_makes_the_tenant_unreadable_at_once(make_stores: Make, stores: Stores) -> None:
    tenant, other = new_id(), new_id()
    mailbox = save_mailbox(stores, tenant, "leaving@contoso.com")
    kept = save_mailbox(stores, other, "staying@fabrikam.com")
    assert stores.keyring.shred(tenant) == 1
    for view in (stores, make_stores()):
        with pytest.raises(KeyUnavailableError, match="shredded"):
            view.mailboxes.get(tenant, mailbox)
    assert stores.mailboxes.get(other, kept).address == "staying@fabrikam.com"


def test_kek_rotation_rewraps_every_key_without_touching_data(make_stores: Make, settings, clock: Clock) -> None:
    from shared.config import local_key_path

    provider = LocalKeyProvider(local_key_path(settings))
    stores = make_stores(provider=provider)
    tenant = new_id()
    first = save_mailbox(stores, tenant, "a@contoso.com")
    clock.advance(days=31)
    second = save_mailbox(stores, tenant, "b@contoso.com")
    rows_before = [dict(e) for e in stores.mailboxes.table.client.query_entities(f"PartitionKey eq '{tenant}'")]
    new_kek = provider.rotate()
    assert stores.keyring.rewrap(tenant) == 2
    assert {k.wrapped.kek_id for k in stores.data_keys.list_keys(tenant)} == {new_kek}
    rows_after = [dict(e) for e in stores.mailboxes.table.client.query_entities(f"PartitionKey eq '{tenant}'")]
    assert rows_after == rows_before
    fresh = make_stores(provider=provider)
    assert (fresh.mailboxes.get(tenant, first).address, fresh.mailboxes.get(tenant, second).address) == (
        "a@contoso.com",
        "b@contoso.com",
    )
    assert stores.keyring.rewrap(tenant) == 0


def test_a_tenant_can_bring_its_own_kek(make_stores: Make, kms_endpoint: str) -> None:
    client = kms_client(kms_endpoint)
    arn = client.describe_key(KeyId=client.create_key()["KeyMetadata"]["KeyId"])["KeyMetadata"]["Arn"]
    factories = {"awskms": lambda key_id: AwsKmsKeyProvider(key_id, client=client)}
    stores = make_stores(factories=factories)
    tenant, other = new_id(), new_id()
    stores.tenants.save(Tenant(tenant, "Byok Corp", kek_provider="awskms", kek_id=arn))
    mailbox = save_mailbox(stores, tenant, "cfo@byok.example")
    save_mailbox(stores, other, "x@contoso.com")
    wrapped = {k.tenant_id: k.wrapped for t in (tenant, other) for k in stores.data_keys.list_keys(t)}
    assert (wrapped[tenant].provider, wrapped[tenant].kek_id) == ("awskms", arn)
    assert wrapped[other].provider == "local"
    reader = make_stores(factories=factories)
    assert reader.mailboxes.get(tenant, mailbox).address == "cfo@byok.example"
    with Stubbed(client, "decrypt", "DisabledException"):
        fresh = make_stores(factories=factories)
        with pytest.raises(KeyUnavailableError, match="DisabledException"):
            fresh.mailboxes.get(tenant, mailbox)


class Stubbed:
    """botocore's Stubber for one error (moto does not enforce key state)."""

    def __init__(self, client, operation: str, code: str) -> None:
        from botocore.stub import Stubber

        self.stubber = Stubber(client)
        self.stubber.add_client_error(operation, service_error_code=code, http_status_code=400)

    def __enter__(self) -> None:
        self.stubber.activate()

    def __exit__(self, *exc: object) -> None:
        self.stubber.deactivate()


def test_provider_outage_spares_cached_tenants_and_writes_nothing_for_others(make_stores: Make) -> None:
    vault = FakeVault().__enter__()
    vault.state.add("kek", "oct")
    provider = KeyVaultKeyProvider(f"{vault.url}/keys/kek", credential=StaticCredential(), **vault.client_options())
    stores = make_stores(provider=provider)
    cached, uncached = new_id(), new_id()
    save_mailbox(stores, cached, "a@contoso.com")
    other = make_stores(provider=provider)
    mailbox = save_mailbox(other, uncached, "b@fabrikam.com")
    vault.stop()
    written = save_mailbox(stores, cached, "still-works@contoso.com")
    assert stores.mailboxes.get(cached, written).address == "still-works@contoso.com"
    with pytest.raises(DependencyUnavailableError, match="key provider unavailable"):
        stores.mailboxes.get(uncached, mailbox)
    newcomer = new_id()
    with pytest.raises(DependencyUnavailableError):
        save_mailbox(stores, newcomer, "c@example.org")
    assert stores.mailboxes.list_mailboxes(newcomer) == [] and stores.data_keys.list_keys(newcomer) == []
