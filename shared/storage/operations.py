"""Bulk operations an admin started (enable thousands of mailboxes), and each item's result.

A bulk request answers 202 at once and its items run as queue jobs, so the admin needs somewhere
to see progress and which items failed and why: a header row per operation (its size and when it
started) and a result row per item, written by the job that ran it (an upsert: a redelivered job
rewrites the same row). Pending is the size minus the results. Rows hold ids, states and error
codes only, never an address; they are purged with the retention window.

Keys: PartitionKey is the tenant; the header is ``o|{operation}`` and the results
``i|{operation}|{mailbox}``, so an operation's results are one range query.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from shared.storage.tables import Table

STATES = ("enabled", "retrying", "failed")


@dataclass(frozen=True)
class Operation:
    """One bulk request: ``total`` items, started at ``created``."""

    tenant_id: str
    operation_id: str
    kind: str
    total: int
    created: datetime


@dataclass(frozen=True)
class ItemResult:
    """What became of one item: ``enabled``, ``retrying`` (a transient failure, tried again) or ``failed``."""

    mailbox_id: str
    kind: str
    state: str
    error: str | None
    finished: datetime


@dataclass(frozen=True)
class OperationStatus:
    operation: Operation
    results: tuple[ItemResult, ...]

    def counts(self) -> dict[str, int]:
        done = {state: sum(r.state == state for r in self.results) for state in STATES}
        finished = done["enabled"] + done["failed"]
        return {
            "total": self.operation.total,
            "succeeded": done["enabled"],
            "failed": done["failed"],
            "retrying": done["retrying"],
            "pending": max(self.operation.total - finished, 0),
        }

    @property
    def complete(self) -> bool:
        return self.counts()["pending"] == 0


def new_operation_id(now: datetime) -> str:
    """Sortable by start time, unguessable enough not to collide: ``20261204T150102-1a2b3c4d``."""
    return now.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%S") + "-" + secrets.token_hex(4)


class OperationRepository:
    """Bulk operations by tenant: create, record an item's result, read the whole."""

    TABLE = "operations"

    def __init__(self, table: Table) -> None:
        self.table = table

    def create(self, operation: Operation) -> None:
        self.table.insert(
            {
                "PartitionKey": operation.tenant_id,
                "RowKey": f"o|{operation.operation_id}",
                "Kind": operation.kind,
                "Total": operation.total,
                "CreatedUtc": operation.created,
            }
        )

    def record(self, tenant_id: str, operation_id: str, result: ItemResult) -> None:
        """Write an item's result (idempotent: the last run of a job wins)."""
        self.table.upsert(
            {
                "PartitionKey": tenant_id,
                "RowKey": f"i|{operation_id}|{result.mailbox_id}",
                "MailboxId": result.mailbox_id,
                "Kind": result.kind,
                "State": result.state,
                "Error": result.error,
                "FinishedUtc": result.finished,
            }
        )

    def get(self, tenant_id: str, operation_id: str) -> OperationStatus | None:
        header = self.table.get(tenant_id, f"o|{operation_id}")
        if header is None:
            return None
        operation = Operation(
            tenant_id, operation_id, header.get("Kind", "enable"), int(header["Total"]), header["CreatedUtc"]
        )
        rows = self.table.query(
            "PartitionKey eq @t and RowKey gt @lo and RowKey lt @hi",
            parameters={"t": tenant_id, "lo": f"i|{operation_id}|", "hi": f"i|{operation_id}}}"},
        )
        return OperationStatus(operation, tuple(_result(row) for row in rows))

    def purge_before(self, tenant_id: str, cutoff: datetime) -> int:
        """Operations started before ``cutoff``, header and results; the number of rows removed."""
        stamp = cutoff.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%S")
        old = [
            row["RowKey"][2:]
            for row in self.table.query(
                "PartitionKey eq @t and RowKey ge 'o|' and RowKey lt @hi",
                parameters={"t": tenant_id, "hi": f"o|{stamp}"},
                select=["RowKey"],
            )
        ]
        removed = 0
        for operation_id in old:
            keys = [
                row["RowKey"]
                for row in self.table.query(
                    "PartitionKey eq @t and RowKey gt @lo and RowKey lt @hi",
                    select=["RowKey"],
                    parameters={"t": tenant_id, "lo": f"i|{operation_id}|", "hi": f"i|{operation_id}}}"},
                )
            ]
            removed += self.table.transact(_deletes(tenant_id, [*keys, f"o|{operation_id}"]))
        return removed


def _deletes(tenant_id: str, keys: Iterable[str]) -> Iterable[tuple[str, dict[str, Any]]]:
    return (("delete", {"PartitionKey": tenant_id, "RowKey": key}) for key in keys)


def _result(row: dict[str, Any]) -> ItemResult:
    return ItemResult(row["MailboxId"], row.get("Kind", "user"), row["State"], row.get("Error"), row["FinishedUtc"])
