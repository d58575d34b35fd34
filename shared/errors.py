"""One exception tree for the whole product.

Every failure that leaves ``shared`` is one of these, so a trigger needs a single
``except HybridCalendarError`` and two lookups to decide what to do with it::

    HybridCalendarError                 base; never raised itself
    ├── ConfigError                     a setting is missing or malformed: start-up stops
    ├── ValidationError                 bad input from a caller (HTTP 4xx, never retried)
    │   ├── PayloadTooLargeError        body over the accepted size (HTTP 413)
    │   └── InvalidParameterError       one query parameter is wrong; ``parameter`` names it
    ├── TransientError                  may succeed later: retry / redeliver
    │   ├── ThrottledError              429 or equivalent, carries ``retry_after``
    │   ├── DependencyUnavailableError  storage, key provider or Graph is down or timing out
    │   └── ConflictError               an etag no longer matches: re-read and try again
    ├── PermanentError                  retrying the same work cannot succeed
    │   ├── NotFoundError               the thing is gone (event, subscription)
    │   │   ├── MailboxNotFoundError    the mailbox does not exist or is not enabled for REST
    │   │   └── TenantNotFoundError     no such tenant, or one this deployment does not serve
    │   ├── RefusedError                valid, but the current state refuses it (HTTP 409)
    │   │   ├── MeetingNotPossibleError the platform cannot make a meeting of the event's times
    │   │   └── LimitReachedError       a per-room or per-tenant maximum is reached
    │   ├── AccessDeniedError           Graph refused access (e.g. a missing permission)
    │   │   └── AccessPolicyDeniedError an Exchange application access policy excludes the mailbox
    │   ├── ResyncRequiredError         a delta token expired (410 / syncStateNotFound): sync from scratch
    │   ├── CloudNotSupportedError      the tenant's national cloud is not served by this deployment
    │   └── KeyUnavailableError         a data key or key-encryption key is missing, deleted or disabled
    ├── AuthError                       credentials or consent are broken
    │   ├── ReauthorizationRequiredError  a grant expired or was revoked: an admin or user must act
    │   │   └── WebexReauthorizationRequiredError  the Webex Service App's refresh was refused
    │   ├── InvalidTokenError           a caller's bearer token or device credential is missing or bad (401)
    │   └── ForbiddenError              the caller is known but may not do this (403)
    │       ├── InsufficientScopeError  the token lacks the API's scope
    │       ├── MailboxNotEnabledError  the caller's mailbox is not enabled in this deployment
    │       └── CredentialRevokedError  a room's device credential was revoked
    └── IntegrityError                  stored data failed a check (tampered, wrong key, bad format)

Errors that come from a service answer (Graph) carry ``details``: the HTTP status, the
service's error code and request id, and its message, which is kept out of ``str(error)``
because services put addresses in it.

Triggers map an error to an outcome with :func:`http_status` and
:func:`queue_outcome`; nothing else in the code decides statuses or retries.
Messages never contain secrets or personal data: they are logged.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from http import HTTPStatus


@dataclass(frozen=True)
class ServiceErrorDetails:
    """What a service said when it refused a call; ``message`` may hold personal data, never log it."""

    status: int
    code: str
    request_id: str | None = None
    message: str = field(default="", repr=False)


class HybridCalendarError(Exception):
    """Base of every error the product raises on purpose."""

    status: int = HTTPStatus.INTERNAL_SERVER_ERROR
    code: str = "internal_error"
    details: ServiceErrorDetails | None = None


class ConfigError(HybridCalendarError):
    """One or more settings are missing or malformed; the message names each one.

    ``problems`` holds ``(setting, found, expected)`` triples so that start-up can
    report every bad setting at once instead of one per restart.
    """

    code = "config_error"

    def __init__(self, problems: list[tuple[str, str | None, str]]) -> None:
        lines = [f"setting {name}: found {_shown(found)}, expected {expected}" for name, found, expected in problems]
        super().__init__("invalid configuration: " + "; ".join(lines))
        self.problems = problems
        self.settings = [name for name, _, _ in problems]


def _shown(found: str | None) -> str:
    return "nothing" if found is None else repr(found)


class ValidationError(HybridCalendarError):
    """The caller sent something we cannot accept; retrying the same input fails again."""

    status = HTTPStatus.BAD_REQUEST
    code = "invalid_request"


class PayloadTooLargeError(ValidationError):
    """The request body is over the size we accept."""

    status = HTTPStatus.REQUEST_ENTITY_TOO_LARGE
    code = "payload_too_large"


class InvalidParameterError(ValidationError):
    """One query parameter cannot be accepted; the message starts with its name."""

    code = "invalid_parameter"

    def __init__(self, parameter: str, problem: str) -> None:
        super().__init__(f"{parameter}: {problem}")
        self.parameter = parameter


class TransientError(HybridCalendarError):
    """A dependency failed in a way that may pass; the work should be retried later."""

    status = HTTPStatus.SERVICE_UNAVAILABLE
    code = "temporarily_unavailable"

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ThrottledError(TransientError):
    """The dependency asked us to slow down (HTTP 429 / 503 with Retry-After)."""

    code = "throttled"


class DependencyUnavailableError(TransientError):
    """Storage, the key provider or Graph did not answer or answered 5xx."""

    code = "dependency_unavailable"


class ConflictError(TransientError):
    """Someone else changed the row since we read it (etag mismatch, HTTP 412 from Tables)."""

    status = HTTPStatus.CONFLICT
    code = "conflict"


class PermanentError(HybridCalendarError):
    """The work cannot succeed as asked; retrying wastes quota."""

    status = HTTPStatus.UNPROCESSABLE_ENTITY
    code = "permanent_failure"


class NotFoundError(PermanentError):
    """The mailbox, event or subscription does not exist (any more)."""

    status = HTTPStatus.NOT_FOUND
    code = "not_found"


class MailboxNotFoundError(NotFoundError):
    """The mailbox is unknown, inactive, on-premises or unlicensed (ErrorInvalidUser, MailboxNotEnabledForRESTAPI)."""

    code = "mailbox_not_found"


class TenantNotFoundError(NotFoundError):
    """The tenant does not exist in Microsoft's directory, or this deployment does not serve it."""

    code = "tenant_not_found"


class RefusedError(PermanentError):
    """The request is well formed, but what is stored now refuses it; the message says what to do."""

    status = HTTPStatus.CONFLICT
    code = "refused"


class MeetingNotPossibleError(RefusedError):
    """The event cannot be a Webex meeting (all day, over 23 h 59 min, or already over); it is left as it was.

    Webex allows meetings of 10 minutes to 23 h 59 min (shorter events get a 10-minute meeting) that have not
    ended. Changing the event's times or Location tries again."""

    code = "meeting_not_possible"


class LimitReachedError(RefusedError):
    """A maximum is reached (active credentials of a room, ...); remove one before adding another."""

    code = "limit_reached"


class AccessDeniedError(PermanentError):
    """Graph refused access (403), e.g. a permission the app was not granted."""

    status = HTTPStatus.FORBIDDEN
    code = "access_denied"


class AccessPolicyDeniedError(AccessDeniedError):
    """An Exchange application access policy (or RBAC for Applications) keeps the app out of this mailbox.

    An admin must add the mailbox to the policy's group; retrying cannot help.
    """

    code = "access_policy_denied"


class ResyncRequiredError(PermanentError):
    """The delta token is no longer valid (410 Gone, syncStateNotFound, resyncRequired): start over.

    ``restart_url`` is the fresh initial URL Graph gave in ``Location``, when it gave one.
    """

    status = HTTPStatus.GONE
    code = "resync_required"

    def __init__(self, message: str, *, restart_url: str | None = None) -> None:
        super().__init__(message)
        self.restart_url = restart_url


class CloudNotSupportedError(PermanentError):
    """The tenant lives in a national cloud this deployment does not serve; ``instance`` names it."""

    status = HTTPStatus.FORBIDDEN
    code = "cloud_not_supported"

    def __init__(self, message: str, *, instance: str) -> None:
        super().__init__(message)
        self.instance = instance


class KeyUnavailableError(PermanentError):
    """The key that protects the data is gone or disabled (shredded tenant, expired DEK, disabled KEK).

    Permanent on purpose: the data it protects is unreadable, and no other key may be tried.
    """

    status = HTTPStatus.INTERNAL_SERVER_ERROR
    code = "key_unavailable"


class AuthError(HybridCalendarError):
    """Our credentials, or the caller's, were refused."""

    status = HTTPStatus.UNAUTHORIZED
    code = "unauthorized"


class ReauthorizationRequiredError(AuthError):
    """A grant expired or was revoked (invalid_grant, AADSTS700082, AADSTS50173, AADSTS65001)."""

    code = "reauthorization_required"


class WebexReauthorizationRequiredError(ReauthorizationRequiredError):
    """Webex refused to refresh the Service App's token: a full admin must authorize it again in Control Hub.

    The refresh token was revoked, expired, or the app was re-created. The admin then sets the new refresh
    token in the tenant's scheduling configuration; until then no Webex meeting is made and events are left
    as they are (their next edit tries again)."""

    code = "webex_reauthorization_required"


class InvalidTokenError(AuthError):
    """A caller's bearer token (or a room's device credential) is missing, malformed, expired or forged.

    ``error`` is the RFC 6750 error code for ``WWW-Authenticate``; None when no credential was sent.
    """

    code = "invalid_token"

    def __init__(self, message: str, *, error: str | None = "invalid_token") -> None:
        super().__init__(message)
        self.error = error


class ForbiddenError(AuthError):
    """The caller proved who it is but may not read this (another room, a revoked credential)."""

    status = HTTPStatus.FORBIDDEN
    code = "forbidden"


class InsufficientScopeError(ForbiddenError):
    """The token is valid but does not carry the API's scope (RFC 6750 ``insufficient_scope``)."""

    code = "insufficient_scope"


class MailboxNotEnabledError(ForbiddenError):
    """The caller is who the token says, but an admin has not enabled their mailbox (or the room's)."""

    code = "mailbox_not_enabled"


class CredentialRevokedError(ForbiddenError):
    """An admin revoked this room device's credential; the device needs a new one."""

    code = "credential_revoked"


class IntegrityError(HybridCalendarError):
    """Stored data failed verification; never fall back to plaintext or another key."""

    code = "integrity_error"


class QueueOutcome(enum.Enum):
    """What a queue trigger does with a message whose handler raised.

    RETRY: raise, so the host makes it visible again and, after ``maxDequeueCount``
    attempts, moves it to ``<queue>-poison``. DROP: complete the message; the error is
    recorded where admins see it (retrying cannot help and nothing is lost).
    POISON: move it to ``<queue>-poison`` now, kept intact for inspection.
    """

    RETRY = "retry"
    DROP = "drop"
    POISON = "poison"


def http_status(error: BaseException) -> int:
    """HTTP status a trigger answers for ``error``; unknown exceptions are 500."""
    if isinstance(error, HybridCalendarError):
        return int(error.status)
    return int(HTTPStatus.INTERNAL_SERVER_ERROR)


def error_body(error: BaseException) -> dict[str, dict[str, str]]:
    """The JSON body an HTTP trigger answers for ``error``: its code and message, never internals."""
    if isinstance(error, HybridCalendarError):
        return {"error": {"code": error.code, "message": str(error)}}
    return {"error": {"code": HybridCalendarError.code, "message": "internal error"}}


WARNINGS = {
    "custom_time_zone": "An event's organizer zone is a custom zone Outlook cannot name: its times are kept as "
    "Graph gave them in UTC, and a meeting scheduled for it is made in UTC.",
    "unknown_time_zone": "An event names a time zone that is neither a Windows nor an IANA zone: its times are kept "
    "in UTC, and a meeting scheduled for it is made in UTC.",
    "no_exchange_mailbox": "The user has no Exchange Online mailbox Graph can read (no licence, hosted on-premises, "
    "or soft-deleted): automatic replies cannot be read, so no presence is shown.",
    "no_answer": "Graph's batch answer left this mailbox out; it is read again at the next poll.",
    "webex_meeting_lengthened": "An event shorter than 10 minutes got a 10-minute Webex meeting (Webex's shortest); "
    "the event's own times are unchanged.",
    "webex_meeting_under_way": "An event was moved after its Webex meeting had started: Webex does not move a meeting "
    "under way, so the meeting keeps its times and its link keeps working.",
}
"""Codes of mailbox warnings (work done, with something an admin should know) and what they mean."""


def describe_code(code: str | None) -> str | None:
    """What an error or warning code means, for admins: a warning's text, or the first line of an error
    class's description."""
    if code in WARNINGS:
        return WARNINGS[code]
    kinds: list[type[HybridCalendarError]] = [HybridCalendarError]
    while kinds:
        kind = kinds.pop()
        if kind.code == code and kind.__doc__:
            return kind.__doc__.strip().splitlines()[0]
        kinds += kind.__subclasses__()
    return None


def queue_outcome(error: BaseException) -> QueueOutcome:
    """Queue outcome for ``error``; unknown exceptions are retried (they may be bugs fixed by a deploy)."""
    if isinstance(error, (PermanentError, AuthError)):
        return QueueOutcome.DROP
    if isinstance(error, (ValidationError, IntegrityError)):
        return QueueOutcome.POISON
    return QueueOutcome.RETRY
