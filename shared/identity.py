"""Which identity the app uses for Azure Storage and Key Vault, chosen by the settings.

* ``AzureWebJobsStorage`` holds a connection string with a key (Azurite on this machine, or an account
  that allows shared keys): storage uses the key, and Key Vault ``DefaultAzureCredential``.
* ``AzureWebJobsStorage__accountName`` (or ``__tableServiceUri`` and ``__queueServiceUri``) instead, the
  Functions host's identity-based connection: storage and Key Vault use a token credential, the
  user-assigned managed identity named by ``AzureWebJobsStorage__clientId`` when
  ``AzureWebJobsStorage__credential`` is ``managedidentity`` (in Azure, where the storage account has
  shared-key access off), else ``DefaultAzureCredential`` (a developer's Azure CLI or environment
  credentials against a real account).

One credential per process: it caches its tokens, and every client shares it.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential

    from shared.config import Settings

ROLES_NEEDED = {
    "Storage Table Data Contributor": "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3",
    "Storage Queue Data Contributor": "974c5e8b-45b9-4653-ba55-5f855dd0fb88",
    "Storage Blob Data Owner": "b7e6dc6d-f1e8-4753-8033-0f276bb0955b",
    "Key Vault Crypto User": "12338af0-0e69-4776-bea7-57ae8d297424",
    "Key Vault Secrets User": "4633458b-17de-408a-b874-0445c86b69e6",
}
"""The Azure built-in roles the identity needs, and no others: rows and queue messages (the product and the
Functions host's queue triggers), the deployment package (Flex Consumption reads it from one blob container),
wrap and unwrap with the key-encryption key, and the secrets the app settings reference. infra/ assigns exactly
these (tests/infra checks it)."""

CONNECTION_STRING = "connection-string"
MANAGED_IDENTITY = "managed-identity"
DEFAULT_CREDENTIAL = "default-credential"

_credential: TokenCredential | None = None
_lock = threading.Lock()


def storage_identity(settings: Settings) -> str:
    """``connection-string``, ``managed-identity`` or ``default-credential``: what storage authenticates with."""
    if not settings.storage_identity_based:
        return CONNECTION_STRING
    return MANAGED_IDENTITY if settings.storage_credential == "managedidentity" else DEFAULT_CREDENTIAL


def azure_credential(settings: Settings) -> TokenCredential:
    """The process's token credential for Azure Storage and Key Vault (see the module docstring)."""
    global _credential
    with _lock:
        if _credential is None:
            _credential = new_credential(settings)
        return _credential


def new_credential(settings: Settings, **options: object) -> TokenCredential:
    """A fresh credential as :func:`azure_credential` chooses it; ``options`` go to azure-identity (tests pass a
    ``transport``)."""
    if storage_identity(settings) == MANAGED_IDENTITY:
        from azure.identity import ManagedIdentityCredential

        return ManagedIdentityCredential(client_id=settings.storage_client_id or None, **options)  # type: ignore[arg-type]
    from azure.identity import DefaultAzureCredential

    return DefaultAzureCredential(managed_identity_client_id=settings.storage_client_id or None, **options)


def forget_credential() -> None:
    """Drop the process's credential (tests that switch settings)."""
    global _credential
    with _lock:
        _credential = None
