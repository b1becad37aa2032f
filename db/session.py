"""Engine and session factory, built from settings (nothing is created at import time)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, exc
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker


def _prepare_sqlite(url: str) -> None:
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


# A pooled server connection left idle this long is checked (one round trip) before it is used
# again, so a restarted server does not fail the next run; one in steady use is taken as it is
# (were the server restarted in between, that one statement fails and the pool is renewed).
PING_AFTER_IDLE_SECONDS = 10.0


def _note_idle(_dbapi_connection, record) -> None:  # type: ignore[no-untyped-def]
    record.info["idle_since"] = time.monotonic()


def _ping_when_idle(engine: Engine):  # type: ignore[no-untyped-def]
    def check(dbapi_connection, record, _proxy) -> None:  # type: ignore[no-untyped-def]
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as err:
            raise exc.DisconnectionError(f"the database connection was lost while idle: {err}") from err
    return check


def make_engine(url: str, echo: bool = False) -> Engine:
    """An engine for ``url``: SQLite gets WAL, foreign keys and a busy timeout; PostgreSQL a pool
    whose connections are checked after being idle, so a restarted server does not fail the next run."""
    if url.startswith("sqlite"):
        _prepare_sqlite(url)
        engine = create_engine(url, echo=echo, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    engine = create_engine(url, echo=echo, pool_size=5, max_overflow=5)
    event.listen(engine, "checkin", _note_idle)
    event.listen(engine, "checkout", _ping_when_idle(engine))
    return engine


@lru_cache(maxsize=8)
def engine_for(url: str, echo: bool = False) -> Engine:
    """One engine per URL and process (engines hold pools; never pass them between tasks)."""
    return make_engine(url, echo)


def get_engine() -> Engine:
    from tasks.settings import get_settings

    settings = get_settings()
    return engine_for(settings.database.url, settings.database.echo)


@contextmanager
def session_scope(engine: Engine | None = None) -> Iterator[Session]:
    """A session that commits on success and rolls back on error."""
    factory = sessionmaker(bind=engine or get_engine(), expire_on_commit=False)
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
