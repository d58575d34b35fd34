"""Timers of the sync engine; each only fans work out to the jobs queue (one message per tenant or mailbox).

* every 15 seconds: when ``HC_CATCHUP_MINUTES`` have passed since the last sweep (one instance wins
  the run, see ``RunMarks``), a sweep job per tenant, which queues a resumed delta round for each of
  its mailboxes spread over the period: any change Graph failed to deliver comes back within it;
* every 30 minutes: renew each tenant's subscriptions that expire within the margin (``$batch``);
* daily at 02:00 UTC: reconcile subscriptions with Graph, catch every mailbox up from scratch
  (meetings entering the horizon appear, vanished ones go), purge rows and data keys past retention
  and bulk operations older than ``OPERATIONS_KEPT``;
* every minute, with telemetry on: the work and poison queues' depths as gauges.
"""

from datetime import datetime, timedelta, timezone

import azure.functions as func

from shared.sync.messages import JOBS_QUEUE

bp = func.Blueprint()

OPERATIONS_KEPT = timedelta(days=7)
SWEEP = "catchup-sweep"


def _jobs(kinds_per_tenant: tuple[str, ...], kinds_per_mailbox: tuple[str, ...]) -> list[str]:
    from shared.runtime import get_runtime
    from shared.storage.queues import reference_message
    from shared.sync.messages import JobKind, JobRef

    stores, messages = get_runtime().stores, []
    for tenant in stores.tenants.list_ids():
        messages += [reference_message(JobRef(tenant, JobKind(kind)).fields()) for kind in kinds_per_tenant]
        for mailbox in stores.mailboxes.list_ids(tenant) if kinds_per_mailbox else []:
            messages += [
                reference_message(JobRef(tenant, JobKind(kind), mailbox).fields()) for kind in kinds_per_mailbox
            ]
        if kinds_per_mailbox:
            stores.keyring.purge_expired(tenant)
            stores.operations.purge_before(tenant, datetime.now(timezone.utc) - OPERATIONS_KEPT)
    if kinds_per_mailbox:
        from shared.delivery.endpoints import RECENT_DAYS

        stores.deliveries.purge_before(datetime.now(timezone.utc) - timedelta(days=RECENT_DAYS))
    return messages


def _sweeps() -> list[str]:
    """One sweep job per tenant when the catch-up period has come round, else none."""
    from shared.runtime import get_runtime

    runtime = get_runtime()
    every = timedelta(minutes=runtime.settings.catchup_minutes)
    if not runtime.stores.marks.claim(SWEEP, every=every, now=datetime.now(timezone.utc)):
        return []
    return _jobs(("sweep",), ())


@bp.timer_trigger(arg_name="timer", schedule="*/15 * * * * *", run_on_startup=False)
@bp.queue_output(arg_name="jobs", queue_name=JOBS_QUEUE, connection="AzureWebJobsStorage")
def catch_up_sweep(timer: func.TimerRequest, jobs: func.Out[list[str]]) -> None:
    jobs.set(_sweeps())


@bp.timer_trigger(arg_name="timer", schedule="0 */30 * * * *", run_on_startup=False)
@bp.queue_output(arg_name="jobs", queue_name=JOBS_QUEUE, connection="AzureWebJobsStorage")
def renew_subscriptions(timer: func.TimerRequest, jobs: func.Out[list[str]]) -> None:
    jobs.set(_jobs(("renew",), ()))


@bp.timer_trigger(arg_name="timer", schedule="0 0 2 * * *", run_on_startup=False)
@bp.queue_output(arg_name="jobs", queue_name=JOBS_QUEUE, connection="AzureWebJobsStorage")
def daily_sync(timer: func.TimerRequest, jobs: func.Out[list[str]]) -> None:
    jobs.set(_jobs(("reconcile",), ("catchup", "purge")))


@bp.timer_trigger(arg_name="timer", schedule="30 * * * * *", run_on_startup=False)
def measure_queues(timer: func.TimerRequest) -> None:
    from shared.config import get_settings
    from shared.health import record_queue_depths

    record_queue_depths(get_settings())
