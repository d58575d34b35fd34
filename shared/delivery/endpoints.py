"""Endpoints (table ``endpoints``) and their recent delivery attempts (table ``deliveries``).

An endpoint belongs to one mailbox (a room's device, a user's app): partition ``{tenant}|{mailbox}``,
so a delivery lists the mailbox's endpoints with one partition query, and the tenant's status reads
them with one range query. Its URL and secrets are sealed with the tenant's data key; what is left in
clear is state (enabled, failing since, created). Attempts keep time, status and latency only (never
bodies), newest first, for ``RECENT_DAYS``.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from typing import Any

from shared.crypto.fields import FieldCipher
from shared.storage.tables import Entity, Table

MAX_ENDPOINTS = 10
"""Endpoints per mailbox: a room's devices or a user's apps; more is a script gone wrong."""
RECENT_DAYS = 7
_FAR = 10**13


@dataclass(frozen=True)
class Secret:
    """A signing secret, and until when it still signs (None: the current one)."""

    value: str
    until: datetime | None = None


@dataclass(frozen=True)
class Endpoint:
    tenant_id: str
    mailbox_id: str
    endpoint_id: str
    kind: str
    url: str
    secrets: tuple[Secret, ...]
    created: datetime
    enabled: bool = True
    disabled_reason: str | None = None
    failing_since: datetime | None = None
    last_success: datetime | None = None
    etag: str | None = None

    def signing_secrets(self, now: datetime) -> list[str]:
        """The secrets a delivery at ``now`` is signed with: the current one and any still overlapping."""
        return [s.value for s in self.secrets if s.until is None or s.until > now]

    def rotated(self, new_secret: str, *, now: datetime, overlap: timedelta) -> Endpoint:
        """A new current secret; the previous one signs too until ``now + overlap``, older ones are dropped."""
        overlapping = overlap > timedelta(0)
        kept = tuple(replace(s, until=now + overlap) for s in self.secrets if s.until is None and overlapping)
        return replace(self, secrets=(Secret(new_secret), *kept))


def new_endpoint_id() -> str:
    return secrets.token_hex(8)


class EndpointRepository:
    TABLE = "endpoints"
    SEALED = ("Url", "Secrets")

    def __init__(self, table: Table, cipher: FieldCipher) -> None:
        self.table, self.cipher = table, cipher

    def add(self, endpoint: Endpoint) -> None:
        self.table.insert(self._entity(endpoint))

    def save(self, endpoint: Endpoint) -> None:
        """Replace the endpoint over its etag (ConflictError when it changed meanwhile)."""
        self.table.replace(self._entity(endpoint), etag=str(endpoint.etag))

    def get(self, tenant_id: str, mailbox_id: str, endpoint_id: str) -> Endpoint | None:
        row = self.table.get(f"{tenant_id}|{mailbox_id}", endpoint_id)
        return self._endpoint(row) if row else None

    def list_for(self, tenant_id: str, mailbox_id: str) -> list[Endpoint]:
        rows = self.table.query("PartitionKey eq @p", parameters={"p": f"{tenant_id}|{mailbox_id}"})
        return [self._endpoint(row) for row in rows]

    def list_tenant(self, tenant_id: str, *, opened: bool = False) -> list[Endpoint]:
        """Every endpoint of the tenant; URLs and secrets left sealed (empty) unless ``opened``."""
        rows = self.table.query(
            "PartitionKey ge @lo and PartitionKey lt @hi",
            parameters={"lo": f"{tenant_id}|", "hi": f"{tenant_id}}}"},
            select=None
            if opened
            else [
                "PartitionKey",
                "RowKey",
                "Kind",
                "Enabled",
                "DisabledReason",
                "FailingSince",
                "LastSuccess",
                "Created",
            ],
        )
        return [self._endpoint(row, opened=opened) for row in rows]

    def delete(self, tenant_id: str, mailbox_id: str, endpoint_id: str) -> None:
        self.table.delete(f"{tenant_id}|{mailbox_id}", endpoint_id)

    def delete_mailbox(self, tenant_id: str, mailbox_id: str) -> int:
        keys = [
            row["RowKey"]
            for row in self.table.query(
                "PartitionKey eq @p", parameters={"p": f"{tenant_id}|{mailbox_id}"}, select=["RowKey"]
            )
        ]
        return self.table.transact(
            ("delete", {"PartitionKey": f"{tenant_id}|{mailbox_id}", "RowKey": key}) for key in keys
        )

    def _entity(self, endpoint: Endpoint) -> dict[str, Any]:
        entity = {
            "PartitionKey": f"{endpoint.tenant_id}|{endpoint.mailbox_id}",
            "RowKey": endpoint.endpoint_id,
            "Kind": endpoint.kind,
            "Url": endpoint.url,
            "Created": endpoint.created,
            "Secrets": json.dumps([[s.value, s.until.isoformat() if s.until else None] for s in endpoint.secrets]),
            "Enabled": endpoint.enabled,
            "DisabledReason": endpoint.disabled_reason,
            "FailingSince": endpoint.failing_since,
            "LastSuccess": endpoint.last_success,
        }
        return self.cipher.seal_fields(self.TABLE, entity, self.SEALED, tenant_id=endpoint.tenant_id)

    def _endpoint(self, row: Entity, *, opened: bool = True) -> Endpoint:
        tenant_id, _, mailbox_id = str(row["PartitionKey"]).partition("|")
        if opened:
            row = self.cipher.open_fields(self.TABLE, row, self.SEALED, tenant_id=tenant_id)
        held = json.loads(row["Secrets"]) if opened and row.get("Secrets") else []
        return Endpoint(
            tenant_id,
            mailbox_id,
            str(row["RowKey"]),
            str(row.get("Kind") or "user"),
            str(row.get("Url") or "") if opened else "",
            tuple(Secret(value, datetime.fromisoformat(until) if until else None) for value, until in held),
            row["Created"],
            bool(row.get("Enabled", True)),
            row.get("DisabledReason"),
            row.get("FailingSince"),
            row.get("LastSuccess"),
            row.get("etag"),
        )


@dataclass(frozen=True)
class Attempt:
    """One delivery attempt as an admin sees it: never the body."""

    at: datetime
    webhook_id: str
    event_type: str
    attempt: int
    status: int | None
    latency_ms: int
    outcome: str
    """``delivered``, ``failed`` (retried later), ``gave_up`` or ``disabled``."""
    error: str | None = None


class DeliveryLog:
    TABLE = "deliveries"

    def __init__(self, table: Table) -> None:
        self.table = table

    def record(self, tenant_id: str, endpoint_id: str, attempt: Attempt) -> None:
        millis = int(attempt.at.timestamp() * 1000)
        self.table.upsert(
            {
                "PartitionKey": f"{tenant_id}|{endpoint_id}",
                "RowKey": f"{_FAR - millis:013d}|{secrets.token_hex(4)}",
                "At": attempt.at,
                "WebhookId": attempt.webhook_id,
                "Type": attempt.event_type,
                "Attempt": attempt.attempt,
                "Status": attempt.status,
                "LatencyMs": attempt.latency_ms,
                "Outcome": attempt.outcome,
                "Error": attempt.error,
            }
        )

    def recent(self, tenant_id: str, endpoint_id: str, *, limit: int = 50) -> list[Attempt]:
        rows = self.table.query("PartitionKey eq @p", parameters={"p": f"{tenant_id}|{endpoint_id}"}, page_size=limit)
        found: list[Attempt] = []
        for row in rows:
            found.append(
                Attempt(
                    row["At"],
                    str(row["WebhookId"]),
                    str(row["Type"]),
                    int(row["Attempt"]),
                    row.get("Status"),
                    int(row.get("LatencyMs") or 0),
                    str(row["Outcome"]),
                    row.get("Error"),
                )
            )
            if len(found) == limit:
                break
        return found

    def purge_before(self, cutoff: datetime) -> int:
        """Attempts older than ``cutoff`` (the daily timer, ``RECENT_DAYS`` back)."""
        rows = list(
            self.table.query(
                "At lt @cutoff",
                parameters={"cutoff": cutoff.astimezone(timezone.utc)},
                select=["PartitionKey", "RowKey"],
            )
        )
        by_partition: dict[str, list[str]] = {}
        for row in rows:
            by_partition.setdefault(row["PartitionKey"], []).append(row["RowKey"])
        return sum(
            self.table.transact(("delete", {"PartitionKey": p, "RowKey": k}) for k in keys)
            for p, keys in by_partition.items()
        )
