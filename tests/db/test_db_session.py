"""The PostgreSQL connection pool: a connection the server dropped while it sat idle in the pool
is replaced before use, so the next run does not fail."""

from __future__ import annotations

import sqlalchemy as sa

from db import session as db_session


def _backend_pid(engine: sa.Engine) -> int:
    with engine.connect() as connection:
        return connection.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()


def _drop_backend(postgres, pid: int) -> None:  # type: ignore[no-untyped-def]
    with postgres.engine.connect() as connection:
        assert connection.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar_one()


def test_a_connection_dropped_while_idle_is_replaced_before_use(postgres, monkeypatch):
    url = postgres.create()
    engine = db_session.make_engine(url)
    try:
        dropped = _backend_pid(engine)  # now idle in the pool
        _drop_backend(postgres, dropped)
        monkeypatch.setattr(db_session, "PING_AFTER_IDLE_SECONDS", 0.0)
        with engine.connect() as connection:  # no error: the check found it dead and took a new one
            assert connection.execute(sa.text("SELECT pg_backend_pid()")).scalar_one() != dropped
    finally:
        engine.dispose()
        postgres.drop(url)


def test_a_connection_in_steady_use_is_not_checked_and_a_lost_one_fails_once(postgres, monkeypatch):
    url = postgres.create()
    engine = db_session.make_engine(url)
    pings = []
    monkeypatch.setattr(engine.dialect, "do_ping", lambda connection: pings.append(connection) or True)
    try:
        first = _backend_pid(engine)
        assert _backend_pid(engine) == first and pings == []  # reused at once: no extra round trip
        _drop_backend(postgres, first)
        try:
            _backend_pid(engine)
        except sa.exc.OperationalError as err:
            assert err.connection_invalidated
        else:
            raise AssertionError("a statement on a connection the server dropped should fail")
        assert _backend_pid(engine) != first  # the pool was renewed
    finally:
        engine.dispose()
        postgres.drop(url)
