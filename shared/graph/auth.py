"""Tokens for Graph: app-only per tenant (admin consent) and delegated per user (connect my calendar).

One MSAL ``ConfidentialClientApplication`` per tenant and cloud (the authority includes the
tenant, as Microsoft's OpenID configuration names it), with a client secret or a certificate. App-only tokens come from
``acquire_token_for_client``, which caches them itself. Delegated tokens use the auth-code
flow with PKCE; each user's serialized MSAL cache is kept through :class:`TokenCacheStore`
(the sealed ``tokencaches`` table) and written back only when it changed.

Expired or revoked grants — ``invalid_grant``, AADSTS700082 (refresh token inactive 90 days),
AADSTS50173 (revoked, e.g. password reset), AADSTS65001 (consent missing) and their kin —
become one :class:`~shared.errors.ReauthorizationRequiredError`: an admin or the user must act.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from shared.errors import (
    AuthError,
    CloudNotSupportedError,
    DependencyUnavailableError,
    ReauthorizationRequiredError,
    TenantNotFoundError,
)
from shared.graph.clouds import (
    AZURE_CHINA,
    AZURE_COMMERCIAL,
    AZURE_GOVERNMENT,
    WORLDWIDE,
    Cloud,
    cloud_for,
    with_base_url,
)

REAUTHORIZE_CODES = frozenset({700082, 50173, 65001, 70008, 700084, 50076, 50079, 53003, 70000, 700016})
"""AADSTS codes that mean a person must sign in or consent again."""
DELEGATED_SCOPES = ("Calendars.ReadWrite", "MailboxSettings.ReadWrite", "User.Read")


class TokenCacheStore(Protocol):
    """Where each user's MSAL token cache lives (refresh tokens are secrets: the store seals them)."""

    def load(self, tenant_id: str, row_id: str) -> str | None: ...

    def save(self, tenant_id: str, row_id: str, value: str) -> None: ...


@dataclass(frozen=True)
class AppCredentials:
    """The app registration: its id and either a secret or a certificate (PEM key + SHA-1 thumbprint)."""

    client_id: str
    client_secret: str | None = field(default=None, repr=False)
    private_key_pem: str | None = field(default=None, repr=False)
    thumbprint: str | None = None

    def msal_credential(self) -> Any:
        if self.private_key_pem and self.thumbprint:
            return {"private_key": self.private_key_pem, "thumbprint": self.thumbprint}
        if self.client_secret:
            return self.client_secret
        raise AuthError("the app registration has neither a client secret nor a certificate")


AZURE_NAMES = {AZURE_COMMERCIAL: "Azure commercial", AZURE_GOVERNMENT: "Azure Government", AZURE_CHINA: "Azure China"}


@dataclass(frozen=True)
class Registrations:
    """The deployment's app registrations, one per Azure environment whose sign-in it uses.

    An app registered in Azure commercial cannot get tokens from Azure Government's sign-in and the
    reverse: a government deployment serving GCC and GCC High tenants holds two. A tenant whose cloud has
    no registration here is refused before any sign-in call, with ``hints[azure]`` telling the admin what to
    configure, instead of failing later as an unknown application (AADSTS700016).
    """

    by_azure: Mapping[str, AppCredentials]
    hints: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def commercial(cls, credentials: AppCredentials) -> Registrations:
        return cls({AZURE_COMMERCIAL: credentials})

    def for_cloud(self, cloud: Cloud) -> AppCredentials:
        found = self.by_azure.get(cloud.azure)
        if found is None:
            where = AZURE_NAMES.get(cloud.azure, cloud.azure)
            hint = self.hints.get(cloud.azure, f"register the app in {where} and configure it")
            raise CloudNotSupportedError(
                f"tenant is in the {cloud.instance} instance, which signs in through {where}, and this deployment "
                f"has no app registration there: {hint}",
                instance=cloud.instance,
            )
        return found


def auth_failure(result: Mapping[str, Any], what: str) -> Exception:
    """The error for an MSAL failure dict; the description is not kept (it may name the user)."""
    codes = set(result.get("error_codes") or [])
    error = str(result.get("error") or "unknown")
    said = f"{what}: sign-in refused ({error}, AADSTS{','.join(str(c) for c in sorted(codes)) or ' none'})"
    if error in ("invalid_grant", "consent_required", "interaction_required") or codes & REAUTHORIZE_CODES:
        return ReauthorizationRequiredError(said)
    if error in ("temporarily_unavailable", "server_error"):
        return DependencyUnavailableError(said)
    return AuthError(said)


class GraphAuth:
    """Finds each tenant's cloud and hands out tokens for it."""

    def __init__(
        self,
        credentials: AppCredentials | Registrations,
        *,
        deployment: str = "commercial",
        base_url: str | None = None,
        http_client: Any = None,
        token_caches: TokenCacheStore | None = None,
        timeout: float = 10.0,
    ) -> None:
        from shared.http import pooled_session

        self.registrations = (
            credentials if isinstance(credentials, Registrations) else Registrations.commercial(credentials)
        )
        self.deployment, self.base_url = deployment, base_url
        self.http = http_client or pooled_session()
        self.token_caches = token_caches
        self.timeout = timeout
        self._clouds: dict[str, Cloud] = {}
        self._documents: dict[str, Mapping[str, Any]] = {}
        self._apps: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()

    def cloud(self, tenant_id: str) -> Cloud:
        """The tenant's cloud (from its OpenID configuration, cached); refused if this deployment does not serve it
        or has no app registration in the Azure environment it signs in through."""
        if tenant_id not in self._clouds:
            cloud = cloud_for(self.openid_configuration(tenant_id), deployment=self.deployment)
            self.registrations.for_cloud(cloud)
            self._clouds[tenant_id] = with_base_url(cloud, self.base_url)
        return self._clouds[tenant_id]

    def app_token(self, tenant_id: str) -> str:
        """An app-only token for the tenant's Graph (from MSAL's cache while it is valid)."""
        cloud = self.cloud(tenant_id)
        result = self._app(tenant_id, cloud).acquire_token_for_client(scopes=[cloud.scope])
        if "access_token" not in result:
            raise auth_failure(result, "app-only token")
        return str(result["access_token"])

    def begin_user_sign_in(self, tenant_id: str, redirect_uri: str, *, login_hint: str | None = None) -> dict[str, Any]:
        """Start the auth-code flow with PKCE; keep the returned dict (server side) and redirect to ``auth_uri``.

        The answer comes back as a form POST to ``redirect_uri`` (``response_mode=form_post``, as
        MSAL and RFC 9700 recommend: the code never sits in a URL or a browser history).
        """
        cloud = self.cloud(tenant_id)
        return self._app(tenant_id, cloud).initiate_auth_code_flow(
            [self._delegated(cloud, scope) for scope in DELEGATED_SCOPES],
            redirect_uri=redirect_uri,
            login_hint=login_hint,
            response_mode="form_post",
        )

    def finish_user_sign_in(self, tenant_id: str, flow: dict[str, Any], response: Mapping[str, str]) -> str:
        """Redeem the code from the posted form (state, nonce and PKCE checked by MSAL); store the cache;
        the user's object id."""
        import msal

        cloud = self.cloud(tenant_id)
        cache = msal.SerializableTokenCache()
        app = self._new_app(tenant_id, cloud, cache)
        try:
            result = app.acquire_token_by_auth_code_flow(flow, dict(response))
        except ValueError:
            raise AuthError("sign-in response does not match the flow that was started (state or nonce)") from None
        if "access_token" not in result:
            raise auth_failure(result, "user sign-in")
        user_id = str(result["id_token_claims"]["oid"])
        self._store(tenant_id, user_id, cache)
        return user_id

    def user_token(self, tenant_id: str, user_id: str) -> str:
        """A delegated token for a user who connected their calendar, refreshed from their stored cache."""
        import msal

        cloud = self.cloud(tenant_id)
        cache = msal.SerializableTokenCache()
        stored = self.token_caches.load(tenant_id, user_id) if self.token_caches else None
        if not stored:
            raise ReauthorizationRequiredError("user token: the user has not connected their calendar")
        cache.deserialize(stored)
        app = self._new_app(tenant_id, cloud, cache)
        accounts = [a for a in app.get_accounts() if str(a.get("local_account_id")) == user_id]
        scopes = [self._delegated(cloud, scope) for scope in DELEGATED_SCOPES]
        result = app.acquire_token_silent_with_error(scopes, accounts[0]) if accounts else None
        if not result or "access_token" not in result:
            raise auth_failure(result or {"error": "invalid_grant"}, "user token")
        self._store(tenant_id, user_id, cache)
        return str(result["access_token"])

    def _store(self, tenant_id: str, user_id: str, cache: Any) -> None:
        if self.token_caches is not None and cache.has_state_changed:
            self.token_caches.save(tenant_id, user_id, cache.serialize())

    @staticmethod
    def _delegated(cloud: Cloud, scope: str) -> str:
        return f"{cloud.resource or cloud.graph_url}/{scope}"

    def _app(self, tenant_id: str, cloud: Cloud) -> Any:
        key = (tenant_id, cloud.instance)
        with self._lock:
            if key not in self._apps:
                self._apps[key] = self._new_app(tenant_id, cloud, None)
            return self._apps[key]

    def _new_app(self, tenant_id: str, cloud: Cloud, cache: Any) -> Any:
        import msal

        credentials = self.registrations.for_cloud(cloud)
        return msal.ConfidentialClientApplication(
            credentials.client_id,
            client_credential=credentials.msal_credential(),
            authority=cloud.authority(tenant_id),
            http_client=self.http,
            token_cache=cache,
            instance_discovery=False if self.base_url else None,
            timeout=self.timeout,
        )

    def openid_configuration(self, tenant_id: str) -> Mapping[str, Any]:
        """The tenant's OpenID configuration (issuer, jwks_uri, cloud fields), fetched once per process."""
        if tenant_id not in self._documents:
            self._documents[tenant_id] = self._fetch_openid_configuration(tenant_id)
        return self._documents[tenant_id]

    def _fetch_openid_configuration(self, tenant_id: str) -> Mapping[str, Any]:
        login = self.base_url.rstrip("/") if self.base_url else WORLDWIDE.login_url
        try:
            return self.sign_in_document(
                f"{login}/{tenant_id}/v2.0/.well-known/openid-configuration", what="tenant discovery"
            )
        except _NoSuchTenant as missing:
            raise TenantNotFoundError(str(missing)) from None

    def sign_in_document(self, url: str, *, what: str) -> Mapping[str, Any]:
        """A JSON document of the sign-in service (a tenant's OpenID configuration, its key set)."""
        import requests

        try:
            response = self.http.get(url, timeout=self.timeout)
        except requests.RequestException as exc:
            raise DependencyUnavailableError(f"{what}: sign-in service unreachable ({type(exc).__name__})") from None
        if response.status_code == 400 or response.status_code == 404:
            raise _NoSuchTenant(f"{what}: no such tenant (HTTP {response.status_code})")
        if response.status_code >= 400:
            raise DependencyUnavailableError(f"{what}: HTTP {response.status_code}")
        return response.json()


class _NoSuchTenant(AuthError):
    """Sign-in answered 400/404 for a tenant's document: Entra's AADSTS90002, tenant not found."""
