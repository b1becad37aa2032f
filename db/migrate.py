"""Alembic migrations, run from code (``invoices db upgrade``) on PostgreSQL and SQLite."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from db.session import make_engine

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["database_url"] = url
    return config


def upgrade(url: str, revision: str = "heads") -> None:
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str = "base") -> None:
    command.downgrade(alembic_config(url), revision)


def current_revision(url: str) -> str | None:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            heads = sorted(MigrationContext.configure(connection).get_current_heads())
            return "+".join(heads) or None
    finally:
        engine.dispose()


def head_revision() -> str | None:
    """The newest revision of the code ("a+b" while several branches are not yet merged)."""
    heads = sorted(ScriptDirectory.from_config(alembic_config("")).get_heads())
    return "+".join(heads) or None



@dataclass(frozen=True)
class SchemaState:
    """Whether this code can use a database, and if not, why and what to do."""

    ready: bool
    detail: str
    fix: str = ""


def schema_state(url: str) -> SchemaState:
    """Whether the database at ``url`` exists, answers and is migrated to this code's newest revision."""
    parsed = make_url(url)
    shown = parsed.render_as_string(hide_password=True)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:") \
            and not Path(parsed.database).exists():
        return SchemaState(False, f"there is no database at {parsed.database} yet", "run `invoices db upgrade`")
    try:
        current = current_revision(url)
    except SQLAlchemyError as err:
        reason = str(err.orig if getattr(err, "orig", None) else err).strip().splitlines()[0]
        return SchemaState(False, f"cannot connect to {shown}: {reason}",
                           "check INVOICES_DATABASE__URL (postgresql+psycopg://user:password@host:5432/db) "
                           "and that the server is running")
    head = head_revision()
    if current != head:
        return SchemaState(False, f"{shown} is at schema revision {current or 'none (no tables yet)'}, "
                           f"the code needs {head}", "run `invoices db upgrade`")
    return SchemaState(True, f"{shown} (schema {current})")
