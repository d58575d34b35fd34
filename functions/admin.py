"""Admin API (function key): mailboxes, bulk operations, room device credentials and tenant status.

``POST /api/tenants/{tenant}/mailboxes/{mailbox}?kind=user|room`` enables one mailbox now
(subscribe, then sync its window); ``DELETE`` on the same route disables it (subscription and
every stored row deleted). Both take the mailbox's object id. ``POST /api/tenants/{tenant}/mailboxes``
with ``{"mailboxes": [{"id": "<object id>", "kind": "room"}, ...]}`` starts a bulk operation:
each mailbox becomes one job, so thousands fan out at the queue's pace and Graph's subscription
writes stay throttled per mailbox by the client; ``GET /api/tenants/{tenant}/operations/{id}``
shows its progress and each mailbox's result.

``POST /api/tenants/{tenant}/rooms/{room}/credentials`` issues a room device's credential
(shown once), ``GET`` lists them a page at a time, ``DELETE .../credentials/{id}`` revokes one.
``.../rooms/{room}/endpoints`` registers the room's webhook endpoints for Join-button pushes (the
secret shown once), lists them, and under ``/{id}`` shows, enables or disables (PATCH), deletes,
rotates the secret (``POST .../rotate``) and lists recent attempts (``GET .../deliveries``).
``GET /api/tenants/{tenant}/status`` reports every mailbox's sync state and the tenant's totals.
``GET /api/tenants`` lists the deployment's tenants; ``POST /api/tenants/{tenant}/renew``, ``/catch-up``,
``/purge`` and ``/keys/{rotate|rewrap|shred}`` do now what the timers do on their schedule, and manage the
tenant's data keys (``shared.api.tenant_ops``).
``GET`` / ``PUT /api/tenants/{tenant}/scheduling`` read and change which platform each scheduling
keyword uses and what each modifier makes; new Webex Service App credentials are checked against Webex
before they are stored, and its secret and tokens are never shown back.
"""

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode, urlsplit

import azure.functions as func

from functions.responses import error_response, invalid_request, json_response, read_json
from shared.api.tokens import is_guid
from shared.sync.messages import JOBS_QUEUE

bp = func.Blueprint()
MAX_BULK = 10_000
KINDS = ("user", "room")
TENANT_IS_GUID = "tenant must be the tenant id (a GUID)"
MAILBOX_IS_GUID = (
    "give the mailbox's object id (a GUID, as the directory and the tenant status list it): its rows "
    "are kept under that id, and an address would travel through queues and logs"
)
_OPERATION = re.compile(r"\d{8}T\d{6}-[0-9a-f]{8}")


@bp.route(route="tenants/{tenant}/mailboxes/{mailbox}", methods=["POST", "DELETE"])
def mailbox(req: func.HttpRequest) -> func.HttpResponse:
    from shared.errors import HybridCalendarError
    from shared.runtime import get_runtime

    tenant, mailbox_id = req.route_params["tenant"], req.route_params["mailbox"]
    if not is_guid(tenant):
        return invalid_request(TENANT_IS_GUID)
    if not is_guid(mailbox_id):
        return invalid_request(MAILBOX_IS_GUID)
    tenant, mailbox_id = tenant.lower(), mailbox_id.lower()
    kind = req.params.get("kind", "user")
    if kind not in KINDS:
        return invalid_request("kind must be user or room")
    try:
        if req.method == "DELETE":
            removed = get_runtime().engine.disable(tenant, mailbox_id)
            return json_response(200, {"mailbox": mailbox_id, "rowsRemoved": removed})
        enabled = get_runtime().engine.enable(tenant, mailbox_id, kind=kind)
    except HybridCalendarError as error:
        return error_response(error)
    return json_response(
        200, {"mailbox": enabled.mailbox_id, "kind": enabled.kind, "subscription": enabled.subscription_id}
    )


@bp.route(route="tenants/{tenant}/mailboxes", methods=["POST"])
@bp.queue_output(arg_name="jobs", queue_name=JOBS_QUEUE, connection="AzureWebJobsStorage")
def mailboxes(req: func.HttpRequest, jobs: func.Out[list[str]]) -> func.HttpResponse:
    """202 with the operation to follow; its jobs leave only if the operation was recorded."""
    from shared.errors import HybridCalendarError
    from shared.runtime import get_runtime
    from shared.storage.operations import Operation, new_operation_id
    from shared.sync.messages import JobKind, JobRef
    from shared.storage.queues import reference_message
    from shared.timezones import utcnow

    tenant = req.route_params["tenant"]
    try:
        document = read_json(req)
        items = _bulk_items(tenant, document)
        tenant, now = tenant.lower(), utcnow()
        operation = Operation(tenant, new_operation_id(now), "enable", len(items), now)
        get_runtime().stores.operations.create(operation)
    except HybridCalendarError as error:
        return error_response(error)
    jobs.set(
        [
            reference_message(JobRef(tenant, JobKind.ENABLE, mailbox_id, kind, operation.operation_id).fields())
            for mailbox_id, kind in items
        ]
    )
    status = f"/api/tenants/{tenant}/operations/{operation.operation_id}"
    return json_response(
        202, {"queued": len(items), "operation": operation.operation_id, "status": status}, headers={"Location": status}
    )


def _bulk_items(tenant: str, document: object) -> list[tuple[str, str]]:
    """(object id, kind) of each distinct mailbox of a bulk body; ValidationError naming what is wrong."""
    from shared.errors import ValidationError

    if not is_guid(tenant):
        raise ValidationError(TENANT_IS_GUID)
    items = document.get("mailboxes") if isinstance(document, dict) else None
    if not isinstance(items, list) or not items or len(items) > MAX_BULK:
        raise ValidationError(
            f'body must be {{"mailboxes": [{{"id": <object id>, "kind": "user"|"room"}}]}} with 1 to {MAX_BULK} entries'
        )
    bad = [
        i
        for i, item in enumerate(items)
        if not isinstance(item, dict)
        or not isinstance(item.get("id"), str)
        or not is_guid(item["id"])
        or item.get("kind", "user") not in KINDS
    ]
    if bad:
        raise ValidationError(f"entries {bad[:10]} need an object id (a GUID) and kind user or room")
    distinct = {item["id"].lower(): item.get("kind", "user") for item in items}
    return list(distinct.items())


@bp.route(route="tenants/{tenant}/operations/{operation}", methods=["GET"])
def operation_status(req: func.HttpRequest) -> func.HttpResponse:
    from shared.api.service import check_guid, operation_json
    from shared.errors import HybridCalendarError, InvalidParameterError, NotFoundError
    from shared.runtime import get_runtime

    try:
        tenant = check_guid("tenant", req.route_params["tenant"])
        operation_id = req.route_params["operation"]
        if not _OPERATION.fullmatch(operation_id):
            raise InvalidParameterError("operation", "must be an operation id as a bulk request returned it")
        status = get_runtime().stores.operations.get(tenant, operation_id)
        if status is None:
            raise NotFoundError("no operation with this id in this tenant (operations are kept 7 days)")
    except HybridCalendarError as error:
        return error_response(error)
    return json_response(200, operation_json(status))


@bp.route(route="tenants/{tenant}/rooms/{room}/credentials", methods=["POST", "GET"])
def room_credentials(req: func.HttpRequest) -> func.HttpResponse:
    from shared.api.service import check_guid
    from shared.errors import HybridCalendarError
    from shared.runtime import get_runtime

    try:
        tenant, room = check_guid("tenant", req.route_params["tenant"]), check_guid("room", req.route_params["room"])
        if req.method == "GET":
            page = get_runtime().api.list_credentials(tenant, room, req.params)
            after = page.pop("after", None)
            if after:
                path = urlsplit(req.url)
                page["nextLink"] = f"{path.scheme}://{path.netloc}{path.path}?" + urlencode(
                    {k: v for k, v in req.params.items() if k == "top"} | {"after": after}
                )
            return json_response(200, page)
        issued = get_runtime().api.issue_credential(tenant, room)
    except HybridCalendarError as error:
        return error_response(error)
    return json_response(
        201,
        {
            "id": issued.credential_id,
            "room": issued.room_id,
            "secret": issued.credential,
            "created": issued.created.strftime("%Y-%m-%dT%H:%M:%SZ"),
        },
    )


@bp.route(route="tenants/{tenant}/rooms/{room}/credentials/{credential}", methods=["DELETE"])
def room_credential(req: func.HttpRequest) -> func.HttpResponse:
    from shared.api.service import check_credential_id, check_guid, credential_json
    from shared.errors import HybridCalendarError
    from shared.runtime import get_runtime

    try:
        tenant, room = check_guid("tenant", req.route_params["tenant"]), check_guid("room", req.route_params["room"])
        revoked = get_runtime().api.revoke_credential(tenant, room, check_credential_id(req.route_params["credential"]))
    except HybridCalendarError as error:
        return error_response(error)
    return json_response(200, credential_json(revoked))


@bp.route(route="tenants/{tenant}/rooms/{room}/endpoints", methods=["GET", "POST"])
def room_endpoints(req: func.HttpRequest) -> func.HttpResponse:
    return _room_endpoint(req, None, None)


@bp.route(route="tenants/{tenant}/rooms/{room}/endpoints/{endpoint}", methods=["GET", "PATCH", "DELETE"])
def room_endpoint(req: func.HttpRequest) -> func.HttpResponse:
    return _room_endpoint(req, req.route_params["endpoint"], None)


@bp.route(route="tenants/{tenant}/rooms/{room}/endpoints/{endpoint}/rotate", methods=["POST"])
def room_endpoint_rotate(req: func.HttpRequest) -> func.HttpResponse:
    return _room_endpoint(req, req.route_params["endpoint"], "rotate")


@bp.route(route="tenants/{tenant}/rooms/{room}/endpoints/{endpoint}/deliveries", methods=["GET"])
def room_endpoint_deliveries(req: func.HttpRequest) -> func.HttpResponse:
    return _room_endpoint(req, req.route_params["endpoint"], "deliveries")


def _room_endpoint(req: func.HttpRequest, endpoint: str | None, action: str | None) -> func.HttpResponse:
    """A room's webhook endpoints (Join button pushes): create, list, show, enable/disable, rotate, delete,
    and recent delivery attempts."""
    from functions.meetings_api import endpoint_answer
    from shared.errors import HybridCalendarError
    from shared.runtime import get_runtime

    tenant, room = req.route_params["tenant"], req.route_params["room"]
    if not is_guid(tenant):
        return invalid_request(TENANT_IS_GUID)
    if not is_guid(room):
        return invalid_request(MAILBOX_IS_GUID)
    try:
        room = get_runtime().api.room(tenant.lower(), room.lower())
    except HybridCalendarError as error:
        return error_response(error)
    return endpoint_answer(req, tenant.lower(), room, "room", endpoint, action)


@bp.route(route="tenants/{tenant}/status", methods=["GET"])
def tenant_status(req: func.HttpRequest) -> func.HttpResponse:
    from shared.api.service import check_guid
    from shared.errors import HybridCalendarError
    from shared.runtime import get_runtime

    try:
        return json_response(200, get_runtime().api.tenant_status(check_guid("tenant", req.route_params["tenant"])))
    except HybridCalendarError as error:
        return error_response(error)


@bp.route(route="tenants", methods=["GET"])
def tenants_list(req: func.HttpRequest) -> func.HttpResponse:
    from shared.api.tenant_ops import list_tenants
    from shared.errors import HybridCalendarError
    from shared.runtime import get_runtime

    try:
        return json_response(200, list_tenants(get_runtime().stores))
    except HybridCalendarError as error:
        return error_response(error)


@bp.route(route="tenants/{tenant}/renew", methods=["POST"])
def tenant_renew(req: func.HttpRequest) -> func.HttpResponse:
    from shared.api.tenant_ops import renew

    return _tenant_operation(req, lambda runtime, tenant: renew(runtime.engine, tenant))


@bp.route(route="tenants/{tenant}/catch-up", methods=["POST"])
def tenant_catch_up(req: func.HttpRequest) -> func.HttpResponse:
    """``?mailbox=`` for one mailbox now; without it, a round queued for every mailbox of the tenant."""
    from shared.api.service import check_guid
    from shared.api.tenant_ops import catch_up

    mailbox = req.params.get("mailbox")
    return _tenant_operation(
        req,
        lambda runtime, tenant: catch_up(
            runtime.engine, tenant, check_guid("mailbox", mailbox) if mailbox is not None else None
        ),
    )


@bp.route(route="tenants/{tenant}/purge", methods=["POST"])
def tenant_purge(req: func.HttpRequest) -> func.HttpResponse:
    from shared.api.tenant_ops import purge

    return _tenant_operation(req, lambda runtime, tenant: purge(runtime.engine, runtime.stores, tenant))


@bp.route(route="tenants/{tenant}/keys/{action}", methods=["POST"])
def tenant_keys(req: func.HttpRequest) -> func.HttpResponse:
    """``rotate``, ``rewrap`` or ``shred`` (with ``?confirm=`` repeating the tenant id) the tenant's data keys."""
    from shared.api.tenant_ops import keys

    return _tenant_operation(
        req,
        lambda runtime, tenant: keys(
            runtime.stores, tenant, req.route_params["action"], confirm=req.params.get("confirm")
        ),
    )


def _tenant_operation(req: func.HttpRequest, operation: Callable[[Any, str], dict[str, Any]]) -> func.HttpResponse:
    """An operation on a tenant this deployment serves (404 for any other); its counts as the answer."""
    from shared.api.service import check_guid
    from shared.errors import HybridCalendarError
    from shared.runtime import get_runtime

    try:
        runtime = get_runtime()
        tenant = runtime.api.served_tenant(check_guid("tenant", req.route_params["tenant"]))
        return json_response(200, operation(runtime, tenant))
    except HybridCalendarError as error:
        return error_response(error)


@bp.route(route="tenants/{tenant}/scheduling", methods=["GET", "PUT"])
def scheduling(req: func.HttpRequest) -> func.HttpResponse:
    """Only for tenants this deployment serves: a configuration is sealed with the tenant's data key,
    and a stranger's tenant id must not make one."""
    from shared.api.service import check_guid
    from shared.errors import HybridCalendarError
    from shared.runtime import get_runtime
    from shared.scheduling.factory import public_config, read_config, write_config

    try:
        tenant = get_runtime().api.served_tenant(check_guid("tenant", req.route_params["tenant"]))
        if req.method == "GET":
            return json_response(200, public_config(tenant, read_config(tenant)))
        return json_response(200, public_config(tenant, write_config(tenant, read_json(req))))
    except HybridCalendarError as error:
        return error_response(error)
