"""Answers shared by every HTTP trigger: bodies are ``{"error": {"code", "message"}}`` on failure.

Errors map to statuses through :func:`shared.errors.http_status` only. A refused bearer token
or device credential also gets ``WWW-Authenticate`` as RFC 6750 §3 describes: no error code
when no credential was sent, ``invalid_token`` (401) or ``insufficient_scope`` (403) otherwise.
Every answer carries ``SAFE_HEADERS``: nothing we send is to be sniffed into another type (the
validation echo is text a stranger chose) or kept by a cache (lists and credentials are personal).
"""

import json
from typing import Any

import azure.functions as func

REALM = "hybrid-calendar"
SAFE_HEADERS = {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"}


def json_response(status: int, body: Any, *, headers: dict[str, str] | None = None) -> func.HttpResponse:
    return func.HttpResponse(
        json.dumps(body), status_code=status, mimetype="application/json", headers=SAFE_HEADERS | (headers or {})
    )


def raw_response(
    status: int, body: bytes | str = b"", *, mimetype: str = "text/plain", headers: dict[str, str] | None = None
) -> func.HttpResponse:
    """Any other answer (the validation echo, a served document, an empty 202), with the same headers."""
    return func.HttpResponse(body, status_code=status, mimetype=mimetype, headers=SAFE_HEADERS | (headers or {}))


def read_json(req: func.HttpRequest, *, what: str = "body") -> Any:
    """The request's JSON body (None when empty); ValidationError naming what is wrong with it."""
    from shared.inputs import load_json

    return load_json(req.get_body() or b"null", what=what)


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
        return {"WWW-Authenticate": f'Bearer realm="{REALM}", error="insufficient_scope", error_description="{error}"'}
    return None
