"""Per-tenant data keys (DEKs): creation, rotation, caching, KEK re-wrap, expiry and shredding.

Each tenant has its own DEKs, stored only wrapped by a KEK (the deployment's, or the tenant's
own customer-managed key). New writes use the newest DEK; a DEK retires after the rotation
period and is deleted once nothing it sealed can still exist: retirement + the retention
window (7 days back + 31 ahead) + a margin. After that its data is unreadable even if a row
survived, and :meth:`KeyRing.shred` makes a whole tenant's data unreadable at once.

Unwrapped DEKs are cached in memory for a bounded time, so key-provider calls scale with
tenants and rotations, never with rows (Key Vault allows a few thousand operations per 10 s
per vault, Key Vault's service limits). A cached DEK also keeps writes working for its tenant
while the provider is down; an uncached one fails cleanly before anything is written.
"""

from __future__ import annotations

import os
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Protocol

from shared.crypto.envelope import KEY_BYTES, DataKey
from shared.crypto.providers import CountingKeyProvider, KeyProvider, WrappedKey
from shared.errors import ConflictError, KeyUnavailableError
from shared.timezones import utcnow

RETENTION_WINDOW = timedelta(days=7 + 31)
"""The longest a stored value can live: a meeting 31 days ahead is kept until 7 days after it."""


@dataclass(frozen=True)
class KeyPolicy:
    """How long DEKs are used, kept and cached."""

    rotation: timedelta = timedelta(days=30)
    margin: timedelta = timedelta(days=7)
    cache_seconds: float = 3600.0
    cache_entries: int = 10_000

    def delete_after(self, created: datetime) -> datetime:
        return created + self.rotation + RETENTION_WINDOW + self.margin


@dataclass(frozen=True)
class StoredDataKey:
    """A DEK as stored: wrapped, with the dates that decide its use and its deletion."""

    tenant_id: str
    key_id: str
    wrapped: WrappedKey
    created: datetime
    retire_at: datetime
    delete_after: datetime
    etag: str | None = field(default=None, compare=False)


class DataKeyStore(Protocol):
    """Where wrapped DEKs live (``shared.storage.repositories.DataKeyRepository``)."""

    def list_keys(self, tenant_id: str) -> list[StoredDataKey]: ...

    def get_key(self, tenant_id: str, key_id: str) -> StoredDataKey | None: ...

    def add_key(self, key: StoredDataKey) -> None: ...

    def replace_key(self, key: StoredDataKey) -> None: ...

    def delete_key(self, tenant_id: str, key_id: str) -> None: ...


class KeyProviders:
    """The deployment's KEK provider, plus per-tenant customer-managed KEKs built on demand.

    ``factories`` builds a provider from a key id for each provider name (``local``,
    ``keyvault``, ``awskms``); ``tenant_kek`` says which (provider, key id) a tenant named, or
    None for the deployment's KEK.
    """

    def __init__(
        self,
        default: KeyProvider,
        *,
        factories: Mapping[str, Callable[[str], KeyProvider]] | None = None,
        tenant_kek: Callable[[str], tuple[str, str] | None] = lambda tenant_id: None,
    ) -> None:
        self.default = CountingKeyProvider(default)
        self._factories = dict(factories or {})
        self._tenant_kek = tenant_kek
        self._built: dict[tuple[str, str], CountingKeyProvider] = {(default.name, default.key_id): self.default}

    def calls(self) -> dict[str, int]:
        """Wrap and unwrap calls made through every provider so far: what Key Vault and KMS bill and throttle."""
        built = list(self._built.values())
        return {"wraps": sum(p.wraps for p in built), "unwraps": sum(p.unwraps for p in built)}

    def for_tenant(self, tenant_id: str) -> KeyProvider:
        named = self._tenant_kek(tenant_id)
        return self._provider(*named) if named else self.default

    def for_wrapped(self, wrapped: WrappedKey, tenant_id: str) -> KeyProvider:
        """The provider that can unwrap ``wrapped``: the tenant's if it matches, else by name."""
        provider = self.for_tenant(tenant_id)
        if provider.name == wrapped.provider:
            return provider
        if self.default.name == wrapped.provider:
            return self.default
        return self._provider(wrapped.provider, wrapped.kek_id)

    def _provider(self, name: str, key_id: str) -> KeyProvider:
        if (name, key_id) not in self._built:
            if name not in self._factories:
                raise KeyUnavailableError(f"key provider {name!r} is not configured in this deployment")
            self._built[(name, key_id)] = CountingKeyProvider(self._factories[name](key_id))
        return self._built[(name, key_id)]


class _Cache:
    """Unwrapped DEKs for a bounded time and count; thread-safe."""

    def __init__(self, seconds: float, entries: int, clock: Callable[[], float]) -> None:
        self._seconds, self._entries, self._clock = seconds, entries, clock
        self._keys: dict[tuple[str, str], tuple[DataKey, float]] = {}
        self._lock = threading.Lock()

    def get(self, tenant_id: str, key_id: str) -> DataKey | None:
        with self._lock:
            hit = self._keys.get((tenant_id, key_id))
        return hit[0] if hit and hit[1] > self._clock() else None

    def put(self, key: DataKey) -> None:
        with self._lock:
            if len(self._keys) >= self._entries:
                self._keys.pop(next(iter(self._keys)))
            self._keys[(key.tenant_id, key.key_id)] = (key, self._clock() + self._seconds)

    def evict(self, tenant_id: str) -> None:
        with self._lock:
            for cached in [k for k in self._keys if k[0] == tenant_id]:
                del self._keys[cached]


class KeyRing:
    """The DEKs of every tenant, as the field cipher needs them."""

    def __init__(
        self,
        store: DataKeyStore,
        providers: KeyProviders,
        *,
        policy: KeyPolicy = KeyPolicy(),
        now: Callable[[], datetime] = utcnow,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store, self.providers, self.policy, self._now = store, providers, policy, now
        self._cache = _Cache(policy.cache_seconds, policy.cache_entries, clock)
        self._current: dict[str, tuple[str, datetime, float]] = {}
        self._clock = clock
        self._locks: dict[str, threading.Lock] = {}

    def current(self, tenant_id: str) -> DataKey:
        """The DEK new writes of ``tenant_id`` use; created (and wrapped) when none is in use."""
        known = self._current.get(tenant_id)
        if known and self._now() < known[1] and known[2] > self._clock():
            cached = self._cache.get(tenant_id, known[0])
            if cached:
                return cached
        with self._locks.setdefault(tenant_id, threading.Lock()):
            stored = self._newest_in_use(tenant_id) or self._create(tenant_id)
            key = self._unwrapped(stored)
            self._current[tenant_id] = (stored.key_id, stored.retire_at, self._clock() + self.policy.cache_seconds)
            return key

    def get(self, tenant_id: str, key_id: str) -> DataKey:
        """The DEK ``key_id`` of ``tenant_id``; KeyUnavailableError once it was deleted or expired."""
        cached = self._cache.get(tenant_id, key_id)
        if cached:
            return cached
        stored = self.store.get_key(tenant_id, key_id)
        if stored is None:
            raise KeyUnavailableError("data key not found for this tenant (expired, shredded or never existed)")
        return self._unwrapped(stored)

    def rewrap(self, tenant_id: str) -> int:
        """Re-wrap every DEK of the tenant under its KEK's newest version; data is not touched."""
        provider = self.providers.for_tenant(tenant_id)
        count = 0
        for stored in self.store.list_keys(tenant_id):
            secret = self._unwrapped(stored).secret
            wrapped = provider.wrap_key(secret, tenant_id=tenant_id)
            if wrapped != stored.wrapped:
                self.store.replace_key(replace(stored, wrapped=wrapped))
                count += 1
        return count

    def rotate(self, tenant_id: str) -> str:
        """Retire the tenant's data keys in use now and start a new one; the new key's id. Retired keys still
        open what they sealed until their deletion date. Other processes move to the new key when their
        cached current key expires (``KeyPolicy.cache_seconds``)."""
        now = self._now()
        for stored in self.store.list_keys(tenant_id):
            if now < stored.retire_at:
                self.store.replace_key(replace(stored, retire_at=now))
        self._forget(tenant_id)
        return self.current(tenant_id).key_id

    def shred(self, tenant_id: str) -> int:
        """Delete every DEK of the tenant (offboarding): its data is unreadable from now on."""
        keys = self.store.list_keys(tenant_id)
        for stored in keys:
            self.store.delete_key(tenant_id, stored.key_id)
        self._forget(tenant_id)
        return len(keys)

    def purge_expired(self, tenant_id: str) -> int:
        """Delete the tenant's DEKs whose data can no longer exist; the count deleted."""
        expired = [k for k in self.store.list_keys(tenant_id) if self._now() >= k.delete_after]
        for stored in expired:
            self.store.delete_key(tenant_id, stored.key_id)
        if expired:
            self._forget(tenant_id)
        return len(expired)

    def _forget(self, tenant_id: str) -> None:
        self._cache.evict(tenant_id)
        self._current.pop(tenant_id, None)

    def _newest_in_use(self, tenant_id: str) -> StoredDataKey | None:
        usable = [k for k in self.store.list_keys(tenant_id) if self._now() < k.retire_at]
        return max(usable, key=lambda k: (k.created, k.key_id), default=None)

    def _create(self, tenant_id: str) -> StoredDataKey:
        created = self._now()
        secret = os.urandom(KEY_BYTES)
        key_id = created.strftime("%Y%m%dT%H%M%S") + secrets.token_hex(4)
        wrapped = self.providers.for_tenant(tenant_id).wrap_key(secret, tenant_id=tenant_id)
        stored = StoredDataKey(
            tenant_id, key_id, wrapped, created, created + self.policy.rotation, self.policy.delete_after(created)
        )
        try:
            self.store.add_key(stored)
        except ConflictError:
            pass
        self._cache.put(DataKey(tenant_id, key_id, secret))
        return stored

    def _unwrapped(self, stored: StoredDataKey) -> DataKey:
        cached = self._cache.get(stored.tenant_id, stored.key_id)
        if cached:
            return cached
        if self._now() >= stored.delete_after:
            raise KeyUnavailableError("data key has expired: the data it protected is past retention")
        provider = self.providers.for_wrapped(stored.wrapped, stored.tenant_id)
        key = DataKey(stored.tenant_id, stored.key_id, provider.unwrap_key(stored.wrapped, tenant_id=stored.tenant_id))
        self._cache.put(key)
        return key
