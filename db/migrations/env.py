"""Alembic environment: the URL comes from the caller (db.migrate) or from settings."""

from __future__ import annotations

from alembic import context

from db.models import Base, UTCDateTime
from db.session import make_engine

config = context.config


def _render_item(type_: str, obj: object, autogen_context: object) -> str | bool:
    """Render the project's column types as plain SQLAlchemy types in migrations."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _url() -> str:
    url = config.attributes.get("database_url")
    if url:
        return url
    from tasks.settings import get_settings

    return get_settings().database.url


def run_migrations_offline() -> None:
    url = _url()
    context.configure(
        url=url,
        target_metadata=Base.metadata,
        literal_binds=True,
        render_as_batch=url.startswith("sqlite"),
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    url = _url()
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            context.configure(
                connection=connection,
                target_metadata=Base.metadata,
                render_as_batch=url.startswith("sqlite"),
                compare_type=True,
                render_item=_render_item,
            )
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
