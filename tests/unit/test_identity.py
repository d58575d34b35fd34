"""Which identity reaches storage and Key Vault: a key locally, the user-assigned managed identity in Azure.

azure-identity runs for real against a fake App Service managed-identity endpoint on loopback (the one
Functions gives an app through IDENTITY_ENDPOINT and IDENTITY_HEADER), and the Tables SDK against a fake
transport that records what it would have sent."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests
from azure.core.pipeline.transport import HttpTransport, RequestsTransportResponse

from shared.config import load_settings
from shared.errors import ConfigError
from shared.identity import CONNECTION_STRING, DEFAULT_CREDENTIAL, MANAGED_IDENTITY, new_credential, storage_identity
from tests.conftest import app_environment

NOWHERE = Path("/nonexistent/local.settings.json")
CLIENT_ID = "33333333-4444-4555-8666-777777777777"
IN_AZURE = {
    "AzureWebJobsStorage__accountName": "contosohc",
    "AzureWebJobsStorage__credential": "managedidentity",
    "AzureWebJobsStorage__clientId": CLIENT_ID,
    "HC_KEY_PROVIDER": "keyvault",
    "HC_KEYVAULT_KEY_ID": "https://contoso-hc.vault.azure.net/keys/hc-kek",
    "HC_GRAPH_BASE_URL": "microsoft",
    "HC_CLIENT_ID": "44444444-5555-4666-8777-888888888888",
    "HC_CLIENT_SECRET": "s",
    "HC_BUILTIN_ROOM_SECRET": "a-room-secret-of-our-own",
    "HC_FUNCTION_KEY": "function-key-of-our-own",
    "HC_MASTER_KEY": "master-key-of-our-own",
    "HC_PUBLIC_BASE_URL": "https://contoso-hc.azurewebsites.net",
}


class ManagedIdentityEndpoint:
    """App Service's managed-identity endpoint: a token for the asked resource, each request kept."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, dict[str, str]]] = []
        seen = self.seen

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                seen.append((self.path, dict(self.headers)))
                body = json.dumps(
                    {
                        "access_token": "mi-token",
                        "expires_on": "9999999999",
                        "token_type": "Bearer",
                        "resource": "https://storage.azure.com",
                    }
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/msi/token"


@pytest.fixture
def identity_endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[ManagedIdentityEndpoint]:
    endpoint = ManagedIdentityEndpoint()
    monkeypatch.setenv("IDENTITY_ENDPOINT", endpoint.url)
    monkeypatch.setenv("IDENTITY_HEADER", "identity-header-secret")
    yield endpoint
    endpoint.server.shutdown()


class RecordingTransport(HttpTransport):
    """Answers every storage request with an empty listing and keeps the request."""

    def __init__(self) -> None:
        self.sent: list[Any] = []

    def __enter__(self) -> RecordingTransport:
        return self

    def __exit__(self, *args: object) -> None:
        return None

    def open(self) -> None:
        return None

    def close(self) -> None:
        return None

    def send(self, request: Any, **kwargs: Any) -> Any:
        self.sent.append(request)
        answer = requests.Response()
        answer.status_code, answer._content, answer.url = 200, b'{"value": []}', request.url
        answer.headers["Content-Type"] = "application/json;odata=nometadata"
        return RequestsTransportResponse(request, answer)


def test_locally_storage_uses_the_connection_string_and_its_key() -> None:
    settings = load_settings({}, local_settings=NOWHERE)
    assert storage_identity(settings) == CONNECTION_STRING and "AccountKey=" in settings.storage_connection


def test_identity_based_settings_become_keyless_endpoints_and_the_managed_identity() -> None:
    settings = load_settings(IN_AZURE, local_settings=NOWHERE)
    assert settings.storage_connection == (
        "AccountName=contosohc;TableEndpoint=https://contosohc.table.core.windows.net;"
        "QueueEndpoint=https://contosohc.queue.core.windows.net"
    )
    assert storage_identity(settings) == MANAGED_IDENTITY
    gov = {k: v for k, v in IN_AZURE.items() if k != "AzureWebJobsStorage__accountName"} | {
        "AzureWebJobsStorage__tableServiceUri": "https://govhc.table.core.usgovcloudapi.net/",
        "AzureWebJobsStorage__queueServiceUri": "https://govhc.queue.core.usgovcloudapi.net",
    }
    assert load_settings(gov, local_settings=NOWHERE).storage_connection == (
        "AccountName=govhc;TableEndpoint=https://govhc.table.core.usgovcloudapi.net;"
        "QueueEndpoint=https://govhc.queue.core.usgovcloudapi.net"
    )
    developer = {k: v for k, v in IN_AZURE.items() if not k.startswith("AzureWebJobsStorage__c")}
    assert storage_identity(load_settings(developer, local_settings=NOWHERE)) == DEFAULT_CREDENTIAL


@pytest.mark.parametrize(
    ("values", "named"),
    [
        ({"AzureWebJobsStorage__accountName": "Not_A_Name"}, "AzureWebJobsStorage__accountName"),
        ({"AzureWebJobsStorage__credential": "password"}, "AzureWebJobsStorage__credential"),
        ({"AzureWebJobsStorage__clientId": "me"}, "AzureWebJobsStorage__clientId"),
        (
            {"AzureWebJobsStorage__tableServiceUri": "https://x.table.core.usgovcloudapi.net"},
            "AzureWebJobsStorage__queueServiceUri",
        ),
    ],
)
def test_bad_identity_settings_are_named(values: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(
            IN_AZURE | values
            if named != "AzureWebJobsStorage__queueServiceUri"
            else {k: v for k, v in IN_AZURE.items() if k != "AzureWebJobsStorage__accountName"} | values,
            local_settings=NOWHERE,
        )
    assert named in caught.value.settings


def test_the_managed_identity_asks_its_own_client_id_for_storage_and_the_tables_client_sends_its_token(
    identity_endpoint: ManagedIdentityEndpoint,
) -> None:
    from azure.data.tables import TableServiceClient

    credential = new_credential(load_settings(IN_AZURE, local_settings=NOWHERE))
    transport = RecordingTransport()
    client = TableServiceClient("https://contosohc.table.core.windows.net", credential=credential, transport=transport)
    assert list(client.list_tables()) == []
    path, headers = identity_endpoint.seen[0]
    assert f"client_id={CLIENT_ID}" in path and "resource=https://storage.azure.com" in path
    assert headers["X-IDENTITY-HEADER"] == "identity-header-secret"
    assert transport.sent[0].headers["Authorization"] == "Bearer mi-token"


def test_the_product_s_clients_and_key_vault_share_the_process_credential(
    identity_endpoint: ManagedIdentityEndpoint,
) -> None:
    from shared.crypto.providers import KeyVaultKeyProvider
    from shared.identity import azure_credential
    from shared.storage.clients import queue_service, table_service

    with app_environment(IN_AZURE) as settings:
        credential = azure_credential(settings)
        assert table_service(settings.storage_connection).credential is credential
        assert queue_service(settings.storage_connection).credential is credential
        assert KeyVaultKeyProvider(settings.keyvault_key_id)._default_credential() is credential
        assert credential.get_token("https://vault.azure.net/.default").token == "mi-token"
