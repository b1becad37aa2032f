"""Shared fixtures: a database per test on PostgreSQL and on SQLite, isolated settings and
folders, and a Prefect test server for flow tests."""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

# Before Prefect is imported anywhere: a private Prefect home for this test session.
_PREFECT_HOME = tempfile.mkdtemp(prefix="invoices-prefect-home-")
os.environ["PREFECT_HOME"] = _PREFECT_HOME
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ.pop("PREFECT_API_URL", None)
for _key in [k for k in os.environ if k.startswith("INVOICES_") and not k.startswith("INVOICES_TEST_")]:
    del os.environ[_key]

import pytest  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from db.migrate import upgrade  # noqa: E402
from db.session import engine_for, make_engine  # noqa: E402
from tasks.settings import Settings, get_settings  # noqa: E402

# The shared fixtures, registered once for every test module.
pytest_plugins = [
    "tests.support.backup_fixtures",
    "tests.support.dovecot",
    "tests.support.prefect_server",
    "tests.support.smtp",
    "tests.support.workbook_fixtures",
    "tests.support.desk",
]

POSTGRES_ADMIN_URL = os.environ.get(
    "INVOICES_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
BACKENDS = [b.strip() for b in os.environ.get("INVOICES_TEST_BACKENDS", "sqlite,postgresql").split(",") if b.strip()]


class PostgresServer:
    """Creates and drops uniquely named databases on the test PostgreSQL server.

    A migrated template database is made once per session; each test's database is a copy of
    it (CREATE DATABASE ... TEMPLATE), which takes milliseconds.
    """

    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url
        self.engine = make_engine(admin_url).execution_options(isolation_level="AUTOCOMMIT")
        self.prefix = f"invoices_test_{uuid.uuid4().hex[:8]}"
        self.template: str | None = None
        self.created: list[str] = []

    def url_for(self, name: str) -> str:
        return make_url(self.admin_url).set(database=name).render_as_string(hide_password=False)

    def create(self, migrated: bool = True) -> str:
        name = f"{self.prefix}_{len(self.created)}"
        with self.engine.connect() as connection:
            if migrated:
                if self.template is None:
                    self.template = f"{self.prefix}_template"
                    connection.execute(sa.text(f'CREATE DATABASE "{self.template}"'))
                    upgrade(self.url_for(self.template))
                    engine_for.cache_clear()
                connection.execute(sa.text(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"'))
            else:
                connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
        self.created.append(name)
        return self.url_for(name)

    def drop(self, url: str) -> None:
        name = make_url(url).database
        with self.engine.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    def close(self) -> None:
        with self.engine.connect() as connection:
            for name in [*self.created, self.template]:
                if name:
                    connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self.engine.dispose()


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    server = PostgresServer(POSTGRES_ADMIN_URL)
    try:
        with server.engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except sa.exc.OperationalError as err:
        raise RuntimeError(
            f"PostgreSQL is not reachable at {POSTGRES_ADMIN_URL}; start it or set INVOICES_TEST_POSTGRES_URL "
            "(or INVOICES_TEST_BACKENDS=sqlite to test SQLite only)"
        ) from err
    yield server
    server.close()


def _sqlite_url(folder: Path) -> str:
    (folder / "sqlite").mkdir(exist_ok=True)
    return f"sqlite:///{(folder / 'sqlite' / 'invoices.db').as_posix()}"


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated, empty database: once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        url = _sqlite_url(tmp_path)
        upgrade(url)
        yield url
    else:
        server: PostgresServer = request.getfixturevalue("postgres")
        url = server.create()
        yield url
        for engine in [engine_for(url)]:
            engine.dispose()
        server.drop(url)
    engine_for.cache_clear()


@pytest.fixture
def settings(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """Settings pointing every folder into this test's temporary directory."""
    data_dir = tmp_path / "data"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("INVOICES_DATA_DIR", str(data_dir))
    monkeypatch.setenv("INVOICES_DATABASE__URL", database_url)
    monkeypatch.setenv("INVOICES_STORAGE__SETTLE_SECONDS", "0")
    get_settings.cache_clear()
    yield get_settings()
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def prefect_server() -> Iterator[None]:
    """A Prefect test server (a real API on a temporary database) for flow tests."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield
