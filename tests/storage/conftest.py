"""Crypto and storage against a real Azurite, with a real key provider (local JWK file)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from shared.config import Settings, load_settings
from shared.storage.stores import Stores, build_stores
from tests.fixtures.fakevault import FakeVault

NOWHERE = Path("/nonexistent/local.settings.json")


@dataclass
class Clock:
    """A settable UTC clock for key rotation and expiry."""

    now: datetime = field(default_factory=lambda: datetime(2026, 11, 25, 9, 0, tzinfo=timezone.utc))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def new_id() -> str:
    return str(uuid.uuid4())


@pytest.fixture
def settings(azurite: str, tmp_path: Path) -> Settings:
    return load_settings(
        {"AzureWebJobsStorage": azurite, "HC_LOCAL_KEY_FILE": str(tmp_path / "kek.json")}, local_settings=NOWHERE
    )


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def make_stores(settings: Settings, clock: Clock) -> Callable[..., Stores]:
    """Build another process's view of the same storage (its own empty key cache)."""
    return lambda **options: build_stores(settings, now=clock, **options)


@pytest.fixture
def stores(make_stores: Callable[..., Stores]) -> Stores:
    return make_stores()


@pytest.fixture(scope="session")
def kms_endpoint() -> Iterator[str]:
    """AWS KMS as moto's HTTP server on a free port (moto does not enforce key state)."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def kms_client(endpoint: str) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(
        "kms",
        region_name="eu-west-1",
        endpoint_url=endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"max_attempts": 1}, connect_timeout=2, read_timeout=2),
    )


@pytest.fixture
def vault() -> Iterator[FakeVault]:
    with FakeVault() as server:
        yield server
