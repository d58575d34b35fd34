"""The process's Graph client, built from the settings (credentials, cloud policy, stand-in)."""

from __future__ import annotations

from shared.config import Settings, app_path
from shared.graph.auth import AppCredentials, GraphAuth, TokenCacheStore
from shared.graph.client import GraphClient
from shared.graph.transport import GraphTransport
from shared.http import pooled_session


def credentials(settings: Settings) -> AppCredentials:
    """Secret or certificate; the certificate's thumbprint is computed from the PEM file."""
    if not settings.client_certificate_file:
        return AppCredentials(settings.client_id, client_secret=settings.client_secret)
    import hashlib

    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    pem = app_path(settings.client_certificate_file).read_text(encoding="ascii")
    certificate = x509.load_pem_x509_certificate(pem.encode())
    thumbprint = hashlib.sha1(certificate.public_bytes(serialization.Encoding.DER)).hexdigest().upper()
    return AppCredentials(settings.client_id, private_key_pem=pem, thumbprint=thumbprint)


def build_graph_client(settings: Settings, *, token_caches: TokenCacheStore | None = None) -> GraphClient:
    """One pooled session shared by sign-in and Graph; the stand-in's certificate trusted when used."""
    verify: str | bool = str(app_path(settings.graph_ca_bundle)) if settings.graph_base_url else True
    session = pooled_session(verify)
    auth = GraphAuth(
        credentials(settings),
        deployment=settings.deployment,
        base_url=settings.graph_base_url or None,
        http_client=session,
        token_caches=token_caches,
        timeout=settings.graph_timeout,
    )
    return GraphClient(auth, GraphTransport(session=session, timeout=settings.graph_timeout))
