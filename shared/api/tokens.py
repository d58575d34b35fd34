"""Bearer tokens of the meetings API: Entra ID v2 access tokens issued to users' apps for this API.

Validated with PyJWT against the signing keys the token's tenant publishes (its OpenID
configuration names ``jwks_uri`` and ``issuer``): RS256 only, signature, ``iss`` equal to the
tenant's v2 issuer, ``aud`` one of ``HC_API_AUDIENCE``, ``exp``/``nbf`` with one minute of clock
skew, and the delegated scope in ``scp``. Keys are cached per tenant for a day; a token signed
by a key we have not seen refreshes them at most once per ``REFRESH_EVERY`` seconds per tenant
(key rollover), so forged ``kid`` values cannot make us hammer the sign-in service.
Only tenants this deployment serves are looked up at all.

The caller is the token's ``tid`` and ``oid``: nothing in the request can choose another mailbox.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from shared.errors import DependencyUnavailableError, InsufficientScopeError, InvalidTokenError

GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
LEEWAY_SECONDS = 60
KEYS_FOR_SECONDS = 86_400
REFRESH_EVERY = 5
MAX_TOKEN_CHARS = 16_384


def is_guid(value: str) -> bool:
    """An Entra tenant or object id, in either case."""
    return bool(GUID.match(value.lower()))


@dataclass(frozen=True)
class Caller:
    """Who a valid token speaks for."""

    tenant_id: str
    object_id: str
    scopes: frozenset[str]


@dataclass
class _TenantKeys:
    issuer: str
    keys: dict[str, Any]
    fetched: float


def bearer_token(authorization: str | None) -> str:
    """The token of an ``Authorization: Bearer`` header; InvalidTokenError (no error code) when absent."""
    scheme, _, token = (authorization or "").strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise InvalidTokenError("send the access token as 'Authorization: Bearer <token>'", error=None)
    if len(token) > MAX_TOKEN_CHARS:
        raise InvalidTokenError(f"the bearer token is over {MAX_TOKEN_CHARS} characters")
    return token.strip()


class ApiTokenValidator:
    """Checks users' tokens for the API; ``discover(tenant)`` returns the tenant's OpenID configuration."""

    def __init__(
        self,
        *,
        audiences: tuple[str, ...],
        scope: str,
        discover: Callable[[str], Mapping[str, Any]],
        fetch_json: Callable[[str], Mapping[str, Any]],
        is_served: Callable[[str], bool],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.audiences, self.scope = audiences, scope
        self._discover, self._fetch_json, self._is_served, self._clock = discover, fetch_json, is_served, clock
        self._tenants: dict[str, _TenantKeys] = {}
        self._lock = threading.Lock()

    def validate(self, token: str) -> Caller:
        """The caller of a valid token; InvalidTokenError (401) or InsufficientScopeError (403) otherwise."""
        import jwt

        kid, tenant_id = _unverified(token)
        if not self._is_served(tenant_id):
            raise InvalidTokenError("the token's tenant is not served by this deployment")
        keys = self._keys(tenant_id, kid)
        try:
            claims = jwt.decode(
                token,
                keys.keys[kid],
                algorithms=["RS256"],
                audience=list(self.audiences),
                issuer=keys.issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "nbf", "iss", "aud", "tid", "oid"]},
            )
        except jwt.PyJWTError as exc:
            raise InvalidTokenError(_reason(exc)) from None
        return self._caller(claims, tenant_id)

    def _caller(self, claims: Mapping[str, Any], tenant_id: str) -> Caller:
        object_id = str(claims.get("oid", "")).lower()
        if str(claims.get("tid", "")).lower() != tenant_id or not GUID.match(object_id):
            raise InvalidTokenError("the token's tid and oid must be GUIDs")
        scopes = frozenset(str(claims.get("scp") or "").split())
        if self.scope not in scopes:
            raise InsufficientScopeError(
                f"the token does not carry the delegated scope {self.scope} "
                "(application tokens cannot read a user's meetings)"
            )
        return Caller(tenant_id, object_id, scopes)

    def _stale(self, held: _TenantKeys, kid: str) -> bool:
        """Keys older than a day, or a key id not seen yet (looked up again at most every REFRESH_EVERY)."""
        age = self._clock() - held.fetched
        return age >= KEYS_FOR_SECONDS or (kid not in held.keys and age >= REFRESH_EVERY)

    def _keys(self, tenant_id: str, kid: str) -> _TenantKeys:
        with self._lock:
            held = self._tenants.get(tenant_id)
        if held is None or self._stale(held, kid):
            held = self._refresh(tenant_id)
        if kid not in held.keys:
            raise InvalidTokenError("the token is signed by a key its tenant does not publish")
        return held

    def _refresh(self, tenant_id: str) -> _TenantKeys:
        import jwt

        document = self._discover(tenant_id)
        issuer, jwks_uri = str(document.get("issuer", "")), str(document.get("jwks_uri", ""))
        if not issuer or not jwks_uri:
            raise DependencyUnavailableError("sign-in discovery document lacks issuer or jwks_uri")
        keys = {}
        for entry in self._fetch_json(jwks_uri).get("keys", []):
            try:
                if entry.get("kid") and entry.get("kty") == "RSA":
                    keys[str(entry["kid"])] = jwt.PyJWK(entry, algorithm="RS256").key
            except jwt.PyJWTError:
                continue
        fresh = _TenantKeys(issuer.replace("{tenantid}", tenant_id), keys, self._clock())
        with self._lock:
            self._tenants[tenant_id] = fresh
        return fresh


def _unverified(token: str) -> tuple[str, str]:
    """(kid, tenant id) read before any check, to pick the keys; InvalidTokenError if it is not such a JWT."""
    import jwt

    try:
        header = jwt.get_unverified_header(token)
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise InvalidTokenError("the bearer token is not a JWT") from None
    if header.get("alg") != "RS256" or not header.get("kid"):
        raise InvalidTokenError("the token must be signed with RS256 and name its key (kid)")
    tenant_id = str(claims.get("tid", "")).lower()
    if not GUID.match(tenant_id):
        raise InvalidTokenError("the token has no tenant id (tid)")
    return str(header["kid"]), tenant_id


def _reason(exc: Exception) -> str:
    """A short, fixed description of why PyJWT refused the token (no claim values echoed)."""
    import jwt

    reasons = (
        (jwt.ExpiredSignatureError, "the token has expired"),
        (jwt.ImmatureSignatureError, "the token is not valid yet (nbf or iat in the future)"),
        (jwt.InvalidAudienceError, "the token is for another audience"),
        (jwt.InvalidIssuerError, "the token's issuer is not its tenant's sign-in service"),
        (jwt.InvalidSignatureError, "the token's signature does not verify"),
        (jwt.MissingRequiredClaimError, "the token lacks a required claim (exp, nbf, iss, aud, tid, oid)"),
    )
    return next((text for kind, text in reasons if isinstance(exc, kind)), "the token is malformed")
