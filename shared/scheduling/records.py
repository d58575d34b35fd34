"""What keyword scheduling created per event, so that every step can be run twice.

One row per organizer event (partition ``tenant|mailbox``, row the event id's digest). The row
is written in state ``creating`` with a fresh idempotency key *before* the platform is called;
``created`` once the platform answered (the meeting is sealed: it holds join details);
``written`` once the event was patched, with the changeKey our PATCH produced. A crash at any
point leaves a row that tells the retry where to resume; a concurrent first attempt loses the
insert (ConflictError) and re-reads.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from typing import Any

from shared.crypto.fields import FieldCipher
from shared.platforms.base import DialIn, PlatformMeeting
from shared.storage.meetings import partition_of
from shared.storage.records import digest
from shared.storage.tables import Entity, Table


@dataclass(frozen=True)
class Scheduling:
    """One event's scheduled meeting and how far its writing got."""

    tenant_id: str
    mailbox_id: str
    event_id: str
    key: str
    keyword: str
    modifier: str | None
    platform: str
    organizer: str = ""
    state: str = "creating"
    meeting: PlatformMeeting | None = None
    start: datetime | None = None
    end: datetime | None = None
    block: str | None = None
    change_key: str | None = None
    etag: str | None = None


class SchedulingRepository:
    """Rows of the ``schedulings`` table; writes are etag-guarded."""

    TABLE = "schedulings"
    SEALED = ("Meeting", "Organizer")

    def __init__(self, table: Table, cipher: FieldCipher) -> None:
        self.table, self.cipher = table, cipher

    def get(self, tenant_id: str, mailbox_id: str, event_id: str) -> Scheduling | None:
        row = self.table.get(partition_of(tenant_id, mailbox_id), digest(event_id)[:32])
        return self._scheduling(tenant_id, mailbox_id, event_id, row) if row else None

    def begin(self, scheduling: Scheduling) -> Scheduling:
        """Record the idempotency key before any platform call (ConflictError if a row exists)."""
        self.table.insert(self._entity(scheduling))
        return self.get(scheduling.tenant_id, scheduling.mailbox_id, scheduling.event_id) or scheduling

    def keep(self, scheduling: Scheduling) -> Scheduling:
        """Write the row whatever is there: for an event an app just created with its meeting, where a retry
        of the same request writes the same row again."""
        self.table.upsert(self._entity(scheduling))
        return self.get(scheduling.tenant_id, scheduling.mailbox_id, scheduling.event_id) or scheduling

    def save(self, scheduling: Scheduling) -> Scheduling:
        """Replace the row over the version read (ConflictError if it changed meanwhile)."""
        if scheduling.etag is None:
            raise ValueError("save needs the etag of the row as read")
        self.table.replace(self._entity(scheduling), etag=scheduling.etag)
        return self.get(scheduling.tenant_id, scheduling.mailbox_id, scheduling.event_id) or scheduling

    def delete(self, tenant_id: str, mailbox_id: str, event_id: str) -> None:
        self.table.delete(partition_of(tenant_id, mailbox_id), digest(event_id)[:32])

    def _entity(self, s: Scheduling) -> dict[str, Any]:
        entity = {
            "PartitionKey": partition_of(s.tenant_id, s.mailbox_id),
            "RowKey": digest(s.event_id)[:32],
            "Key": s.key,
            "Keyword": s.keyword,
            "Modifier": s.modifier,
            "Platform": s.platform,
            "Organizer": s.organizer,
            "State": s.state,
            "StartUtc": s.start,
            "EndUtc": s.end,
            "Block": s.block,
            "ChangeKey": s.change_key,
            "Meeting": json.dumps(asdict(s.meeting)) if s.meeting else None,
        }
        return self.cipher.seal_fields(self.TABLE, entity, self.SEALED, tenant_id=s.tenant_id)

    def _scheduling(self, tenant_id: str, mailbox_id: str, event_id: str, row: Entity) -> Scheduling:
        row = self.cipher.open_fields(self.TABLE, row, self.SEALED, tenant_id=tenant_id)
        return Scheduling(
            tenant_id,
            mailbox_id,
            event_id,
            row["Key"],
            row["Keyword"],
            row.get("Modifier"),
            row["Platform"],
            row.get("Organizer") or "",
            row["State"],
            _meeting(row.get("Meeting")),
            row.get("StartUtc"),
            row.get("EndUtc"),
            row.get("Block"),
            row.get("ChangeKey"),
            row["etag"],
        )


def _meeting(text: str | None) -> PlatformMeeting | None:
    if not text:
        return None
    fields = json.loads(text)
    return replace(
        PlatformMeeting(**{k: v for k, v in fields.items() if k != "dial_in"}),
        dial_in=tuple(DialIn(**d) for d in fields.get("dial_in", [])),
    )
