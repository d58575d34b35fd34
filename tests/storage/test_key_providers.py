"""Each KEK provider over its real client: local JWK file, Key Vault over HTTPS, AWS KMS over HTTP."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from botocore.stub import Stubber

from shared.crypto.providers import AwsKmsKeyProvider, KeyVaultKeyProvider, LocalKeyProvider, WrappedKey
from shared.errors import DependencyUnavailableError, IntegrityError, KeyUnavailableError
from tests.fixtures.fakevault import FakeVault, StaticCredential
from tests.storage.conftest import kms_client

DEK = os.urandom(32)


def test_local_key_file_is_created_owner_only_and_round_trips(tmp_path: Path) -> None:
    provider = LocalKeyProvider(tmp_path / "keys" / "kek.json")
    wrapped = provider.wrap_key(DEK, tenant_id="t1")
    assert stat.S_IMODE((tmp_path / "keys" / "kek.json").stat().st_mode) == 0o600
    assert (wrapped.provider, wrapped.algorithm, len(wrapped.blob)) == ("local", "A256KW", 40)
    assert provider.unwrap_key(wrapped, tenant_id="t1") == DEK
    assert LocalKeyProvider(tmp_path / "keys" / "kek.json").unwrap_key(wrapped, tenant_id="t1") == DEK


def test_local_rotation_keeps_old_versions_for_unwrapping(tmp_path: Path) -> None:
    provider = LocalKeyProvider(tmp_path / "kek.json")
    old = provider.wrap_key(DEK, tenant_id="t1")
    new_kid = provider.rotate()
    new = provider.wrap_key(DEK, tenant_id="t1")
    assert new.kek_id == new_kid != old.kek_id
    assert provider.unwrap_key(old, tenant_id="t1") == provider.unwrap_key(new, tenant_id="t1") == DEK
    assert stat.S_IMODE((tmp_path / "kek.json").stat().st_mode) == 0o600


def test_local_failures_are_clear(tmp_path: Path) -> None:
    provider = LocalKeyProvider(tmp_path / "kek.json")
    wrapped = provider.wrap_key(DEK, tenant_id="t1")
    with pytest.raises(IntegrityError, match="failed to unwrap"):
        provider.unwrap_key(WrappedKey("local", wrapped.kek_id, "A256KW", bytes(40)), tenant_id="t1")
    with pytest.raises(KeyUnavailableError, match="version not found"):
        provider.unwrap_key(WrappedKey("local", "local-kek/0000", "A256KW", wrapped.blob), tenant_id="t1")
    (tmp_path / "kek.json").write_text("not json")
    with pytest.raises(KeyUnavailableError, match="unreadable"):
        LocalKeyProvider(tmp_path / "kek.json").check()


def keyvault(vault: FakeVault, name: str, **options: object) -> KeyVaultKeyProvider:
    return KeyVaultKeyProvider(
        f"{vault.url}/keys/{name}", credential=StaticCredential(), **options, **vault.client_options()
    )


@pytest.mark.parametrize(("kty", "algorithm"), [("RSA", "RSA-OAEP-256"), ("oct", "A256KW")])
def test_key_vault_wraps_and_unwraps(vault: FakeVault, kty: str, algorithm: str) -> None:
    version = vault.state.add("kek", kty)
    provider = keyvault(vault, "kek")
    wrapped = provider.wrap_key(DEK, tenant_id="t1")
    assert (wrapped.provider, wrapped.algorithm) == ("keyvault", algorithm)
    assert wrapped.kek_id == f"{vault.url}/keys/kek/{version}"
    assert provider.unwrap_key(wrapped, tenant_id="t1") == DEK
    assert any(call.endswith("/unwrapkey") for call in vault.state.calls)


def test_key_vault_rotation_is_picked_up_and_old_versions_still_unwrap(vault: FakeVault) -> None:
    vault.state.add("kek", "RSA")
    provider = keyvault(vault, "kek", refresh_seconds=0)
    old = provider.wrap_key(DEK, tenant_id="t1")
    newest = vault.state.add("kek", "RSA")
    new = provider.wrap_key(DEK, tenant_id="t1")
    assert new.kek_id.endswith(newest) and old.kek_id != new.kek_id
    assert provider.unwrap_key(old, tenant_id="t1") == DEK


def test_key_vault_disabled_missing_and_down(vault: FakeVault) -> None:
    version = vault.state.add("kek", "oct")
    provider = keyvault(vault, "kek")
    wrapped = provider.wrap_key(DEK, tenant_id="t1")
    vault.state.keys["kek"][version].enabled = False
    with pytest.raises(KeyUnavailableError, match="disabled or not permitted"):
        provider.unwrap_key(wrapped, tenant_id="t1")
    with pytest.raises(KeyUnavailableError):
        provider.check()
    with pytest.raises(KeyUnavailableError, match="HTTP 404"):
        keyvault(vault, "no-such-key").wrap_key(DEK, tenant_id="t1")
    vault.state.keys["kek"][version].enabled = True
    with pytest.raises(IntegrityError, match="refused the wrapped key"):
        provider.unwrap_key(WrappedKey("keyvault", wrapped.kek_id, "A256KW", bytes(40)), tenant_id="t1")
    vault.stop()
    with pytest.raises(DependencyUnavailableError, match="key provider unavailable"):
        keyvault(vault, "kek").unwrap_key(wrapped, tenant_id="t1")


def test_aws_kms_binds_the_tenant_as_encryption_context(kms_endpoint: str) -> None:
    client = kms_client(kms_endpoint)
    key_id = client.create_key()["KeyMetadata"]["KeyId"]
    provider = AwsKmsKeyProvider(key_id, client=client)
    wrapped = provider.wrap_key(DEK, tenant_id="tenant-a")
    assert wrapped.provider == "awskms" and wrapped.kek_id.startswith("arn:aws:kms:eu-west-1:")
    assert DEK not in wrapped.blob
    assert provider.unwrap_key(wrapped, tenant_id="tenant-a") == DEK
    with pytest.raises(IntegrityError, match="tenant context does not match"):
        provider.unwrap_key(wrapped, tenant_id="tenant-b")
    provider.check()


def test_aws_kms_disabled_key_and_outage(kms_endpoint: str) -> None:
    client = kms_client(kms_endpoint)
    provider = AwsKmsKeyProvider(client.create_key()["KeyMetadata"]["KeyId"], client=client)
    wrapped = provider.wrap_key(DEK, tenant_id="t1")
    with Stubber(client) as stub:
        stub.add_client_error("decrypt", service_error_code="DisabledException", http_status_code=400)
        with pytest.raises(KeyUnavailableError, match="DisabledException"):
            provider.unwrap_key(wrapped, tenant_id="t1")
    down = AwsKmsKeyProvider(wrapped.kek_id, client=kms_client("http://127.0.0.1:9"))
    with pytest.raises(DependencyUnavailableError, match="unavailable"):
        down.unwrap_key(wrapped, tenant_id="t1")
