"""Presence rows (table ``presence``): partition the tenant, row key the mailbox id.

One row per polled mailbox holds the automatic-reply settings last read (the reply message sealed
with the tenant's data key, like every personal field), the presence they give, the mailbox's
language and time zone, and the last poll error's code. A poll of 20 mailboxes reads their rows
with one query; a row is written only when something in it changed, with the etag it was read
with, so a poll and a timed flip racing on one mailbox cannot both win.
"""

from __future__ import annotations

from collections.abc import Iterable

from shared.crypto.fields import FieldCipher
from shared.presence.model import STATUSES, AutoReplies, Presence, PresenceRecord
from shared.storage.tables import Entity, Table


class PresenceRepository:
    TABLE = "presence"
    SEALED = ("Message",)

    def __init__(self, table: Table, cipher: FieldCipher) -> None:
        self.table, self.cipher = table, cipher

    def get(self, tenant_id: str, mailbox_id: str) -> PresenceRecord | None:
        row = self.table.get(tenant_id, mailbox_id)
        return self._record(row) if row else None

    def get_many(self, tenant_id: str, mailbox_ids: Iterable[str]) -> dict[str, PresenceRecord]:
        """The rows of these mailboxes with one range query from the lowest id to the highest: a poll's
        mailboxes are neighbours in id order (the round sorts them), and a filter of one equality per
        mailbox would pass Tables' limit of 15 comparisons per filter."""
        ids = set(mailbox_ids)
        if not ids:
            return {}
        rows = self.table.query(
            "PartitionKey eq @p and RowKey ge @lo and RowKey le @hi",
            parameters={"p": tenant_id, "lo": min(ids), "hi": max(ids)},
        )
        return {str(row["RowKey"]): self._record(row) for row in rows if row["RowKey"] in ids}

    def list_tenant(self, tenant_id: str, *, errors_only: bool = False) -> list[PresenceRecord]:
        """Every row of the tenant (messages left sealed: the status pages never show them)."""
        query = "PartitionKey eq @p" + (" and Error ne ''" if errors_only else "")
        rows = self.table.query(
            query,
            parameters={"p": tenant_id},
            select=[
                "PartitionKey",
                "RowKey",
                "Status",
                "OutOfOffice",
                "Since",
                "Until",
                "Error",
                "ErrorSince",
                "Changed",
                "Language",
                "TimeZone",
            ],
        )
        return [self._record(row, opened=False) for row in rows]

    def save(self, record: PresenceRecord) -> None:
        """Insert a new row or replace the one read (ConflictError when it changed meanwhile)."""
        entity = self._entity(record)
        if record.etag is None:
            self.table.insert(entity)
        else:
            self.table.replace(entity, etag=record.etag)

    def delete(self, tenant_id: str, mailbox_id: str) -> None:
        self.table.delete(tenant_id, mailbox_id)

    def _entity(self, record: PresenceRecord) -> dict[str, object]:
        replies, presence = record.replies, record.presence
        entity = {
            "PartitionKey": record.tenant_id,
            "RowKey": record.mailbox_id,
            "Status": replies.status,
            "Start": replies.start,
            "End": replies.end,
            "Message": replies.message or None,
            "OutOfOffice": presence.out_of_office,
            "Since": presence.since,
            "Until": presence.until,
            "Language": record.language,
            "TimeZone": record.time_zone,
            "Error": record.error or "",
            "ErrorSince": record.error_since,
            "Changed": record.changed,
        }
        return self.cipher.seal_fields(self.TABLE, entity, self.SEALED, tenant_id=record.tenant_id)

    def _record(self, row: Entity, *, opened: bool = True) -> PresenceRecord:
        tenant_id = str(row["PartitionKey"])
        if opened:
            row = self.cipher.open_fields(self.TABLE, row, self.SEALED, tenant_id=tenant_id)
        status = STATUSES.get(str(row.get("Status") or "disabled").lower(), "disabled")
        replies = AutoReplies(status, row.get("Start"), row.get("End"), str(row.get("Message") or "") if opened else "")
        presence = Presence(bool(row.get("OutOfOffice")), row.get("Since"), row.get("Until"))
        return PresenceRecord(
            tenant_id,
            str(row["RowKey"]),
            replies,
            presence,
            row.get("Language") or None,
            row.get("TimeZone") or None,
            row.get("Error") or None,
            row.get("ErrorSince"),
            row.get("Changed"),
            row.get("etag"),
        )
