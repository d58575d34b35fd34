"""One Azure Table, with the operations every repository needs and the errors mapped once.

* Reads return plain dicts with ``etag`` beside the properties, so a read-modify-write can
  send it back (``If-Match``) and lose to a concurrent writer with :class:`ConflictError`
  instead of overwriting it.
* Deletes are idempotent: deleting what is not there succeeds.
* :meth:`Table.transact` submits entity group transactions of at most 100 operations, all in
  one partition (Azure Table storage's limit); more operations become several
  transactions in order, each atomic on its own.
* Storage throttling (429/503) and timeouts become Throttled/DependencyUnavailable errors.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from shared.errors import ConflictError, ValidationError
from shared.inputs import check_text
from shared.storage.clients import storage_error
from shared.telemetry import telemetry

if TYPE_CHECKING:
    from azure.data.tables import TableClient, TableServiceClient

Entity = dict[str, Any]
Operation = tuple[Any, ...]
"""``(verb, entity)`` or ``(verb, entity, options)``: verbs create, upsert, update, delete."""
MAX_TRANSACTION = 100
"""Entity group transactions take at most 100 operations in one partition."""
MAX_KEY_CHARS = 1024
"""PartitionKey and RowKey are at most 1 KiB each."""
_BAD_KEY = re.compile(r"[/\\#?\x00-\x1f\x7f-\x9f\ud800-\udfff]|\.\.")
"""What Azure Tables refuses in a key (``/ \\ # ?`` and control characters), lone surrogates (no
encoder takes them) and ``..`` (a path step): any of them in a key is hostile input that got this far."""


def check_key(name: str, value: object) -> str:
    """A PartitionKey or RowKey as Tables accepts it; ValidationError before any request otherwise.

    The one place keys are checked: every read, write and delete of :class:`Table` goes through it,
    so an id that reached a key unchecked is refused here instead of failing at the service (where
    ``a/b`` became a retried 503) or in the SDK's encoder (a surrogate became a 500).
    """
    if not isinstance(value, str) or not 0 < len(value) <= MAX_KEY_CHARS or _BAD_KEY.search(value):
        raise ValidationError(
            f"{name} {_shown(value)} cannot be a storage key (1 to {MAX_KEY_CHARS} characters, "
            "no / \\ # ? .. or control characters)"
        )
    return value


def _shown(value: object) -> str:
    """A refused key as a log-safe hint: its length only (keys may be ids a caller chose)."""
    return f"of {len(value)} characters" if isinstance(value, str) else f"of type {type(value).__name__}"


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

        check_key("PartitionKey", partition_key), check_key("RowKey", row_key)
        try:
            with self._span("get"):
                return _with_etag(self.client.get_entity(partition_key, row_key))
        except ResourceNotFoundError:
            return None
        except Exception as exc:
            raise storage_error(exc, "table") from None

    def insert(self, entity: Mapping[str, Any]) -> None:
        """Create a row that must not exist yet (ConflictError if it does)."""
        from azure.core.exceptions import ResourceExistsError

        row = _clean(entity)
        try:
            with self._span("insert"):
                self.client.create_entity(row)
        except ResourceExistsError:
            raise ConflictError("the row already exists") from None
        except Exception as exc:
            raise storage_error(exc, "table") from None

    def upsert(self, entity: Mapping[str, Any]) -> None:
        """Write the row whole, whatever was there (replace mode)."""
        from azure.data.tables import UpdateMode

        row = _clean(entity)
        self._call("upsert", self.client.upsert_entity, row, mode=UpdateMode.REPLACE)

    def replace(self, entity: Mapping[str, Any], *, etag: str) -> None:
        """Replace a row only if it still has ``etag`` (ConflictError otherwise)."""
        from azure.core import MatchConditions
        from azure.data.tables import UpdateMode

        row = _clean(entity)
        self._call(
            "replace",
            self.client.update_entity,
            row,
            mode=UpdateMode.REPLACE,
            etag=etag,
            match_condition=MatchConditions.IfNotModified,
        )

    def delete(self, partition_key: str, row_key: str, *, etag: str | None = None) -> None:
        """Delete a row; nothing there is success. With ``etag``, only that version is deleted."""
        from azure.core import MatchConditions

        from azure.core.exceptions import ResourceNotFoundError

        check_key("PartitionKey", partition_key), check_key("RowKey", row_key)
        try:
            with self._span("delete"):
                if etag:
                    self.client.delete_entity(
                        partition_key, row_key, etag=etag, match_condition=MatchConditions.IfNotModified
                    )
                else:
                    self.client.delete_entity(partition_key, row_key)
        except ResourceNotFoundError:
            return
        except Exception as exc:
            raise storage_error(exc, "table") from None

    def query(
        self,
        query_filter: str,
        *,
        parameters: Mapping[str, Any] | None = None,
        select: list[str] | None = None,
        page_size: int | None = None,
    ) -> Iterator[Entity]:
        """Rows matching an OData filter, following continuation tokens page by page (lazily: a caller
        that stops early sends no further request). ``page_size`` caps each page (Tables: at most 1,000)."""
        for name, value in (parameters or {}).items():
            if isinstance(value, str):
                check_text(value, what=f"query parameter {name}", controls=False)
        pages = self.client.query_entities(
            query_filter, parameters=dict(parameters or {}), select=select, results_per_page=page_size
        )
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

        if len(batch) == 1:
            return self._single(batch[0])
        try:
            with self._span("transaction", operations=len(batch)):
                self.client.submit_transaction(batch)
        except TableTransactionError as exc:
            if getattr(exc, "error_code", None) == "ResourceNotFound" and any(op[0] == "delete" for op in batch):
                return self._delete_each(batch)
            raise storage_error(exc, "table") from None
        except Exception as exc:
            raise storage_error(exc, "table") from None
        return len(batch)

    def _single(self, operation: Operation) -> int:
        """One operation as its own request, with the same etag conditions and outcome as a transaction of
        one: a one-entity transaction is atomic anyway, and its multipart body costs the SDK about twice the
        CPU of a plain request (measured on the Join button's push path)."""
        from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError

        verb, entity, options = operation[0], operation[1], dict(operation[2]) if len(operation) > 2 else {}
        methods = {
            "create": self.client.create_entity,
            "upsert": self.client.upsert_entity,
            "update": self.client.update_entity,
        }
        try:
            with self._span(verb):
                if verb == "delete":
                    self.client.delete_entity(entity["PartitionKey"], entity["RowKey"], **options)
                else:
                    methods[verb](entity, **options)
        except ResourceNotFoundError as exc:
            if verb != "delete":
                raise storage_error(exc, "table") from None
        except ResourceExistsError:
            raise ConflictError("the row already exists") from None
        except Exception as exc:
            raise storage_error(exc, "table") from None
        return 1

    def _delete_each(self, batch: list[Operation]) -> int:
        """A batch failed on a delete of a row already gone: delete one by one, then the rest."""
        for operation in batch:
            if operation[0] == "delete":
                self.delete(operation[1]["PartitionKey"], operation[1]["RowKey"])
        rest = [operation for operation in batch if operation[0] != "delete"]
        return len(batch) - len(rest) + (self._submit(rest) if rest else 0)

    def _call(self, operation: str, method: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            with self._span(operation):
                return method(*args, **kwargs)
        except Exception as exc:
            raise storage_error(exc, "table") from None

    def _span(self, operation: str, *, operations: int = 1) -> AbstractContextManager[Any]:
        """A client span for one request to the table, named by the table and operation (never by keys)."""
        return telemetry().span(
            f"table {operation} {self.name}",
            kind="client",
            attributes={
                "db.system.name": "azure.tables",
                "db.collection.name": self.name,
                "db.operation.name": operation,
                "db.operation.batch.size": operations,
            },
        )


def _clean(entity: Mapping[str, Any]) -> Entity:
    """Drop what is not a property (our ``etag`` key and unset values); the keys checked."""
    check_key("PartitionKey", entity.get("PartitionKey")), check_key("RowKey", entity.get("RowKey"))
    return {key: value for key, value in entity.items() if key != "etag" and value is not None}
