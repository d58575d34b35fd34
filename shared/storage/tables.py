"""One Azure Table, with the operations every repository needs and the errors mapped once.

* Reads return plain dicts with ``etag`` beside the properties, so a read-modify-write can
  send it back (``If-Match``) and lose to a concurrent writer with :class:`ConflictError`
  instead of overwriting it.
* Deletes are idempotent: deleting what is not there succeeds.
* :meth:`Table.transact` submits entity group transactions of at most 100 operations, all in
  one partition (Table limits, peers-and-limits §D.1); more operations become several
  transactions in order, each atomic on its own.
* Storage throttling (429/503) and timeouts become Throttled/DependencyUnavailable errors.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from shared.errors import ConflictError
from shared.storage.clients import storage_error

if TYPE_CHECKING:
    from azure.data.tables import TableClient, TableServiceClient

Entity = dict[str, Any]
Operation = tuple[Any, ...]
"""``(verb, entity)`` or ``(verb, entity, options)``: verbs create, upsert, update, delete."""
MAX_TRANSACTION = 100
"""Entity group transactions take at most 100 operations in one partition."""


def _with_etag(entity: Mapping[str, Any]) -> Entity:
    row = dict(entity)
    row["etag"] = getattr(entity, "metadata", {}).get("etag")
    return row


class Table:
    """One table; created on first use (once per process), then used through the pooled client."""

    def __init__(self, service: TableServiceClient, name: str) -> None:
        self.name = name
        self._service = service
        self._client: TableClient | None = None

    @property
    def client(self) -> TableClient:
        if self._client is None:
            try:
                self._service.create_table_if_not_exists(self.name)
            except Exception as exc:
                raise storage_error(exc, "table") from None
            self._client = self._service.get_table_client(self.name)
        return self._client

    def get(self, partition_key: str, row_key: str) -> Entity | None:
        from azure.core.exceptions import ResourceNotFoundError

        try:
            return _with_etag(self.client.get_entity(partition_key, row_key))
        except ResourceNotFoundError:
            return None
        except Exception as exc:
            raise storage_error(exc, "table") from None

    def insert(self, entity: Mapping[str, Any]) -> None:
        """Create a row that must not exist yet (ConflictError if it does)."""
        from azure.core.exceptions import ResourceExistsError

        try:
            self.client.create_entity(_clean(entity))
        except ResourceExistsError:
            raise ConflictError("the row already exists") from None
        except Exception as exc:
            raise storage_error(exc, "table") from None

    def upsert(self, entity: Mapping[str, Any]) -> None:
        """Write the row whole, whatever was there (replace mode)."""
        from azure.data.tables import UpdateMode

        self._call(self.client.upsert_entity, _clean(entity), mode=UpdateMode.REPLACE)

    def replace(self, entity: Mapping[str, Any], *, etag: str) -> None:
        """Replace a row only if it still has ``etag`` (ConflictError otherwise)."""
        from azure.core import MatchConditions
        from azure.data.tables import UpdateMode

        self._call(self.client.update_entity, _clean(entity), mode=UpdateMode.REPLACE, etag=etag,
                   match_condition=MatchConditions.IfNotModified)

    def delete(self, partition_key: str, row_key: str, *, etag: str | None = None) -> None:
        """Delete a row; nothing there is success. With ``etag``, only that version is deleted."""
        from azure.core import MatchConditions

        from azure.core.exceptions import ResourceNotFoundError

        condition = {"etag": etag, "match_condition": MatchConditions.IfNotModified} if etag else {}
        try:
            self.client.delete_entity(partition_key, row_key, **condition)
        except ResourceNotFoundError:
            return
        except Exception as exc:
            raise storage_error(exc, "table") from None

    def query(self, query_filter: str, *, parameters: Mapping[str, Any] | None = None,
              select: list[str] | None = None, page_size: int | None = None) -> Iterator[Entity]:
        """Rows matching an OData filter, following continuation tokens page by page (lazily: a caller
        that stops early sends no further request). ``page_size`` caps each page (Tables: at most 1,000)."""
        pages = self.client.query_entities(query_filter, parameters=dict(parameters or {}), select=select,
                                           results_per_page=page_size)
        try:
            for entity in pages:
                yield _with_etag(entity)
        except Exception as exc:
            raise storage_error(exc, "table") from None

    def transact(self, operations: Iterable[Operation]) -> int:
        """Submit ``(verb, entity)`` operations of one partition, 100 per transaction; their count."""
        batch: list[Operation] = []
        count = 0
        for operation in operations:
            batch.append((operation[0], _clean(operation[1]), *operation[2:]))
            if len(batch) == MAX_TRANSACTION:
                count += self._submit(batch)
                batch = []
        return count + (self._submit(batch) if batch else 0)

    def _submit(self, batch: list[Operation]) -> int:
        from azure.data.tables import TableTransactionError

        try:
            self.client.submit_transaction(batch)
        except TableTransactionError as exc:
            if getattr(exc, "error_code", None) == "ResourceNotFound" and any(op[0] == "delete" for op in batch):
                return self._delete_each(batch)
            raise storage_error(exc, "table") from None
        except Exception as exc:
            raise storage_error(exc, "table") from None
        return len(batch)

    def _delete_each(self, batch: list[Operation]) -> int:
        """A batch failed on a delete of a row already gone: delete one by one, then the rest."""
        for operation in batch:
            if operation[0] == "delete":
                self.delete(operation[1]["PartitionKey"], operation[1]["RowKey"])
        rest = [operation for operation in batch if operation[0] != "delete"]
        return len(batch) - len(rest) + (self._submit(rest) if rest else 0)

    def _call(self, method: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except Exception as exc:
            raise storage_error(exc, "table") from None


def _clean(entity: Mapping[str, Any]) -> Entity:
    """Drop what is not a property: our ``etag`` key and unset (None) values."""
    return {key: value for key, value in entity.items() if key != "etag" and value is not None}
