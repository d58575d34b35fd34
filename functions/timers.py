"""Timers of the sync engine; each only fans work out to the jobs queue (one message per tenant or mailbox).

* every 30 minutes: renew each tenant's subscriptions that expire within the margin ($batch), and
  catch up (by delta) mailboxes that heard nothing for ``QUIET`` — a subscription can fall
  silent without Graph saying so;
* daily at 02:00 UTC: reconcile subscriptions with Graph, catch every mailbox up from scratch
  (meetings entering the horizon appear, vanished ones go), purge rows and data keys past retention
  and bulk operations older than ``OPERATIONS_KEPT``.
"""

from datetime import datetime, timedelta, timezone

import azure.functions as func

from shared.sync.engine import JOBS_QUEUE

bp = func.Blueprint()


QUIET = timedelta(hours=24)
OPERATIONS_KEPT = timedelta(days=7)


def _jobs(kinds_per_tenant: tuple[str, ...], kinds_per_mailbox: tuple[str, ...], *, quiet: bool = False) -> list[str]:
    from shared.storage.queues import reference_message
    from shared.storage.stores import get_stores

    stores, messages = get_stores(), []
    since = datetime.now(timezone.utc) - QUIET
    for tenant in stores.tenants.list_ids():
        messages += [reference_message({"tenant_id": tenant, "kind": kind}) for kind in kinds_per_tenant]
        for mailbox in stores.mailboxes.list_quiet(tenant, since) if quiet else []:
            messages.append(reference_message({"tenant_id": tenant, "mailbox_id": mailbox, "kind": "resume"}))
        for mailbox in stores.mailboxes.list_ids(tenant) if kinds_per_mailbox else []:
            messages += [reference_message({"tenant_id": tenant, "mailbox_id": mailbox, "kind": kind})
                         for kind in kinds_per_mailbox]
        if kinds_per_mailbox:
            stores.keyring.purge_expired(tenant)
            stores.operations.purge_before(tenant, datetime.now(timezone.utc) - OPERATIONS_KEPT)
    return messages


@bp.timer_trigger(arg_name="timer", schedule="0 */30 * * * *", run_on_startup=False)
@bp.queue_output(arg_name="jobs", queue_name=JOBS_QUEUE, connection="AzureWebJobsStorage")
def renew_subscriptions(timer: func.TimerRequest, jobs: func.Out[list[str]]) -> None:
    jobs.set(_jobs(("renew",), (), quiet=True))


@bp.timer_trigger(arg_name="timer", schedule="0 0 2 * * *", run_on_startup=False)
@bp.queue_output(arg_name="jobs", queue_name=JOBS_QUEUE, connection="AzureWebJobsStorage")
def daily_sync(timer: func.TimerRequest, jobs: func.Out[list[str]]) -> None:
    jobs.set(_jobs(("reconcile",), ("catchup", "purge")))
