"""The error tree maps to one HTTP status and one queue outcome per kind."""

from __future__ import annotations

import pytest

from shared import errors
from shared.errors import QueueOutcome, http_status, queue_outcome


@pytest.mark.parametrize(
    ("error", "status", "outcome"),
    [
        (errors.ValidationError("bad"), 400, QueueOutcome.POISON),
        (errors.PayloadTooLargeError("big"), 413, QueueOutcome.POISON),
        (errors.ThrottledError("slow down", retry_after=3), 503, QueueOutcome.RETRY),
        (errors.DependencyUnavailableError("down"), 503, QueueOutcome.RETRY),
        (errors.ConflictError("etag"), 409, QueueOutcome.RETRY),
        (errors.NotFoundError("gone"), 404, QueueOutcome.DROP),
        (errors.KeyUnavailableError("shredded"), 500, QueueOutcome.DROP),
        (errors.AccessDeniedError("policy"), 403, QueueOutcome.DROP),
        (errors.PermanentError("never"), 422, QueueOutcome.DROP),
        (errors.ReauthorizationRequiredError("revoked"), 401, QueueOutcome.DROP),
        (errors.IntegrityError("tampered"), 500, QueueOutcome.POISON),
        (errors.ConfigError([("X", None, "y")]), 500, QueueOutcome.RETRY),
        (RuntimeError("bug"), 500, QueueOutcome.RETRY),
    ],
)
def test_status_and_outcome(error: BaseException, status: int, outcome: QueueOutcome) -> None:
    assert (http_status(error), queue_outcome(error)) == (status, outcome)


def test_every_error_is_a_hybrid_calendar_error_with_a_code() -> None:
    kinds = [v for v in vars(errors).values() if isinstance(v, type) and issubclass(v, Exception)]
    assert all(issubclass(kind, errors.HybridCalendarError) for kind in kinds)
    assert len({kind.code for kind in kinds}) == len(kinds)


def test_throttled_error_keeps_retry_after() -> None:
    assert errors.ThrottledError("x", retry_after=2.5).retry_after == 2.5


def test_describe_exception_names_class_and_place_but_not_the_message() -> None:
    from shared.logs import describe_exception

    try:
        raise ValueError("alice@example.com token=abc")
    except ValueError as exc:
        text = describe_exception(exc)
    assert text.startswith("ValueError at test_errors.py:")
    assert "alice" not in text and "token" not in text


def test_error_bodies_carry_code_and_message_but_never_internals() -> None:
    assert errors.error_body(errors.NotFoundError("gone")) == {"error": {"code": "not_found", "message": "gone"}}
    assert errors.error_body(RuntimeError("secret path /etc")) == {
        "error": {"code": "internal_error", "message": "internal error"}
    }
