"""The sealed-value record: round trips, and every kind of damage or move is an IntegrityError."""

from __future__ import annotations

import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.crypto.envelope import FORMAT_VERSION, NONCE_BYTES, DataKey, Location, key_id_of, open_sealed, seal
from shared.errors import IntegrityError

KEY = DataKey("tenant-a", "20261125T000000abcd", os.urandom(32))
HERE = Location("meetings", "tenant-a|mbx", "m|20261125T090000Z|ab", "Subject")


def test_round_trip_and_header() -> None:
    record = seal(KEY, b"Quarterly review", HERE)
    assert record[0] == FORMAT_VERSION and key_id_of(record) == KEY.key_id
    assert open_sealed(KEY, record, HERE) == b"Quarterly review"
    assert b"Quarterly" not in record


def test_each_seal_uses_a_fresh_nonce() -> None:
    assert seal(KEY, b"same", HERE) != seal(KEY, b"same", HERE)


@pytest.mark.parametrize(
    "moved",
    [
        Location("mailboxes", HERE.partition_key, HERE.row_key, HERE.field),
        Location(HERE.table, "tenant-b|mbx", HERE.row_key, HERE.field),
        Location(HERE.table, HERE.partition_key, "m|20261125T090000Z|cd", HERE.field),
        Location(HERE.table, HERE.partition_key, HERE.row_key, "JoinUrl"),
    ],
)
def test_a_value_moved_anywhere_else_fails(moved: Location) -> None:
    with pytest.raises(IntegrityError, match="failed authentication"):
        open_sealed(KEY, seal(KEY, b"x", HERE), moved)


def test_every_flipped_byte_is_detected() -> None:
    record = seal(KEY, b"join https://example.webex.com/meet/x", HERE)
    for position in range(len(record)):
        damaged = bytearray(record)
        damaged[position] ^= 0x01
        with pytest.raises(IntegrityError):
            open_sealed(KEY, bytes(damaged), HERE)


def test_another_key_with_the_same_id_fails() -> None:
    other = DataKey(KEY.tenant_id, KEY.key_id, os.urandom(32))
    with pytest.raises(IntegrityError, match="failed authentication"):
        open_sealed(other, seal(KEY, b"x", HERE), HERE)


def test_a_record_naming_another_key_is_refused_before_decrypting() -> None:
    other = DataKey(KEY.tenant_id, "another-key", KEY.secret)
    with pytest.raises(IntegrityError, match="names another data key"):
        open_sealed(other, seal(KEY, b"x", HERE), HERE)


@pytest.mark.parametrize(
    ("record", "message"),
    [
        (b"", "not a record"),
        ("plain text subject", "not a record"),
        (bytes([2, 1, 65]) + bytes(40), "unknown format version 2"),
        (bytes([FORMAT_VERSION, 5, 65, 66]), "truncated"),
        (bytes([FORMAT_VERSION, 1, 0xFF]) + bytes(NONCE_BYTES + 16), "malformed key id"),
    ],
)
def test_malformed_records(record: bytes, message: str) -> None:
    with pytest.raises(IntegrityError, match=message):
        key_id_of(record)


def test_repr_never_shows_the_secret() -> None:
    assert KEY.secret.hex() not in repr(KEY) and "secret" not in repr(KEY)


@given(st.binary(max_size=2048), st.text(min_size=1, max_size=40))
def test_round_trip_property(plaintext: bytes, field: str) -> None:
    where = Location("t", "p", "r", field)
    assert open_sealed(KEY, seal(KEY, plaintext, where), where) == plaintext
