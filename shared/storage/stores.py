"""Every repository, wired to one storage account and one key ring, built once per process."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from shared.config import Settings
from shared.crypto.factory import build_key_provider, provider_factories
from shared.crypto.fields import FieldCipher
from shared.crypto.keyring import KeyPolicy, KeyProviders, KeyRing
from shared.crypto.providers import KeyProvider
from shared.storage.clients import table_service
from shared.storage.meetings import MeetingRepository
from shared.storage.operations import OperationRepository
from shared.storage.queues import QueueWriter
from shared.storage.records import (
    DataKeyRepository,
    DeviceCredentialRepository,
    MailboxRepository,
    RunMarks,
    SealedValueRepository,
    SubscriptionRepository,
    TenantRepository,
)
from shared.storage.tables import Table
from shared.timezones import utcnow

if TYPE_CHECKING:
    from shared.delivery.endpoints import DeliveryLog, EndpointRepository
    from shared.presence.store import PresenceRepository
    from shared.scheduling.records import SchedulingRepository
    from shared.timeline.store import ButtonRepository


@dataclass(frozen=True)
class Stores:
    """What the product keeps, each behind its repository."""

    keyring: KeyRing
    tenants: TenantRepository
    mailboxes: MailboxRepository
    subscriptions: SubscriptionRepository
    meetings: MeetingRepository
    data_keys: DataKeyRepository
    delta_links: SealedValueRepository
    token_caches: SealedValueRepository
    queues: QueueWriter
    devices: DeviceCredentialRepository
    schedulings: SchedulingRepository
    tenant_settings: SealedValueRepository
    operations: OperationRepository
    marks: RunMarks
    endpoints: EndpointRepository
    deliveries: DeliveryLog
    buttons: ButtonRepository
    presence: PresenceRepository


def key_policy(settings: Settings) -> KeyPolicy:
    return KeyPolicy(rotation=timedelta(days=settings.dek_rotation_days), cache_seconds=settings.dek_cache_seconds)


def build_stores(
    settings: Settings,
    *,
    provider: KeyProvider | None = None,
    policy: KeyPolicy | None = None,
    factories: Mapping[str, Callable[[str], KeyProvider]] | None = None,
    now: Callable[[], datetime] = utcnow,
    clock: Callable[[], float] = time.monotonic,
) -> Stores:
    """Repositories over ``settings``' storage.

    ``provider`` replaces the deployment's KEK provider and ``factories`` the per-tenant ones
    (for benchmarks and tests that count calls or point a client at a local endpoint); ``now``
    (UTC dates: rotation, expiry) and ``clock`` (monotonic seconds: cache lifetime) are the clocks.
    """
    from shared.delivery.endpoints import DeliveryLog, EndpointRepository
    from shared.presence.store import PresenceRepository
    from shared.scheduling.records import SchedulingRepository
    from shared.timeline.store import ButtonRepository

    service = table_service(settings.storage_connection)
    table = lambda name: Table(service, name)  # noqa: E731
    data_keys = DataKeyRepository(table(DataKeyRepository.TABLE))
    providers = KeyProviders(
        provider or build_key_provider(settings),
        factories={**provider_factories(settings), **(factories or {})},
        tenant_kek=lambda tenant_id: tenants.kek_of(tenant_id),
    )
    keyring = KeyRing(data_keys, providers, policy=policy or key_policy(settings), now=now, clock=clock)
    cipher = FieldCipher(keyring)
    tenants = TenantRepository(table(TenantRepository.TABLE), cipher)
    return Stores(
        keyring,
        tenants,
        MailboxRepository(table("mailboxes"), cipher),
        SubscriptionRepository(table("subscriptions")),
        MeetingRepository(table("meetings"), cipher),
        data_keys,
        SealedValueRepository(table("deltalinks"), cipher, field="DeltaLink"),
        SealedValueRepository(table("tokencaches"), cipher, field="Cache"),
        QueueWriter(settings.storage_connection),
        DeviceCredentialRepository(table(DeviceCredentialRepository.TABLE)),
        SchedulingRepository(table(SchedulingRepository.TABLE), cipher),
        SealedValueRepository(table("tenantsettings"), cipher, field="Value"),
        OperationRepository(table(OperationRepository.TABLE)),
        RunMarks(table(RunMarks.TABLE)),
        EndpointRepository(table(EndpointRepository.TABLE), cipher),
        DeliveryLog(table(DeliveryLog.TABLE)),
        ButtonRepository(table(ButtonRepository.TABLE)),
        PresenceRepository(table(PresenceRepository.TABLE), cipher),
    )
