"""What an admin sees of each mailbox: last notification, last sync, last error (its code, never a message).

Status fields share the mailbox row with its identity, so each write is a read and an etag-guarded
replace, tried twice; a write that meets another writer both times is dropped (status is advisory,
and the next event writes it again). The last-notification time is written at most once a minute
per worker: a busy mailbox must not cost a row write per change.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from shared.errors import ConflictError, HybridCalendarError
from shared.storage.records import Mailbox, MailboxRepository

NOTED_EVERY = timedelta(minutes=1)


class MailboxStatus:
    """Writes the status fields of mailbox rows."""

    def __init__(self, mailboxes: MailboxRepository, *, now: Callable[[], datetime]) -> None:
        self.mailboxes, self.now = mailboxes, now
        self._noted: dict[tuple[str, str], datetime] = {}
        self._warned: dict[tuple[str, str], str] = {}
        self._lock = threading.Lock()

    def notified(self, tenant_id: str, mailbox_id: str) -> None:
        now = self.now()
        with self._lock:
            last = self._noted.get((tenant_id, mailbox_id))
            if last is not None and now - last < NOTED_EVERY:
                return
            self._noted[(tenant_id, mailbox_id)] = now
        self.update(tenant_id, mailbox_id, last_notification=now)

    def synced(self, tenant_id: str, mailbox_id: str) -> None:
        self.update(tenant_id, mailbox_id, last_sync=self.now(), last_error=None)

    def failed(self, tenant_id: str, mailbox_id: str, error: BaseException | None) -> None:
        """The error's code on the mailbox (``internal_error`` for an exception that is not ours)."""
        code = error.code if isinstance(error, HybridCalendarError) else HybridCalendarError.code
        self.update(tenant_id, mailbox_id, last_error=code)

    def warned(self, tenant_id: str, mailbox_id: str, code: str) -> None:
        """Something the admin should know that did not stop the work (a zone not known, ...); written only
        when it changes, so a mailbox whose every event has a custom zone costs one write, not one each."""
        with self._lock:
            if self._warned.get((tenant_id, mailbox_id)) == code:
                return
            self._warned[(tenant_id, mailbox_id)] = code
        self.update(tenant_id, mailbox_id, last_warning=code)

    def update(self, tenant_id: str, mailbox_id: str, **changes: Any) -> Mailbox | None:
        """Change status fields; the row as it was before (None when there is no row, or both tries lost)."""
        for _ in range(2):
            mailbox = self.mailboxes.get(tenant_id, mailbox_id)
            if mailbox is None:
                return None
            try:
                self.mailboxes.save(replace(mailbox, **changes))
                return mailbox
            except ConflictError:
                continue
        return None
