"""Key providers built from the settings: the deployment's KEK and per-tenant KEK factories."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from shared.config import Settings, local_key_path
from shared.crypto.providers import AwsKmsKeyProvider, KeyProvider, KeyVaultKeyProvider, LocalKeyProvider


def provider_factories(settings: Settings) -> Mapping[str, Callable[[str], KeyProvider]]:
    """How to build a provider for a key id, per provider name (tenants may name their own KEK).

    ``local`` has a single key file, so a tenant naming ``local`` gets the deployment's file.
    """
    return {
        "local": lambda key_id: LocalKeyProvider(local_key_path(settings)),
        "keyvault": lambda key_id: KeyVaultKeyProvider(key_id),
        "awskms": lambda key_id: AwsKmsKeyProvider(key_id, region=settings.aws_region or None),
    }


def build_key_provider(settings: Settings) -> KeyProvider:
    """The deployment's KEK provider, as HC_KEY_PROVIDER says."""
    key_id = {"local": "", "keyvault": settings.keyvault_key_id, "awskms": settings.aws_kms_key_id}
    return provider_factories(settings)[settings.key_provider](key_id[settings.key_provider])
