"""Queue messages that carry references only: ids and a change type, never payloads.

A message names what changed (tenant, mailbox, subscription, event, change type); the worker
fetches the rest itself. That keeps every message far under the 64 KiB queue limit
(peers-and-limits §D.2) and keeps subjects, bodies and addresses out of queues, which are not
encrypted by us. Bodies are base64, as the Functions queue trigger expects.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

from shared.errors import ValidationError
from shared.storage.clients import ensure_queue, queue_client

REFERENCE_FIELDS = frozenset({"tenant_id", "mailbox_id", "subscription_id", "event_id", "change_type",
                              "change_key", "reason", "kind"})
_REFERENCE = re.compile(r"[A-Za-z0-9._:=+/\-]{1,512}")


def reference_message(fields: Mapping[str, str]) -> str:
    """The JSON text of a reference message; ValidationError for anything that is not a reference."""
    unknown = sorted(set(fields) - REFERENCE_FIELDS)
    if unknown:
        raise ValidationError(f"queue message has fields that are not references: {', '.join(unknown)}")
    bad = sorted(name for name, value in fields.items() if not isinstance(value, str) or not _REFERENCE.fullmatch(value))
    if bad:
        raise ValidationError(f"queue message field(s) {', '.join(bad)} must be ids of 1-512 characters "
                              "(letters, digits, . _ : = + / -)")
    return json.dumps(dict(sorted(fields.items())), separators=(",", ":"))


def parse_reference(text: str) -> dict[str, str]:
    """The fields of a reference message, checked the same way they were when sent."""
    try:
        fields = json.loads(text)
    except ValueError:
        raise ValidationError("queue message is not JSON") from None
    if not isinstance(fields, dict):
        raise ValidationError("queue message is not a JSON object")
    reference_message(fields)
    return fields


class QueueWriter:
    """Sends reference messages; each queue is created once per process on first use."""

    def __init__(self, connection: str) -> None:
        self._connection = connection
        self._ready: set[str] = set()

    def send(self, queue: str, fields: Mapping[str, str], *, delay_seconds: int | None = None) -> None:
        text = reference_message(fields)
        client = queue_client(self._connection, queue)
        if queue not in self._ready:
            ensure_queue(client)
            self._ready.add(queue)
        client.send_message(text, visibility_timeout=delay_seconds)

