"""Signing and checking the stand-in's tokens: RS256 JWTs with a published, rotatable key set.

Access tokens look like Microsoft's v1 Graph tokens (``aud`` the Graph resource, ``iss``
``https://sts.windows.net/{tid}/``, ``tid``, ``appid``/``oid``, ``roles`` or ``scp``); ID tokens
and tokens for the product's own API follow v2 (``iss`` ``{base}/{tid}/v2.0``). Keys can be
rolled over: a new key is published and used for signing while the old one stays published.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509 import load_pem_x509_certificate


VERIFIED_TOKENS = 4096


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _int(value: int) -> str:
    return b64url(value.to_bytes((value.bit_length() + 7) // 8, "big"))


@dataclass
class SigningKeys:
    """The published key set; the last key signs."""

    keys: list[tuple[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    verified: dict[tuple[str, str], tuple[str, dict[str, Any]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.keys:
            self.roll_over()

    def roll_over(self, *, retire_old: bool = False) -> str:
        """Publish a new signing key (and drop the old ones when ``retire_old``); its kid."""
        kid = uuid.uuid4().hex[:16]
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        with self.lock:
            self.keys = ([] if retire_old else self.keys) + [(kid, key)]
        return kid

    def jwks(self) -> dict[str, Any]:
        with self.lock:
            return {
                "keys": [
                    {
                        "kty": "RSA",
                        "use": "sig",
                        "kid": kid,
                        "x5t": kid,
                        "n": _int(k.public_key().public_numbers().n),
                        "e": _int(k.public_key().public_numbers().e),
                    }
                    for kid, k in self.keys
                ]
            }

    def sign(self, claims: dict[str, Any]) -> str:
        with self.lock:
            kid, key = self.keys[-1]
        return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid, "typ": "JWT"})

    def verify(self, token: str, *, audience: str | list[str]) -> dict[str, Any]:
        """Claims of a token this service signed; jwt.PyJWTError for anything else.

        Every request is checked, as Graph checks them, but a token's signature and audience are
        verified once: a token seen before is checked again only for expiry and for its key still
        being published. RS256 verification was a fifth of the stand-in's CPU under load, taken
        from the app measured on the same cores.
        """
        seen = (token, repr(audience))
        with self.lock:
            kid, claims = self.verified.get(seen, ("", {}))
            published = any(i == kid for i, _ in self.keys)
        if published and claims.get("exp", 0) > time.time() >= claims.get("nbf", 0):
            return dict(claims)
        kid, claims = self._verified(token, audience)
        with self.lock:
            if len(self.verified) >= VERIFIED_TOKENS:
                self.verified.clear()
            self.verified[seen] = (kid, claims)
        return dict(claims)

    def _verified(self, token: str, audience: str | list[str]) -> tuple[str, dict[str, Any]]:
        """(the signing key's kid, the claims) of a token whose signature, audience and times hold."""
        kid = str(jwt.get_unverified_header(token).get("kid") or "")
        with self.lock:
            key = next((k for i, k in self.keys if i == kid), None)
        if key is None:
            raise jwt.InvalidTokenError("unknown signing key")
        return kid, jwt.decode(
            token, key.public_key(), algorithms=["RS256"], audience=audience, options={"verify_iss": False}
        )


def client_info(user_id: str, tenant_id: str) -> str:
    """MSAL's ``client_info``: base64url JSON of the user's home account ids."""
    return b64url(json.dumps({"uid": user_id, "utid": tenant_id}).encode())


def thumbprint_of(certificate_pem: str) -> str:
    """SHA-1 thumbprint (hex, upper case) of a PEM certificate, as Entra shows it."""
    from cryptography.hazmat.primitives import serialization

    der = load_pem_x509_certificate(certificate_pem.encode()).public_bytes(serialization.Encoding.DER)
    return hashlib.sha1(der).hexdigest().upper()


def verify_client_assertion(assertion: str, certificates: dict[str, str], *, audience: str, client_id: str) -> None:
    """Check a certificate client assertion (x5t names a registered certificate); jwt errors if not."""
    header = jwt.get_unverified_header(assertion)
    x5t = header.get("x5t") or ""
    thumbprint = base64.urlsafe_b64decode(x5t + "=" * (-len(x5t) % 4)).hex().upper() if x5t else ""
    pem = certificates.get(thumbprint)
    if pem is None:
        raise jwt.InvalidTokenError("AADSTS700027: the certificate is not registered for this application")
    public_key = load_pem_x509_certificate(pem.encode()).public_key()
    if not isinstance(public_key, rsa.RSAPublicKey):
        raise jwt.InvalidTokenError("AADSTS700027: the certificate's key is not an RSA key")
    claims = jwt.decode(assertion, public_key, algorithms=["RS256", "PS256"], audience=audience)
    if claims.get("iss") != client_id or claims.get("sub") != client_id:
        raise jwt.InvalidTokenError("AADSTS700023: assertion issuer and subject must be the client id")


def now() -> int:
    return int(time.time())
