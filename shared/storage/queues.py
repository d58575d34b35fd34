"""Queue messages that carry references only: ids and a change type, never payloads.

A message names what changed (tenant, mailbox, subscription, event, change type); the worker
fetches the rest itself. That keeps every message under Azure Queue storage's 64 KiB per
message and keeps subjects, bodies and addresses out of queues, which are not
encrypted by us. Bodies are base64, as the Functions queue trigger expects. A message is one
reference, or ``{"references": [...]}``: several references of one mailbox, as
:class:`GroupSender` writes them for the webhook.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from shared.errors import ValidationError
from shared.inputs import load_json
from shared.storage.clients import ensure_queue, queue_client, storage_error
from shared.telemetry import telemetry

STAMP_FIELDS = frozenset({"traceparent", "received"})
"""Not ids: the W3C trace context of the request that queued a reference and its receipt time (milliseconds since
the epoch), which telemetry adds when it is on (``shared.telemetry``). Two references that differ only in these
are the same work."""
REFERENCE_FIELDS = (
    frozenset(
        {
            "tenant_id",
            "mailbox_id",
            "subscription_id",
            "event_id",
            "change_type",
            "change_key",
            "reason",
            "kind",
            "operation",
            "deferred",
            "button",
            "version",
            "action",
        }
    )
    | STAMP_FIELDS
)
_REFERENCE = re.compile(r"[A-Za-z0-9._:=+/\-]{1,512}")


MAX_DELAY_SECONDS = 7 * 24 * 3600 - 60
"""Azure Queue messages may stay invisible for at most 7 days (a minute is kept back)."""
MAX_MESSAGE_CHARS = 45_000
"""JSON text per message: base64 makes it about 60,000 characters, under the queue's 64 KiB."""
MAX_REFERENCES = 500


def visible_in(at: datetime, now: datetime) -> int:
    """Seconds a message is kept invisible so that it shows at ``at``: to the nearest of the queue's whole
    seconds (so up to half a second early, which the worker waits out), at most 7 days. Measured with 1,000
    Join buttons due in one minute: rounding down (waits of up to a second) held so many worker slots that
    the host stopped fetching and a backlog grew (p99 4.5 s), and rounding up (never early) made every
    message late by the rounding plus the poller's back-off (p50 1.3 s)."""
    return max(0, min(round((at - now).total_seconds()), MAX_DELAY_SECONDS))


def is_reference(value: object) -> bool:
    """Can ``value`` travel in a reference message (an id of 1-512 letters, digits and ``. _ : = + / -``)?"""
    return isinstance(value, str) and bool(_REFERENCE.fullmatch(value))


def reference_message(fields: Mapping[str, str]) -> str:
    """The JSON text of a reference message; ValidationError for anything that is not a reference."""
    return json.dumps(_checked(fields), separators=(",", ":"))


def references_message(references: Sequence[Mapping[str, str]]) -> str:
    """The JSON text of one message carrying several references."""
    return json.dumps({"references": [_checked(r) for r in references]}, separators=(",", ":"))


def _checked(fields: Mapping[str, str]) -> dict[str, str]:
    unknown = sorted(set(fields) - REFERENCE_FIELDS)
    if unknown:
        raise ValidationError(f"queue message has fields that are not references: {', '.join(unknown)}")
    bad = sorted(name for name, value in fields.items() if not is_reference(value))
    if bad:
        raise ValidationError(
            f"queue message field(s) {', '.join(bad)} must be ids of 1-512 characters (letters, digits, . _ : = + / -)"
        )
    return dict(sorted(fields.items()))


def parse_reference(text: str) -> dict[str, str]:
    """The fields of a one-reference message, checked the same way they were when sent."""
    fields = _json_object(text)
    return _checked(fields)


def parse_references(text: str) -> list[dict[str, str]]:
    """The references of any message (one, or ``{"references": [...]}``), each checked as when sent."""
    document = _json_object(text)
    if set(document) != {"references"}:
        return [_checked(document)]
    items = document["references"]
    if not isinstance(items, list) or not 0 < len(items) <= MAX_REFERENCES:
        raise ValidationError(f"queue message 'references' is not a list of 1-{MAX_REFERENCES} references")
    if not all(isinstance(item, dict) for item in items):
        raise ValidationError("queue message 'references' holds something that is not a JSON object")
    return [_checked(item) for item in items]


def _json_object(text: str) -> dict[str, Any]:
    document = load_json(text, what="queue message", max_depth=3)
    if not isinstance(document, dict):
        raise ValidationError("queue message is not a JSON object")
    return document


class QueueWriter:
    """Sends reference messages; each queue's client is made, and the queue created, once per process.

    ``timeout`` (seconds) bounds each write and turns the SDK's own retries off, for callers with a
    deadline of their own (the webhook: Graph waits 10 s, then delivers again).
    """

    def __init__(self, connection: str, *, timeout: float | None = None) -> None:
        self._connection = connection
        self._timeout = timeout
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()

    def send(self, queue: str, fields: Mapping[str, str], *, delay_seconds: int | None = None) -> None:
        self.send_text(queue, reference_message(fields), delay_seconds=delay_seconds)

    def send_text(self, queue: str, text: str, *, delay_seconds: int | None = None) -> None:
        """A message already made by :func:`reference_message` or :func:`references_message`."""
        client = self._client(queue)
        with telemetry().span(
            f"send {queue}",
            kind="producer",
            attributes={"messaging.system": "azure.queues", "messaging.destination.name": queue},
        ):
            try:
                client.send_message(text, visibility_timeout=delay_seconds)
            except Exception as exc:
                raise storage_error(exc, "queue") from None

    def _client(self, queue: str) -> Any:
        with self._lock:
            client = self._clients.get(queue)
        if client is None:
            client = queue_client(self._connection, queue, timeout=self._timeout)
            try:
                ensure_queue(client)
            except Exception as exc:
                raise storage_error(exc, "queue") from None
            with self._lock:
                self._clients[queue] = client
        return client


class GroupSender:
    """Group commit for one queue: references of concurrent callers leave together, one message per mailbox.

    Graph's webhook may be answered only once its notifications are durable, and every queue write
    is a storage round trip with milliseconds of client CPU. While one write is in flight, callers
    that arrive wait for the next and share it, so a burst of N concurrent POSTs costs about one
    write per mailbox instead of N, and a lone POST is written at once, with no added wait. A message
    holds one mailbox's references only: Graph throttles per app and mailbox, so a
    mailbox that fails retries, and in the end poisons, only messages of its own. Exact duplicates
    (Graph's repeated deliveries in one batch) are written once.
    """

    def __init__(self, send: Callable[[str], None]) -> None:
        self._send = send
        self._lock = threading.Condition()
        self._pending: list[_Ticket] = []
        self._busy = False

    def submit(self, references: Iterable[Mapping[str, str]]) -> None:
        """Return once every reference is in the queue; raise what the write of any of them raised."""
        ticket = _Ticket([_checked(r) for r in references])
        if not ticket.references:
            return
        with self._lock:
            self._pending.append(ticket)
            while not ticket.done and self._busy:
                self._lock.wait()
            leader = not ticket.done
            if leader:
                self._busy, batch, self._pending = True, self._pending, []
        if leader:
            self._write(batch)
        if ticket.error is not None:
            raise ticket.error

    def _write(self, batch: list[_Ticket]) -> None:
        failed: dict[tuple[str, str], Exception] = {}
        try:
            for key, texts in _grouped(batch).items():
                try:
                    for text in texts:
                        self._send(text)
                except Exception as exc:  # the callers of this mailbox answer 5xx; Graph redelivers
                    failed[key] = exc
        finally:
            with self._lock:
                for ticket in batch:
                    ticket.error = next((failed[k] for k in ticket.keys() if k in failed), None)
                    ticket.done = True
                self._busy = False
                self._lock.notify_all()


class _Ticket:
    def __init__(self, references: list[dict[str, str]]) -> None:
        self.references = references
        self.done = False
        self.error: Exception | None = None

    def keys(self) -> set[tuple[str, str]]:
        return {_mailbox_of(r) for r in self.references}


def _mailbox_of(reference: Mapping[str, str]) -> tuple[str, str]:
    return reference.get("tenant_id", ""), reference.get("mailbox_id", "")


def _grouped(batch: list[_Ticket]) -> dict[tuple[str, str], list[str]]:
    """Per mailbox, the messages to write: distinct references (the first of each kept, stamps aside), packed up to
    MAX_MESSAGE_CHARS each."""
    groups: dict[tuple[str, str], dict[str, dict[str, str]]] = {}
    for ticket in batch:
        for reference in ticket.references:
            work = json.dumps({name: value for name, value in reference.items() if name not in STAMP_FIELDS})
            groups.setdefault(_mailbox_of(reference), {}).setdefault(work, reference)
    return {key: _packed(list(references.values())) for key, references in groups.items()}


def _packed(references: list[dict[str, str]]) -> list[str]:
    if len(references) == 1:
        return [reference_message(references[0])]
    chunks: list[list[dict[str, str]]] = [[]]
    size = 0
    for reference in references:
        length = len(reference_message(reference)) + 1
        if chunks[-1] and (len(chunks[-1]) == MAX_REFERENCES or size + length > MAX_MESSAGE_CHARS - 20):
            chunks.append([])
            size = 0
        chunks[-1].append(reference)
        size += length
    return [references_message(chunk) for chunk in chunks]
