"""Bulk writes for the workbook import: thousands of rows per statement, one transaction.

PostgreSQL gets binary COPY (ids taken from the table's sequence beforehand, so the rows can
refer to each other; binary values cost both the server and psycopg less than text); SQLite
gets executemany inserts with ids counted on from the largest one, which is safe because the
import already holds SQLite's write lock when it asks.
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from sqlalchemy import Table, bindparam, func, insert, select, text, update
from sqlalchemy.orm import Session


class IdAllocator:
    """Primary keys for rows about to be inserted in bulk."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.postgres = session.get_bind().dialect.name == "postgresql"
        self._next: dict[str, int] = {}
        self._sequences: dict[str, str] = {}

    def take(self, table: Table, count: int) -> list[int]:
        if count == 0:
            return []
        if self.postgres:
            return self._take_from_sequence(table, count)
        if table.name not in self._next:
            self._next[table.name] = (self.session.scalar(select(func.max(table.c.id))) or 0) + 1
        first = self._next[table.name]
        self._next[table.name] = first + count
        return list(range(first, first + count))

    def _take_from_sequence(self, table: Table, count: int) -> list[int]:
        """``count`` values of the table's sequence, fetched as one array."""
        return list(self.session.scalar(
            text("SELECT array_agg(nextval(CAST(:sequence AS regclass))) FROM generate_series(1, :count)"),
            {"sequence": self._sequence(table), "count": count},
        ))

    def _sequence(self, table: Table) -> str:
        """The id sequence's name, looked up once (per row it would be a catalog lookup each)."""
        if table.name not in self._sequences:
            self._sequences[table.name] = self.session.scalar(
                text("SELECT pg_get_serial_sequence(:table, 'id')"), {"table": table.name})
        return self._sequences[table.name]


def insert_rows(session: Session, table: Table, columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
    """Insert ``rows``: tuples of values for ``columns`` (ids included)."""
    if not rows:
        return
    if session.get_bind().dialect.name != "postgresql":
        session.execute(insert(table), [dict(zip(columns, row)) for row in rows])
        return
    json_at = [i for i, c in enumerate(columns) if type(table.c[c].type).__name__ == "JSON"]
    names = ", ".join(f'"{c}"' for c in columns)
    cursor = session.connection().connection.driver_connection.cursor()  # type: ignore[union-attr]
    types = _copy_types(session, table, columns)
    with cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN (FORMAT BINARY)') as copy:
        copy.set_types(types)
        if not json_at:
            for row in rows:
                copy.write_row(row)
            return
        encode = _JsonOnce()
        for row in rows:
            values = list(row)
            for i in json_at:
                values[i] = encode(values[i])
            copy.write_row(values)


def _copy_types(session: Session, table: Table, columns: tuple[str, ...]) -> list[str]:
    """The server's type of each column, as binary COPY needs them (a JSON column's value is sent
    as its text, which is what the server reads for json); looked up once per connection."""
    known = session.connection().info.setdefault("copy_types", {})
    if table.name not in known:
        rows = session.execute(text(
            "SELECT attname, format_type(atttypid, NULL) FROM pg_attribute "
            "WHERE attrelid = CAST(:table AS regclass) AND attnum > 0 AND NOT attisdropped"), {"table": table.name})
        known[table.name] = {name: "text" if kind == "json" else kind for name, kind in rows}
    return [known[table.name][c] for c in columns]


class _JsonOnce:
    """JSON text of a value; a shared object (a constant list or dict) is encoded once."""

    def __init__(self) -> None:
        self.dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
        self.shared: dict[int, tuple[Any, str]] = {}

    def __call__(self, value: Any) -> str:
        known = self.shared.get(id(value))
        if known is None or known[0] is not value:
            known = self.shared[id(value)] = (value, self.dumps(value))
        return known[1]


def update_rows(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """Update rows by ``id``; rows may set different columns (grouped into one executemany each)."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        groups[tuple(sorted(k for k in row if k != "id"))].append(row)
    for columns, group in groups.items():
        if not columns:
            continue
        statement = (
            update(table)
            .where(table.c.id == bindparam("_id"))
            .values({c: bindparam(f"_{c}") for c in columns})
            .execution_options(synchronize_session=False)
        )
        session.connection().execute(statement, [{f"_{k}": v for k, v in row.items()} for row in group])
