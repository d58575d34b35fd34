"""Queue triggers of the sync engine: changes, lifecycle events, mailbox and tenant jobs.

Each trigger hands its message to the process's ``QueueWorker`` (``shared.sync.worker``), which
applies every reference and decides the message's fate: a transient failure raises (the host
retries, then moves it to ``<queue>-poison``), throttling sends what is left again after the
Retry-After, a permanent failure is recorded on the mailbox, and a message that can never succeed
goes to the poison queue at once.
"""

from typing import TYPE_CHECKING

import azure.functions as func

from shared.sync.messages import CHANGES_QUEUE, JOBS_QUEUE, LIFECYCLE_QUEUE

if TYPE_CHECKING:
    from shared.sync.worker import Delivery

bp = func.Blueprint()


def _delivery(message: func.QueueMessage, queue: str) -> "Delivery":
    from shared.sync.worker import Delivery

    return Delivery(
        queue,
        str(message.id),
        message.get_body().decode("utf-8", errors="replace"),
        int(getattr(message, "dequeue_count", None) or 1),
    )


def handle(handler: str, message: func.QueueMessage, queue: str, context: func.Context) -> None:
    """Hand the message to the process's ``QueueWorker`` method ``handler``; log lines carry the invocation id."""
    from shared.runtime import get_runtime
    from shared.telemetry import invocation_context

    with invocation_context(context.invocation_id):
        getattr(get_runtime().worker, handler)(_delivery(message, queue))


@bp.queue_trigger(arg_name="message", queue_name=CHANGES_QUEUE, connection="AzureWebJobsStorage")
def apply_change(message: func.QueueMessage, context: func.Context) -> None:
    handle("changes", message, CHANGES_QUEUE, context)


@bp.queue_trigger(arg_name="message", queue_name=LIFECYCLE_QUEUE, connection="AzureWebJobsStorage")
def lifecycle_event(message: func.QueueMessage, context: func.Context) -> None:
    handle("lifecycle", message, LIFECYCLE_QUEUE, context)


@bp.queue_trigger(arg_name="message", queue_name=JOBS_QUEUE, connection="AzureWebJobsStorage")
def mailbox_job(message: func.QueueMessage, context: func.Context) -> None:
    handle("jobs", message, JOBS_QUEUE, context)
