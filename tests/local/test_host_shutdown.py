"""Stopping the dev host: no new work is taken, in-flight invocations finish, nothing is left."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
import requests

from local.host import DevHost
from shared.storage.clients import queue_client
from tests.conftest import app_environment, wait_until


def test_in_flight_http_and_queue_invocations_finish_before_stop_returns(azurite: str, sample_app_dir: Path) -> None:
    env = {
        "AzureWebJobsStorage": azurite,
        "HC_LOCAL_PORT": "0",
        "TICK_SCHEDULE": "0 0 0 1 1 *",
        "FAIL_QUEUE": "sample-fail-shutdown",
    }
    answers: list[requests.Response] = []
    with app_environment(env) as settings:
        host = DevHost(settings, app_dir=sample_app_dir, app_ref="sample_function_app:app").start()
        import sample_function_app

        sample_function_app.EVENTS["slow"].clear()
        queue_client(azurite, "sample-slow").send_message("work")
        request = threading.Thread(target=lambda: answers.append(requests.get(f"{host.url}/api/slow", timeout=10)))
        request.start()
        assert wait_until(lambda: "started" in sample_function_app.EVENTS["slow"], timeout=10)
        time.sleep(0.2)
        url = host.url
        host.stop()
        request.join(10)
    assert sample_function_app.EVENTS["slow"] == ["started", "finished"]
    assert [(a.status_code, a.text) for a in answers] == [(200, "done")]
    assert queue_client(azurite, "sample-slow").get_queue_properties().approximate_message_count == 0
    assert not any(t.is_alive() for t in threading.enumerate() if t.name.startswith(("timer:", "queue:", "q:")))
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{url}/api/typed/1", timeout=2)
