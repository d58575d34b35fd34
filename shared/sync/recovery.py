"""The webhook front's memory of what it failed to queue, paid back as soon as storage answers again.

When a notification cannot be queued (storage unreachable), the front answers 503 and Graph
delivers again, for a while; an outage longer than Graph's retries loses the notifications. So
the front owes a delta round to every mailbox whose references it could not write, and to every
tenant whose notifications it could not even verify (the subscription lookup needs storage too),
and the first webhook POST that queues successfully afterwards queues those rounds: a resume job
per mailbox, and a recovery sweep per tenant (its rounds spread over a minute). Owed tenants are
only paid for if this deployment serves them (a sweep of an unknown tenant finds no mailbox).

The memory is per process and bounded (``HELD`` of each); what a crash forgets, the periodic sweep
(``HC_CATCHUP_MINUTES``) restores anyway.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping

from shared.storage.queues import QueueWriter
from shared.sync.catchup import spread_delay
from shared.sync.engine import RECOVERY_SPREAD
from shared.sync.messages import JOBS_QUEUE, JobKind, JobRef

HELD = 10_000


class Recovery:
    """Owed rounds of one front process (thread-safe)."""

    def __init__(self, writer: QueueWriter) -> None:
        self.writer = writer
        self._mailboxes: set[tuple[str, str]] = set()
        self._tenants: set[str] = set()
        self._lock = threading.Lock()

    @property
    def owing(self) -> bool:
        return bool(self._mailboxes or self._tenants)

    def owe_mailboxes(self, references: Iterable[Mapping[str, str]]) -> None:
        with self._lock:
            for reference in references:
                if len(self._mailboxes) < HELD and reference.get("mailbox_id"):
                    self._mailboxes.add((reference["tenant_id"], reference["mailbox_id"]))

    def owe_tenants(self, tenants: Iterable[str]) -> None:
        with self._lock:
            for tenant in tenants:
                if len(self._tenants) < HELD:
                    self._tenants.add(tenant.lower())

    def settle(self) -> int:
        """Queue every owed round (what fails to queue stays owed); the number of jobs queued."""
        with self._lock:
            mailboxes, tenants = self._mailboxes, self._tenants
            self._mailboxes, self._tenants = set(), set()
        jobs = [
            (JobRef(tenant, JobKind.RESUME, mailbox), spread_delay(mailbox, RECOVERY_SPREAD))
            for tenant, mailbox in sorted(mailboxes)
        ]
        jobs += [(JobRef(tenant, JobKind.SWEEP, recover=True), 0) for tenant in sorted(tenants)]
        sent = 0
        try:
            for job, delay in jobs:
                self.writer.send(JOBS_QUEUE, job.fields(), delay_seconds=delay or None)
                sent += 1
        finally:
            unsent = jobs[sent:]
            self.owe_mailboxes(job.fields() for job, _ in unsent if job.mailbox_id)
            self.owe_tenants(job.tenant_id for job, _ in unsent if job.kind is JobKind.SWEEP)
        return sent
