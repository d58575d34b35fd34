"""The queue policy (retry, defer, drop, poison), typed messages, claims and owed rounds, with fakes only."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter

import pytest

from shared.errors import (
    AccessPolicyDeniedError,
    ConflictError,
    DependencyUnavailableError,
    MailboxNotFoundError,
    ThrottledError,
    ValidationError,
)
from shared.storage.queues import parse_references, reference_message, references_message
from shared.sync.changes import Batch
from shared.sync.inflight import Inflight
from shared.sync.messages import ChangeRef, ChangeType, JobKind, JobRef, LifecycleEvent, LifecycleRef, Outcome
from shared.sync.recovery import Recovery
from shared.sync.worker import MAX_DEFERRALS, Delivery, Disposition, QueueWorker, disposition

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"


class Sent:
    """A queue writer that keeps what it was asked to send."""

    def __init__(self, fail_after: int | None = None) -> None:
        self.messages: list[tuple[str, str, int | None]] = []
        self.fail_after = fail_after

    def send_text(self, queue: str, text: str, *, delay_seconds: int | None = None) -> None:
        if self.fail_after is not None and len(self.messages) >= self.fail_after:
            raise DependencyUnavailableError("queue storage failed")
        self.messages.append((queue, text, delay_seconds))

    def send(self, queue: str, fields: dict[str, str], *, delay_seconds: int | None = None) -> None:
        self.send_text(queue, reference_message(fields), delay_seconds=delay_seconds)


class Engine:
    """Fails the events named in ``failures`` with the error given; records what it applied."""

    def __init__(self, failures: dict[str, Exception] | None = None) -> None:
        self.failures = failures or {}
        self.applied: list[str] = []
        self.recorded: list[tuple[str, str]] = []

    def apply_change(self, change: ChangeRef) -> Outcome:
        if change.event_id in self.failures:
            raise self.failures[change.event_id]
        self.applied.append(change.event_id)
        return Outcome.STORED

    def apply_changes(self, changes: list[ChangeRef]) -> Batch:
        return Batch(left=list(changes))

    def record_failure(self, tenant_id: str, mailbox_id: str, error: BaseException | None) -> None:
        self.recorded.append((mailbox_id, type(error).__name__))


def changes_message(*event_ids: str) -> str:
    return references_message(
        [{"tenant_id": TENANT, "mailbox_id": "m1", "event_id": e, "change_type": "updated"} for e in event_ids]
    )


def run(engine: Engine, text: str, sent: Sent | None = None) -> tuple[Counter[str], Sent]:
    sent = sent or Sent()
    worker = QueueWorker(engine, sent)  # type: ignore[arg-type]
    return worker.changes(Delivery("hc-changes", "msg-1", text)), sent


def test_each_failure_has_its_fate() -> None:
    assert disposition(ThrottledError("x", retry_after=3)) is Disposition.DEFER
    assert disposition(DependencyUnavailableError("x")) is Disposition.RETRY
    assert disposition(ConflictError("x")) is Disposition.RETRY
    assert disposition(RuntimeError("a bug")) is Disposition.RETRY
    assert disposition(AccessPolicyDeniedError("x")) is Disposition.DROP
    assert disposition(ValidationError("x")) is Disposition.POISON


def test_a_permanent_failure_drops_only_its_reference_and_is_recorded() -> None:
    engine = Engine({"AAMk2=": MailboxNotFoundError("gone")})
    counts, _ = run(engine, changes_message("AAMk1=", "AAMk2=", "AAMk3="))
    assert engine.applied == ["AAMk1=", "AAMk3="] and engine.recorded == [("m1", "MailboxNotFoundError")]
    assert counts == Counter({"stored": 2, "dropped": 1})


def test_a_transient_failure_retries_the_message() -> None:
    engine = Engine({"AAMk2=": DependencyUnavailableError("storage down")})
    with pytest.raises(DependencyUnavailableError):
        run(engine, changes_message("AAMk1=", "AAMk2="))
    assert engine.applied == ["AAMk1="]


def test_throttling_defers_what_is_left_without_failing_the_message() -> None:
    engine = Engine({"AAMk2=": ThrottledError("429", retry_after=12.5)})
    counts, sent = run(engine, changes_message("AAMk1=", "AAMk2=", "AAMk3="))
    assert counts == Counter({"stored": 1, "deferred": 2})
    [(queue, text, delay)] = sent.messages
    assert (queue, delay) == ("hc-changes", 12)
    assert [(r["event_id"], r["deferred"]) for r in parse_references(text)] == [("AAMk2=", "1"), ("AAMk3=", "1")]


def test_a_message_deferred_too_often_is_retried_as_a_failure() -> None:
    engine = Engine({"AAMk1=": ThrottledError("429", retry_after=1)})
    text = references_message(
        [{"tenant_id": TENANT, "mailbox_id": "m1", "event_id": "AAMk1=", "deferred": str(MAX_DEFERRALS)}]
    )
    with pytest.raises(ThrottledError):
        run(engine, text)


@pytest.mark.parametrize(
    "text",
    [
        '{"tenant_id": "x"}',
        "not json",
        '{"tenant_id": "x", "mailbox_id": "m", "event_id": "e", "change_type": "renamed"}',
        "[" * 3000 + "]" * 3000,
    ],
)
def test_what_can_never_succeed_goes_to_the_poison_queue_at_once(text: str) -> None:
    counts, sent = run(Engine(), text)
    assert counts == Counter({"poisoned": 1}) and sent.messages == [("hc-changes-poison", text, None)]


def test_a_validation_error_raised_by_the_work_poisons_the_message_at_once() -> None:
    text = changes_message("AAMk1=", "AAMk2=")
    counts, sent = run(Engine({"AAMk1=": ValidationError("bad data")}), text)
    assert counts == Counter({"poisoned": 1}) and sent.messages == [("hc-changes-poison", text, None)]


def test_typed_messages_read_what_they_wrote() -> None:
    change = ChangeRef(TENANT, "m1", "AAMk1=", ChangeType.DELETED, "ck", "sub")
    assert ChangeRef.parse(change.fields()) == change
    lifecycle = LifecycleRef(TENANT, "m1", "sub", LifecycleEvent.MISSED)
    assert LifecycleRef.parse(lifecycle.fields()) == lifecycle
    for job in (
        JobRef(TENANT, JobKind.ENABLE, "m1", "room", "op"),
        JobRef(TENANT, JobKind.SWEEP, recover=True),
        JobRef(TENANT, JobKind.RENEW),
    ):
        assert JobRef.parse(json.loads(reference_message(job.fields()))) == job
    for bad in (
        {"tenant_id": TENANT, "kind": "explode"},
        {"tenant_id": TENANT, "kind": "enable"},
        {"tenant_id": TENANT, "kind": "enable", "mailbox_id": "m", "reason": "kiosk"},
        {"kind": "renew"},
    ):
        with pytest.raises(ValidationError):
            JobRef.parse(bad)


def test_a_version_is_claimed_once_and_a_failed_fetch_gives_it_back() -> None:
    inflight = Inflight()
    claim = (TENANT, "m1", "AAMk1=", "ck")
    assert inflight.claim(claim) and not inflight.claim(claim)
    inflight.release(claim)
    assert inflight.claim(claim)


def test_a_notification_of_our_own_write_waits_for_it() -> None:
    inflight, order = Inflight(), []
    key = (TENANT, "m1", "AAMk1=")
    started = threading.Event()

    def writer() -> None:
        with inflight.writing(key):
            started.set()
            threading.Event().wait(0.2)
            order.append("written")

    thread = threading.Thread(target=writer)
    thread.start()
    started.wait()
    inflight.wait_for_write(key)
    order.append("read")
    thread.join()
    assert order == ["written", "read"]


def test_owed_rounds_are_paid_once_and_kept_when_the_queue_still_fails() -> None:
    failing = Sent(fail_after=1)
    recovery = Recovery(failing)  # type: ignore[arg-type]
    recovery.owe_mailboxes(
        [
            {"tenant_id": TENANT, "mailbox_id": "m1"},
            {"tenant_id": TENANT, "mailbox_id": "m1"},
            {"tenant_id": TENANT, "mailbox_id": "m2"},
        ]
    )
    recovery.owe_tenants([TENANT.upper()])
    with pytest.raises(DependencyUnavailableError):
        recovery.settle()
    assert recovery.owing and len(failing.messages) == 1
    working = Sent()
    recovery.writer = working  # type: ignore[assignment]
    assert recovery.settle() == 2 and not recovery.owing
    jobs = [JobRef.parse(json.loads(text)) for _, text, _ in failing.messages + working.messages]
    assert sorted((j.kind.value, j.mailbox_id or "", j.recover) for j in jobs) == [
        ("resume", "m1", False),
        ("resume", "m2", False),
        ("sweep", "", True),
    ]
    assert all(delay is None or 0 < delay < 60 for _, _, delay in working.messages + failing.messages)


def test_changes_of_one_mailbox_applied_at_the_same_moment_are_applied_together() -> None:
    from shared.sync.combine import Combiner

    entered, release, groups = threading.Event(), threading.Event(), []

    def apply(changes: list[ChangeRef]) -> Batch:
        groups.append([c.event_id for c in changes])
        if len(groups) == 1:
            entered.set()
            release.wait(5)
        batch = Batch(left=[c for c in changes if c.event_id.endswith("left=")])
        for change in changes:
            if change not in batch.left:
                batch.done(change, Outcome.STORED)
        return batch

    combiner, results = Combiner(apply), {}

    def call(name: str, *event_ids: str) -> None:
        results[name] = combiner.apply([ChangeRef(TENANT, "m1", e) for e in event_ids])

    first = threading.Thread(target=call, args=("first", "AAMk0="))
    first.start()
    entered.wait(5)
    others = [threading.Thread(target=call, args=(f"c{i}", f"AAMk{i}=", f"AAMk{i}left=")) for i in range(1, 4)]
    for thread in others:
        thread.start()
    deadline = time.monotonic() + 5
    while len(combiner._waiting.get((TENANT, "m1"), [])) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    release.set()
    for thread in [first, *others]:
        thread.join(5)
    assert groups[0] == ["AAMk0="] and sorted(groups[1]) == sorted(
        [f"AAMk{i}{tail}=" for i in range(1, 4) for tail in ("", "left")]
    ), "the three that waited, in one group"
    assert results["first"].outcomes == [Outcome.STORED] and results["first"].left == []
    for i in range(1, 4):
        assert results[f"c{i}"].outcomes == [Outcome.STORED]
        assert [c.event_id for c in results[f"c{i}"].left] == [f"AAMk{i}left="]


def test_every_change_of_a_failed_group_meets_its_error() -> None:
    from shared.sync.combine import Combiner

    def apply(changes: list[ChangeRef]) -> Batch:
        raise DependencyUnavailableError("storage down")

    with pytest.raises(DependencyUnavailableError):
        Combiner(apply).apply([ChangeRef(TENANT, "m1", "AAMk1=")])
