"""Full-text search over the documents' text: PostgreSQL's text search (a GIN index on the text),
SQLite's FTS5 (an external-content index kept in step by triggers). The index is the desk's own
and can always be built again from the documents, so the desk creates it when it starts."""

from __future__ import annotations

import re

from sqlalchemy import Engine, Integer, column, func, or_, select, text
from sqlalchemy.sql.elements import ColumnElement

from db.models import Document, Invoice

SQLITE_TABLE = "desk_document_search"
_SQLITE_SETUP = [
    (f"CREATE VIRTUAL TABLE {SQLITE_TABLE} USING fts5(text, content='documents', content_rowid='id', "
     "tokenize='unicode61 remove_diacritics 2')"),
    (f"CREATE TRIGGER IF NOT EXISTS {SQLITE_TABLE}_insert AFTER INSERT ON documents BEGIN "
     f"INSERT INTO {SQLITE_TABLE}(rowid, text) VALUES (new.id, new.text); END"),
    (f"CREATE TRIGGER IF NOT EXISTS {SQLITE_TABLE}_delete AFTER DELETE ON documents BEGIN "
     f"INSERT INTO {SQLITE_TABLE}({SQLITE_TABLE}, rowid, text) VALUES ('delete', old.id, old.text); END"),
    (f"CREATE TRIGGER IF NOT EXISTS {SQLITE_TABLE}_update AFTER UPDATE OF text ON documents BEGIN "
     f"INSERT INTO {SQLITE_TABLE}({SQLITE_TABLE}, rowid, text) VALUES ('delete', old.id, old.text); "
     f"INSERT INTO {SQLITE_TABLE}(rowid, text) VALUES (new.id, new.text); END"),
    f"INSERT INTO {SQLITE_TABLE}({SQLITE_TABLE}) VALUES ('rebuild')",
]
POSTGRES_INDEX = ("CREATE INDEX IF NOT EXISTS desk_documents_text_search ON documents "
                  "USING gin (to_tsvector('simple', coalesce(text, '')))")
_WORD = re.compile(r"\w+", re.UNICODE)


def ensure_search_index(engine: Engine) -> None:
    """Create the text index if it is missing (and fill it from every document's text)."""
    with engine.begin() as connection:
        if engine.dialect.name == "sqlite":
            exists = connection.execute(text("SELECT 1 FROM sqlite_master WHERE name = :name"),
                                        {"name": SQLITE_TABLE}).first()
            if not exists:
                for statement in _SQLITE_SETUP:
                    connection.execute(text(statement))
        elif engine.dialect.name == "postgresql":
            connection.execute(text(POSTGRES_INDEX))


def fts5_query(words: str) -> str | None:
    """Every word of ``words`` as a quoted FTS5 term (all must occur); None when there is none."""
    terms = _WORD.findall(words)
    return " ".join(f'"{term}"' for term in terms[:20]) or None


def matching_text(dialect: str, words: str) -> ColumnElement[bool] | None:
    """Invoices whose document's text holds every word of ``words`` (None: no word to look for)."""
    if dialect == "postgresql":
        vector = func.to_tsvector("simple", func.coalesce(Document.text, ""))
        found = select(Document.id).where(vector.op("@@")(func.plainto_tsquery("simple", words)))
        return Invoice.document_id.in_(found)
    query = fts5_query(words)
    if query is None:
        return None
    found = text(f"SELECT rowid FROM {SQLITE_TABLE} WHERE {SQLITE_TABLE} MATCH :fts").bindparams(fts=query)
    return Invoice.document_id.in_(found.columns(column("rowid", Integer)))


def search_condition(dialect: str, words: str) -> ColumnElement[bool] | None:
    """The search box: the number, the counterparty, the customer or the reference holds ``words``
    (as typed), or the document's text holds every word."""
    words = words.strip()[:200]
    if not words:
        return None
    columns = (Invoice.number, Invoice.counterparty, Invoice.customer_name, Invoice.reference)
    if dialect == "postgresql":
        conditions = [column.icontains(words, autoescape=True) for column in columns]
    else:  # SQLite's LIKE ignores case already (its lower() knows no more letters than LIKE does)
        conditions = [column.contains(words, autoescape=True) for column in columns]
    in_text = matching_text(dialect, words)
    if in_text is not None:
        conditions.append(in_text)
    return or_(*conditions)
