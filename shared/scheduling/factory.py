"""The process's keyword scheduler: tenants' configuration, platforms per tenant, the engine's helpers."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from shared.cache import TtlCache
from shared.platforms.base import MeetingPlatform
from shared.platforms.webex_auth import WebexGrant
from shared.scheduling.config import SchedulingConfig, WebexConfig, WebexSetup, load_config, parse_config
from shared.scheduling.flow import KeywordScheduler
from shared.timezones import utc_text, utcnow

CONFIG_ROW = "scheduling"
GRANT_ROW = "webex-grant"
CONFIG_FOR_SECONDS = 60.0
_CONFIGS: TtlCache[SchedulingConfig] = TtlCache(ttl=CONFIG_FOR_SECONDS)
"""Tenants' configurations as the scheduler reads them: a change is seen within a minute."""
_GRANTS: TtlCache[WebexGrant] = TtlCache(ttl=CONFIG_FOR_SECONDS)
"""Tenants' Webex token pairs: a refresh by another worker is seen within a minute, or at once after a 401."""


def read_config(tenant_id: str) -> SchedulingConfig:
    from shared.runtime import get_runtime

    return load_config(get_runtime().stores.tenant_settings.load(tenant_id, CONFIG_ROW))


def public_config(tenant_id: str, config: SchedulingConfig) -> dict[str, Any]:
    """What the admin API shows of a configuration, with the state of its Webex tokens (never the tokens)."""
    from shared.platforms.webex_auth import grant_status

    shown = config.public()
    if shown["webex"] is not None:
        from shared.runtime import get_runtime

        shown["webex"]["tokens"] = grant_status(stored_grant(get_runtime().stores, tenant_id), utcnow())
    return shown


def write_config(tenant_id: str, document: Any) -> SchedulingConfig:
    """Validate and store (sealed) an admin's change; omitted parts keep their value. New Webex credentials
    are checked against Webex first (ValidationError naming what it refused), and nothing is stored unless
    the whole change is good."""
    from shared.runtime import get_runtime

    stores = get_runtime().stores
    config, setup = parse_config(document, current=read_config(tenant_id))
    if setup is not None:
        webex, grant = _checked(setup)
        stores.tenant_settings.save(tenant_id, GRANT_ROW, grant.to_json())
        config = replace(config, webex=webex, webex_token=None)
    elif config.webex is None:
        stores.tenant_settings.delete(tenant_id, GRANT_ROW)
    stores.tenant_settings.save(tenant_id, CONFIG_ROW, config.to_json())
    _CONFIGS.discard(tenant_id)
    _GRANTS.discard(tenant_id)
    return config


def _checked(setup: WebexSetup) -> tuple[WebexConfig, WebexGrant]:
    from shared.platforms.webex import WebexPlatform, refresh_service_app_token
    from shared.platforms.webex_auth import ServiceApp
    from shared.platforms.webex_setup import check_service_app
    from shared.retry import RetryPolicy
    from shared.runtime import get_runtime

    settings = get_runtime().settings
    session = webex_session(settings)
    app = ServiceApp(setup.client_id, setup.client_secret)
    refresher = refresh_service_app_token(settings.webex_api_url, session=session, timeout=settings.graph_timeout)
    check = check_service_app(
        app,
        setup.refresh_token,
        setup.check_host,
        refresher=refresher,
        site_url=setup.site_url,
        platform_of=lambda token: WebexPlatform(
            token,
            base_url=settings.webex_api_url,
            session=session,
            timeout=settings.graph_timeout,
            retry=RetryPolicy(max_attempts=2),
        ),
    )
    checked = utc_text(utcnow())
    return WebexConfig(setup.client_id, setup.client_secret, setup.site_url, check.scopes, checked), check.grant


def webex_session(settings: Any) -> Any:
    """The pooled session for the Webex API: the stand-in's certificate trusted only for a Webex on this machine."""
    from urllib.parse import urlsplit

    from shared.config import LOOPBACK_HOSTS, app_path
    from shared.http import pooled_session

    local = urlsplit(settings.webex_api_url).hostname in LOOPBACK_HOSTS
    return pooled_session(str(app_path(settings.webex_ca_bundle)) if local else True)


def stored_grant(stores: Any, tenant_id: str) -> WebexGrant | None:
    """The tenant's Webex token pair as stored (sealed), read now."""
    text = stores.tenant_settings.load(tenant_id, GRANT_ROW)
    return WebexGrant.from_json(text) if text else None


def build_scheduler(settings: Any, engine: Any) -> KeywordScheduler:
    """A scheduler writing through the engine's Graph client and stores, as the settings describe."""
    from shared.platforms.builtin import BuiltinPlatform
    from shared.sync.records import graph_moment

    stores = engine.stores
    builtin = BuiltinPlatform(
        settings.builtin_meeting_url, sip_domain=settings.builtin_sip_domain, secret=settings.builtin_room_secret
    )
    sessions: list[Any] = []

    def config_of(tenant_id: str) -> SchedulingConfig:
        return _CONFIGS.get_or_load(tenant_id, lambda: load_config(stores.tenant_settings.load(tenant_id, CONFIG_ROW)))

    def platform_of(tenant_id: str, name: str, config: SchedulingConfig) -> MeetingPlatform:
        if name != "webex" or (config.webex is None and not config.webex_token):
            return builtin
        from shared.platforms.webex import WebexPlatform

        if not sessions:
            sessions.append(webex_session(settings))
        return WebexPlatform(
            _tokens(tenant_id, config, settings, sessions[0], stores),
            base_url=settings.webex_api_url,
            session=sessions[0],
            timeout=settings.graph_timeout,
            tenant_id=tenant_id,
            site_url=config.webex.site_url if config.webex else None,
        )

    def locale_of(tenant_id: str, mailbox_id: str) -> tuple[str | None, str | None]:
        held = stores.presence.get(tenant_id, mailbox_id)
        return (held.language, held.time_zone) if held is not None else (None, None)

    return KeywordScheduler(
        engine.graph,
        stores.schedulings,
        config_of=config_of,
        platform_of=platform_of,
        moment=graph_moment,
        record_failure=engine.record_failure,
        record_warning=engine.record_warning,
        locale_of=locale_of,
    )


def _tokens(tenant_id: str, config: SchedulingConfig, settings: Any, session: Any, stores: Any) -> Any:
    """The tenant's Service App tokens (read through a one-minute cache, written through at each refresh), or
    the single access token of a configuration made before Service Apps."""
    from shared.platforms.webex import refresh_service_app_token
    from shared.platforms.webex_auth import ServiceApp, ServiceAppTokens, StaticToken

    if config.webex is None:
        return StaticToken(str(config.webex_token))

    def load() -> WebexGrant | None:
        held = _GRANTS.get(tenant_id)
        if held is None:
            held = stored_grant(stores, tenant_id)
            if held is not None:
                _GRANTS.put(tenant_id, held)
        return held

    def save(grant: WebexGrant) -> None:
        stores.tenant_settings.save(tenant_id, GRANT_ROW, grant.to_json())
        _GRANTS.put(tenant_id, grant)

    return ServiceAppTokens(
        ServiceApp(config.webex.client_id, config.webex.client_secret),
        load=load,
        save=save,
        refresher=refresh_service_app_token(settings.webex_api_url, session=session, timeout=settings.graph_timeout),
    )
