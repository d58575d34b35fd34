"""Queue triggers of the sync engine: changes, lifecycle events, mailbox and tenant jobs.

Each message holds one reference, or several of one mailbox (the webhook's group commit); the
handler calls one engine entry point per reference, in order, and maps errors with
``queue_outcome``: permanent and auth errors are recorded on the mailbox and that reference is
done; a transient error retries the whole message (poison after ``maxDequeueCount``), and the
references already applied cost no Graph call the second time (their changeKey is held); a
message that is not references goes to the poison queue at once. A change message with several
references is first applied together (``SyncEngine.apply_changes``: one index query, one ``$batch``
of GETs, shared transactions); only what that leaves goes one at a time.
"""

import logging
from collections.abc import Callable, Mapping, Sequence

import azure.functions as func

from shared.sync.engine import CHANGES_QUEUE, JOBS_QUEUE, LIFECYCLE_QUEUE

Together = Callable[[Sequence[Mapping[str, str]]], tuple[list[str], list[Mapping[str, str]]]]
"""Applies several references of one mailbox at once: (outcomes, references left for one at a time)."""

bp = func.Blueprint()
log = logging.getLogger("hybridcalendar.sync")
MAX_ATTEMPTS = 5
"""host.json ``queues.maxDequeueCount``: the attempt after which a failing message goes to the poison queue."""


def _run(message: func.QueueMessage, queue: str, work: Callable[[dict[str, str]], object], *,
         together: Together | None = None) -> None:
    from shared.errors import HybridCalendarError, QueueOutcome, ValidationError, queue_outcome
    from shared.logs import describe_exception, describe_outcome
    from shared.storage.queues import parse_references
    from shared.sync.engine import get_engine

    text = message.get_body().decode("utf-8", errors="replace")
    try:
        references = parse_references(text)
    except ValidationError as error:
        _poison_now(queue, text)
        log.warning("%s message %s moved to %s-poison: %s", queue, message.id, queue, describe_exception(error))
        return
    if together is not None and len(references) > 1:
        references = _together(message, queue, references, together)
    for number, reference in enumerate(references, start=1):
        try:
            outcome = work(reference)
        except HybridCalendarError as error:
            if queue_outcome(error) is not QueueOutcome.DROP:
                raise
            if reference.get("mailbox_id"):
                get_engine().record_failure(reference["tenant_id"], reference["mailbox_id"], error)
            log.warning("%s message %s reference %d dropped: %s", queue, message.id, number,
                        describe_exception(error))
            continue
        log.info("%s message %s reference %d: %s", queue, message.id, number, describe_outcome(outcome))


def _together(message: func.QueueMessage, queue: str, references: list[dict[str, str]],
              together: Together) -> list[dict[str, str]]:
    """Apply what can be applied at once; the references left, one at a time. An error that drops
    work is left to meet each reference on its own, where it is recorded as for a lone one."""
    from collections import Counter

    from shared.errors import HybridCalendarError, QueueOutcome, queue_outcome
    from shared.logs import describe_exception

    try:
        outcomes, left = together(references)
    except HybridCalendarError as error:
        if queue_outcome(error) is not QueueOutcome.DROP:
            raise
        log.warning("%s message %s: applying together failed, one at a time now: %s", queue, message.id,
                    describe_exception(error))
        return references
    log.info("%s message %s: %d references together %s, %d left", queue, message.id, len(outcomes),
             dict(Counter(outcomes)), len(left))
    return [dict(reference) for reference in left]


def _poison_now(queue: str, text: str) -> None:
    """A message that can never be read goes to ``<queue>-poison`` at once (no five retries), intact."""
    from shared.config import get_settings
    from shared.storage.clients import ensure_queue, queue_client

    poison = queue_client(get_settings().storage_connection, f"{queue}-poison")
    ensure_queue(poison)
    poison.send_message(text)


@bp.queue_trigger(arg_name="message", queue_name=CHANGES_QUEUE, connection="AzureWebJobsStorage")
def apply_change(message: func.QueueMessage) -> None:
    from shared.sync.engine import get_engine

    engine = get_engine()
    _run(message, CHANGES_QUEUE, engine.apply_change, together=engine.apply_changes)


@bp.queue_trigger(arg_name="message", queue_name=LIFECYCLE_QUEUE, connection="AzureWebJobsStorage")
def lifecycle_event(message: func.QueueMessage) -> None:
    from shared.sync.engine import get_engine

    def handle(reference: dict[str, str]) -> object:
        engine, tenant, mailbox = get_engine(), reference["tenant_id"], reference["mailbox_id"]
        reason = reference.get("reason")
        if reason == "reauthorizationRequired":
            return engine.reauthorize(tenant, mailbox, reference["subscription_id"])
        if reason == "subscriptionRemoved":
            return engine.resubscribe(tenant, mailbox, reference["subscription_id"])
        return engine.catch_up(tenant, mailbox)

    _run(message, LIFECYCLE_QUEUE, handle)


@bp.queue_trigger(arg_name="message", queue_name=JOBS_QUEUE, connection="AzureWebJobsStorage")
def mailbox_job(message: func.QueueMessage) -> None:
    from shared.sync.engine import get_engine

    def handle(reference: dict[str, str]) -> object:
        engine, tenant, kind = get_engine(), reference["tenant_id"], reference.get("kind")
        mailbox_kind = reference.get("reason") or "user"
        jobs = {"enable": lambda: engine.enable_item(tenant, reference["mailbox_id"], kind=mailbox_kind,
                                                     operation_id=reference["operation"],
                                                     last_attempt=message.dequeue_count >= MAX_ATTEMPTS)
                if reference.get("operation") else engine.enable(tenant, reference["mailbox_id"], kind=mailbox_kind),
                "disable": lambda: engine.disable(tenant, reference["mailbox_id"]),
                "renew": lambda: engine.renew_due(tenant),
                "reconcile": lambda: engine.reconcile(tenant),
                "catchup": lambda: engine.catch_up(tenant, reference["mailbox_id"], fresh=True),
                "resume": lambda: engine.catch_up(tenant, reference["mailbox_id"]),
                "purge": lambda: engine.purge(tenant, reference["mailbox_id"])}
        if kind not in jobs:
            from shared.errors import ValidationError

            raise ValidationError(f"unknown job kind {kind!r}")
        return jobs[kind]()

    _run(message, JOBS_QUEUE, handle)
