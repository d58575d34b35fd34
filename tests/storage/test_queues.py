"""Queue messages are references only, base64 on the wire as the queue trigger expects."""

from __future__ import annotations

import base64
import json
import re
import threading
import time

import pytest

from shared.errors import DependencyUnavailableError, ValidationError
from shared.storage.clients import queue_client, queue_service
from shared.storage.queues import (
    MAX_MESSAGE_CHARS,
    GroupSender,
    QueueWriter,
    parse_reference,
    parse_references,
    reference_message,
    references_message,
)
from tests.storage.conftest import new_id

REFERENCE = {
    "tenant_id": "6f1c2d3e-0000-4000-8000-000000000001",
    "mailbox_id": "a1b2c3d4-0000-4000-8000-00000000000a",
    "event_id": "AAMkAGI2TG93AAA=/x+y",
    "change_type": "updated",
}


def test_reference_round_trips_through_a_real_queue(azurite: str) -> None:
    name = "refs-" + new_id()[:8]
    QueueWriter(azurite).send(name, REFERENCE)
    raw = next(iter(queue_client(azurite, name, base64=False).receive_messages())).content
    assert parse_reference(base64.b64decode(raw).decode()) == REFERENCE


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({**REFERENCE, "subject": "Board meeting"}, "not references: subject"),
        ({**REFERENCE, "mailbox_id": "alice@contoso.com"}, "field(s) mailbox_id must be ids"),
        ({**REFERENCE, "event_id": "has spaces in it"}, "field(s) event_id must be ids"),
        ({**REFERENCE, "event_id": "x" * 513}, "1-512 characters"),
        ({**REFERENCE, "change_type": 7}, "field(s) change_type must be ids"),
    ],
)
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


def _ref(mailbox: str, event: str) -> dict[str, str]:
    return {**REFERENCE, "mailbox_id": mailbox, "event_id": event}


def test_a_message_of_several_references_round_trips_and_one_reference_reads_as_a_list(azurite: str) -> None:
    name = "refs-" + new_id()[:8]
    several = [_ref("m1", "AAMk1="), _ref("m1", "AAMk2=")]
    QueueWriter(azurite).send_text(name, references_message(several))
    raw = next(iter(queue_client(azurite, name, base64=False).receive_messages())).content
    assert parse_references(base64.b64decode(raw).decode()) == several
    assert parse_references(reference_message(REFERENCE)) == [REFERENCE]


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"references": []}, "not a list of 1-500 references"),
        ({"references": "AAMk1="}, "not a list of 1-500 references"),
        ({"references": [REFERENCE] * 501}, "not a list of 1-500 references"),
        ({"references": [REFERENCE, 7]}, "holds something that is not a JSON object"),
        ({"references": [REFERENCE, {**REFERENCE, "subject": "Board meeting"}]}, "not references: subject"),
        ({"references": [REFERENCE], "subject": "x"}, "not references: references, subject"),
    ],
)
def test_a_message_of_references_is_checked_whole(document: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(message)):
        parse_references(json.dumps(document))


class _BlockingSend:
    """A fake queue: the first write waits until released, so concurrent callers pile up behind it."""

    def __init__(self, *, failing_mailbox: str | None = None) -> None:
        self.texts: list[str] = []
        self.release = threading.Event()
        self.first_started = threading.Event()
        self._failing = failing_mailbox

    def __call__(self, text: str) -> None:
        if not self.texts:
            self.first_started.set()
            self.release.wait(5)
        self.texts.append(text)
        if self._failing and all(r["mailbox_id"] == self._failing for r in parse_references(text)):
            raise DependencyUnavailableError("queue storage failed (test)")


def _submit_all(sender: GroupSender, batches: list[list[dict[str, str]]], send: _BlockingSend) -> dict[int, object]:
    outcomes: dict[int, object] = {}

    def run(i: int) -> None:
        try:
            sender.submit(batches[i])
            outcomes[i] = "ok"
        except Exception as exc:
            outcomes[i] = exc

    first = threading.Thread(target=run, args=(0,))
    first.start()
    assert send.first_started.wait(5)
    others = [threading.Thread(target=run, args=(i,)) for i in range(1, len(batches))]
    for thread in others:
        thread.start()
    deadline = time.monotonic() + 5
    while len(sender._pending) < len(others) and time.monotonic() < deadline:  # all queued behind the first write
        time.sleep(0.01)
    send.release.set()
    for thread in [first, *others]:
        thread.join(5)
    return outcomes


def test_a_lone_submit_is_written_at_once_as_one_reference() -> None:
    sent: list[str] = []
    GroupSender(sent.append).submit([REFERENCE])
    GroupSender(sent.append).submit([])
    assert sent == [reference_message(REFERENCE)]


def test_concurrent_submits_share_one_write_per_mailbox_without_duplicates() -> None:
    send = _BlockingSend()
    batches = [[_ref("m1", "AAMk0=")]] + [[_ref("m1", f"AAMk{i}="), _ref("m2", f"AAMk{i}=")] for i in range(1, 6)]
    batches.append([_ref("m1", "AAMk1=")])
    outcomes = _submit_all(GroupSender(send), batches, send)
    assert set(outcomes.values()) == {"ok"}
    assert send.texts[0] == reference_message(_ref("m1", "AAMk0="))
    later = sorted(
        (sorted(parse_references(text), key=lambda r: r["event_id"]) for text in send.texts[1:]),
        key=lambda refs: refs[0]["mailbox_id"],
    )
    assert later == [[_ref("m1", f"AAMk{i}=") for i in range(1, 6)], [_ref("m2", f"AAMk{i}=") for i in range(1, 6)]]


def test_a_failed_write_fails_only_the_callers_with_references_of_that_mailbox() -> None:
    send = _BlockingSend(failing_mailbox="m2")
    batches = [
        [_ref("m1", "AAMk0=")],
        [_ref("m1", "AAMk1=")],
        [_ref("m2", "AAMk2=")],
        [_ref("m1", "AAMk3="), _ref("m2", "AAMk4=")],
    ]
    outcomes = _submit_all(GroupSender(send), batches, send)
    assert outcomes[0] == outcomes[1] == "ok"
    assert isinstance(outcomes[2], DependencyUnavailableError) and isinstance(outcomes[3], DependencyUnavailableError)


def test_a_large_group_is_packed_into_messages_under_the_queue_limit() -> None:
    sent: list[str] = []
    references = [_ref("m1", f"AAMk{i:04d}" + "x" * 400 + "=") for i in range(300)]
    GroupSender(sent.append).submit(references)
    assert len(sent) > 1 and all(len(text) <= MAX_MESSAGE_CHARS for text in sent)
    assert [r for text in sent for r in parse_references(text)] == references
