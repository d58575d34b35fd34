"""Admin API (function key): enable and disable the mailboxes of a tenant.

``POST /api/tenants/{tenant}/mailboxes/{mailbox}?kind=user|room`` enables one mailbox now
(subscribe, then sync its window); ``DELETE`` on the same route disables it (subscription and
every stored row deleted). ``POST /api/tenants/{tenant}/mailboxes`` with
``{"mailboxes": [{"id": "<object id>", "kind": "room"}, ...]}`` queues many: each becomes one
job, so thousands fan out at the queue's pace and Graph's subscription writes stay throttled
per mailbox by the client.
"""

import json
import re

import azure.functions as func

from shared.sync.engine import JOBS_QUEUE

bp = func.Blueprint()
GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
MAX_BULK = 10_000
KINDS = ("user", "room")


def _json(status: int, body: dict) -> func.HttpResponse:
    return func.HttpResponse(json.dumps(body), status_code=status, mimetype="application/json")


def _error(error: Exception) -> func.HttpResponse:
    from shared.errors import error_body, http_status

    return _json(http_status(error), error_body(error))


@bp.route(route="tenants/{tenant}/mailboxes/{mailbox}", methods=["POST", "DELETE"])
def mailbox(req: func.HttpRequest) -> func.HttpResponse:
    from shared.errors import HybridCalendarError
    from shared.sync.engine import get_engine

    tenant, mailbox_id = req.route_params["tenant"], req.route_params["mailbox"]
    if not GUID.match(tenant):
        return _json(400, {"error": {"code": "invalid_request", "message": "tenant must be the tenant id (a GUID)"}})
    kind = req.params.get("kind", "user")
    if kind not in KINDS:
        return _json(400, {"error": {"code": "invalid_request", "message": "kind must be user or room"}})
    try:
        if req.method == "DELETE":
            return _json(200, {"mailbox": mailbox_id, "rowsRemoved": get_engine().disable(tenant, mailbox_id)})
        enabled = get_engine().enable(tenant, mailbox_id, kind=kind)
    except HybridCalendarError as error:
        return _error(error)
    return _json(200, {"mailbox": enabled.mailbox_id, "kind": enabled.kind, "subscription": enabled.subscription_id})


@bp.route(route="tenants/{tenant}/mailboxes", methods=["POST"])
@bp.queue_output(arg_name="jobs", queue_name=JOBS_QUEUE, connection="AzureWebJobsStorage")
def mailboxes(req: func.HttpRequest, jobs: func.Out[list[str]]) -> func.HttpResponse:
    from shared.storage.queues import reference_message

    tenant = req.route_params["tenant"]
    try:
        items = json.loads(req.get_body() or b"null").get("mailboxes")
    except (ValueError, AttributeError):
        items = None
    problem = _bulk_problem(tenant, items)
    if problem:
        return _json(400, {"error": {"code": "invalid_request", "message": problem}})
    jobs.set([reference_message({"tenant_id": tenant, "mailbox_id": item["id"], "kind": "enable",
                                 "reason": item.get("kind", "user")}) for item in items])
    return _json(202, {"queued": len(items)})


def _bulk_problem(tenant: str, items: object) -> str | None:
    if not GUID.match(tenant):
        return "tenant must be the tenant id (a GUID)"
    if not isinstance(items, list) or not items or len(items) > MAX_BULK:
        return f"body must be {{\"mailboxes\": [{{\"id\": <object id>, \"kind\": \"user\"|\"room\"}}]}} with 1 to " \
               f"{MAX_BULK} entries"
    bad = [i for i, item in enumerate(items) if not isinstance(item, dict) or not GUID.match(str(item.get("id", "")))
           or item.get("kind", "user") not in KINDS]
    return f"entries {bad[:10]} need an object id (a GUID) and kind user or room" if bad else None
