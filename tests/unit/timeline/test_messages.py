"""Timeline queue messages: what the worker accepts, and the exact refusal of anything else (the message then
goes to the poison queue at once, intact)."""

from __future__ import annotations

import pytest

from shared.errors import ValidationError
from shared.storage.queues import parse_references, reference_message
from shared.timeline.buttons import Send
from shared.timeline.timeline import message_fields, parse_fields

TENANT, MAILBOX = "72f988bf-86f1-41af-91ab-2d7cd011db47", "c0ffee00-0000-4000-8000-000000000001"


def test_a_message_round_trips() -> None:
    send = Send("show", "0123456789abcdef0123456789abcdef", "a1b2c3", None)  # type: ignore[arg-type]
    (fields,) = parse_references(reference_message(message_fields(TENANT, MAILBOX, send)))
    tenant, mailbox, parsed = parse_fields(fields)
    assert (tenant, mailbox, parsed.action, parsed.key, parsed.version) == (TENANT, MAILBOX, "show", send.key, "a1b2c3")


@pytest.mark.parametrize(
    "text",
    [
        '{"tenant_id": "t", "mailbox_id": "m", "button": "b", "version": "v", "action": "explode"}',
        '{"tenant_id": "t", "mailbox_id": "m", "button": "b", "action": "show"}',
        '{"tenant_id": "t", "mailbox_id": "m", "button": "b/../x", "version": "v v", "action": "show"}',
        '{"tenant_id": "t", "mailbox_id": "m", "button": "\\ud800", "version": "v", "action": "show"}',
        '{"tenant_id": "t", "mailbox_id": "m", "button": "' + "b" * 600 + '", "version": "v", "action": "show"}',
        "[" * 50,
        "",
        "not json",
        '{"references": []}',
    ],
)
def test_anything_else_is_refused(text: str) -> None:
    with pytest.raises(ValidationError):
        for fields in parse_references(text):
            parse_fields(fields)
