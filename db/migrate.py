"""Alembic migrations, run from code (``invoices db upgrade``) on PostgreSQL and SQLite."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

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
