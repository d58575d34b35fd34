"""The meetings API for apps and room devices, and its OpenAPI description.

``GET /api/me/meetings`` (a user's bearer token for this API) and ``GET /api/rooms/{room}/meetings``
(a room device credential) answer the meetings list; both do their own authentication, so the
host's function keys are not involved (``authLevel: anonymous``). ``GET /api/me/availability`` and
``POST /api/me/meetings/{id}/response`` act on the caller's own calendar through Graph
(``shared.api.actions``). ``GET /api/openapi.json``
serves the description kept in ``shared/api/openapi.json``, and ``GET /api/docs`` renders it for people.
"""

from urllib.parse import urlencode, urlsplit

import azure.functions as func

from functions.responses import error_response, json_response, raw_response

bp = func.Blueprint()


@bp.route(route="me/meetings", methods=["GET", "POST"], auth_level=func.AuthLevel.ANONYMOUS)
def my_meetings(req: func.HttpRequest) -> func.HttpResponse:
    from functions.responses import read_json
    from shared.errors import HybridCalendarError
    from shared.runtime import get_runtime

    try:
        if req.method == "POST":
            created = get_runtime().actions.schedule(
                req.headers.get("Authorization"), read_json(req), req.headers.get("Idempotency-Key")
            )
            return _created(req, "me/meetings", created)
        page = get_runtime().api.user_meetings(req.headers.get("Authorization"), req.params)
    except HybridCalendarError as error:
        return error_response(error)
    return _page(req, page)


@bp.route(route="me/meetings/{meeting}", methods=["GET", "PATCH", "DELETE"], auth_level=func.AuthLevel.ANONYMOUS)
def my_meeting(req: func.HttpRequest) -> func.HttpResponse:
    from functions.responses import read_json
    from shared.errors import HybridCalendarError
    from shared.runtime import get_runtime

    authorization, meeting = req.headers.get("Authorization"), req.route_params["meeting"]
    try:
        actions = get_runtime().actions
        if req.method == "DELETE":
            actions.cancel(authorization, meeting, req.params.get("comment"))
            return raw_response(204)
        if req.method == "PATCH":
            return json_response(200, actions.change(authorization, meeting, read_json(req)))
        return json_response(200, actions.meeting(authorization, meeting))
    except HybridCalendarError as error:
        return error_response(error)


@bp.route(route="rooms/{room}/meetings", methods=["GET", "POST"], auth_level=func.AuthLevel.ANONYMOUS)
def room_meetings(req: func.HttpRequest) -> func.HttpResponse:
    from functions.responses import read_json
    from shared.errors import HybridCalendarError
    from shared.runtime import get_runtime

    try:
        if req.method == "POST":
            body = read_json(req) if req.get_body() else {}
            booked = get_runtime().actions.book_room(
                req.route_params["room"], req.headers.get("Authorization"), body, req.headers.get("Idempotency-Key")
            )
            return json_response(201, booked)
        page = get_runtime().api.room_meetings(req.route_params["room"], req.headers.get("Authorization"), req.params)
    except HybridCalendarError as error:
        return error_response(error)
    return _page(req, page)


def _created(req: func.HttpRequest, route: str, meeting: dict) -> func.HttpResponse:
    """201 with the meeting and its address, beside the list it belongs to."""
    parts = urlsplit(req.url)
    return json_response(
        201, meeting, headers={"Location": f"{parts.scheme}://{parts.netloc}/api/{route}/{meeting['id']}"}
    )


@bp.route(route="me/availability", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def my_availability(req: func.HttpRequest) -> func.HttpResponse:
    from shared.errors import HybridCalendarError
    from shared.runtime import get_runtime

    try:
        return json_response(200, get_runtime().actions.availability(req.headers.get("Authorization"), req.params))
    except HybridCalendarError as error:
        return error_response(error)


@bp.route(route="me/meetings/{meeting}/response", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
def my_meeting_response(req: func.HttpRequest) -> func.HttpResponse:
    from functions.responses import read_json
    from shared.errors import HybridCalendarError
    from shared.runtime import get_runtime

    try:
        answer = get_runtime().actions.respond(
            req.headers.get("Authorization"), req.route_params["meeting"], read_json(req)
        )
    except HybridCalendarError as error:
        return error_response(error)
    return json_response(202, answer)


@bp.route(route="openapi.json", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def openapi(req: func.HttpRequest) -> func.HttpResponse:
    from shared.api import OPENAPI_PATH

    return raw_response(200, OPENAPI_PATH.read_bytes(), mimetype="application/json")


@bp.route(route="docs", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def api_docs(req: func.HttpRequest) -> func.HttpResponse:
    """The description rendered for people (Swagger UI), served from this app only."""
    from shared.api.docs import PAGE_HEADERS, page

    shown = page()
    return raw_response(200, shown.body, mimetype=shown.mimetype, headers=PAGE_HEADERS)


@bp.route(route="docs/{asset}", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def api_docs_asset(req: func.HttpRequest) -> func.HttpResponse:
    from shared.api.docs import PAGE_HEADERS, asset

    found = asset(req.route_params.get("asset", ""))
    if found is None:
        return json_response(404, {"error": {"code": "not_found", "message": "no such asset of the API page"}})
    return raw_response(
        200, found.body, mimetype=found.mimetype, headers=PAGE_HEADERS | {"Cache-Control": "public, max-age=3600"}
    )


def _page(req: func.HttpRequest, page: dict) -> func.HttpResponse:
    """The page as JSON; a continuation becomes ``nextLink``, this route with only that parameter."""
    token = page.pop("continuation", None)
    if token:
        path = urlsplit(req.url)
        page["nextLink"] = f"{path.scheme}://{path.netloc}{path.path}?{urlencode({'continuation': token})}"
    return json_response(200, page)


@bp.route(route="me/presence", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def my_presence(req: func.HttpRequest) -> func.HttpResponse:
    from shared.errors import HybridCalendarError
    from shared.runtime import get_runtime

    try:
        body = get_runtime().api.user_presence(req.headers.get("Authorization"))
    except HybridCalendarError as error:
        return error_response(error)
    return json_response(200, body, headers={"Cache-Control": "private, no-cache"})


@bp.route(route="me/join-button", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def my_join_button(req: func.HttpRequest) -> func.HttpResponse:
    from shared.errors import HybridCalendarError
    from shared.runtime import get_runtime

    try:
        body, max_age = get_runtime().api.user_join_button(req.headers.get("Authorization"))
    except HybridCalendarError as error:
        return error_response(error)
    return json_response(200, body, headers={"Cache-Control": f"private, max-age={max_age}"})


@bp.route(route="rooms/{room}/join-button", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def room_join_button(req: func.HttpRequest) -> func.HttpResponse:
    from shared.errors import HybridCalendarError
    from shared.runtime import get_runtime

    try:
        body, max_age = get_runtime().api.room_join_button(req.route_params["room"], req.headers.get("Authorization"))
    except HybridCalendarError as error:
        return error_response(error)
    return json_response(200, body, headers={"Cache-Control": f"private, max-age={max_age}"})


@bp.route(route="me/endpoints", methods=["GET", "POST"], auth_level=func.AuthLevel.ANONYMOUS)
def my_endpoints(req: func.HttpRequest) -> func.HttpResponse:
    return _mine(req, None, None)


@bp.route(route="me/endpoints/{endpoint}", methods=["GET", "PATCH", "DELETE"], auth_level=func.AuthLevel.ANONYMOUS)
def my_endpoint(req: func.HttpRequest) -> func.HttpResponse:
    return _mine(req, req.route_params["endpoint"], None)


@bp.route(route="me/endpoints/{endpoint}/rotate", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
def my_endpoint_rotate(req: func.HttpRequest) -> func.HttpResponse:
    return _mine(req, req.route_params["endpoint"], "rotate")


@bp.route(route="me/endpoints/{endpoint}/deliveries", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def my_endpoint_deliveries(req: func.HttpRequest) -> func.HttpResponse:
    return _mine(req, req.route_params["endpoint"], "deliveries")


def _mine(req: func.HttpRequest, endpoint: str | None, action: str | None) -> func.HttpResponse:
    from shared.errors import HybridCalendarError
    from shared.runtime import get_runtime

    api = get_runtime().api
    try:
        tenant, mailbox = api.user(req.headers.get("Authorization"))
    except HybridCalendarError as error:
        return error_response(error)
    return endpoint_answer(req, tenant, mailbox, "user", endpoint, action)


def endpoint_answer(
    req: func.HttpRequest, tenant: str, mailbox: str, kind: str, endpoint: str | None, action: str | None
) -> func.HttpResponse:
    """One endpoint route of a mailbox, for the user's own routes and the admin's room routes alike."""
    from functions.responses import read_json
    from shared.errors import HybridCalendarError
    from shared.runtime import get_runtime

    registry = get_runtime().api.registry
    assert registry is not None
    method = req.method.upper()
    try:
        if endpoint is None:
            if method == "POST":
                created = registry.create(tenant, mailbox, kind, read_json(req))
                return json_response(201, created, headers={"Location": f"{urlsplit(req.url).path}/{created['id']}"})
            return json_response(200, registry.list(tenant, mailbox))
        if action is None:
            if method == "DELETE":
                registry.delete(tenant, mailbox, endpoint)
                return raw_response(204)
            if method == "PATCH":
                return json_response(200, registry.update(tenant, mailbox, endpoint, read_json(req)))
            from shared.delivery.registry import endpoint_json

            return json_response(200, endpoint_json(registry.get(tenant, mailbox, endpoint)))
        if action == "rotate":
            return json_response(200, registry.rotate(tenant, mailbox, endpoint))
        return json_response(200, registry.attempts_json(tenant, mailbox, endpoint, req.params))
    except HybridCalendarError as error:
        return error_response(error)
