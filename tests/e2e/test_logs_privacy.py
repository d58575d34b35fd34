"""Nothing personal in any log line, ever: the product's flows run with every logger at DEBUG, then each
line is searched for the addresses, names, subjects, bodies, join links, tokens and secrets they used.

The Graph stand-in's own log lines are left out: it plays Microsoft, whose logs are not ours.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator

import pytest
import requests

from shared.config import DEMO_CLIENT_SECRET
from tests.e2e.conftest import FUNCTION_KEY, Stack, eventually
from tests.e2e.test_meetings_api import invite, issue, me, room_list, token
from tests.e2e.test_scheduling import written
from tests.e2e.test_sync import enabled, mailbox, stored, when

SUBJECT = "Quarterly merger talk with Globex"
BODY_WORDS = "confidential acquisition numbers"
JOIN_URL = "https://contoso.zoom.us/j/8811223344?pwd=s3cretPwd"
REPLY = "On parental leave until spring"


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith("local.graphsim"):
            return
        text = f"{record.name} {record.getMessage()}"
        if record.exc_info:
            text += " " + logging.Formatter().formatException(record.exc_info)
        self.lines.append(text)


@pytest.fixture(scope="module")
def lines() -> Iterator[list[str]]:
    handler, root = _Lines(), logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield handler.lines
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def test_no_log_line_holds_personal_data_or_secrets(lines: list[str], stack: Stack) -> None:
    alice, bob, room = enabled(stack), enabled(stack), enabled(stack, "room")
    body = {"contentType": "html", "content": f'<p>{BODY_WORDS}</p><a href="{JOIN_URL}">Join</a>'}
    event = stack.sim.app.store.create_event(
        alice.id, {"subject": SUBJECT, "start": when(1), "end": when(2), "body": body, "attendees": invite(bob, room)}
    )
    assert eventually(lambda: [r.join_url for r in stored(stack, bob)] == [JOIN_URL])
    stack.sim.app.store.update_event(
        alice.id, event.id, {"subject": SUBJECT + " (moved)", "start": when(3), "end": when(4)}
    )
    scheduled = stack.sim.app.store.create_event(
        alice.id, {"subject": SUBJECT + " sync", "start": when(5), "end": when(6), "location": {"displayName": "@meet"}}
    )
    eventually(lambda: written(stack, alice, scheduled.id))
    missing, spare = str(uuid.uuid4()), mailbox(stack, "room")
    bulk = stack.admin(
        "POST",
        f"tenants/{stack.demo.tenant_id}/mailboxes",
        json={"mailboxes": [{"id": spare.id, "kind": "room"}, {"id": missing}]},
    )
    status = bulk.json()["status"].removeprefix("/api/")
    eventually(lambda: stack.admin("GET", status).json()["complete"], timeout=30)
    bearer = token(stack, alice)
    device = issue(stack, room)["secret"]
    assert me(stack, bearer).status_code == 200 and room_list(stack, room.id, device).status_code == 200
    assert me(stack, bearer + "x").status_code == 401 and room_list(stack, room.id, device + "x").status_code == 401
    stack.sim.app.store.users[alice.id].automatic_replies.update(
        {"status": "alwaysEnabled", "internalReplyMessage": f"<p>{REPLY}</p>"}
    )
    stack.sim.app.store.users[bob.id].exchange = False
    stack.engine.presence.poll(stack.demo.tenant_id, [alice.id, bob.id])  # type: ignore[union-attr]
    stack.sim.app.store.users[bob.id].exchange = True
    assert (
        requests.get(f"{stack.url}/api/me/presence", headers={"Authorization": f"Bearer {bearer}"}, timeout=30).json()[
            "outOfOffice"
        ]
        is True
    )
    stack.admin("GET", f"tenants/{stack.demo.tenant_id}/status")
    stack.sim.app.store.delete_event(alice.id, event.id)
    assert eventually(lambda: [r.is_cancelled for r in stored(stack, bob)] == [True])
    stack.admin("DELETE", f"tenants/{stack.demo.tenant_id}/mailboxes/{bob.id}")
    requests.get(f"{stack.url}/api/tenants/{stack.demo.tenant_id}/status", params={"code": "wrong-key"}, timeout=10)

    secrets = {
        SUBJECT,
        BODY_WORDS,
        JOIN_URL,
        REPLY,
        "s3cretPwd",
        bearer,
        device,
        device.rsplit(".", 1)[1],
        DEMO_CLIENT_SECRET,
        FUNCTION_KEY,
    }
    for person in (alice, bob, room, spare):
        secrets |= {person.mail, person.display_name, person.mail.split("@")[0]}
    assert len(lines) > 20, "the flows above logged"
    leaks = [(secret, line) for line in lines for secret in secrets if secret.lower() in line.lower()]
    assert leaks == []
