"""The dev host serves HTTP triggers over real HTTP: routing, auth levels, errors."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from local.host import DevHost
from shared.errors import ConfigError
from tests.conftest import app_environment

FUNCTION_KEY = "test-function-key-0001"
MASTER_KEY = "test-master-key-000001"
KEY_FILE = Path(tempfile.mkdtemp()) / "kek.json"


def env_for(connection: str, graph: Any = None, **extra: str) -> dict[str, str]:
    stand_in = {"HC_GRAPH_BASE_URL": graph.url, "HC_GRAPH_CA_BUNDLE": graph.ca_bundle} if graph else {}
    return (
        stand_in
        | {
            "AzureWebJobsStorage": connection,
            "HC_LOCAL_KEY_FILE": str(KEY_FILE),
            "HC_LOCAL_PORT": "0",
            "HC_FUNCTION_KEY": FUNCTION_KEY,
            "HC_MASTER_KEY": MASTER_KEY,
            "TICK_SCHEDULE": "0 0 0 1 1 *",
            "FAIL_QUEUE": "sample-fail-http",
        }
        | extra
    )


@pytest.fixture(scope="module")
def host(azurite: str, sample_app_dir: Path) -> Iterator[str]:
    with app_environment(env_for(azurite)) as settings:
        with DevHost(settings, app_dir=sample_app_dir, app_ref="sample_function_app:app") as running:
            yield running.url


def test_route_parameter_query_header_and_body_reach_the_function(host: str) -> None:
    answer = requests.post(
        f"{host}/api/items/a%20b?x=1&y=",
        data=b"payload",
        headers={"x-functions-key": FUNCTION_KEY, "x-test": "yes"},
        timeout=5,
    )
    assert answer.status_code == 200
    assert answer.json() == {
        "item": "a b",
        "method": "POST",
        "params": {"x": "1", "y": ""},
        "header": "yes",
        "body": "payload",
    }


def test_unknown_route_is_a_json_404(host: str) -> None:
    answer = requests.get(f"{host}/api/nothing/here", timeout=5)
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "not_found"
    assert requests.get(f"{host}/elsewhere", timeout=5).status_code == 404


def test_wrong_method_is_a_json_405_with_allow(host: str) -> None:
    answer = requests.delete(f"{host}/api/items/x", headers={"x-functions-key": FUNCTION_KEY}, timeout=5)
    assert answer.status_code == 405
    assert answer.headers["Allow"] == "GET, POST"
    assert answer.json() == {
        "error": {"code": "method_not_allowed", "message": "DELETE is not allowed here; allowed: GET, POST"}
    }


@pytest.mark.parametrize(
    "how", [{}, {"headers": {"x-functions-key": "wrong-key-000000000"}}, {"params": {"code": "wrong"}}]
)
def test_function_route_refuses_missing_or_wrong_keys(host: str, how: dict) -> None:
    answer = requests.get(f"{host}/api/items/x", timeout=5, **how)
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "unauthorized"


@pytest.mark.parametrize(
    "how",
    [
        {"headers": {"x-functions-key": FUNCTION_KEY}},
        {"params": {"code": FUNCTION_KEY}},
        {"headers": {"x-functions-key": MASTER_KEY}},
    ],
)
def test_function_route_accepts_function_or_master_key(host: str, how: dict) -> None:
    assert requests.get(f"{host}/api/items/x", timeout=5, **how).status_code == 200


def test_admin_route_needs_the_master_key(host: str) -> None:
    refused = requests.get(f"{host}/api/admin/ping", headers={"x-functions-key": FUNCTION_KEY}, timeout=5)
    assert refused.status_code == 401
    assert "admin (master) key" in refused.json()["error"]["message"]
    accepted = requests.get(f"{host}/api/admin/ping", headers={"x-functions-key": MASTER_KEY}, timeout=5)
    assert (accepted.status_code, accepted.text) == (200, "pong")


def test_disabled_functions_do_not_run_and_their_routes_answer_404_but_to_the_master_key(
    azurite: str, sample_app_dir: Path
) -> None:
    disabled = {
        "AzureWebJobs.typed.Disabled": "true",
        "AzureWebJobs.tick.Disabled": "1",
        "AzureWebJobs.always_fails.Disabled": "True",
        "AzureWebJobs.items.Disabled": "false",
    }
    with app_environment(env_for(azurite, **disabled)) as settings:
        host = DevHost(settings, app_dir=sample_app_dir, app_ref="sample_function_app:app")
        assert host.disabled == {"typed", "tick", "always_fails"}
        assert host.timers == [] and "always_fails" not in [r.function.name for r in host.queues]
        with host:
            assert "DISABLED typed" in host.describe_lines()
            for how in ({}, {"headers": {"x-functions-key": FUNCTION_KEY}}):
                answer = requests.get(f"{host.url}/api/typed/7", timeout=5, **how)
                assert (answer.status_code, answer.json()["error"]["code"]) == (404, "not_found")
            by_master = requests.get(f"{host.url}/api/typed/7", headers={"x-functions-key": MASTER_KEY}, timeout=5)
            assert (by_master.status_code, by_master.text) == (200, "n=7")
            assert requests.get(f"{host.url}/api/typed/latest", timeout=5).status_code == 200
            assert (
                requests.get(
                    f"{host.url}/api/items/x", headers={"x-functions-key": FUNCTION_KEY}, timeout=5
                ).status_code
                == 200
            )


def test_a_disabled_setting_that_is_not_true_or_false_is_refused_by_name(azurite: str, sample_app_dir: Path) -> None:
    with app_environment(env_for(azurite, **{"AzureWebJobs.typed.Disabled": "maybe"})) as settings:
        with pytest.raises(ConfigError) as refused:
            DevHost(settings, app_dir=sample_app_dir, app_ref="sample_function_app:app")
    assert refused.value.settings == ["AzureWebJobs.typed.Disabled"]
    assert "found 'maybe', expected true or false" in str(refused.value)


def test_route_constraints_and_specificity(host: str) -> None:
    assert requests.get(f"{host}/api/typed/42", timeout=5).text == "n=42"
    assert requests.get(f"{host}/api/typed/latest", timeout=5).text == "latest"
    assert requests.get(f"{host}/api/typed/abc", timeout=5).status_code == 404


def test_handler_exception_is_a_500_that_leaks_nothing(host: str, caplog: pytest.LogCaptureFixture) -> None:
    answer = requests.get(f"{host}/api/boom", timeout=5)
    assert answer.status_code == 500
    assert answer.json()["error"]["code"] == "internal_error"
    assert "secret" not in answer.text and "RuntimeError" not in answer.text
    assert "alice@example.com" not in caplog.text


def test_async_function_runs_to_completion(host: str) -> None:
    answer = requests.get(f"{host}/api/async-hello", timeout=5)
    assert (answer.status_code, answer.text) == (201, "hello")


def test_health_reports_storage_key_provider_and_graph(azurite: str, graph_stand_in: Any) -> None:
    with app_environment(env_for(azurite, graph_stand_in)) as settings, DevHost(settings) as running:
        answer = requests.get(f"{running.url}/api/health", timeout=10)
    assert answer.status_code == 200
    assert answer.json()["checks"]["storage"]["ok"] is True
    assert answer.json()["checks"]["key_provider"]["detail"] == "ok (local)"
    assert answer.json()["checks"]["graph"]["detail"] == "ok (stand-in)"


def test_health_names_graph_when_sign_in_is_unreachable(azurite: str) -> None:
    from local.azurite import free_port

    values = env_for(azurite, HC_GRAPH_BASE_URL=f"https://127.0.0.1:{free_port()}", HC_HEALTH_TIMEOUT_SECONDS="1")
    with app_environment(values) as settings, DevHost(settings) as running:
        answer = requests.get(f"{running.url}/api/health", timeout=10)
    assert (answer.status_code, answer.json()["failing"]) == (503, ["graph"])


def test_health_names_the_key_provider_when_its_key_is_unusable(
    azurite: str, tmp_path: Path, graph_stand_in: Any
) -> None:
    broken = tmp_path / "kek.json"
    broken.write_text("{}")
    values = env_for(azurite, graph_stand_in, HC_LOCAL_KEY_FILE=str(broken))
    with app_environment(values) as settings, DevHost(settings) as running:
        answer = requests.get(f"{running.url}/api/health", timeout=10)
    assert (answer.status_code, answer.json()["failing"]) == (503, ["key_provider"])
    assert answer.json()["checks"]["key_provider"]["detail"] == "unavailable (KeyUnavailableError)"
    assert str(tmp_path) not in answer.text


def test_health_names_storage_when_it_is_down(azurite: str, graph_stand_in: Any) -> None:
    from local.azurite import free_port
    from shared.config import azurite_connection_string

    dead = azurite_connection_string(free_port(), free_port())
    values = env_for(dead, graph_stand_in, HC_HEALTH_TIMEOUT_SECONDS="0.5")
    with app_environment(values) as settings, DevHost(settings) as running:
        answer = requests.get(f"{running.url}/api/health", timeout=10)
    assert answer.status_code == 503
    assert answer.json()["status"] == "unhealthy"
    assert answer.json()["failing"] == ["storage", "queues", "subscriptions"]
    assert answer.json()["checks"]["queues"]["detail"].startswith("unavailable (")
    assert "devstoreaccount1" not in answer.text and "AccountKey" not in answer.text


def test_the_webhook_answers_503_at_once_when_its_queue_write_fails(azurite: str, graph_stand_in: Any) -> None:
    """Tables up, queues down: the notification is verified, its write fails fast, and Graph will deliver again."""
    import uuid
    from datetime import datetime, timedelta, timezone

    from local.azurite import free_port
    from shared.config import azurite_connection_string, parse_connection_string
    from shared.storage.records import Subscription, digest
    from shared.runtime import get_runtime

    table_port = int(parse_connection_string(azurite)["TableEndpoint"].rsplit(":", 1)[1].split("/")[0])
    queues_down = azurite_connection_string(free_port(), table_port)
    workers_off = {
        f"AzureWebJobs.{name}.Disabled": "true"
        for name in ("apply_change", "lifecycle_event", "mailbox_job", "renew_subscriptions", "daily_sync")
    }
    tenant, subscription_id, mailbox = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
    item = {
        "subscriptionId": subscription_id,
        "tenantId": tenant,
        "clientState": "state-0001",
        "changeType": "updated",
        "resource": f"Users/{mailbox}/Events/AAMk1=",
        "resourceData": {"id": "AAMk1=", "@odata.etag": 'W/"ck1"'},
    }
    with app_environment(env_for(queues_down, graph_stand_in, **workers_off)) as settings:
        get_runtime().stores.subscriptions.save(
            Subscription(
                tenant, subscription_id, mailbox, datetime.now(timezone.utc) + timedelta(days=2), digest("state-0001")
            )
        )
        with DevHost(settings) as running:
            started = time.monotonic()
            answer = requests.post(f"{running.url}/api/graph/notifications", json={"value": [item]}, timeout=30)
            elapsed = time.monotonic() - started
    assert answer.status_code == 503
    assert answer.json()["error"]["code"] == "dependency_unavailable"
    assert answer.json()["error"]["message"].startswith("queue storage failed (ServiceRequestError")
    assert elapsed < 8.0, "Graph gives a webhook 10 s"
