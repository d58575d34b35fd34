"""Reading a CSV of mailboxes and writing the result of each row: pure functions, no I/O.

The CSV has a header with ``id`` (the mailbox's Entra object id) and optionally ``kind`` (``user``,
the default, or ``room``); other columns (an address, a name) are allowed and ignored, so an export
of users can be given as it is. A row that cannot be enabled is reported with its line number and
never sent; a mailbox listed twice is sent once and both lines get its result.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from shared.api.tokens import is_guid

MAX_ROWS = 10_000
"""The bulk route takes at most this many mailboxes in one operation."""
MAX_BYTES = 5 * 1024 * 1024
KINDS = ("user", "room")


class CsvError(ValueError):
    """The file as a whole cannot be read (not UTF-8, no ``id`` column, too many rows); the message says why."""


@dataclass(frozen=True)
class Row:
    line: int
    mailbox: str
    kind: str
    problem: str | None = None


def read_rows(data: bytes) -> list[Row]:
    """Every data row of the file, each with its problem (None when it can be sent)."""
    if len(data) > MAX_BYTES:
        raise CsvError(f"the file is over {MAX_BYTES // (1024 * 1024)} MB")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CsvError(f"the file is not UTF-8 text (byte {exc.start})") from None
    if "\x00" in text:
        raise CsvError("the file holds NUL characters: it is not a CSV")
    reader = csv.DictReader(io.StringIO(text, newline=""), strict=True)
    columns = [(name or "").strip().lower() for name in reader.fieldnames or []]
    if "id" not in columns:
        raise CsvError("the first line must name the columns, with an id column (and optionally kind)")
    reader.fieldnames = columns
    rows: list[Row] = []
    try:
        for record in reader:
            if len(rows) >= MAX_ROWS:
                raise CsvError(f"the file has more than {MAX_ROWS} rows; split it")
            rows.append(_row(reader.line_num, record))
    except csv.Error as exc:
        raise CsvError(f"after line {reader.line_num}: {exc}") from None
    if not rows:
        raise CsvError("the file has no rows under its header")
    return rows


def _row(line: int, record: Mapping[str, Any]) -> Row:
    mailbox = str(record.get("id") or "").strip()
    kind = str(record.get("kind") or "user").strip().lower()
    if not is_guid(mailbox):
        return Row(line, mailbox[:80], kind, "id is not an object id (a GUID)")
    if kind not in KINDS:
        return Row(line, mailbox.lower(), kind[:20], "kind must be user or room")
    return Row(line, mailbox.lower(), kind)


def to_send(rows: Iterable[Row]) -> list[tuple[str, str]]:
    """The distinct (mailbox, kind) pairs of the rows that can be sent, in file order."""
    return list({row.mailbox: row.kind for row in rows if row.problem is None}.items())


def results(rows: Iterable[Row], items: Iterable[Mapping[str, Any]]) -> list[dict[str, str]]:
    """One result line per row of the file: its own problem, or what the operation says of its mailbox."""
    done = {str(item.get("mailbox")): item for item in items}
    lines = []
    for row in rows:
        item = done.get(row.mailbox) if row.problem is None else None
        error = (item or {}).get("error") or {}
        state = "not sent" if row.problem else str((item or {}).get("state") or "pending")
        lines.append(
            {
                "line": str(row.line),
                "id": row.mailbox,
                "kind": row.kind,
                "state": state,
                "error": row.problem and "invalid_row" or str(error.get("code") or ""),
                "reason": row.problem or str(error.get("description") or ""),
            }
        )
    return lines


def write_results(lines: list[dict[str, str]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=["line", "id", "kind", "state", "error", "reason"], lineterminator="\n")
    writer.writeheader()
    writer.writerows(lines)
    return out.getvalue()
