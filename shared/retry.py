"""Bounded retries shared by every HTTP client of the product (Graph, Webex, Key Vault).

A transient failure (:class:`~shared.errors.TransientError`: 429, 503, a dropped connection)
is retried, waiting what ``Retry-After`` said (seconds, fractional seconds or an HTTP date) or,
without it, an exponential back-off with full jitter. Attempts and total time are both bounded;
a wait that would not fit in the remaining budget is not slept: the error is raised carrying
``retry_after``, so a queue can bring the work back later instead of holding a worker.
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from shared.errors import TransientError

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry; back-off doubles from ``base_delay`` up to ``max_delay``."""

    max_attempts: int = 5
    max_total_seconds: float = 60.0
    base_delay: float = 0.5
    max_delay: float = 30.0

    def backoff(self, attempt: int, rng: random.Random) -> float:
        """Full-jitter exponential back-off for the attempt that just failed (1-based)."""
        return rng.uniform(0.5, 1.0) * min(self.max_delay, self.base_delay * 2 ** (attempt - 1))


def call_with_retries(
    attempt: Callable[[], T], *, policy: RetryPolicy, sleep: Callable[[float], None], rng: random.Random
) -> T:
    """``attempt()`` until it succeeds, raises a non-transient error, or the policy's budget is spent."""
    started = time.monotonic()
    for number in range(1, policy.max_attempts + 1):
        try:
            return attempt()
        except TransientError as error:
            wait = error.retry_after if error.retry_after is not None else policy.backoff(number, rng)
            if number == policy.max_attempts or time.monotonic() - started + wait > policy.max_total_seconds:
                error.retry_after = wait
                raise
            sleep(wait)
    raise AssertionError("unreachable")


def retry_after_seconds(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: whole or fractional seconds, or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - (time.time() if now is None else now))
