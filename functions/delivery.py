"""Queue triggers of the Join button: timeline messages falling due, and outgoing webhooks' retries.

``hc-timeline`` messages become visible at the second a button is to appear or be withdrawn
(``shared.timeline``); ``hc-deliveries`` holds deliveries waiting for their next attempt
(``shared.delivery``). Both go through the process's ``QueueWorker`` and its retry/poison policy.
"""

import azure.functions as func

from functions.sync_queues import _delivery
from shared.sync.messages import DELIVERIES_QUEUE, TIMELINE_QUEUE

bp = func.Blueprint()


@bp.queue_trigger(arg_name="message", queue_name=TIMELINE_QUEUE, connection="AzureWebJobsStorage")
def join_button_due(message: func.QueueMessage) -> None:
    from shared.runtime import get_runtime

    get_runtime().worker.buttons(_delivery(message, TIMELINE_QUEUE))


@bp.queue_trigger(arg_name="message", queue_name=DELIVERIES_QUEUE, connection="AzureWebJobsStorage")
def webhook_retry(message: func.QueueMessage) -> None:
    from shared.runtime import get_runtime

    get_runtime().worker.deliveries(_delivery(message, DELIVERIES_QUEUE))
