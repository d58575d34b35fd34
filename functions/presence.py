"""Out of office as presence: the polling round's timer and the ``hc-presence`` queue (``shared.presence``).

Every minute the timer asks whether ``HC_PRESENCE_POLL_MINUTES`` have passed since the last round
(one instance wins it, see ``RunMarks``); the winner queues that period's polls, 20 mailboxes each,
spread evenly over the period. The queue trigger runs polls and the timed flips of scheduled windows.
"""

from datetime import datetime, timedelta, timezone

import azure.functions as func

from functions.sync_queues import handle
from shared.sync.messages import PRESENCE_QUEUE

bp = func.Blueprint()

ROUND = "presence-round"


@bp.timer_trigger(arg_name="timer", schedule="0 * * * * *", run_on_startup=False)
def presence_round(timer: func.TimerRequest) -> None:
    from shared.runtime import get_runtime

    runtime = get_runtime()
    every = timedelta(minutes=runtime.settings.presence_poll_minutes)
    if runtime.stores.marks.claim(ROUND, every=every, now=datetime.now(timezone.utc)):
        runtime.presence.round(runtime.stores.tenants.list_ids())


@bp.queue_trigger(arg_name="message", queue_name=PRESENCE_QUEUE, connection="AzureWebJobsStorage")
def presence_due(message: func.QueueMessage, context: func.Context) -> None:
    handle("presence", message, PRESENCE_QUEUE, context)
