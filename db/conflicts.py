"""INSERT ... ON CONFLICT DO NOTHING for the two databases the project runs on.

A unique constraint decides which of two parallel writers wins; the loser's row is simply not
inserted (no error, no savepoint), and ``RETURNING`` tells the caller whether it won.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def insert_ignoring_conflicts(session: Session, table: Any, index_elements: list[str] | None = None) -> Any:
    """An INSERT into ``table`` (a Table or a mapped class) that skips rows violating a unique
    constraint (only the one on ``index_elements`` when given)."""
    return _statement(session.get_bind().dialect.name, table, tuple(index_elements) if index_elements else None)


@lru_cache(maxsize=64)
def _statement(dialect: str, table: Any, index_elements: tuple[str, ...] | None) -> Any:
    """Built once per dialect, table and constraint (statements are immutable; building one is
    most of the cost of a small INSERT on the Python side)."""
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing(index_elements=index_elements)
    if dialect == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing(index_elements=index_elements)
    raise NotImplementedError(f"INSERT ... ON CONFLICT is written for PostgreSQL and SQLite, not {dialect}")
