"""The process's Graph client, built from the settings (credentials, cloud policy, stand-in)."""

from __future__ import annotations

from shared.config import Settings, app_path
from shared.graph.auth import AppCredentials, GraphAuth, Registrations, TokenCacheStore
from shared.graph.client import GraphClient
from shared.graph.clouds import AZURE_COMMERCIAL, AZURE_GOVERNMENT
from shared.graph.transport import GraphTransport
from shared.http import pooled_session


def credentials(client_id: str, secret: str, certificate_file: str, certificate: str = "") -> AppCredentials:
    """A certificate (PEM text, else a PEM file) or the secret; the certificate's thumbprint is computed from it."""
    if not certificate and not certificate_file:
        return AppCredentials(client_id, client_secret=secret)
    import hashlib

    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    pem = certificate or app_path(certificate_file).read_text(encoding="ascii")
    loaded = x509.load_pem_x509_certificate(pem.encode())
    thumbprint = hashlib.sha1(loaded.public_bytes(serialization.Encoding.DER)).hexdigest().upper()
    return AppCredentials(client_id, private_key_pem=pem, thumbprint=thumbprint)


REGISTRATION_HINTS = {
    AZURE_COMMERCIAL: "register the app in Azure commercial and set HC_CLIENT_ID with HC_CLIENT_SECRET, "
    "HC_CLIENT_CERTIFICATE or HC_CLIENT_CERTIFICATE_FILE",
    AZURE_GOVERNMENT: "register the app in Azure Government (portal.azure.us) and set HC_USGOV_CLIENT_ID with "
    "HC_USGOV_CLIENT_SECRET, HC_USGOV_CLIENT_CERTIFICATE or HC_USGOV_CLIENT_CERTIFICATE_FILE",
}


def registrations(settings: Settings) -> Registrations:
    """The commercial registration (Worldwide and GCC tenants), and the Azure Government one (GCC High) when set."""
    found = {
        AZURE_COMMERCIAL: credentials(
            settings.client_id, settings.client_secret, settings.client_certificate_file, settings.client_certificate
        )
    }
    if settings.usgov_client_id:
        found[AZURE_GOVERNMENT] = credentials(
            settings.usgov_client_id,
            settings.usgov_client_secret,
            settings.usgov_client_certificate_file,
            settings.usgov_client_certificate,
        )
    return Registrations(found, REGISTRATION_HINTS)


def build_graph_client(settings: Settings, *, token_caches: TokenCacheStore | None = None) -> GraphClient:
    """One pooled session shared by sign-in and Graph; the stand-in's certificate trusted when used."""
    verify: str | bool = str(app_path(settings.graph_ca_bundle)) if settings.graph_base_url else True
    session = pooled_session(verify)
    auth = GraphAuth(
        registrations(settings),
        deployment=settings.deployment,
        base_url=settings.graph_base_url or None,
        http_client=session,
        token_caches=token_caches,
        timeout=settings.graph_timeout,
    )
    return GraphClient(auth, GraphTransport(session=session, timeout=settings.graph_timeout))
