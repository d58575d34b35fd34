"""Queue messages are references only, base64 on the wire as the queue trigger expects."""

from __future__ import annotations

import base64
import json
import re

import pytest

from shared.errors import ValidationError
from shared.storage.clients import queue_client, queue_service
from shared.storage.queues import QueueWriter, parse_reference, reference_message
from tests.storage.conftest import new_id

REFERENCE = {"tenant_id": "6f1c2d3e-0000-4000-8000-000000000001", "mailbox_id": "a1b2c3d4-0000-4000-8000-00000000000a",
             "event_id": "AAMkAGI2TG93AAA=/x+y", "change_type": "updated"}


def test_reference_round_trips_through_a_real_queue(azurite: str) -> None:
    name = "refs-" + new_id()[:8]
    QueueWriter(azurite).send(name, REFERENCE)
    raw = next(iter(queue_client(azurite, name, base64=False).receive_messages())).content
    assert parse_reference(base64.b64decode(raw).decode()) == REFERENCE


@pytest.mark.parametrize(("fields", "message"), [
    ({**REFERENCE, "subject": "Board meeting"}, "not references: subject"),
    ({**REFERENCE, "mailbox_id": "alice@contoso.com"}, "field(s) mailbox_id must be ids"),
    ({**REFERENCE, "event_id": "has spaces in it"}, "field(s) event_id must be ids"),
    ({**REFERENCE, "event_id": "x" * 513}, "1-512 characters"),
    ({**REFERENCE, "change_type": 7}, "field(s) change_type must be ids"),
])
def test_anything_but_a_reference_is_refused_before_sending(azurite: str, fields: dict, message: str) -> None:
    name = "refs-" + new_id()[:8]
    with pytest.raises(ValidationError, match=re.escape(message)):
        QueueWriter(azurite).send(name, fields)
    assert name not in [queue.name for queue in queue_service(azurite).list_queues()]


@pytest.mark.parametrize("text", ["not json", "[1, 2]", json.dumps({"body": "<html>"})])
def test_parse_refuses_what_was_not_sent_as_a_reference(text: str) -> None:
    with pytest.raises(ValidationError):
        parse_reference(text)


def test_messages_are_canonical() -> None:
    assert reference_message(dict(reversed(list(REFERENCE.items())))) == reference_message(REFERENCE)
