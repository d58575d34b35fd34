"""Queue and timer triggers through the dev host, against Azurite."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from azure.core.exceptions import ResourceNotFoundError

from local.host import DevHost
from shared.storage.clients import queue_client
from tests.conftest import app_environment, wait_until


@pytest.fixture(scope="module")
def sample(azurite: str, sample_app_dir: Path) -> Iterator[object]:
    env = {
        "AzureWebJobsStorage": azurite,
        "HC_LOCAL_PORT": "0",
        "TICK_SCHEDULE": "*/1 * * * * *",
        "FAIL_QUEUE": "sample-fail",
    }
    with app_environment(env) as settings:
        with DevHost(settings, app_dir=sample_app_dir, app_ref="sample_function_app:app"):
            import sample_function_app

            yield sample_function_app


def raw_messages(connection: str, name: str) -> list[str]:
    try:
        return [m.content for m in queue_client(connection, name, base64=False).peek_messages(max_messages=32)]
    except ResourceNotFoundError:
        return []


def test_failing_message_lands_in_poison_after_five_attempts_with_its_body(azurite: str, sample) -> None:
    queue_client(azurite, "sample-fail").send_message('{"ref": "poisoned"}')
    assert wait_until(lambda: raw_messages(azurite, "sample-fail-poison"))
    attempts = [a for a in sample.EVENTS["fail"] if a[0] == b'{"ref": "poisoned"}']
    assert [count for _, count in attempts] == [1, 2, 3, 4, 5]
    assert raw_messages(azurite, "sample-fail-poison") == [base64.b64encode(b'{"ref": "poisoned"}').decode()]
    assert raw_messages(azurite, "sample-fail") == []


def test_message_that_is_not_base64_is_poisoned_intact(azurite: str, sample) -> None:
    queue_client(azurite, "sample-fail", base64=False).send_message("not base64 at all!")
    assert wait_until(lambda: "not base64 at all!" in raw_messages(azurite, "sample-fail-poison"))
    assert all(body != b"not base64 at all!" for body, _ in sample.EVENTS["fail"])


def test_successful_message_runs_once_is_deleted_and_writes_its_output(azurite: str, sample) -> None:
    queue_client(azurite, "sample-ok").send_message("hello")
    assert wait_until(lambda: raw_messages(azurite, "sample-out"))
    time.sleep(1.5)
    assert [a for a in sample.EVENTS["ok"] if a[0] == b"hello"] == [(b"hello", 1)]
    assert queue_client(azurite, "sample-ok").get_queue_properties().approximate_message_count == 0
    out = queue_client(azurite, "sample-out").peek_messages(max_messages=32)
    assert [json.loads(m.content) for m in out] == [{"seen": "hello"}]


def test_timer_with_a_seconds_schedule_fires(sample) -> None:
    before = len(sample.EVENTS["tick"])
    assert wait_until(lambda: len(sample.EVENTS["tick"]) >= before + 2, timeout=5)
    assert set(sample.EVENTS["tick"]) == {False}
