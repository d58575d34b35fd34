"""The meetings API for apps and room devices, and its OpenAPI description.

``GET /api/me/meetings`` (a user's bearer token for this API) and ``GET /api/rooms/{room}/meetings``
(a room device credential) answer the meetings list; both do their own authentication, so the
host's function keys are not involved (``authLevel: anonymous``). ``GET /api/openapi.json``
serves the description kept in ``shared/api/openapi.json``.
"""

from urllib.parse import urlencode, urlsplit

import azure.functions as func

from functions.responses import error_response, json_response, raw_response

bp = func.Blueprint()


@bp.route(route="me/meetings", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def my_meetings(req: func.HttpRequest) -> func.HttpResponse:
    from shared.errors import HybridCalendarError
    from shared.runtime import get_runtime

    try:
        page = get_runtime().api.user_meetings(req.headers.get("Authorization"), req.params)
    except HybridCalendarError as error:
        return error_response(error)
    return _page(req, page)


@bp.route(route="rooms/{room}/meetings", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def room_meetings(req: func.HttpRequest) -> func.HttpResponse:
    from shared.errors import HybridCalendarError
    from shared.runtime import get_runtime

    try:
        page = get_runtime().api.room_meetings(req.route_params["room"], req.headers.get("Authorization"), req.params)
    except HybridCalendarError as error:
        return error_response(error)
    return _page(req, page)


@bp.route(route="openapi.json", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def openapi(req: func.HttpRequest) -> func.HttpResponse:
    from shared.api import OPENAPI_PATH

    return raw_response(200, OPENAPI_PATH.read_bytes(), mimetype="application/json")


def _page(req: func.HttpRequest, page: dict) -> func.HttpResponse:
    """The page as JSON; a continuation becomes ``nextLink``, this route with only that parameter."""
    token = page.pop("continuation", None)
    if token:
        path = urlsplit(req.url)
        page["nextLink"] = f"{path.scheme}://{path.netloc}{path.path}?{urlencode({'continuation': token})}"
    return json_response(200, page)
