"""The sealed-value record: AES-256-GCM under a tenant's data key, bound to where it is stored.

Record layout (bytes, stored as an Edm.Binary table property, at most 64 KiB per Table limits)::

    version (1) | key-id length (1) | key id (ASCII) | nonce (12) | ciphertext + GCM tag (16)

The associated data is the header plus the value's location (table, PartitionKey, RowKey,
field). A value copied to another row, field, table or tenant therefore fails authentication,
as does any change to the header, so a record can never be opened with a key it does not name.
Nonces are random: a data key seals far fewer than 2**32 values in its rotation period
(NIST SP 800-38D's bound for random 96-bit nonces).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from shared.errors import IntegrityError

FORMAT_VERSION = 1
NONCE_BYTES = 12
TAG_BYTES = 16
KEY_BYTES = 32
_SEPARATOR = b"\x1f"


@dataclass(frozen=True)
class DataKey:
    """An unwrapped data key of one tenant; ``secret`` never appears in a repr or a log."""

    tenant_id: str
    key_id: str
    secret: bytes = field(repr=False)


@dataclass(frozen=True)
class Location:
    """Where a sealed value lives; its bytes are the associated data of the seal."""

    table: str
    partition_key: str
    row_key: str
    field: str

    def associated_data(self) -> bytes:
        parts = (self.table, self.partition_key, self.row_key, self.field)
        return _SEPARATOR.join(part.encode("utf-8") for part in parts)


def _header(key_id: str) -> bytes:
    raw = key_id.encode("ascii")
    if not 0 < len(raw) < 256:
        raise ValueError("a key id is 1 to 255 ASCII characters")
    return bytes((FORMAT_VERSION, len(raw))) + raw


def seal(key: DataKey, plaintext: bytes, location: Location) -> bytes:
    """Encrypt ``plaintext`` for ``location`` under ``key``; a fresh random nonce each time."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    header = _header(key.key_id)
    nonce = os.urandom(NONCE_BYTES)
    sealed = AESGCM(key.secret).encrypt(nonce, plaintext, header + location.associated_data())
    return header + nonce + sealed


def key_id_of(record: bytes) -> str:
    """The key id a record names; IntegrityError for anything that is not a record we wrote."""
    if not isinstance(record, (bytes, bytearray)) or len(record) < 2:
        raise IntegrityError("sealed value is not a record (too short or not binary)")
    if record[0] != FORMAT_VERSION:
        raise IntegrityError(f"sealed value has unknown format version {record[0]}")
    end = 2 + record[1]
    if len(record) < end + NONCE_BYTES + TAG_BYTES:
        raise IntegrityError("sealed value is truncated")
    try:
        return bytes(record[2:end]).decode("ascii")
    except UnicodeDecodeError:
        raise IntegrityError("sealed value has a malformed key id") from None


def open_sealed(key: DataKey, record: bytes, location: Location) -> bytes:
    """Decrypt a record sealed by :func:`seal`; IntegrityError if anything was changed or moved."""
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    if key_id_of(record) != key.key_id:
        raise IntegrityError("sealed value names another data key")
    start = 2 + record[1]
    nonce, sealed = record[start : start + NONCE_BYTES], record[start + NONCE_BYTES :]
    try:
        return AESGCM(key.secret).decrypt(nonce, sealed, record[:start] + location.associated_data())
    except InvalidTag:
        raise IntegrityError(
            "sealed value failed authentication (tampered, or moved from another row, field or tenant)"
        ) from None
