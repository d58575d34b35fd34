"""Microsoft sign-in, as the product meets it: OpenID configuration, keys, tokens, consent.

Per tenant: ``/{tenant}/v2.0/.well-known/openid-configuration`` (with the cloud fields the
product reads to find the tenant's national cloud), ``/{tenant}/discovery/v2.0/keys``,
``/{tenant}/oauth2/v2.0/token`` (client credentials with a secret or a certificate assertion,
authorization code with PKCE, refresh tokens that can be revoked or expire),
``/{tenant}/oauth2/v2.0/authorize`` and ``/{tenant}[/v2.0]/adminconsent``, which redirect back
as Microsoft's do. Errors carry Entra's shape: ``error``, ``error_description`` with an
AADSTS code, ``error_codes``.

App registrations are bound to the Azure environment they were made in, as Entra's are: a tenant signs
in through Azure commercial (Worldwide and GCC), Azure Government (GCC High and DoD, the ``.us``
instances) or Azure China, and an app registered in another environment is unknown there. Its token,
authorize and admin-consent requests get AADSTS700016 ("Application with identifier ... was not found
in the directory ..."), which is what a deployment that reuses its commercial app id for a GCC High
tenant meets.
"""

from __future__ import annotations

import base64
import hashlib
import html
import secrets
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import jwt

from local.graphsim.store import App, Store, Tenant, User
from local.graphsim.tokens import SigningKeys, client_info, now, verify_client_assertion
from local.graphsim.web import Request, Response

ACCESS_TOKEN_SECONDS = 3599
REFRESH_TOKEN_SECONDS = 90 * 24 * 3600
CLOUD_FIELDS: dict[str, dict[str, Any]] = {
    "Worldwide": {
        "tenant_region_scope": "NA",
        "tenant_region_sub_scope": None,
        "cloud_instance_name": "microsoftonline.com",
        "msgraph_host": "graph.microsoft.com",
    },
    "GCC": {
        "tenant_region_scope": "NA",
        "tenant_region_sub_scope": "GCC",
        "cloud_instance_name": "microsoftonline.com",
        "msgraph_host": "graph.microsoft.com",
    },
    "GCCHigh": {
        "tenant_region_scope": "USGov",
        "tenant_region_sub_scope": "DODCON",
        "cloud_instance_name": "microsoftonline.us",
        "msgraph_host": "graph.microsoft.us",
    },
    "DoD": {
        "tenant_region_scope": "USGov",
        "tenant_region_sub_scope": "DOD",
        "cloud_instance_name": "microsoftonline.us",
        "msgraph_host": "dod-graph.microsoft.us",
    },
    "China": {
        "tenant_region_scope": "AS",
        "tenant_region_sub_scope": None,
        "cloud_instance_name": "partner.microsoftonline.cn",
        "msgraph_host": "microsoftgraph.chinacloudapi.cn",
    },
}


def azure_of(tenant: Tenant) -> str:
    """The Azure environment whose sign-in serves the tenant, from its OpenID configuration's instance."""
    instance = str(tenant.openid.get("cloud_instance_name") or "microsoftonline.com")
    if instance.endswith(".us"):
        return "AzureUSGovernment"
    if instance.endswith(".cn"):
        return "AzureChinaCloud"
    return "AzureCloud"


def graph_resource(tenant: Tenant) -> str:
    return f"https://{tenant.openid.get('msgraph_host') or 'graph.microsoft.com'}"


@dataclass
class Grant:
    tenant_id: str
    client_id: str
    user_id: str
    scopes: list[str]
    expires: float
    state: str = "valid"
    nonce: str | None = None
    redirect_uri: str | None = None
    challenge: str | None = None


@dataclass
class SignIn:
    store: Store
    keys: SigningKeys = field(default_factory=SigningKeys)
    codes: dict[str, Grant] = field(default_factory=dict)
    refresh_tokens: dict[str, Grant] = field(default_factory=dict)
    deny_consent: set[str] = field(default_factory=set)

    def tenant(self, key: str) -> Tenant | None:
        return self.store.tenants.get(key) or next(
            (t for t in self.store.tenants.values() if t.domain.lower() == key.lower()), None
        )

    def app_for(self, tenant: Tenant | None, client_id: str) -> App | None:
        """The app registration, if it exists in the Azure environment the tenant signs in through."""
        app = self.store.apps.get(client_id)
        if app is None or (tenant is not None and app.azure != azure_of(tenant)):
            return None
        return app

    # discovery ----------------------------------------------------------------------------------

    def openid_configuration(self, request: Request) -> Response:
        tenant = self.tenant(request.params["tenant"])
        if tenant is None:
            return _error(
                400,
                "invalid_tenant",
                90002,
                f"Tenant '{request.params['tenant']}' not found. Check to make "
                "sure you have the correct tenant ID and are signing into the correct cloud.",
            )
        base = f"{request.base_url}/{tenant.id}"
        return Response(
            200,
            {
                "token_endpoint": f"{base}/oauth2/v2.0/token",
                "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                "jwks_uri": f"{base}/discovery/v2.0/keys",
                "issuer": f"{base}/v2.0",
                "token_endpoint_auth_methods_supported": [
                    "client_secret_post",
                    "private_key_jwt",
                    "client_secret_basic",
                ],
                "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
                "response_modes_supported": ["query", "fragment", "form_post"],
                "subject_types_supported": ["pairwise"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "scopes_supported": ["openid", "profile", "email", "offline_access"],
                "request_uri_parameter_supported": False,
                "userinfo_endpoint": f"{request.base_url}/oidc/userinfo",
                "end_session_endpoint": f"{base}/oauth2/v2.0/logout",
                "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nonce", "oid", "tid"],
                "kerberos_endpoint": f"{base}/kerberos",
                "rbac_url": "https://pas.windows.net",
                "cloud_graph_host_name": "graph.windows.net",
                **tenant.openid,
            },
        )

    def jwks(self, request: Request) -> Response:
        return Response(200, self.keys.jwks())

    # consent and authorize ----------------------------------------------------------------------

    def admin_consent(self, request: Request) -> Response:
        query, tenant = request.query, self.tenant(request.params["tenant"])
        app = self.app_for(tenant, query.get("client_id", ""))
        redirect = query.get("redirect_uri", "")
        if tenant is not None and app is None:
            return _unknown_app(tenant, query.get("client_id", ""))
        if tenant is None or app is None or redirect not in app.redirect_uris:
            return _error(
                400, "invalid_request", 50011 if app else 700016, "The redirect URI or application is not registered."
            )
        state = {"state": query["state"]} if "state" in query else {}
        if tenant.id in self.deny_consent:
            return _redirect(
                redirect, {"error": "permission_denied", "error_description": "The admin canceled the request", **state}
            )
        tenant.consented_apps.add(app.client_id)
        scope = {"scope": query["scope"]} if "scope" in query else {}
        return _redirect(redirect, {"admin_consent": "True", "tenant": tenant.id, **state, **scope})

    def authorize(self, request: Request) -> Response:
        query, tenant = request.query, self.tenant(request.params["tenant"])
        app = self.app_for(tenant, query.get("client_id", ""))
        redirect = query.get("redirect_uri", "")
        if tenant is not None and app is None:
            return _unknown_app(tenant, query.get("client_id", ""))
        if tenant is None or app is None or redirect not in app.redirect_uris:
            return _error(400, "invalid_request", 50011, "The redirect URI specified in the request does not match.")
        state = {"state": query["state"]} if "state" in query else {}
        back = _form_post if query.get("response_mode") == "form_post" else _redirect
        user = self._signed_in_user(tenant, query.get("login_hint"))
        if tenant.id in self.deny_consent or user is None:
            return back(
                redirect,
                {
                    "error": "access_denied",
                    "error_description": "AADSTS65004: User declined to consent to access the app.",
                    **state,
                },
            )
        if query.get("code_challenge_method", "S256") != "S256" or not query.get("code_challenge"):
            return back(
                redirect,
                {
                    "error": "invalid_request",
                    "error_description": "AADSTS9002325: Proof Key for Code Exchange is required.",
                    **state,
                },
            )
        code = secrets.token_urlsafe(32)
        self.codes[code] = Grant(
            tenant.id,
            app.client_id,
            user.id,
            query.get("scope", "").split(),
            time.time() + 600,
            nonce=query.get("nonce"),
            redirect_uri=redirect,
            challenge=query["code_challenge"],
        )
        return back(
            redirect,
            {"code": code, **state, "client_info": client_info(user.id, tenant.id), "session_state": str(uuid.uuid4())},
        )

    def _signed_in_user(self, tenant: Tenant, hint: str | None) -> User | None:
        users = [u for u in self.store.users.values() if u.tenant_id == tenant.id and u.kind == "user"]
        if hint:
            return next((u for u in users if u.mail.lower() == hint.lower()), None)
        return users[0] if users else None

    # tokens -------------------------------------------------------------------------------------

    def token(self, request: Request) -> Response:
        form, tenant = request.form(), self.tenant(request.params["tenant"])
        if tenant is None:
            return _error(400, "invalid_request", 90002, "Tenant not found.")
        app = self.app_for(tenant, form.get("client_id", ""))
        if app is None:
            return _unknown_app(tenant, form.get("client_id", ""))
        failure = self._authenticate(app, form, f"{request.base_url}/{tenant.id}/oauth2/v2.0/token")
        if failure:
            return failure
        grant = form.get("grant_type")
        if grant == "client_credentials":
            return self._client_credentials(tenant, app.client_id, form.get("scope", ""))
        if grant == "authorization_code":
            return self._redeem_code(request, tenant, form)
        if grant == "refresh_token":
            return self._refresh(request, tenant, form)
        return _error(400, "unsupported_grant_type", 70003, "The app requested an unsupported grant type.")

    def _authenticate(self, app: Any, form: dict[str, str], audience: str) -> Response | None:
        if form.get("client_assertion"):
            try:
                verify_client_assertion(
                    form["client_assertion"], app.certificates, audience=audience, client_id=app.client_id
                )
            except jwt.PyJWTError as exc:
                code = 700027 if "700027" in str(exc) else 700023 if "700023" in str(exc) else 700027
                return _error(401, "invalid_client", code, f"Client assertion failed signature validation. {exc}")
            return None
        if app.secret is None or not secrets.compare_digest(form.get("client_secret", ""), app.secret):
            return _error(
                401,
                "invalid_client",
                7000215,
                "Invalid client secret provided. Ensure the secret being "
                "sent in the request is the client secret value, not the client secret ID.",
            )
        return None

    def _client_credentials(self, tenant: Tenant, client_id: str, scope: str) -> Response:
        resource = graph_resource(tenant)
        if scope.strip() != f"{resource}/.default":
            return _error(
                400,
                "invalid_scope",
                1002012,
                f"The provided value for scope {scope} is not valid. "
                "Client credential flows must have a scope value with /.default suffixed to the resource "
                "identifier (application ID URI).",
            )
        if client_id not in tenant.consented_apps:
            return _error(
                400,
                "unauthorized_client",
                700016,
                f"Application with identifier '{client_id}' was not "
                f"found in the directory '{tenant.domain}'. This can happen if the application has not been "
                "installed by the administrator of the tenant.",
            )
        claims = {
            "aud": resource,
            "iss": f"https://sts.windows.net/{tenant.id}/",
            "tid": tenant.id,
            "appid": client_id,
            "oid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{tenant.id}/{client_id}")),
            "idtyp": "app",
            "roles": ["Calendars.ReadWrite", "MailboxSettings.ReadWrite", "User.Read.All"],
        }
        return Response(
            200,
            {
                "token_type": "Bearer",
                "expires_in": ACCESS_TOKEN_SECONDS,
                "ext_expires_in": ACCESS_TOKEN_SECONDS,
                "access_token": self._access(claims),
            },
        )

    def _redeem_code(self, request: Request, tenant: Tenant, form: dict[str, str]) -> Response:
        grant = self.codes.pop(form.get("code", ""), None)
        if grant is None or grant.expires < time.time() or grant.tenant_id != tenant.id:
            return _error(
                400,
                "invalid_grant",
                70008,
                "The provided authorization code or refresh token has expired "
                "due to inactivity. Send a new interactive authorization request for this user and resource.",
            )
        verifier = form.get("code_verifier", "")
        digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        if digest != grant.challenge or form.get("redirect_uri") != grant.redirect_uri:
            return _error(
                400,
                "invalid_grant",
                501481,
                "The Code_Verifier does not match the code_challenge supplied in the authorization request.",
            )
        return self._user_tokens(request, tenant, grant)

    def _refresh(self, request: Request, tenant: Tenant, form: dict[str, str]) -> Response:
        grant = self.refresh_tokens.get(form.get("refresh_token", ""))
        if grant is None or grant.tenant_id != tenant.id:
            return _error(400, "invalid_grant", 9002313, "Invalid request. Request is malformed or invalid.")
        if grant.state == "revoked":
            return _error(
                400,
                "invalid_grant",
                50173,
                "The provided grant has expired due to it being revoked, a "
                "fresh auth token is needed. The user might have changed or reset their password.",
            )
        if grant.state == "expired" or grant.expires < time.time():
            return _error(
                400,
                "invalid_grant",
                700082,
                "The refresh token has expired due to inactivity. The token was inactive for 90.00:00:00.",
            )
        del self.refresh_tokens[form["refresh_token"]]
        return self._user_tokens(request, tenant, grant)

    def _user_tokens(self, request: Request, tenant: Tenant, grant: Grant) -> Response:
        user = self.store.users[grant.user_id]
        resource = graph_resource(tenant)
        scopes = [s.rsplit("/", 1)[-1] for s in grant.scopes if s.startswith(resource)]
        access = self._access(
            {
                "aud": resource,
                "iss": f"https://sts.windows.net/{tenant.id}/",
                "tid": tenant.id,
                "appid": grant.client_id,
                "oid": user.id,
                "upn": user.mail,
                "scp": " ".join(scopes),
            }
        )
        refresh = secrets.token_urlsafe(48)
        self.refresh_tokens[refresh] = Grant(
            tenant.id, grant.client_id, user.id, grant.scopes, time.time() + REFRESH_TOKEN_SECONDS
        )
        issued = now()
        id_token = self.keys.sign(
            {
                "aud": grant.client_id,
                "iss": f"{request.base_url}/{tenant.id}/v2.0",
                "iat": issued,
                "nbf": issued,
                "exp": issued + 3600,
                "oid": user.id,
                "sub": user.id,
                "tid": tenant.id,
                "name": user.display_name,
                "preferred_username": user.mail,
                "ver": "2.0",
                **({"nonce": grant.nonce} if grant.nonce else {}),
            }
        )
        return Response(
            200,
            {
                "token_type": "Bearer",
                "scope": " ".join(grant.scopes),
                "expires_in": ACCESS_TOKEN_SECONDS,
                "ext_expires_in": ACCESS_TOKEN_SECONDS,
                "access_token": access,
                "refresh_token": refresh,
                "id_token": id_token,
                "client_info": client_info(user.id, tenant.id),
            },
        )

    def _access(self, claims: dict[str, Any]) -> str:
        issued = now()
        return self.keys.sign(
            {
                "iat": issued,
                "nbf": issued,
                "exp": issued + ACCESS_TOKEN_SECONDS,
                "ver": "1.0",
                "uti": secrets.token_urlsafe(16),
            }
            | claims
        )

    def revoke(self, user_id: str, state: str) -> int:
        """Mark every refresh token of the user ``revoked`` or ``expired``; how many."""
        grants = [g for g in self.refresh_tokens.values() if g.user_id == user_id]
        for grant in grants:
            grant.state = state
        return len(grants)


def _redirect(uri: str, params: dict[str, str]) -> Response:
    separator = "&" if "?" in uri else "?"
    return Response(302, None, {"Location": f"{uri}{separator}{urlencode(params)}"})


def _form_post(uri: str, params: dict[str, str]) -> Response:
    """``response_mode=form_post``: an auto-submitting form that POSTs the result to the redirect URI."""
    fields = "".join(
        f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}"/>' for k, v in params.items()
    )
    page = (
        f'<html><head><title>Working...</title></head><body><form method="POST" name="hiddenform" '
        f'action="{html.escape(uri)}">{fields}<noscript><p>Script is disabled. Click Submit to continue.</p>'
        '<input type="submit" value="Submit"/></noscript></form><script>document.forms[0].submit()</script>'
        "</body></html>"
    )
    return Response(200, None, {"Content-Type": "text/html; charset=utf-8"}, text=page)


def _unknown_app(tenant: Tenant, client_id: str) -> Response:
    """Entra's answer for an app id its directory does not know (never registered, or registered in another Azure
    environment)."""
    return _error(
        400,
        "unauthorized_client",
        700016,
        f"Application with identifier '{client_id}' was not found in the directory '{tenant.domain}'. This can happen "
        "if the application has not been installed by the administrator of the tenant or consented to by any user in "
        "the tenant. You may have sent your authentication request to the wrong tenant.",
    )


def _error(status: int, error: str, code: int, description: str) -> Response:
    trace = str(uuid.uuid4())
    return Response(
        status,
        {
            "error": error,
            "error_description": f"AADSTS{code}: {description} Trace ID: {trace} "
            f"Correlation ID: {uuid.uuid4()} Timestamp: {time.strftime('%Y-%m-%d %H:%M:%SZ')}",
            "error_codes": [code],
            "timestamp": time.strftime("%Y-%m-%d %H:%M:%SZ"),
            "trace_id": trace,
            "correlation_id": str(uuid.uuid4()),
            "error_uri": f"https://login.microsoftonline.com/error?code={code}",
        },
    )
