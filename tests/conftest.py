"""Fixtures that start real parts on free ports, so the suite runs while `make run` is up.

Outside CI a test whose tool is missing skips with the command that installs it;
with CI=true the same situation fails: nothing may be skipped there.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from local.azurite import AZURITE_BIN, INSTALL_HINT, Azurite
from shared import config
from shared.config import Settings, get_settings

FIXTURES = Path(__file__).parent / "fixtures"


def wait_until(condition: Callable[[], bool], timeout: float = 20.0) -> bool:
    """Poll ``condition`` every 50 ms until it holds or ``timeout`` seconds pass; its last value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def require(condition: bool, hint: str) -> None:
    """Skip locally with ``hint`` when ``condition`` is false; fail in CI."""
    if condition:
        return
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"required in CI: {hint}")
    pytest.skip(hint)


@pytest.fixture(scope="session")
def azurite() -> Iterator[str]:
    """A private in-memory Azurite; yields its connection string."""
    require(AZURITE_BIN.exists(), INSTALL_HINT)
    with Azurite() as server:
        yield server.connection_string


@pytest.fixture(scope="session")
def session_key_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One local KEK for every test that writes the demo tenant's data (its data keys are shared)."""
    return tmp_path_factory.mktemp("session-kek") / "kek.json"


@pytest.fixture(scope="session")
def graph_stand_in() -> Iterator[Any]:
    """The Graph stand-in with its demo tenant, for tests of the whole app (health, later sync)."""
    from local.graphsim.demo import seed_demo
    from local.graphsim.server import GraphSim

    with GraphSim() as sim:
        seed_demo(sim.app)
        yield sim


@pytest.fixture(scope="session")
def sample_app_dir() -> Path:
    return FIXTURES / "sampleapp"


@contextmanager
def app_environment(values: dict[str, str]) -> Iterator[Settings]:
    """App settings as the Functions host gives them: environment variables of the process.

    The settings cache is cleared on entry and exit so functions that call
    ``get_settings()`` see exactly these values, and later tests see their own.
    """
    with pytest.MonkeyPatch.context() as patch:
        for key in [k for k in os.environ if k == "AzureWebJobsStorage" or k.startswith("HC_")]:
            patch.delenv(key)
        for key, value in values.items():
            patch.setenv(key, value)
        patch.setattr(config, "APP_ROOT", Path("/nonexistent-app-root"))
        _clear_process_caches()
        try:
            yield get_settings()
        finally:
            _clear_process_caches()


def _clear_process_caches() -> None:
    """Settings and the runtime built from them once per process (stores, Graph client, engine, API)."""
    from shared.identity import forget_credential
    from shared.runtime import get_runtime

    for cached in (get_settings, get_runtime):
        cached.cache_clear()
    forget_credential()
