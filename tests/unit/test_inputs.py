"""Hostile input, decided without I/O: JSON reading, storage keys, the webhook's verifier, log-safe outcomes."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.errors import PayloadTooLargeError, ValidationError
from shared.inputs import check_text, load_json
from shared.logs import describe_outcome
from shared.storage.queues import parse_references
from shared.storage.records import Mailbox, Subscription, digest
from shared.storage.tables import Table, check_key
from shared.sync.notifications import (
    MAX_ITEMS,
    MAX_UNKNOWN,
    UNKNOWN_FOR_SECONDS,
    NotificationVerifier,
    parse_collection,
)

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"


def test_json_is_read_strictly() -> None:
    assert load_json(b'{"a": ["\\ud83d\\ude00"]}', what="body") == {"a": ["\U0001f600"]}
    for raw, problem in (
        (b"[" * 5000 + b"]" * 5000, "nested too deeply"),
        (b"[" * 40 + b"]" * 40, "nested too deeply"),
        (b'{"a": "\\ud800"}', "lone surrogate"),
        (b'{"\\udfff": 1}', "lone surrogate"),
        (b"\xed\xa0\x80", "not JSON"),
        (b"{", "not JSON"),
    ):
        with pytest.raises(ValidationError, match=problem):
            load_json(raw, what="body")
    assert load_json(b"[" * 32 + b"]" * 32, what="body", walk=False)
    with pytest.raises(ValidationError, match="nested too deeply"):
        load_json(b"[" * 33 + b"]" * 33, what="body", walk=False)
    quoted = {"a": "[" * 40 + '\\"{', "b": [[1]]}
    assert load_json(json.dumps(quoted).encode(), what="body") == quoted


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(alphabet='[]{}"\\ab', max_size=6),
        lambda inner: (
            st.lists(inner, max_size=3) | st.dictionaries(st.text(alphabet='[]{}"a', max_size=3), inner, max_size=3)
        ),
        max_leaves=30,
    )
)
def test_the_nesting_is_measured_as_a_walk_would(document: object) -> None:
    from shared.inputs import _deeper_than

    def depth(value: object) -> int:
        if isinstance(value, dict):
            return 1 + max((depth(v) for v in value.values()), default=0)
        if isinstance(value, list):
            return 1 + max((depth(v) for v in value), default=0)
        return 0

    raw = json.dumps(document).encode()
    for levels in (1, 2, 3, 5):
        assert _deeper_than(raw, levels) == (depth(document) > levels), (raw, levels)
    with pytest.raises(ValidationError, match="lone surrogate"):
        load_json(b'[{"x": "\\ud800"}]', what="body", walk=False)


def test_text_checks() -> None:
    assert check_text("Zürich 会議", what="x") == "Zürich 会議"
    for bad in ("a\x00", "b\x85", "\ud800"):
        with pytest.raises(ValidationError):
            check_text(bad, what="x")


def test_queue_messages_nested_too_deeply_go_to_the_poison_queue() -> None:
    with pytest.raises(ValidationError, match="nested too deeply"):
        parse_references('{"references": [[[[{"tenant_id": "x"}]]]]}')
    with pytest.raises(ValidationError, match="nested too deeply"):
        parse_references("[" * 3000 + "]" * 3000)


@given(st.text(max_size=40))
def test_a_storage_key_is_accepted_only_as_tables_take_it(key: str) -> None:
    allowed = (
        0 < len(key)
        and not any(c in key for c in "/\\#?")
        and ".." not in key
        and all(not ("\x00" <= c <= "\x1f" or "\x7f" <= c <= "\x9f" or "\ud800" <= c <= "\udfff") for c in key)
    )
    try:
        assert check_key("RowKey", key) == key and allowed
    except ValidationError as refused:
        assert not allowed and str(refused).startswith(f"RowKey of {len(key)} characters cannot be a storage key")


class _NoService:
    """A table service that fails the test if anything reaches it."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"storage was called ({name}) for a key that must be refused first")


def test_every_table_operation_checks_its_keys_before_any_request() -> None:
    table = Table(_NoService(), "meetings")  # type: ignore[arg-type]
    bad = "tenant/../x"
    calls = [
        lambda: table.get(bad, "r"),
        lambda: table.get("p", "r#1"),
        lambda: table.delete("p", "\ud800"),
        lambda: table.upsert({"PartitionKey": bad, "RowKey": "r"}),
        lambda: table.insert({"PartitionKey": "p", "RowKey": "a?b"}),
        lambda: table.replace({"PartitionKey": "p", "RowKey": "\x07"}, etag="x"),
        lambda: table.transact(
            [("upsert", {"PartitionKey": "p", "RowKey": "ok"}), ("delete", {"PartitionKey": "p", "RowKey": "a\\b"})]
        ),
        lambda: list(table.query("PartitionKey eq @p", parameters={"p": "\udc00"})),
    ]
    for call in calls:
        with pytest.raises(ValidationError):
            call()


class _Subscriptions:
    """Stored subscriptions, counting reads."""

    def __init__(self, *held: Subscription) -> None:
        self.held = {(s.tenant_id, s.subscription_id): s for s in held}
        self.reads = 0

    def get(self, tenant_id: str, subscription_id: str) -> Subscription | None:
        self.reads += 1
        return self.held.get((tenant_id, subscription_id))


def _subscription(state: str = "state") -> Subscription:
    return Subscription(
        TENANT, str(uuid.uuid4()), str(uuid.uuid4()), datetime.now(timezone.utc) + timedelta(days=1), digest(state)
    )


def _body(*items: Any) -> bytes:
    return json.dumps({"value": list(items)}).encode()


def _change(
    subscription: Subscription, *, state: str = "state", event: str = "AAMkAGI2=", **more: Any
) -> dict[str, Any]:
    return {
        "tenantId": subscription.tenant_id,
        "subscriptionId": subscription.subscription_id,
        "clientState": state,
        "changeType": "updated",
        "resourceData": {"id": event, "@odata.etag": 'W/"ck1"'},
    } | more


def test_the_verifier_refuses_what_graph_never_sends_without_a_read() -> None:
    known = _subscription()
    store = _Subscriptions(known)
    verdict = NotificationVerifier(store).verify(
        _body(
            "x",
            {"tenantId": "a/b", "subscriptionId": known.subscription_id},
            _change(known, tenantId=TENANT + "\x00"),
            {"tenantId": TENANT, "subscriptionId": 5},
            _change(known, subscriptionId="../" + known.subscription_id),
        )
    )
    assert (verdict.refused, verdict.changes, store.reads) == ({"malformed": 5}, [], 0)


def test_the_verifier_reads_each_pair_once_per_post_and_remembers_both_kinds() -> None:
    known, forged = _subscription(), _subscription()
    store, clock = _Subscriptions(known), [0.0]
    verifier = NotificationVerifier(store, clock=lambda: clock[0])  # type: ignore[arg-type]
    verdict = verifier.verify(
        _body(
            *[_change(forged)] * 300,
            *[_change(known, event=f"AAMk{i}=") for i in range(3)],
            _change(known, state="guess"),
            _change(known, event="a#b"),
        )
    )
    assert verdict.refused == {"unknown_subscription": 300, "client_state_mismatch": 1, "malformed": 1}
    assert [c["event_id"] for c in verdict.changes] == ["AAMk0=", "AAMk1=", "AAMk2="]
    assert verdict.changes[0] == {
        "tenant_id": TENANT,
        "mailbox_id": known.mailbox_id,
        "change_type": "updated",
        "subscription_id": known.subscription_id,
        "event_id": "AAMk0=",
        "change_key": "ck1",
    }
    assert store.reads == 2
    verifier.verify(_body(_change(forged), _change(known)))
    assert store.reads == 2
    clock[0] += UNKNOWN_FOR_SECONDS + 1
    verifier.verify(_body(_change(forged), _change(known)))
    assert store.reads == 3, "the unknown pair is read again after its short period, the known one is still held"


def test_a_post_of_many_strangers_reads_only_the_first_few() -> None:
    store = _Subscriptions()
    verdict = NotificationVerifier(store).verify(_body(*[_change(_subscription()) for _ in range(MAX_UNKNOWN * 5)]))
    assert store.reads == MAX_UNKNOWN and verdict.refused == {"unknown_subscription": MAX_UNKNOWN * 5}


def test_a_collection_over_the_limits_is_refused_whole() -> None:
    with pytest.raises(PayloadTooLargeError, match=f"at most {MAX_ITEMS}"):
        parse_collection(_body(*[{}] * (MAX_ITEMS + 1)))
    with pytest.raises(PayloadTooLargeError, match="bytes"):
        parse_collection(b" " * 1_048_577)
    with pytest.raises(ValidationError, match="not a collection"):
        parse_collection(b'{"value": {}}')


def test_outcomes_reach_logs_only_as_words_numbers_and_counts() -> None:
    mailbox = Mailbox(TENANT, str(uuid.uuid4()), "user", "adele@contoso.example", "Adele Vance")
    assert describe_outcome(mailbox) == "Mailbox"
    assert describe_outcome("stored") == "stored" and describe_outcome(3) == "3" and describe_outcome(None) == "None"
    assert describe_outcome({"renewed": 2, "failed": 0}) == "{renewed: 2, failed: 0}"
    for personal in ("adele@contoso.example", "Adele Vance", {"adele@contoso.example": 1}, ["x"]):
        assert "adele" not in describe_outcome(personal).lower() and "Adele" not in describe_outcome(personal)


def test_the_jobs_worker_knows_the_hosts_last_attempt() -> None:
    from shared.sync.worker import MAX_ATTEMPTS

    host = json.loads((Path(__file__).parents[2] / "host.json").read_text())
    assert host["extensions"]["queues"]["maxDequeueCount"] == MAX_ATTEMPTS
