"""Key-encryption-key (KEK) providers: they wrap and unwrap data keys, and the KEK never leaves them.

Three providers share one interface, :class:`KeyProvider`:

* ``local`` — a JWK file on this machine used through ``CryptographyClient.from_jwk`` (A256KW).
  Created on first use with owner-only permissions. Rotating adds a version to the file.
* ``keyvault`` — an Azure Key Vault key through ``azure-keyvault-keys`` with
  ``DefaultAzureCredential`` (managed identity in Azure): RSA-OAEP-256 for RSA keys, A256KW for
  HSM symmetric keys. Key Vault throttles cryptographic operations at a few thousand per 10 s per
  vault (its service limits), which is why data keys are cached and never unwrapped per row.
* ``awskms`` — an AWS KMS key (customer's own KMS); ``boto3`` is imported only when configured.
  The tenant id is the encryption context, so a wrapped key only unwraps for its own tenant.

A :class:`WrappedKey` records the provider and the exact KEK version that wrapped it, so
unwrapping never guesses and re-wrapping under a new KEK version does not touch the data.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from shared.errors import DependencyUnavailableError, IntegrityError, KeyUnavailableError, ThrottledError
from shared.telemetry import KEY_CALLS, telemetry

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential
    from azure.keyvault.keys.crypto import CryptographyClient


@dataclass(frozen=True)
class WrappedKey:
    """A data key encrypted by a KEK: which provider, which KEK version, which algorithm."""

    provider: str
    kek_id: str
    algorithm: str
    blob: bytes = field(repr=False)


class KeyProvider(Protocol):
    """Wraps and unwraps data keys under a KEK that stays inside the provider."""

    name: str
    key_id: str

    def wrap_key(self, key: bytes, *, tenant_id: str) -> WrappedKey: ...

    def unwrap_key(self, wrapped: WrappedKey, *, tenant_id: str) -> bytes: ...

    def check(self) -> None:
        """Raise when the KEK cannot be used now (for ``/api/health``)."""


class CountingKeyProvider:
    """Any provider with its wrap and unwrap calls counted: what Key Vault bills and throttles.

    For metrics and for the benchmark that proves calls scale with tenants, not rows.
    """

    def __init__(self, inner: KeyProvider) -> None:
        self.inner, self.name, self.key_id = inner, inner.name, inner.key_id
        self.wraps = self.unwraps = 0
        self._lock = threading.Lock()

    def wrap_key(self, key: bytes, *, tenant_id: str) -> WrappedKey:
        with self._lock:
            self.wraps += 1
        with self._measured("wrap"):
            return self.inner.wrap_key(key, tenant_id=tenant_id)

    def unwrap_key(self, wrapped: WrappedKey, *, tenant_id: str) -> bytes:
        with self._lock:
            self.unwraps += 1
        with self._measured("unwrap"):
            return self.inner.unwrap_key(wrapped, tenant_id=tenant_id)

    @contextmanager
    def _measured(self, operation: str) -> Iterator[None]:
        """A client span and the ``hc.keys.calls`` count (by provider, operation and result) for one call."""
        recorder = telemetry()
        result = "error"
        try:
            with recorder.span(f"key {operation}", kind="client", attributes={"hc.key.provider": self.name}):
                yield
            result = "ok"
        finally:
            recorder.record(KEY_CALLS, provider=self.name, operation=operation, result=result)

    def check(self) -> None:
        self.inner.check()


def _b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64u(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _azure_error(exc: Exception, what: str) -> Exception:
    """Map an azure-core error to the product's tree; never include the service's message."""
    from azure.core.exceptions import HttpResponseError, ResourceNotFoundError, ServiceRequestError

    status = getattr(exc, "status_code", None)
    if isinstance(exc, ResourceNotFoundError) or status in (403, 404):
        return KeyUnavailableError(f"{what}: key not found, disabled or not permitted (HTTP {status})")
    if status == 429:
        return ThrottledError(f"{what}: key provider throttled the call", retry_after=_retry_after(exc))
    if status == 400:
        return IntegrityError(f"{what}: the provider refused the wrapped key (HTTP 400)")
    if isinstance(exc, (ServiceRequestError, HttpResponseError)):
        return DependencyUnavailableError(f"{what}: key provider unavailable ({type(exc).__name__})")
    return exc


def _retry_after(exc: Exception) -> float | None:
    from shared.retry import retry_after_seconds

    response = getattr(exc, "response", None)
    return retry_after_seconds(response.headers.get("Retry-After")) if response is not None else None


class LocalKeyProvider:
    """A KEK in a local JWK-set file: the one-machine stand-in for a Key Vault key.

    The file holds every version (newest last) so that re-wrapping after :meth:`rotate` can
    still unwrap keys wrapped by older versions. It is created with mode 0600.
    """

    name = "local"

    def __init__(self, path: Path) -> None:
        self.path = path
        self.key_id = "local"
        self._clients: dict[str, CryptographyClient] = {}

    def wrap_key(self, key: bytes, *, tenant_id: str) -> WrappedKey:
        from azure.keyvault.keys.crypto import KeyWrapAlgorithm

        kid = self._versions()[-1]["kid"]
        result = self._client(kid).wrap_key(KeyWrapAlgorithm.aes_256, key)
        return WrappedKey(self.name, kid, "A256KW", result.encrypted_key)

    def unwrap_key(self, wrapped: WrappedKey, *, tenant_id: str) -> bytes:
        from azure.core.exceptions import AzureError
        from azure.keyvault.keys.crypto import KeyWrapAlgorithm
        from cryptography.hazmat.primitives.keywrap import InvalidUnwrap

        if wrapped.kek_id not in {v["kid"] for v in self._versions()}:
            raise KeyUnavailableError("local KEK version not found in the key file")
        try:
            return self._client(wrapped.kek_id).unwrap_key(KeyWrapAlgorithm.aes_256, wrapped.blob).key
        except (AzureError, ValueError, InvalidUnwrap):
            raise IntegrityError("wrapped data key failed to unwrap under the local KEK") from None

    def check(self) -> None:
        self._versions()

    def rotate(self) -> str:
        """Add a new KEK version; new wraps use it, old versions stay for unwrapping."""
        versions = self._versions() + [self._new_version()]
        self._write(versions)
        return versions[-1]["kid"]

    def _client(self, kid: str) -> CryptographyClient:
        if kid not in self._clients:
            from azure.keyvault.keys import JsonWebKey
            from azure.keyvault.keys.crypto import CryptographyClient

            version = next(v for v in self._versions() if v["kid"] == kid)
            jwk = JsonWebKey(kid=kid, kty="oct", k=_unb64u(version["k"]), key_ops=["wrapKey", "unwrapKey"])
            self._clients[kid] = CryptographyClient.from_jwk(jwk)
        return self._clients[kid]

    def _versions(self) -> list[dict[str, str]]:
        if not self.path.exists():
            self._create()
        try:
            keys = json.loads(self.path.read_text(encoding="utf-8"))["keys"]
        except (OSError, ValueError, KeyError, TypeError):
            raise KeyUnavailableError("local key file is unreadable or not a JWK set") from None
        if not keys or not all(k.get("kty") == "oct" and k.get("kid") and k.get("k") for k in keys):
            raise KeyUnavailableError("local key file holds no usable oct key")
        return keys

    @staticmethod
    def _new_version() -> dict[str, str]:
        return {
            "kty": "oct",
            "kid": f"local-kek/{secrets.token_hex(8)}",
            "k": _b64u(os.urandom(32)),
            "key_ops": ["wrapKey", "unwrapKey"],  # type: ignore[dict-item]
        }

    def _create(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump({"keys": [self._new_version()]}, handle)

    def _write(self, versions: list[dict[str, str]]) -> None:
        temporary = self.path.with_suffix(".tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump({"keys": versions}, handle)
        os.replace(temporary, self.path)


class KeyVaultKeyProvider:
    """A KEK in Azure Key Vault (or Managed HSM): RSA-OAEP-256 for RSA keys, A256KW for oct-HSM keys.

    ``key_id`` is the key's URL, usually without a version so that wraps use the newest
    version after a rotation in Key Vault (the version is looked up again every
    ``refresh_seconds``); unwraps use the exact version recorded in the wrapped key.

    RSA keys go through ``CryptographyClient`` (wrap runs locally on the public key, unwrap in
    the vault). Symmetric HSM keys go through ``KeyClient.send_request`` to the ``wrapkey`` /
    ``unwrapkey`` operations: azure-keyvault-keys 4.11.3 builds a local provider for an oct-HSM
    key fetched without material and wraps with a random key it then forgets.
    """

    name = "keyvault"

    def __init__(
        self,
        key_id: str,
        *,
        credential: TokenCredential | None = None,
        refresh_seconds: float = 3600,
        **client_options: Any,
    ) -> None:
        self.key_id = key_id.rstrip("/")
        self._vault, _, path = self.key_id.partition("/keys/")
        self._name, _, self._version = path.partition("/")
        self._credential = credential
        self._options = client_options
        self._refresh = refresh_seconds
        self._clients: dict[str, CryptographyClient] = {}
        self._latest: tuple[str, str, float] | None = None

    def wrap_key(self, key: bytes, *, tenant_id: str) -> WrappedKey:
        kid, algorithm = self._newest()
        try:
            blob = self._operate(kid, algorithm, "wrapkey", key)
        except Exception as exc:
            raise _azure_error(exc, "wrap with Key Vault key") from None
        return WrappedKey(self.name, kid, algorithm, blob)

    def unwrap_key(self, wrapped: WrappedKey, *, tenant_id: str) -> bytes:
        try:
            return self._operate(wrapped.kek_id, wrapped.algorithm, "unwrapkey", wrapped.blob)
        except Exception as exc:
            raise _azure_error(exc, "unwrap with Key Vault key") from None

    def check(self) -> None:
        if self._get_key().properties.enabled is False:
            raise KeyUnavailableError("Key Vault key is disabled")

    def _operate(self, kid: str, algorithm: str, operation: str, value: bytes) -> bytes:
        if algorithm.startswith("RSA"):
            from azure.keyvault.keys.crypto import KeyWrapAlgorithm

            client = self._crypto_client(kid)
            if operation == "wrapkey":
                return client.wrap_key(KeyWrapAlgorithm(algorithm), value).encrypted_key
            return client.unwrap_key(KeyWrapAlgorithm(algorithm), value).key
        return self._send_operation(kid, algorithm, operation, value)

    def _send_operation(self, kid: str, algorithm: str, operation: str, value: bytes) -> bytes:
        from azure.core.rest import HttpRequest

        path = kid.partition("/keys/")[2]
        request = HttpRequest("POST", f"/keys/{path}/{operation}", json={"alg": algorithm, "value": _b64u(value)})
        response = self._key_client().send_request(request)
        response.raise_for_status()
        return _unb64u(response.json()["value"])

    def _newest(self) -> tuple[str, str]:
        """The versioned kid new wraps use and its algorithm, looked up again after ``refresh_seconds``."""
        import time

        if self._latest is None or self._latest[2] <= time.monotonic():
            key = self._get_key()
            kty = str(getattr(key.key_type, "value", key.key_type))
            algorithm = "RSA-OAEP-256" if kty.startswith("RSA") else "A256KW"
            self._latest = (str(key.id), algorithm, time.monotonic() + self._refresh)
        return self._latest[0], self._latest[1]

    def _get_key(self) -> Any:
        try:
            return self._key_client().get_key(self._name, self._version or None)
        except Exception as exc:
            raise _azure_error(exc, "read Key Vault key") from None

    def _key_client(self) -> Any:
        if not hasattr(self, "_keys"):
            from azure.keyvault.keys import KeyClient

            self._keys = KeyClient(self._vault, self._credential or self._default_credential(), **self._options)
        return self._keys

    def _crypto_client(self, kid: str) -> CryptographyClient:
        if kid not in self._clients:
            from azure.keyvault.keys.crypto import CryptographyClient

            self._clients[kid] = CryptographyClient(
                kid, self._credential or self._default_credential(), **self._options
            )
        return self._clients[kid]

    def _default_credential(self) -> TokenCredential:
        """The process's credential (``shared.identity``): the managed identity in Azure, as storage uses."""
        from shared.config import get_settings
        from shared.identity import azure_credential

        self._credential = azure_credential(get_settings())
        return self._credential


class AwsKmsKeyProvider:
    """A KEK in AWS KMS; the tenant id is the encryption context of every wrap and unwrap."""

    name = "awskms"

    def __init__(self, key_id: str, *, region: str | None = None, client: Any = None) -> None:
        self.key_id = key_id
        self._region = region
        self._kms = client

    def wrap_key(self, key: bytes, *, tenant_id: str) -> WrappedKey:
        response = self._call("Encrypt", KeyId=self.key_id, Plaintext=key, EncryptionContext={"tenant": tenant_id})
        return WrappedKey(self.name, response["KeyId"], "SYMMETRIC_DEFAULT", response["CiphertextBlob"])

    def unwrap_key(self, wrapped: WrappedKey, *, tenant_id: str) -> bytes:
        response = self._call(
            "Decrypt", KeyId=wrapped.kek_id, CiphertextBlob=wrapped.blob, EncryptionContext={"tenant": tenant_id}
        )
        return bytes(response["Plaintext"])

    def check(self) -> None:
        metadata = self._call("DescribeKey", KeyId=self.key_id)["KeyMetadata"]
        if not metadata.get("Enabled", False):
            raise KeyUnavailableError("AWS KMS key is disabled")

    def _client(self) -> Any:
        if self._kms is None:
            import boto3

            self._kms = boto3.client("kms", region_name=self._region or _arn_region(self.key_id))
        return self._kms

    def _call(self, operation: str, **arguments: Any) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError

        method = getattr(self._client(), _snake(operation))
        try:
            return method(**arguments)
        except ClientError as exc:
            raise _kms_error(operation, exc.response.get("Error", {}).get("Code", "")) from None
        except BotoCoreError as exc:
            raise DependencyUnavailableError(f"AWS KMS {operation}: unavailable ({type(exc).__name__})") from None


_KMS_KEY_STATE = {
    "DisabledException",
    "NotFoundException",
    "KMSInvalidStateException",
    "AccessDeniedException",
    "IncorrectKeyException",
    "KeyUnavailableException",
}


def _kms_error(operation: str, code: str) -> Exception:
    if code == "InvalidCiphertextException":
        return IntegrityError(f"AWS KMS {operation}: wrapped key or tenant context does not match")
    if code in _KMS_KEY_STATE:
        return KeyUnavailableError(f"AWS KMS {operation}: key unusable ({code})")
    if code in ("ThrottlingException", "LimitExceededException"):
        return ThrottledError(f"AWS KMS {operation}: throttled")
    return DependencyUnavailableError(f"AWS KMS {operation}: failed ({code or 'unknown'})")


def _snake(operation: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in operation).lstrip("_")


def _arn_region(key_id: str) -> str | None:
    parts = key_id.split(":")
    return parts[3] if key_id.startswith("arn:") and len(parts) > 3 else None
