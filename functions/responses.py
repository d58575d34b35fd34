"""JSON answers shared by every HTTP trigger: bodies are ``{"error": {"code", "message"}}`` on failure.

Errors map to statuses through :func:`shared.errors.http_status` only. A refused bearer token
or device credential also gets ``WWW-Authenticate`` as RFC 6750 §3 describes: no error code
when no credential was sent, ``invalid_token`` (401) or ``insufficient_scope`` (403) otherwise.
"""

import json
from typing import Any

import azure.functions as func

REALM = "hybrid-calendar"


def json_response(status: int, body: Any, *, headers: dict[str, str] | None = None) -> func.HttpResponse:
    return func.HttpResponse(json.dumps(body), status_code=status, mimetype="application/json", headers=headers)


def error_response(error: Exception) -> func.HttpResponse:
    from shared.errors import error_body, http_status

    return json_response(http_status(error), error_body(error), headers=_challenge(error))


def invalid_request(message: str) -> func.HttpResponse:
    return json_response(400, {"error": {"code": "invalid_request", "message": message}})


def _challenge(error: Exception) -> dict[str, str] | None:
    from shared.errors import InsufficientScopeError, InvalidTokenError

    if isinstance(error, InvalidTokenError):
        code = f', error="{error.error}", error_description="{error}"' if error.error else ""
        return {"WWW-Authenticate": f'Bearer realm="{REALM}"{code}'}
    if isinstance(error, InsufficientScopeError):
        return {"WWW-Authenticate": f'Bearer realm="{REALM}", error="insufficient_scope", '
                                    f'error_description="{error}"'}
    return None
