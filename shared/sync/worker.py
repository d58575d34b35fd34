"""What the queue triggers do with a message: read it, apply each reference, and decide the message's fate.

A message holds one reference, or several of one mailbox. Each is applied in order and its
failure, if any, decides (:func:`disposition`):

* **retry** — a transient failure (storage or Graph down, an unknown exception): the handler
  raises, the host makes the message visible again and after ``maxDequeueCount`` attempts moves it
  to ``<queue>-poison``. References already applied cost nothing the second time (their
  changeKey is held).
* **defer** — Graph is throttling the mailbox (429, ``MailboxConcurrency`` included) beyond the
  client's own retries: what is left of the message is sent again, visible after the Retry-After,
  and this one completes. Throttling is expected, not a failure, so it uses no attempt; after
  ``MAX_DEFERRALS`` in a row the message is retried as a failure instead.
* **drop** — a permanent or auth failure (access policy, mailbox gone, consent): recorded on the
  mailbox, where the tenant status shows it; only that reference is dropped.
* **poison** — input that can never succeed (not a reference, a validation error): the message
  goes to ``<queue>-poison`` at once, intact, for inspection, not through five attempts.

The changes of a message are first applied together, with those of every other message of the
same mailbox being applied at that moment (``shared.sync.combine``, then
``ChangeApplier.apply_many``); only what that leaves goes one at a time.
"""

from __future__ import annotations

import enum
import logging
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from shared.errors import HybridCalendarError, QueueOutcome, ThrottledError, ValidationError, queue_outcome
from shared.logs import describe_exception, describe_outcome
from shared.storage.queues import QueueWriter, parse_references, references_message
from shared.sync.combine import Combiner
from shared.sync.engine import RECOVERY_SPREAD, SyncEngine
from shared.sync.messages import ChangeRef, JobKind, JobRef, LifecycleEvent, LifecycleRef, Outcome
from shared.telemetry import CHANGE_LAG, REFERENCES_HANDLED, lag_seconds, telemetry

log = logging.getLogger("hybridcalendar.sync")
MAX_ATTEMPTS = 5
"""host.json ``queues.maxDequeueCount``: the attempt after which a failing message goes to the poison queue."""
MAX_DEFERRALS = 10
MAX_DEFER_SECONDS = 600
T = TypeVar("T")


class Disposition(enum.Enum):
    RETRY = "retry"
    DEFER = "defer"
    DROP = "drop"
    POISON = "poison"


def disposition(error: BaseException) -> Disposition:
    """The fate of a message whose reference failed with ``error``."""
    if isinstance(error, ThrottledError):
        return Disposition.DEFER
    return {
        QueueOutcome.RETRY: Disposition.RETRY,
        QueueOutcome.DROP: Disposition.DROP,
        QueueOutcome.POISON: Disposition.POISON,
    }[queue_outcome(error)]


@dataclass(frozen=True)
class Delivery:
    """A message as the queue trigger got it."""

    queue: str
    message_id: str
    text: str
    dequeue_count: int = 1


class QueueWorker:
    """Runs the sync queues' messages against the engine."""

    def __init__(self, engine: SyncEngine, queues: QueueWriter) -> None:
        self.engine, self.queues = engine, queues
        self.combiner = Combiner(engine.apply_changes)

    def changes(self, delivery: Delivery) -> Counter[str]:
        return self._run(delivery, ChangeRef.parse, self.engine.apply_change, together=self._together)

    def lifecycle(self, delivery: Delivery) -> Counter[str]:
        return self._run(delivery, LifecycleRef.parse, self._lifecycle)

    def jobs(self, delivery: Delivery) -> Counter[str]:
        return self._run(delivery, JobRef.parse, lambda job: self._job(job, delivery.dequeue_count))

    def buttons(self, delivery: Delivery) -> Counter[str]:
        """A Join-button timeline message (``shared.timeline``): show or withdraw, version-checked."""
        from shared.timeline.timeline import parse_fields

        timeline = self.engine.timeline
        if timeline is None:
            raise RuntimeError("the engine has no Join-button timeline")
        return self._run(delivery, parse_fields, lambda item: timeline.handle(*item))

    def presence(self, delivery: Delivery) -> Counter[str]:
        """A presence poll of up to 20 mailboxes, or a scheduled window's timed flip (``shared.presence``)."""
        from shared.presence.service import PresenceRef

        presence = self.engine.presence
        if presence is None:
            raise RuntimeError("the engine has no presence service")
        return self._run(delivery, PresenceRef.parse, presence.handle, together=presence.handle_together)

    def deliveries(self, delivery: Delivery) -> Counter[str]:
        """A waiting outgoing webhook's next attempt (``shared.delivery``)."""
        from shared.delivery.deliver import RetryRef

        timeline = self.engine.timeline
        if timeline is None:
            raise RuntimeError("the engine has no deliverer")
        counts: Counter[str] = Counter()
        try:
            ref = RetryRef.parse(delivery.text)
            counts[timeline.deliverer.retry(ref)] += 1
        except Exception as error:  # the same fates as a reference's failure
            if disposition(error) is Disposition.POISON:
                self._poison(delivery, error)
                counts["poisoned"] += 1
                return counts
            if disposition(error) is Disposition.DROP:
                log.warning("%s message %s dropped: %s", delivery.queue, delivery.message_id, describe_exception(error))
                counts["dropped"] += 1
                return counts
            raise
        return self._logged(delivery, counts)

    # dispatch -----------------------------------------------------------------------------------

    def _lifecycle(self, event: LifecycleRef) -> object:
        engine = self.engine
        if event.event is LifecycleEvent.REAUTHORIZATION_REQUIRED:
            return engine.reauthorize(event.tenant_id, event.mailbox_id, event.subscription_id)
        if event.event is LifecycleEvent.SUBSCRIPTION_REMOVED:
            engine.resubscribe(event.tenant_id, event.mailbox_id, event.subscription_id)
            return Outcome.DONE
        return engine.catch_up(event.tenant_id, event.mailbox_id, fresh=True)

    def _job(self, job: JobRef, attempt: int) -> object:
        engine, tenant, mailbox = self.engine, job.tenant_id, job.mailbox_id or ""
        if job.kind is JobKind.ENABLE:
            if job.operation:
                return engine.enable_item(
                    tenant,
                    mailbox,
                    kind=job.mailbox_kind,
                    operation_id=job.operation,
                    last_attempt=attempt >= MAX_ATTEMPTS,
                )
            return engine.enable(tenant, mailbox, kind=job.mailbox_kind)
        actions: dict[JobKind, Callable[[], object]] = {
            JobKind.DISABLE: lambda: engine.disable(tenant, mailbox),
            JobKind.RENEW: lambda: engine.renew_due(tenant),
            JobKind.RECONCILE: lambda: engine.reconcile(tenant),
            JobKind.CATCHUP: lambda: engine.catch_up(tenant, mailbox, fresh=True),
            JobKind.RESUME: lambda: engine.catch_up(tenant, mailbox),
            JobKind.SWEEP: lambda: engine.sweep(tenant, within=RECOVERY_SPREAD if job.recover else None),
            JobKind.PURGE: lambda: engine.purge(tenant, mailbox),
        }
        return actions[job.kind]()

    def _together(self, changes: list[ChangeRef]) -> tuple[list[Outcome], list[ChangeRef]]:
        batch = self.combiner.apply(changes)
        return batch.outcomes, batch.left

    # the policy ---------------------------------------------------------------------------------

    def _run(
        self,
        delivery: Delivery,
        parse: Callable[[Mapping[str, str]], T],
        handle: Callable[[T], object],
        *,
        together: Callable[[list[T]], tuple[list[Outcome], list[T]]] | None = None,
    ) -> Counter[str]:
        """Apply a message's references in a span that continues the trace of the request that queued the first
        (the others linked), then count the outcomes."""
        counts: Counter[str] = Counter()
        try:
            raw = parse_references(delivery.text)
            items: list[tuple[Mapping[str, str], T]] = [(fields, parse(fields)) for fields in raw]
        except ValidationError as error:
            self._poison(delivery, error)
            counts["poisoned"] += 1
            return _measured(delivery, counts)
        traces = list(dict.fromkeys(fields["traceparent"] for fields, _ in items if fields.get("traceparent")))
        tenants = {getattr(item, "tenant_id", None) for _, item in items}
        with telemetry().span(
            f"process {delivery.queue}",
            kind="consumer",
            parent=traces[0] if traces else None,
            links=traces[1:],
            tenant_id=tenants.pop() if len(tenants) == 1 else None,
            attributes={
                "messaging.destination.name": delivery.queue,
                "messaging.message.id": delivery.message_id,
                "messaging.batch.message_count": len(items),
                "messaging.message.delivery_count": delivery.dequeue_count,
            },
        ):
            self._apply(delivery, items, handle, together, counts)
            return self._logged(delivery, counts)

    def _apply(
        self,
        delivery: Delivery,
        items: list[tuple[Mapping[str, str], T]],
        handle: Callable[[T], object],
        together: Callable[[list[T]], tuple[list[Outcome], list[T]]] | None,
        counts: Counter[str],
    ) -> None:
        first = getattr(items[0][1], "mailbox", None) if items else None
        if together is not None and items and all(getattr(item, "mailbox", None) == first for _, item in items):
            items = self._apply_together(delivery, items, together, counts)
        for position, (fields, item) in enumerate(items):
            try:
                outcome = handle(item)
            except Exception as error:  # each failure is disposed of below; nothing is swallowed silently
                fate = disposition(error)
                if fate is Disposition.DROP:
                    self._drop(delivery, item, error, counts)
                    continue
                if fate is Disposition.POISON:
                    self._poison(delivery, error)
                    counts["poisoned"] += 1
                    return
                if fate is Disposition.DEFER and self._defer(delivery, [f for f, _ in items[position:]], error):
                    counts[Outcome.DEFERRED.value] += len(items) - position
                    return
                raise
            _lag(fields, outcome)
            counts[describe_outcome(outcome.value if isinstance(outcome, Outcome) else outcome)] += 1

    def _apply_together(
        self,
        delivery: Delivery,
        items: list[tuple[Mapping[str, str], T]],
        together: Callable[[list[T]], tuple[list[Outcome], list[T]]],
        counts: Counter[str],
    ) -> list[tuple[Mapping[str, str], T]]:
        """Apply what can be applied at once; the references left, one at a time. An error that drops work
        is left to meet each reference on its own, where it is recorded as for a lone one."""
        try:
            outcomes, left = together([item for _, item in items])
        except HybridCalendarError as error:
            if disposition(error) is not Disposition.DROP:
                raise
            log.warning(
                "%s message %s: applying together failed, one at a time now: %s",
                delivery.queue,
                delivery.message_id,
                describe_exception(error),
            )
            return items
        counts.update(outcome.value for outcome in outcomes)
        kept = {id(item) for item in left}
        applied = [fields for fields, item in items if id(item) not in kept]
        if len(applied) == len(outcomes):
            for fields, outcome in zip(applied, outcomes):
                _lag(fields, outcome)
        return [(fields, item) for fields, item in items if id(item) in kept]

    def _drop(self, delivery: Delivery, item: Any, error: Exception, counts: Counter[str]) -> None:
        mailbox = getattr(item, "mailbox_id", None)
        if mailbox:
            self.engine.record_failure(item.tenant_id, mailbox, error)
        counts[Outcome.DROPPED.value] += 1
        log.warning(
            "%s message %s: a reference dropped: %s", delivery.queue, delivery.message_id, describe_exception(error)
        )

    def _defer(self, delivery: Delivery, left: list[Mapping[str, str]], error: BaseException) -> bool:
        """Send what is left again, visible after the Retry-After; False once deferred too often in a row."""
        deferred = max(int(fields.get("deferred", "0") or 0) for fields in left) + 1
        if deferred > MAX_DEFERRALS:
            return False
        seconds = int(min(max(getattr(error, "retry_after", None) or 1.0, 1.0), MAX_DEFER_SECONDS))
        again = [{**fields, "deferred": str(deferred)} for fields in left]
        self.queues.send_text(delivery.queue, references_message(again), delay_seconds=seconds)
        log.info(
            "%s message %s: %d reference(s) deferred %d s (throttled, deferral %d)",
            delivery.queue,
            delivery.message_id,
            len(left),
            seconds,
            deferred,
        )
        return True

    def _poison(self, delivery: Delivery, error: BaseException) -> None:
        """The message, intact, to ``<queue>-poison`` now; it can never succeed."""
        self.queues.send_text(f"{delivery.queue}-poison", delivery.text)
        log.warning(
            "%s message %s moved to %s-poison: %s",
            delivery.queue,
            delivery.message_id,
            delivery.queue,
            describe_exception(error),
        )

    @staticmethod
    def _logged(delivery: Delivery, counts: Counter[str]) -> Counter[str]:
        log.info(
            "%s message %s: %s",
            delivery.queue,
            delivery.message_id,
            ", ".join(f"{n} {word}" for word, n in sorted(counts.items())) or "nothing",
        )
        return _measured(delivery, counts)


def _measured(delivery: Delivery, counts: Counter[str]) -> Counter[str]:
    recorder = telemetry()
    for word, n in counts.items():
        recorder.record(REFERENCES_HANDLED, n, queue=delivery.queue, outcome=word)
    return counts


def _lag(fields: Mapping[str, str], outcome: object) -> None:
    """Receipt to row: recorded for a change whose row was stored or deleted."""
    if outcome in (Outcome.STORED, Outcome.DELETED):
        seconds = lag_seconds(fields.get("received"))
        if seconds is not None:
            telemetry().record(CHANGE_LAG, seconds)
