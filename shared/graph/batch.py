"""JSON batching: up to 20 requests per ``$batch`` call, results per item.

The batch answers 200 even when items inside it were throttled: those items (429, 503, 504)
are sent again in a new batch after the longest Retry-After among them, within the transport's
retry budget. Every other failed item comes back as a typed error on its own result; an item
whose dependency failed comes back 424. ``dependsOn`` makes a batch sequential, so dependent
requests must fit in one batch.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from shared.errors import HybridCalendarError, ValidationError
from shared.graph.errors import RETRYABLE_STATUSES, graph_error, retry_after_seconds
from shared.graph.transport import measure_answer
from shared.telemetry import telemetry

MAX_BATCH = 20


@dataclass(frozen=True)
class BatchRequest:
    """One request of a batch; ``url`` is relative to the version root (``/users/{id}/events``)."""

    id: str
    method: str
    url: str
    body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    depends_on: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        item: dict[str, Any] = {"id": self.id, "method": self.method, "url": self.url}
        headers = dict(self.headers)
        if self.body is not None:
            headers.setdefault("Content-Type", "application/json")
            item["body"] = self.body
        if headers:
            item["headers"] = headers
        if self.depends_on:
            item["dependsOn"] = list(self.depends_on)
        return item


@dataclass(frozen=True)
class BatchResult:
    """One item's outcome: its status and body, or ``error`` when it failed."""

    id: str
    status: int
    body: Any
    headers: Mapping[str, str]
    error: HybridCalendarError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


Send = Callable[[list[dict[str, Any]]], list[dict[str, Any]]]
"""POST one $batch body's ``requests`` and return its ``responses``."""


def run_batch(
    requests: Sequence[BatchRequest],
    send: Send,
    *,
    max_attempts: int = 5,
    max_total_seconds: float = 60.0,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, BatchResult]:
    """Results by id for any number of requests, 20 per call, inner throttling retried."""
    _check(requests)
    results: dict[str, BatchResult] = {}
    for start in range(0, len(requests), MAX_BATCH):
        chunk = list(requests[start : start + MAX_BATCH])
        results.update(_run_chunk(chunk, send, max_attempts, max_total_seconds, sleep))
    return results


def _check(requests: Sequence[BatchRequest]) -> None:
    ids = [r.id.lower() for r in requests]
    if len(set(ids)) != len(ids):
        raise ValidationError("batch request ids must be unique (case-insensitively)")
    if any(r.depends_on for r in requests) and len(requests) > MAX_BATCH:
        raise ValidationError(f"requests with dependsOn must fit in one batch of {MAX_BATCH}")


def _run_chunk(
    chunk: list[BatchRequest], send: Send, max_attempts: int, budget: float, sleep: Callable[[float], None]
) -> dict[str, BatchResult]:
    started = time.monotonic()
    pending = {r.id: r for r in chunk}
    results: dict[str, BatchResult] = {}
    for attempt in range(1, max_attempts + 1):
        answers = {str(a["id"]): a for a in send([r.to_json() for r in pending.values()])}
        _measure(answers.values())
        retry = {i: pending[i] for i, a in answers.items() if int(a["status"]) in RETRYABLE_STATUSES and i in pending}
        results.update({i: _result(a) for i, a in answers.items() if i not in retry})
        wait = max((retry_after_seconds(_header(answers[i], "Retry-After")) or 1.0) for i in retry) if retry else 0
        if not retry or attempt == max_attempts or time.monotonic() - started + wait > budget:
            results.update({i: _result(answers[i]) for i in retry})
            return results
        sleep(wait)
        pending = retry
    return results


def _measure(answers: Iterable[Mapping[str, Any]]) -> None:
    """Each item of a ``$batch`` counts as a Graph request of its own (Graph throttles them so)."""
    if not telemetry().enabled:
        return
    for answer in answers:
        status = int(answer["status"])
        measure_answer("batch item", status, _header(answer, "Retry-After") if status == 429 else None)


def _header(answer: Mapping[str, Any], name: str) -> str | None:
    headers = {k.lower(): v for k, v in (answer.get("headers") or {}).items()}
    return headers.get(name.lower())


def _result(answer: Mapping[str, Any]) -> BatchResult:
    status = int(answer["status"])
    headers = dict(answer.get("headers") or {})
    body = answer.get("body")
    error = graph_error(status, body, headers, what=f"batch item {answer['id']}") if status >= 400 else None
    return BatchResult(str(answer["id"]), status, body, headers, error)
