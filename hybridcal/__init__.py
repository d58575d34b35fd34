"""``python -m hybridcal``: the operator's command line for a deployment (or ``make run``, or local storage).

Commands (Typer; tables and progress bars by Rich):

* ``doctor``: every dependency the app reports in ``/api/health`` (storage, key provider, Graph,
  queues, subscriptions), then what only an outside caller can check: that Graph's webhooks
  (notifications and lifecycle) answer the validation handshake, and that the admin API takes the
  key. One line each, pass or fail with the reason; the exit code is 1 when anything fails.
* ``tenants status TENANT``: the tenant's totals and one row per mailbox (last error in plain words).
* ``mailboxes enable TENANT MAILBOX`` or ``mailboxes enable TENANT --csv FILE``: one mailbox, or a
  CSV of them (``id`` and optional ``kind`` columns) through the bulk operation, with a progress
  bar until every row is done and a result file with one line per row.
* ``mailboxes disable TENANT MAILBOX``: unsubscribe and delete the mailbox's rows.
* ``tenants list``; ``renew``, ``catch-up [--mailbox]`` and ``purge`` TENANT (what the timers do, now);
  ``keys rotate|rewrap|shred TENANT`` (shred asks first).
* ``endpoints list TENANT ROOM`` and ``endpoints deliveries TENANT ROOM ENDPOINT``: a room's
  webhook endpoints and their recent delivery attempts.

``--url`` (``HC_ADMIN_URL``) names the app, ``--key`` (``HC_FUNCTION_KEY``) its function key; on
this machine both default to ``make run``'s. ``--local`` needs no running app: the command starts
the Function App in its own process (no timers) on the storage, key provider and Graph its settings
name, and works through the same admin API, so a CSV enable runs to completion on this process's
queue workers. Nothing personal is printed that the admin API does
not already show the caller.
"""
