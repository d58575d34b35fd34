"""Admin API (function key): mailboxes, room device credentials and tenant status.

``POST /api/tenants/{tenant}/mailboxes/{mailbox}?kind=user|room`` enables one mailbox now
(subscribe, then sync its window); ``DELETE`` on the same route disables it (subscription and
every stored row deleted). ``POST /api/tenants/{tenant}/mailboxes`` with
``{"mailboxes": [{"id": "<object id>", "kind": "room"}, ...]}`` queues many: each becomes one
job, so thousands fan out at the queue's pace and Graph's subscription writes stay throttled
per mailbox by the client.

``POST /api/tenants/{tenant}/rooms/{room}/credentials`` issues a room device's credential
(shown once), ``GET`` lists them, ``DELETE .../credentials/{id}`` revokes one.
``GET /api/tenants/{tenant}/status`` reports every mailbox's sync state and the tenant's totals.
``GET`` / ``PUT /api/tenants/{tenant}/scheduling`` read and change which platform each scheduling
keyword uses and what each modifier makes (the Webex token is never shown back).
"""

import json

import azure.functions as func

from functions.responses import error_response, invalid_request, json_response
from shared.api.tokens import is_guid
from shared.sync.engine import JOBS_QUEUE

bp = func.Blueprint()
MAX_BULK = 10_000
KINDS = ("user", "room")
TENANT_IS_GUID = "tenant must be the tenant id (a GUID)"
MAILBOX_IS_GUID = ("to disable a mailbox, give its object id (a GUID, as the tenant status lists it): its rows are "
                   "kept under that id, whatever address enabled it")


@bp.route(route="tenants/{tenant}/mailboxes/{mailbox}", methods=["POST", "DELETE"])
def mailbox(req: func.HttpRequest) -> func.HttpResponse:
    from shared.errors import HybridCalendarError
    from shared.sync.engine import get_engine

    tenant, mailbox_id = req.route_params["tenant"], req.route_params["mailbox"]
    if not is_guid(tenant):
        return invalid_request(TENANT_IS_GUID)
    kind = req.params.get("kind", "user")
    if kind not in KINDS:
        return invalid_request("kind must be user or room")
    try:
        if req.method == "DELETE":
            if not is_guid(mailbox_id):
                return invalid_request(MAILBOX_IS_GUID)
            return json_response(200, {"mailbox": mailbox_id, "rowsRemoved": get_engine().disable(tenant, mailbox_id)})
        enabled = get_engine().enable(tenant, mailbox_id, kind=kind)
    except HybridCalendarError as error:
        return error_response(error)
    return json_response(200, {"mailbox": enabled.mailbox_id, "kind": enabled.kind,
                               "subscription": enabled.subscription_id})


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
        return invalid_request(problem)
    jobs.set([reference_message({"tenant_id": tenant, "mailbox_id": item["id"], "kind": "enable",
                                 "reason": item.get("kind", "user")}) for item in items])
    return json_response(202, {"queued": len(items)})


def _bulk_problem(tenant: str, items: object) -> str | None:
    if not is_guid(tenant):
        return TENANT_IS_GUID
    if not isinstance(items, list) or not items or len(items) > MAX_BULK:
        return f"body must be {{\"mailboxes\": [{{\"id\": <object id>, \"kind\": \"user\"|\"room\"}}]}} with 1 to " \
               f"{MAX_BULK} entries"
    bad = [i for i, item in enumerate(items) if not isinstance(item, dict) or not is_guid(str(item.get("id", "")))
           or item.get("kind", "user") not in KINDS]
    return f"entries {bad[:10]} need an object id (a GUID) and kind user or room" if bad else None


@bp.route(route="tenants/{tenant}/rooms/{room}/credentials", methods=["POST", "GET"])
def room_credentials(req: func.HttpRequest) -> func.HttpResponse:
    from shared.api.service import check_guid, credential_json, get_api
    from shared.errors import HybridCalendarError

    try:
        tenant, room = check_guid("tenant", req.route_params["tenant"]), check_guid("room", req.route_params["room"])
        if req.method == "GET":
            return json_response(200, {"value": [credential_json(c) for c in get_api().list_credentials(tenant, room)]})
        issued = get_api().issue_credential(tenant, room)
    except HybridCalendarError as error:
        return error_response(error)
    return json_response(201, {"id": issued.credential_id, "room": issued.room_id, "credential": issued.credential,
                                "created": issued.created.strftime("%Y-%m-%dT%H:%M:%SZ")},
                         headers={"Cache-Control": "no-store"})


@bp.route(route="tenants/{tenant}/rooms/{room}/credentials/{credential}", methods=["DELETE"])
def room_credential(req: func.HttpRequest) -> func.HttpResponse:
    from shared.api.service import check_guid, credential_json, get_api
    from shared.errors import HybridCalendarError

    try:
        tenant, room = check_guid("tenant", req.route_params["tenant"]), check_guid("room", req.route_params["room"])
        revoked = get_api().revoke_credential(tenant, room, req.route_params["credential"].lower())
    except HybridCalendarError as error:
        return error_response(error)
    return json_response(200, credential_json(revoked))


@bp.route(route="tenants/{tenant}/status", methods=["GET"])
def tenant_status(req: func.HttpRequest) -> func.HttpResponse:
    from shared.api.service import check_guid, get_api
    from shared.errors import HybridCalendarError

    try:
        return json_response(200, get_api().tenant_status(check_guid("tenant", req.route_params["tenant"])))
    except HybridCalendarError as error:
        return error_response(error)


@bp.route(route="tenants/{tenant}/scheduling", methods=["GET", "PUT"])
def scheduling(req: func.HttpRequest) -> func.HttpResponse:
    from shared.api.service import check_guid
    from shared.errors import HybridCalendarError, ValidationError
    from shared.scheduling.factory import read_config, write_config

    try:
        tenant = check_guid("tenant", req.route_params["tenant"])
        if req.method == "GET":
            return json_response(200, read_config(tenant).public())
        try:
            document = json.loads(req.get_body() or b"null")
        except ValueError:
            raise ValidationError("body must be JSON") from None
        return json_response(200, write_config(tenant, document).public())
    except HybridCalendarError as error:
        return error_response(error)
