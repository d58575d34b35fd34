"""Standard Webhooks signatures: ``webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">``.

Secrets are 32 random bytes shown once as ``whsec_<base64>``; the HMAC key is the decoded bytes,
as every Standard Webhooks library reads it. During a rotation several secrets are valid and the
header carries one signature per secret, separated by spaces, which the specification allows:
a receiver holding either secret verifies the delivery.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Iterable

PREFIX = "whsec_"
SECRET_BYTES = 32


def new_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(PREFIX))


def signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """One ``v1,<base64>`` signature of a delivery."""
    signed = message_id.encode("ascii") + b"." + str(timestamp).encode("ascii") + b"." + body
    return "v1," + base64.b64encode(hmac.new(_key(secret), signed, hashlib.sha256).digest()).decode("ascii")


def signature_header(secrets_in_use: Iterable[str], message_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value: a signature per secret in use, separated by spaces."""
    return " ".join(signature(secret, message_id, timestamp, body) for secret in secrets_in_use)


def headers(secrets_in_use: Iterable[str], message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The three Standard Webhooks headers of one attempt (the timestamp is the attempt's)."""
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature_header(secrets_in_use, message_id, timestamp, body),
        "Content-Type": "application/json",
    }
