"""Graph error answers as typed exceptions (Graph's error codes, throttling answers and expired delta tokens).

Branch on ``error.code`` and status, never on the message — with two documented exceptions:
an application access policy denial is only told apart from a missing permission by its
message ("Access to OData is disabled"), and so is a subscription refused for the same reason
(403 ``ExtensionError``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.errors import (
    AccessDeniedError,
    AccessPolicyDeniedError,
    AuthError,
    ConflictError,
    DependencyUnavailableError,
    HybridCalendarError,
    MailboxNotFoundError,
    NotFoundError,
    PermanentError,
    ResyncRequiredError,
    ServiceErrorDetails,
    ThrottledError,
    ValidationError,
)
from shared.retry import retry_after_seconds

MAILBOX_CODES = frozenset(
    {
        "ErrorInvalidUser",
        "MailboxNotEnabledForRESTAPI",
        "MailboxNotSupportedForRESTAPI",
        "ErrorMailboxNotEnabledForRESTAPI",
        "ErrorNonExistentMailbox",
    }
)
RESYNC_CODES = frozenset({"syncStateNotFound", "resyncRequired", "SyncStateNotFound", "ResyncRequired"})
RETRYABLE_STATUSES = frozenset({429, 503, 504, 509})
_POLICY_MARK = "access to odata is disabled"


def error_details(status: int, body: Any, headers: Mapping[str, str]) -> ServiceErrorDetails:
    """The code, request id and message of a Graph error body (tolerating bodies that are not JSON)."""
    error = body.get("error") if isinstance(body, dict) else None
    error = error if isinstance(error, dict) else {}
    inner = error.get("innerError") or error.get("innererror") or {}
    request_id = (inner.get("request-id") if isinstance(inner, dict) else None) or headers.get("request-id")
    return ServiceErrorDetails(
        status, str(error.get("code") or f"http{status}"), request_id, str(error.get("message") or "")
    )


def graph_error(status: int, body: Any, headers: Mapping[str, str], *, what: str) -> HybridCalendarError:
    """The exception for a Graph error answer to ``what`` (an operation name, no personal data)."""
    details = error_details(status, body, headers)
    error = _classify(details, headers, what)
    error.details = details
    return error


def _classify(details: ServiceErrorDetails, headers: Mapping[str, str], what: str) -> HybridCalendarError:
    status, code = details.status, details.code
    said = f"{what}: Graph answered {status} {code} (request-id {details.request_id or 'none'})"
    if status in RETRYABLE_STATUSES:
        kind = ThrottledError if status in (429, 509) else DependencyUnavailableError
        return kind(said, retry_after=retry_after_seconds(headers.get("Retry-After")))
    if status >= 500:
        return DependencyUnavailableError(said)
    if status == 410 or code in RESYNC_CODES:
        return ResyncRequiredError(said, restart_url=headers.get("Location"))
    if status == 401:
        return AuthError(said)
    if status == 403 and (_POLICY_MARK in details.message.lower() and code in ("ErrorAccessDenied", "ExtensionError")):
        return AccessPolicyDeniedError(said)
    if code in MAILBOX_CODES:
        return MailboxNotFoundError(said)
    if status == 403:
        return AccessDeniedError(said)
    if status == 404:
        return NotFoundError(said)
    if status in (409, 412):
        return ConflictError(said)
    if status in (400, 413, 415, 422):
        return ValidationError(said)
    return PermanentError(said)
