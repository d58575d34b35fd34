"""Service clients for Azure Storage, built once per process from the connection setting.

A connection with a key (``AccountKey`` or a SAS) authenticates with it; one without (the account's
endpoints, as identity-based settings give them: ``shared.config``) with the process's token credential
(``shared.identity``: the managed identity in Azure).

The SDKs are imported inside the factories so that ``import function_app`` stays
light (cold starts must leave room for Graph's 10-second validation handshake).
Queue clients use base64 bodies, which is what the Functions queue trigger expects.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any

from shared.config import loopback_storage_ports

if TYPE_CHECKING:
    from azure.data.tables import TableServiceClient
    from azure.storage.queue import QueueClient, QueueServiceClient


def _transport_options(timeout: float | None) -> dict[str, Any]:
    """The SDK's transport on a session of :func:`shared.http.pooled_session` (proxies read once per host,
    32 pooled connections: the SDK's own session re-reads the environment on every call and keeps 10)."""
    from azure.core.pipeline.transport import RequestsTransport
    from urllib3.util.retry import Retry

    from shared.http import pooled_session

    session = pooled_session(max_retries=Retry(total=False, redirect=False, raise_on_status=False))
    if timeout is None:
        return {"transport": RequestsTransport(session=session, session_owner=False)}
    return {
        "transport": RequestsTransport(
            session=session, session_owner=False, connection_timeout=timeout, read_timeout=timeout
        ),
        "retry_total": 0,
    }


_TABLE_REQUESTS = [0]


def table_requests() -> int:
    """Table requests this process has sent: benchmarks count storage calls per API request with it."""
    return _TABLE_REQUESTS[0]


def _count_table_request(request: Any) -> None:
    """azure-core's ``raw_request_hook``: called once per request the pipeline sends (retries included)."""
    _TABLE_REQUESTS[0] += 1


@lru_cache(maxsize=8)
def table_service(connection: str, *, timeout: float | None = None) -> TableServiceClient:
    """A pooled TableServiceClient; ``timeout`` (seconds) also turns retries off, for probes."""
    from azure.data.tables import TableServiceClient

    options = {"raw_request_hook": _count_table_request, **_transport_options(timeout)}
    endpoints = _keyless_endpoints(connection)
    if endpoints is not None:
        return TableServiceClient(endpoints["TableEndpoint"], credential=_token_credential(), **options)
    return TableServiceClient.from_connection_string(connection, **options)


def _keyless_endpoints(connection: str) -> dict[str, str] | None:
    """The endpoints of a connection that carries no key or SAS (identity-based storage), else None."""
    from shared.config import parse_connection_string

    parts = parse_connection_string(connection)
    if parts.get("AccountKey") or parts.get("SharedAccessSignature") or parts.get("UseDevelopmentStorage"):
        return None
    return parts


def _token_credential() -> Any:
    from shared.config import get_settings
    from shared.identity import azure_credential

    return azure_credential(get_settings())


AZURITE_QUEUE_API_VERSION = "2025-11-05"
"""The newest queue API version Azurite 3.35 accepts; the SDK's default is newer."""


@lru_cache(maxsize=8)
def queue_service(connection: str, *, timeout: float | None = None) -> QueueServiceClient:
    """A pooled QueueServiceClient; ``timeout`` (seconds) also turns retries off, for probes.

    Against an emulator on this machine the API version is pinned, so that an Azurite started
    without ``--skipApiVersionCheck`` (for instance one ``make run`` finds already running) works.
    """
    from azure.storage.queue import QueueServiceClient

    options = _transport_options(timeout)
    if loopback_storage_ports(connection) is not None:
        options["api_version"] = AZURITE_QUEUE_API_VERSION
    endpoints = _keyless_endpoints(connection)
    if endpoints is not None:
        return QueueServiceClient(endpoints["QueueEndpoint"], credential=_token_credential(), **options)
    return QueueServiceClient.from_connection_string(connection, **options)


def queue_client(connection: str, name: str, *, base64: bool = True, timeout: float | None = None) -> QueueClient:
    """A client for one queue; base64 bodies unless ``base64=False`` (raw wire text, for the dev host).

    ``timeout`` (seconds) also turns the SDK's retries off: a poller retries on its own schedule.
    """
    from azure.storage.queue import TextBase64DecodePolicy, TextBase64EncodePolicy

    service = queue_service(connection, timeout=timeout)
    if not base64:
        return service.get_queue_client(name)
    return service.get_queue_client(
        name, message_encode_policy=TextBase64EncodePolicy(), message_decode_policy=TextBase64DecodePolicy()
    )


def storage_error(exc: Exception, service: str) -> Exception:
    """An Azure Storage SDK error as the product's error tree has it (``service``: "table" or "queue")."""
    from azure.core.exceptions import (
        HttpResponseError,
        ResourceModifiedError,
        ServiceRequestError,
        ServiceResponseError,
    )

    from shared.errors import ConflictError, DependencyUnavailableError, ThrottledError

    status = getattr(exc, "status_code", None)
    if isinstance(exc, ResourceModifiedError) or status in (409, 412):
        return ConflictError("the row changed since it was read (etag mismatch or already exists)")
    if status in (429, 503):
        return ThrottledError(f"{service} storage is busy (HTTP {status})")
    if isinstance(exc, (ServiceRequestError, ServiceResponseError, HttpResponseError)):
        return DependencyUnavailableError(f"{service} storage failed ({type(exc).__name__}, HTTP {status})")
    return exc


def ensure_queue(client: QueueClient) -> None:
    """Create the queue if it is missing (idempotent: an existing queue is success)."""
    from azure.core.exceptions import ResourceExistsError

    try:
        client.create_queue()
    except ResourceExistsError:
        pass
