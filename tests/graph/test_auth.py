"""Sign-in over HTTPS: app-only tokens, certificates, delegated auth code + PKCE, clouds, broken grants."""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from local.graphsim.demo import GCC_HIGH_TENANT_ID, Demo
from local.graphsim.server import GraphSim
from local.graphsim.signin import CLOUD_FIELDS
from local.graphsim.store import Tenant
from shared.errors import AuthError, CloudNotSupportedError, ReauthorizationRequiredError, TenantNotFoundError
from shared.graph.auth import AppCredentials, Registrations
from shared.graph.clouds import AZURE_COMMERCIAL, AZURE_GOVERNMENT
from tests.graph.conftest import control, make_client

REDIRECT = "http://127.0.0.1:7071/api/auth/callback"


def test_app_token_reads_the_tenant(sim: GraphSim, demo: Demo) -> None:
    client = make_client(sim)
    user = client.get_user(demo.tenant_id, demo.alice, select=["displayName", "mail"])
    assert (user["id"], user["displayName"]) == (demo.alice, "Alice Organizer")
    assert set(user) == {"@odata.context", "id", "displayName", "mail"}


def test_a_wrong_secret_is_an_auth_error_not_a_reauthorization(sim: GraphSim, demo: Demo) -> None:
    client = make_client(sim, credentials=AppCredentials(demo.client_id, "not-the-secret"))
    with pytest.raises(AuthError, match="invalid_client, AADSTS7000215") as caught:
        client.get_user(demo.tenant_id, demo.alice)
    assert not isinstance(caught.value, ReauthorizationRequiredError)
    assert "not-the-secret" not in str(caught.value)


def test_a_tenant_without_admin_consent_needs_reauthorization(sim: GraphSim, demo: Demo) -> None:
    sim.app.store.add_tenant(
        Tenant(
            "aaaaaaaa-0000-4000-8000-00000000000a", "noconsent.example", "No consent", dict(CLOUD_FIELDS["Worldwide"])
        )
    )
    with pytest.raises(ReauthorizationRequiredError, match="AADSTS700016"):
        make_client(sim).get_user("aaaaaaaa-0000-4000-8000-00000000000a", demo.alice)


@pytest.mark.parametrize(("deployment", "tenant", "instance"), [("commercial", GCC_HIGH_TENANT_ID, "GCCHigh")])
def test_another_cloud_is_refused_with_the_reason(sim: GraphSim, deployment: str, tenant: str, instance: str) -> None:
    with pytest.raises(CloudNotSupportedError, match=f"tenant is in the {instance} instance") as caught:
        make_client(sim, deployment=deployment).get_user(tenant, "anyone@agency.example.us")
    assert caught.value.instance == instance


@pytest.mark.parametrize("cloud", ["DoD", "China"])
def test_dod_and_china_are_refused_by_every_deployment(sim: GraphSim, cloud: str) -> None:
    tenant = f"dddddddd-0000-4000-8000-{'00000000000d' if cloud == 'DoD' else '00000000000c'}"
    sim.app.store.add_tenant(Tenant(tenant, f"{cloud.lower()}.example", cloud, dict(CLOUD_FIELDS[cloud])))
    for deployment in ("commercial", "government"):
        with pytest.raises(CloudNotSupportedError, match="this product is not offered there"):
            make_client(sim, deployment=deployment).get_user(tenant, "x")


def _both(demo: Demo) -> Registrations:
    return Registrations(
        {
            AZURE_COMMERCIAL: AppCredentials(demo.client_id, demo.client_secret),
            AZURE_GOVERNMENT: AppCredentials(demo.usgov_client_id, demo.usgov_client_secret),
        }
    )


def test_a_government_deployment_serves_gcc_and_gcc_high_each_with_its_own_registration(
    sim: GraphSim, demo: Demo
) -> None:
    client = make_client(sim, deployment="government", credentials=_both(demo))
    assert client.auth.cloud(GCC_HIGH_TENANT_ID).scope == "https://graph.microsoft.us/.default"
    assert client.get_user(demo.gcc_high_tenant_id, demo.gcc_high_user)["id"] == demo.gcc_high_user
    assert client.get_user(demo.gcc_tenant_id, demo.gcc_user)["id"] == demo.gcc_user
    with pytest.raises(CloudNotSupportedError, match="Worldwide instance"):
        client.get_user(demo.tenant_id, demo.alice)


def test_without_an_azure_government_registration_gcc_high_is_refused_saying_so(sim: GraphSim, demo: Demo) -> None:
    client = make_client(sim, deployment="government")
    with pytest.raises(
        CloudNotSupportedError,
        match="signs in through Azure Government, and this deployment has no app registration there",
    ) as caught:
        client.get_user(demo.gcc_high_tenant_id, demo.gcc_high_user)
    assert caught.value.instance == "GCCHigh"
    assert client.get_user(demo.gcc_tenant_id, demo.gcc_user)["id"] == demo.gcc_user


def test_the_commercial_app_id_is_unknown_to_azure_government_sign_in(sim: GraphSim, demo: Demo) -> None:
    """What a deployment meets when it reuses its commercial registration for GCC High: Entra's AADSTS700016."""
    same = AppCredentials(demo.client_id, demo.client_secret)
    client = make_client(
        sim, deployment="government", credentials=Registrations({AZURE_COMMERCIAL: same, AZURE_GOVERNMENT: same})
    )
    with pytest.raises(ReauthorizationRequiredError, match="AADSTS700016"):
        client.get_user(demo.gcc_high_tenant_id, demo.gcc_high_user)
    answer = requests.post(
        f"{sim.url}/{demo.gcc_high_tenant_id}/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": demo.client_id,
            "client_secret": demo.client_secret,
            "scope": "https://graph.microsoft.us/.default",
        },
        verify=sim.ca_bundle,
        timeout=10,
    )
    assert answer.status_code == 400 and answer.json()["error_codes"] == [700016]
    assert (
        f"Application with identifier '{demo.client_id}' was not found in the directory 'agency.example.us'"
        in (answer.json()["error_description"])
    )


def test_unknown_tenant(sim: GraphSim) -> None:
    with pytest.raises(TenantNotFoundError, match="no such tenant") as raised:
        make_client(sim).get_user("nobody.example", "x")
    assert (raised.value.status, raised.value.code) == (404, "tenant_not_found")


def test_certificate_credentials(sim: GraphSim, demo: Demo, tmp_path) -> None:
    from local.graphsim.tokens import thumbprint_of
    from local.tls import self_signed

    cert, key = self_signed(tmp_path)
    pem = cert.read_text()
    control(sim, "/_sim/apps", {"clientId": "cert-app-0001", "certificates": {thumbprint_of(pem): pem}})
    sim.app.store.tenants[demo.tenant_id].consented_apps.add("cert-app-0001")
    client = make_client(
        sim, credentials=AppCredentials("cert-app-0001", private_key_pem=key.read_text(), thumbprint=thumbprint_of(pem))
    )
    assert client.get_user(demo.tenant_id, demo.alice)["id"] == demo.alice
    other, other_key = self_signed(tmp_path / "other")
    wrong = make_client(
        sim,
        credentials=AppCredentials(
            "cert-app-0001", private_key_pem=other_key.read_text(), thumbprint=thumbprint_of(other.read_text())
        ),
    )
    with pytest.raises(AuthError, match="AADSTS700027"):
        wrong.get_user(demo.tenant_id, demo.alice)


def test_a_certificate_given_as_text_as_key_vault_references_give_it_signs_in(
    sim: GraphSim, demo: Demo, tmp_path
) -> None:
    from pathlib import Path

    from local.graphsim.tokens import thumbprint_of
    from local.tls import self_signed
    from shared.config import load_settings
    from shared.graph.clouds import WORLDWIDE
    from shared.graph.factory import registrations

    cert, key = self_signed(tmp_path)
    pem, app_id = cert.read_text(), "55555555-6666-4777-8888-999999999999"
    control(sim, "/_sim/apps", {"clientId": app_id, "certificates": {thumbprint_of(pem): pem}})
    sim.app.store.tenants[demo.tenant_id].consented_apps.add(app_id)
    settings = load_settings(
        {"HC_CLIENT_ID": app_id, "HC_CLIENT_CERTIFICATE": key.read_text() + pem},
        local_settings=Path("/nonexistent/local.settings.json"),
    )
    credentials = registrations(settings).for_cloud(WORLDWIDE)
    assert credentials.thumbprint == thumbprint_of(pem) and credentials.client_secret is None
    assert make_client(sim, credentials=credentials).get_user(demo.tenant_id, demo.alice)["id"] == demo.alice


def sign_in(sim: GraphSim, client, tenant: str) -> str:
    flow = client.auth.begin_user_sign_in(tenant, REDIRECT)
    assert "code_challenge=" in flow["auth_uri"] and "code_challenge_method=S256" in flow["auth_uri"]
    assert "response_mode=form_post" in flow["auth_uri"]
    answer = requests.get(flow["auth_uri"], allow_redirects=False, verify=sim.ca_bundle, timeout=10)
    assert answer.status_code == 200 and 'action="http://127.0.0.1:7071/api/auth/callback"' in answer.text
    return client.auth.finish_user_sign_in(tenant, flow, posted_form(answer.text))


def posted_form(page: str) -> dict[str, str]:
    """The fields a browser would POST from Microsoft's form_post page."""
    from html import unescape

    return {
        unescape(name): unescape(value)
        for name, value in re.findall(r'<input type="hidden" name="([^"]*)" value="([^"]*)"/>', page)
    }


@pytest.fixture(scope="module")
def token_caches(azurite: str, session_key_file):
    """The real sealed token-cache table (Azurite + local KEK): what the product stores through."""
    from pathlib import Path

    from shared.config import load_settings
    from shared.storage.stores import build_stores

    settings = load_settings(
        {"AzureWebJobsStorage": azurite, "HC_LOCAL_KEY_FILE": str(session_key_file)},
        local_settings=Path("/nonexistent"),
    )
    return build_stores(settings).token_caches


def test_delegated_sign_in_with_pkce_and_sealed_token_cache(sim: GraphSim, demo: Demo, token_caches) -> None:
    client = make_client(sim, token_caches=token_caches)
    user_id = sign_in(sim, client, demo.tenant_id)
    assert user_id == demo.alice
    stored = token_caches.load(demo.tenant_id, user_id)
    assert "RefreshToken" in json.loads(stored)
    raw = token_caches.table.client.get_entity(demo.tenant_id, user_id)["Cache"]
    assert b"RefreshToken" not in raw
    me = client.call(demo.tenant_id, "GET", "/me", what="me", user_id=user_id)
    assert me["id"] == demo.alice


def test_a_tampered_sign_in_response_is_refused(sim: GraphSim, demo: Demo, token_caches) -> None:
    client = make_client(sim, token_caches=token_caches)
    flow = client.auth.begin_user_sign_in(demo.tenant_id, REDIRECT)
    with pytest.raises(AuthError, match="does not match the flow"):
        client.auth.finish_user_sign_in(demo.tenant_id, flow, {"code": "x", "state": "forged"})


@pytest.mark.parametrize(("action", "code"), [("revoke", "50173"), ("expire", "700082")])
def test_revoked_or_expired_grants_need_reauthorization(
    sim: GraphSim, demo: Demo, token_caches, action: str, code: str
) -> None:
    client = make_client(sim, token_caches=token_caches)
    user_id = sign_in(sim, client, demo.tenant_id)
    cache = json.loads(token_caches.load(demo.tenant_id, user_id))
    cache["AccessToken"] = {}
    token_caches.save(demo.tenant_id, user_id, json.dumps(cache))
    assert client.auth.user_token(demo.tenant_id, user_id)
    cache = json.loads(token_caches.load(demo.tenant_id, user_id))
    cache["AccessToken"] = {}
    token_caches.save(demo.tenant_id, user_id, json.dumps(cache))
    control(sim, f"/_sim/grants/{user_id}/{action}")
    with pytest.raises(ReauthorizationRequiredError, match=f"invalid_grant, AADSTS{code}"):
        client.auth.user_token(demo.tenant_id, user_id)


def test_a_user_who_never_connected_needs_to(sim: GraphSim, demo: Demo, token_caches) -> None:
    with pytest.raises(ReauthorizationRequiredError, match="has not connected"):
        make_client(sim, token_caches=token_caches).auth.user_token(demo.tenant_id, demo.bob)


def test_admin_consent_redirects_like_microsoft(sim: GraphSim, demo: Demo) -> None:
    tenant = "bbbbbbbb-0000-4000-8000-00000000000b"
    sim.app.store.add_tenant(Tenant(tenant, "newcustomer.example", "New", dict(CLOUD_FIELDS["Worldwide"])))
    url = f"{sim.url}/{tenant}/v2.0/adminconsent"
    params = {
        "client_id": demo.client_id,
        "redirect_uri": REDIRECT,
        "state": "s-123",
        "scope": "https://graph.microsoft.com/.default",
    }
    answer = requests.get(url, params=params, allow_redirects=False, verify=sim.ca_bundle, timeout=10)
    query = parse_qs(urlsplit(answer.headers["Location"]).query)
    assert (answer.status_code, query["admin_consent"], query["tenant"], query["state"]) == (
        302,
        ["True"],
        [tenant],
        ["s-123"],
    )
    control(sim, f"/_sim/consent/{tenant}/deny")
    answer = requests.get(url, params=params, allow_redirects=False, verify=sim.ca_bundle, timeout=10)
    query = parse_qs(urlsplit(answer.headers["Location"]).query)
    assert (query["error"], query["error_description"], query["state"]) == (
        ["permission_denied"],
        ["The admin canceled the request"],
        ["s-123"],
    )
