"""Queue triggers of the Join button: timeline messages falling due, and outgoing webhooks' retries.

``hc-timeline`` messages become visible at the second a button is to appear or be withdrawn
(``shared.timeline``); ``hc-deliveries`` holds deliveries waiting for their next attempt
(``shared.delivery``). Both go through the process's ``QueueWorker`` and its retry/poison policy.
"""

import azure.functions as func

from functions.sync_queues import handle
from shared.sync.messages import DELIVERIES_QUEUE, TIMELINE_QUEUE

bp = func.Blueprint()


@bp.queue_trigger(arg_name="message", queue_name=TIMELINE_QUEUE, connection="AzureWebJobsStorage")
def join_button_due(message: func.QueueMessage, context: func.Context) -> None:
    handle("buttons", message, TIMELINE_QUEUE, context)


@bp.queue_trigger(arg_name="message", queue_name=DELIVERIES_QUEUE, connection="AzureWebJobsStorage")
def webhook_retry(message: func.QueueMessage, context: func.Context) -> None:
    handle("deliveries", message, DELIVERIES_QUEUE, context)
