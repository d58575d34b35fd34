"""Button rows (table ``buttons``): partition ``{tenant}|{mailbox}``, row key the occurrence's part of
its meeting row key. No personal data: times, versions (digests), the shared meeting id and the row
that holds the meeting; what a push shows is read from the sealed meeting row when it is pushed."""

from __future__ import annotations

from collections.abc import Iterable

from shared.storage.tables import Entity, Operation, Table
from shared.timeline.buttons import Button


class ButtonRepository:
    TABLE = "buttons"

    def __init__(self, table: Table) -> None:
        self.table = table

    def get(self, tenant_id: str, mailbox_id: str, key: str) -> Button | None:
        row = self.table.get(f"{tenant_id}|{mailbox_id}", key)
        return _button(row) if row else None

    def for_event(self, tenant_id: str, mailbox_id: str, event_key: str) -> dict[str, Button]:
        rows = self.table.query(
            "PartitionKey eq @p and EventKey eq @e", parameters={"p": f"{tenant_id}|{mailbox_id}", "e": event_key}
        )
        return {button.key: button for button in map(_button, rows)}

    def for_mailbox(self, tenant_id: str, mailbox_id: str) -> dict[str, Button]:
        rows = self.table.query("PartitionKey eq @p", parameters={"p": f"{tenant_id}|{mailbox_id}"})
        return {button.key: button for button in map(_button, rows)}

    def write(self, tenant_id: str, mailbox_id: str, save: Iterable[Button], delete: Iterable[Button]) -> None:
        """Saves and deletes in one transaction, each over the etag read (ConflictError: read and plan again)."""
        from azure.core import MatchConditions
        from azure.data.tables import UpdateMode

        partition = f"{tenant_id}|{mailbox_id}"
        operations: list[Operation] = []
        for button in save:
            entity = _entity(partition, button)
            operations.append(
                ("create", entity)
                if button.etag is None
                else (
                    "update",
                    entity,
                    {"etag": button.etag, "match_condition": MatchConditions.IfNotModified, "mode": UpdateMode.REPLACE},
                )
            )
        for button in delete:
            operations.append(
                (
                    "delete",
                    {"PartitionKey": partition, "RowKey": button.key},
                    {"etag": button.etag, "match_condition": MatchConditions.IfNotModified},
                )
            )
        if operations:
            self.table.transact(operations)

    def delete_mailbox(self, tenant_id: str, mailbox_id: str) -> int:
        partition = f"{tenant_id}|{mailbox_id}"
        keys = [
            row["RowKey"]
            for row in self.table.query("PartitionKey eq @p", parameters={"p": partition}, select=["RowKey"])
        ]
        return self.table.transact(("delete", {"PartitionKey": partition, "RowKey": key}) for key in keys)


def _entity(partition: str, button: Button) -> dict[str, object]:
    return {
        "PartitionKey": partition,
        "RowKey": button.key,
        "EventKey": button.event_key,
        "Version": button.version,
        "ShowAt": button.show_at,
        "EndAt": button.end_at,
        "MeetingId": button.meeting_id,
        "MeetingRow": button.meeting_row,
        "Shown": button.shown,
        "ShownMeeting": button.shown_meeting,
    }


def _button(row: Entity) -> Button:
    return Button(
        str(row["RowKey"]),
        str(row["EventKey"]),
        str(row.get("Version") or ""),
        row["ShowAt"],
        row["EndAt"],
        str(row["MeetingId"]),
        str(row["MeetingRow"]),
        str(row.get("Shown") or ""),
        str(row.get("ShownMeeting") or ""),
        row.get("etag"),
    )
