"""Sealing the sensitive fields of a table row, each bound to its table, row and field name.

Rows keep their keys and non-sensitive properties (dates, flags, ids) in clear, so range
queries and purges work without a key; every field named sensitive is stored as a sealed
record (see :mod:`shared.crypto.envelope`). A value that is not a record where a sealed one is
expected (a plaintext written by someone else, a truncated blob) is an IntegrityError, never
returned as it is.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from shared.crypto.envelope import Location, key_id_of, open_sealed, seal
from shared.crypto.keyring import KeyRing


class FieldCipher:
    """Seals and opens named string fields of table entities with the tenant's data keys."""

    def __init__(self, keyring: KeyRing) -> None:
        self.keyring = keyring

    def seal_fields(
        self, table: str, entity: Mapping[str, Any], fields: Iterable[str], *, tenant_id: str
    ) -> dict[str, Any]:
        """A copy of ``entity`` with each present field of ``fields`` sealed with the current DEK."""
        sealed = dict(entity)
        present = [name for name in fields if entity.get(name) is not None]
        if not present:
            return sealed
        key = self.keyring.current(tenant_id)
        for name in present:
            value = entity[name]
            if not isinstance(value, str):
                raise TypeError(f"sealed field {name} must be a string, not {type(value).__name__}")
            sealed[name] = seal(key, value.encode("utf-8"), _location(table, entity, name))
        return sealed

    def open_fields(
        self, table: str, entity: Mapping[str, Any], fields: Iterable[str], *, tenant_id: str
    ) -> dict[str, Any]:
        """A copy of ``entity`` with each present sealed field opened back to its string."""
        opened = dict(entity)
        for name in fields:
            record = entity.get(name)
            if record is None:
                continue
            key = self.keyring.get(tenant_id, key_id_of(record))
            opened[name] = open_sealed(key, record, _location(table, entity, name)).decode("utf-8")
        return opened


def _location(table: str, entity: Mapping[str, Any], name: str) -> Location:
    return Location(table, str(entity["PartitionKey"]), str(entity["RowKey"]), name)
