"""The process's keyword scheduler: tenants' configuration, platforms per tenant, the engine's helpers."""

from __future__ import annotations

from typing import Any

from shared.cache import TtlCache
from shared.platforms.base import MeetingPlatform
from shared.scheduling.config import SchedulingConfig, load_config, parse_config
from shared.scheduling.flow import KeywordScheduler

CONFIG_ROW = "scheduling"
CONFIG_FOR_SECONDS = 60.0
_CONFIGS: TtlCache[SchedulingConfig] = TtlCache(ttl=CONFIG_FOR_SECONDS)
"""Tenants' configurations as the scheduler reads them: a change is seen within a minute."""


def read_config(tenant_id: str) -> SchedulingConfig:
    from shared.runtime import get_runtime

    return load_config(get_runtime().stores.tenant_settings.load(tenant_id, CONFIG_ROW))


def write_config(tenant_id: str, document: Any) -> SchedulingConfig:
    """Validate and store (sealed) an admin's change; omitted parts keep their value."""
    from shared.runtime import get_runtime

    config = parse_config(document, current=read_config(tenant_id))
    get_runtime().stores.tenant_settings.save(tenant_id, CONFIG_ROW, config.to_json())
    _CONFIGS.discard(tenant_id)
    return config


def build_scheduler(settings: Any, engine: Any) -> KeywordScheduler:
    """A scheduler writing through the engine's Graph client and stores, as the settings describe."""
    from shared.platforms.builtin import BuiltinPlatform
    from shared.sync.records import graph_moment

    stores = engine.stores
    builtin = BuiltinPlatform(settings.builtin_meeting_url, sip_domain=settings.builtin_sip_domain,
                              secret=settings.builtin_room_secret)

    def config_of(tenant_id: str) -> SchedulingConfig:
        return _CONFIGS.get_or_load(tenant_id, lambda: load_config(stores.tenant_settings.load(tenant_id, CONFIG_ROW)))

    def platform_of(tenant_id: str, name: str, config: SchedulingConfig) -> MeetingPlatform:
        if name == "webex" and config.webex_token:
            from shared.platforms.webex import WebexPlatform

            return WebexPlatform(config.webex_token, timeout=settings.graph_timeout)
        return builtin

    def locale_of(tenant_id: str, mailbox_id: str) -> tuple[str | None, str | None]:
        held = stores.presence.get(tenant_id, mailbox_id)
        return (held.language, held.time_zone) if held is not None else (None, None)

    return KeywordScheduler(engine.graph, stores.schedulings, config_of=config_of, platform_of=platform_of,
                            moment=graph_moment, record_failure=engine.record_failure,
                            record_warning=engine.record_warning, locale_of=locale_of)
