"""The whole product on one machine: dev host running function_app.py, Graph stand-in, Azurite."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from local.azurite import free_port
from local.graphsim.demo import Demo, seed_demo
from local.graphsim.server import GraphSim
from local.host import DevHost
from local.webexsim.server import WebexSim
from local.webexsim.server import seed_demo as seed_webex
from shared.config import Settings
from shared.runtime import get_runtime
from shared.storage.stores import Stores
from shared.sync.engine import SyncEngine
from tests.conftest import app_environment

FUNCTION_KEY = "e2e-function-key-000001"
PAGE_SIZE = 5


@dataclass
class Stack:
    url: str
    sim: GraphSim
    demo: Demo
    settings: Settings
    host: DevHost
    webex: WebexSim
    webex_app: dict[str, Any]
    """The demo Webex organization's Service App: clientId, clientSecret, refreshToken (and its first access
    token)."""

    @property
    def stores(self) -> Stores:
        return get_runtime().stores

    @property
    def engine(self) -> SyncEngine:
        return get_runtime().engine

    def admin(self, method: str, path: str, **options: Any) -> requests.Response:
        return requests.request(
            method, f"{self.url}/api/{path}", headers={"x-functions-key": FUNCTION_KEY}, timeout=60, **options
        )


@contextmanager
def running_stack(azurite: str, key_file: Path, **settings: str) -> Iterator[Stack]:
    """The stand-in with its demo tenant, and the dev host over ``azurite`` with the e2e settings. The periodic
    catch-up sweep and presence round are off unless ``settings`` turn them on: their Graph requests would
    land in other tests' counts."""
    port = free_port()
    with GraphSim() as sim, WebexSim() as webex:
        demo = seed_demo(sim.app, meetings=False)
        webex_app = seed_webex(webex.app)
        values = {
            "AzureWebJobsStorage": azurite,
            "HC_LOCAL_PORT": str(port),
            "HC_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
            "HC_GRAPH_BASE_URL": sim.url,
            "HC_GRAPH_CA_BUNDLE": sim.ca_bundle,
            "HC_LOCAL_KEY_FILE": str(key_file),
            "HC_FUNCTION_KEY": FUNCTION_KEY,
            "HC_MASTER_KEY": "e2e-master-key-0000001",
            "HC_MEETINGS_PAGE_SIZE": str(PAGE_SIZE),
            "HC_WEBEX_API_URL": webex.api,
            "HC_WEBEX_CA_BUNDLE": webex.ca_bundle,
            "AzureWebJobs.catch_up_sweep.Disabled": "true",
            "AzureWebJobs.presence_round.Disabled": "true",
        } | settings
        with app_environment(values) as applied, DevHost(applied) as host:
            yield Stack(host.url, sim, demo, applied, host, webex, webex_app)


@pytest.fixture(scope="module")
def stack(azurite: str, session_key_file: Path) -> Iterator[Stack]:
    with running_stack(azurite, session_key_file) as started:
        yield started


def eventually(check: Callable[[], Any], timeout: float = 20.0) -> Any:
    """The first truthy value of ``check`` within ``timeout`` seconds (AssertionError otherwise)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            assert value, "condition not met in time"
            return value
        time.sleep(0.1)
