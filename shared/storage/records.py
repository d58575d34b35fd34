"""Repositories for the small tables: tenants, mailboxes, subscriptions, data keys, delta links,
token caches. Each keeps the key design of :mod:`shared.storage` and seals its sensitive fields.
"""

from __future__ import annotations

import hashlib
import hmac
from itertools import islice
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from shared.crypto.fields import FieldCipher
from shared.crypto.keyring import StoredDataKey
from shared.crypto.providers import WrappedKey
from shared.storage.tables import Entity, Table

TENANTS_PARTITION = "tenant"


def digest(value: str) -> str:
    """SHA-256 hex of a value we must compare or key by but never store (clientState, Graph ids)."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Tenant:
    """A tenant the deployment serves, and the KEK it named (None: the deployment's)."""

    tenant_id: str
    display_name: str | None = None
    cloud: str = "Worldwide"
    kek_provider: str | None = None
    kek_id: str | None = None
    enabled: bool = True
    etag: str | None = None


class TenantRepository:
    """Tenants in one partition: few rows, read by id."""

    TABLE = "tenants"
    SEALED = ("DisplayName",)

    def __init__(self, table: Table, cipher: FieldCipher) -> None:
        self.table, self.cipher = table, cipher

    def save(self, tenant: Tenant) -> None:
        """Write the tenant. A new tenant's KEK choice is stored first, so its first data key is
        wrapped by that KEK; changing the KEK later takes ``KeyRing.rewrap``."""
        entity = {
            "PartitionKey": TENANTS_PARTITION,
            "RowKey": tenant.tenant_id,
            "DisplayName": tenant.display_name,
            "Cloud": tenant.cloud,
            "KekProvider": tenant.kek_provider,
            "KekId": tenant.kek_id,
            "Enabled": tenant.enabled,
        }
        if tenant.etag is None and tenant.kek_provider and self.table.get(TENANTS_PARTITION, tenant.tenant_id) is None:
            self.table.upsert({**entity, "DisplayName": None})
        sealed = self.cipher.seal_fields(self.TABLE, entity, self.SEALED, tenant_id=tenant.tenant_id)
        if tenant.etag:
            self.table.replace(sealed, etag=tenant.etag)
        else:
            self.table.upsert(sealed)

    def get(self, tenant_id: str) -> Tenant | None:
        row = self.table.get(TENANTS_PARTITION, tenant_id)
        if row is None:
            return None
        row = self.cipher.open_fields(self.TABLE, row, self.SEALED, tenant_id=tenant_id)
        return Tenant(
            tenant_id,
            row.get("DisplayName"),
            row.get("Cloud", "Worldwide"),
            row.get("KekProvider"),
            row.get("KekId"),
            bool(row.get("Enabled", True)),
            row["etag"],
        )

    def kek_of(self, tenant_id: str) -> tuple[str, str] | None:
        """The (provider, key id) a tenant named for its own KEK; read without any key."""
        row = self.table.get(TENANTS_PARTITION, tenant_id)
        if row and row.get("KekProvider") and row.get("KekId"):
            return str(row["KekProvider"]), str(row["KekId"])
        return None

    def list_ids(self) -> list[str]:
        rows = self.table.query("PartitionKey eq @p", parameters={"p": TENANTS_PARTITION}, select=["RowKey"])
        return [row["RowKey"] for row in rows]

    def list_unsealed(self) -> list[tuple[str, str, bool]]:
        """(id, cloud, enabled) of every tenant: read without any key, so a shredded tenant is listed too."""
        rows = self.table.query(
            "PartitionKey eq @p", parameters={"p": TENANTS_PARTITION}, select=["RowKey", "Cloud", "Enabled"]
        )
        return [(row["RowKey"], str(row.get("Cloud") or "Worldwide"), bool(row.get("Enabled", True))) for row in rows]

    def delete(self, tenant_id: str) -> None:
        self.table.delete(TENANTS_PARTITION, tenant_id)


@dataclass(frozen=True)
class Mailbox:
    """A user's or room's mailbox the service keeps in sync."""

    tenant_id: str
    mailbox_id: str
    kind: str = "user"
    address: str | None = None
    display_name: str | None = None
    enabled: bool = True
    subscription_id: str | None = None
    last_notification: datetime | None = None
    last_sync: datetime | None = None
    last_error: str | None = None
    etag: str | None = None
    last_warning: str | None = None


class MailboxRepository:
    """Mailboxes of a tenant in the tenant's partition."""

    TABLE = "mailboxes"
    SEALED = ("Address", "DisplayName")

    def __init__(self, table: Table, cipher: FieldCipher) -> None:
        self.table, self.cipher = table, cipher

    def save(self, mailbox: Mailbox) -> None:
        """Write the mailbox; with an etag only over that version (ConflictError otherwise)."""
        entity = {
            "PartitionKey": mailbox.tenant_id,
            "RowKey": mailbox.mailbox_id,
            "Kind": mailbox.kind,
            "Address": mailbox.address,
            "DisplayName": mailbox.display_name,
            "Enabled": mailbox.enabled,
            "SubscriptionId": mailbox.subscription_id,
            "LastNotificationUtc": mailbox.last_notification,
            "LastSyncUtc": mailbox.last_sync,
            "LastError": mailbox.last_error,
            "LastWarning": mailbox.last_warning,
        }
        sealed = self.cipher.seal_fields(self.TABLE, entity, self.SEALED, tenant_id=mailbox.tenant_id)
        if mailbox.etag:
            self.table.replace(sealed, etag=mailbox.etag)
        else:
            self.table.upsert(sealed)

    def get(self, tenant_id: str, mailbox_id: str) -> Mailbox | None:
        row = self.table.get(tenant_id, mailbox_id)
        return self._mailbox(row) if row else None

    def list_ids(self, tenant_id: str) -> list[str]:
        """Ids of the tenant's enabled mailboxes, read without opening any sealed field."""
        rows = self.table.query("PartitionKey eq @t", parameters={"t": tenant_id}, select=["RowKey", "Enabled"])
        return [row["RowKey"] for row in rows if row.get("Enabled", True)]

    def list_enabled(
        self, tenant_id: str, *, kind: str, first: str | None = None, last: str | None = None
    ) -> list[str]:
        """Ids of the tenant's enabled mailboxes of ``kind``, between ``first`` and ``last`` when given, in id
        order, read without opening any sealed field."""
        query, parameters = "PartitionKey eq @t", {"t": tenant_id}
        if first is not None and last is not None:
            query, parameters = query + " and RowKey ge @lo and RowKey le @hi", parameters | {"lo": first, "hi": last}
        rows = self.table.query(query, parameters=parameters, select=["RowKey", "Enabled", "Kind"])
        return [row["RowKey"] for row in rows if row.get("Enabled", True) and row.get("Kind", "user") == kind]

    def list_quiet(self, tenant_id: str, since: datetime) -> list[str]:
        """Enabled mailboxes with neither a notification nor a sync since ``since`` (no sealed field read)."""
        rows = self.table.query(
            "PartitionKey eq @t",
            parameters={"t": tenant_id},
            select=["RowKey", "Enabled", "LastNotificationUtc", "LastSyncUtc"],
        )
        never = datetime.min.replace(tzinfo=timezone.utc)
        return [
            row["RowKey"]
            for row in rows
            if row.get("Enabled", True)
            and max(row.get("LastNotificationUtc") or never, row.get("LastSyncUtc") or never) < since
        ]

    def list_mailboxes(self, tenant_id: str) -> list[Mailbox]:
        return [self._mailbox(row) for row in self.table.query("PartitionKey eq @t", parameters={"t": tenant_id})]

    def delete(self, tenant_id: str, mailbox_id: str) -> None:
        self.table.delete(tenant_id, mailbox_id)

    def _mailbox(self, row: Entity) -> Mailbox:
        row = self.cipher.open_fields(self.TABLE, row, self.SEALED, tenant_id=row["PartitionKey"])
        return Mailbox(
            row["PartitionKey"],
            row["RowKey"],
            row.get("Kind", "user"),
            row.get("Address"),
            row.get("DisplayName"),
            bool(row.get("Enabled", True)),
            row.get("SubscriptionId"),
            row.get("LastNotificationUtc"),
            row.get("LastSyncUtc"),
            row.get("LastError"),
            row["etag"],
            row.get("LastWarning"),
        )


@dataclass(frozen=True)
class Subscription:
    """A Graph change-notification subscription for one mailbox."""

    tenant_id: str
    subscription_id: str
    mailbox_id: str
    expires: datetime
    client_state_hash: str
    etag: str | None = None
    reauthorized: datetime | None = None

    def accepts(self, client_state: str) -> bool:
        """Constant-time check of a notification's clientState against the stored hash."""
        return hmac.compare_digest(digest(client_state), self.client_state_hash)


class SubscriptionRepository:
    """Subscriptions by tenant and id: the webhook's point lookup, with no key needed."""

    TABLE = "subscriptions"

    def __init__(self, table: Table) -> None:
        self.table = table

    def save(self, subscription: Subscription) -> None:
        entity = {
            "PartitionKey": subscription.tenant_id,
            "RowKey": subscription.subscription_id,
            "MailboxId": subscription.mailbox_id,
            "ExpiresUtc": subscription.expires,
            "ClientStateHash": subscription.client_state_hash,
            "ReauthorizedUtc": subscription.reauthorized,
        }
        if subscription.etag:
            self.table.replace(entity, etag=subscription.etag)
        else:
            self.table.upsert(entity)

    def get(self, tenant_id: str, subscription_id: str) -> Subscription | None:
        row = self.table.get(tenant_id, subscription_id)
        return self._subscription(row) if row else None

    def list_subscriptions(self, tenant_id: str) -> list[Subscription]:
        return [self._subscription(r) for r in self.table.query("PartitionKey eq @t", parameters={"t": tenant_id})]

    def delete(self, tenant_id: str, subscription_id: str) -> None:
        self.table.delete(tenant_id, subscription_id)

    @staticmethod
    def _subscription(row: Entity) -> Subscription:
        return Subscription(
            row["PartitionKey"],
            row["RowKey"],
            row["MailboxId"],
            row["ExpiresUtc"],
            row["ClientStateHash"],
            row["etag"],
            row.get("ReauthorizedUtc"),
        )


class DataKeyRepository:
    """Wrapped data keys by tenant (the ``DataKeyStore`` of the key ring)."""

    TABLE = "datakeys"

    def __init__(self, table: Table) -> None:
        self.table = table

    def list_keys(self, tenant_id: str) -> list[StoredDataKey]:
        return [self._key(row) for row in self.table.query("PartitionKey eq @t", parameters={"t": tenant_id})]

    def get_key(self, tenant_id: str, key_id: str) -> StoredDataKey | None:
        row = self.table.get(tenant_id, key_id)
        return self._key(row) if row else None

    def add_key(self, key: StoredDataKey) -> None:
        self.table.insert(self._entity(key))

    def replace_key(self, key: StoredDataKey) -> None:
        """Re-wrapped key: replaced only over the version read (etag)."""
        if key.etag is None:
            raise ValueError("replace_key needs the etag of the key as read")
        self.table.replace(self._entity(key), etag=key.etag)

    def delete_key(self, tenant_id: str, key_id: str) -> None:
        self.table.delete(tenant_id, key_id)

    @staticmethod
    def _entity(key: StoredDataKey) -> dict[str, Any]:
        return {
            "PartitionKey": key.tenant_id,
            "RowKey": key.key_id,
            "Provider": key.wrapped.provider,
            "KekId": key.wrapped.kek_id,
            "Algorithm": key.wrapped.algorithm,
            "Wrapped": key.wrapped.blob,
            "CreatedUtc": key.created,
            "RetireUtc": key.retire_at,
            "DeleteAfterUtc": key.delete_after,
        }

    @staticmethod
    def _key(row: Entity) -> StoredDataKey:
        wrapped = WrappedKey(row["Provider"], row["KekId"], row["Algorithm"], bytes(row["Wrapped"]))
        return StoredDataKey(
            row["PartitionKey"],
            row["RowKey"],
            wrapped,
            row["CreatedUtc"],
            row["RetireUtc"],
            row["DeleteAfterUtc"],
            row["etag"],
        )


class SealedValueRepository:
    """One sealed string per (tenant, id): delta links per mailbox, token caches per user."""

    def __init__(self, table: Table, cipher: FieldCipher, *, field: str) -> None:
        self.table, self.cipher, self.field = table, cipher, field

    def load(self, tenant_id: str, row_id: str) -> str | None:
        row = self.table.get(tenant_id, row_id)
        if row is None:
            return None
        return self.cipher.open_fields(self.table.name, row, (self.field,), tenant_id=tenant_id).get(self.field)

    def save(self, tenant_id: str, row_id: str, value: str) -> None:
        entity = {"PartitionKey": tenant_id, "RowKey": row_id, self.field: value}
        self.table.upsert(self.cipher.seal_fields(self.table.name, entity, (self.field,), tenant_id=tenant_id))

    def delete(self, tenant_id: str, row_id: str) -> None:
        self.table.delete(tenant_id, row_id)


@dataclass(frozen=True)
class DeviceCredential:
    """A room device's credential: scoped to one room of one tenant; only the secret's hash is kept."""

    tenant_id: str
    credential_id: str
    room_id: str
    secret_hash: str
    created: datetime
    revoked: datetime | None = None

    def accepts(self, secret: str) -> bool:
        """Constant-time check of a presented secret against the stored hash."""
        return hmac.compare_digest(digest(secret), self.secret_hash)


class DeviceCredentialRepository:
    """Device credentials by tenant and credential id: one point read per room request."""

    TABLE = "devicecredentials"

    def __init__(self, table: Table) -> None:
        self.table = table

    def add(self, credential: DeviceCredential) -> None:
        self.table.insert(
            {
                "PartitionKey": credential.tenant_id,
                "RowKey": credential.credential_id,
                "RoomId": credential.room_id,
                "SecretHash": credential.secret_hash,
                "CreatedUtc": credential.created,
            }
        )

    def get(self, tenant_id: str, credential_id: str) -> DeviceCredential | None:
        row = self.table.get(tenant_id, credential_id)
        return self._credential(row) if row else None

    def list_credentials(
        self, tenant_id: str, room_id: str | None = None, *, after: str | None = None, limit: int | None = None
    ) -> list[DeviceCredential]:
        """A room's credentials (all of the tenant's without ``room_id``) by id, after the id ``after``, at
        most ``limit``: one query, filtered by the service."""
        query, parameters = "PartitionKey eq @t", {"t": tenant_id}
        if room_id is not None:
            query, parameters = query + " and RoomId eq @r", parameters | {"r": room_id}
        if after is not None:
            query, parameters = query + " and RowKey gt @a", parameters | {"a": after}
        rows = self.table.query(query, parameters=parameters, page_size=min(limit, 1000) if limit else None)
        return [self._credential(row) for row in islice(rows, limit)]

    def count_active(self, tenant_id: str, room_id: str) -> int:
        """Credentials of the room not revoked (one query reading two properties per credential)."""
        rows = self.table.query(
            "PartitionKey eq @t and RoomId eq @r",
            parameters={"t": tenant_id, "r": room_id},
            select=["RowKey", "RevokedUtc"],
        )
        return sum(1 for row in rows if not row.get("RevokedUtc"))

    def revoke(self, tenant_id: str, credential_id: str, when: datetime) -> DeviceCredential | None:
        """Mark the credential revoked (idempotent: the first revocation time is kept); None if unknown."""
        row = self.table.get(tenant_id, credential_id)
        if row is None or row.get("RevokedUtc"):
            return self._credential(row) if row else None
        self.table.replace({**row, "RevokedUtc": when}, etag=row["etag"])
        return self._credential({**row, "RevokedUtc": when})

    @staticmethod
    def _credential(row: Entity) -> DeviceCredential:
        return DeviceCredential(
            row["PartitionKey"],
            row["RowKey"],
            row["RoomId"],
            row["SecretHash"],
            row["CreatedUtc"],
            row.get("RevokedUtc"),
        )


class RunMarks:
    """When each periodic job last ran (table ``timers``), so that it runs once per period across instances.

    A timer may fire on several instances, and more often than its period (the catch-up sweep's timer
    ticks every 15 seconds and its period is a setting); the first to claim a due run wins, over the
    row's etag, and the others do nothing.
    """

    TABLE = "timers"
    PARTITION = "timer"

    def __init__(self, table: Table) -> None:
        self.table = table

    def claim(self, name: str, *, every: timedelta, now: datetime) -> bool:
        """True for the one caller that may run ``name`` now (it had not run within ``every``)."""
        from shared.errors import ConflictError

        row = self.table.get(self.PARTITION, name)
        if row is not None and now - row["LastRunUtc"] < every:
            return False
        entity = {"PartitionKey": self.PARTITION, "RowKey": name, "LastRunUtc": now}
        try:
            if row is None:
                self.table.insert(entity)
            else:
                self.table.replace(entity, etag=row["etag"])
        except ConflictError:
            return False
        return True
