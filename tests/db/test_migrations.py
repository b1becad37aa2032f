import sqlalchemy as sa

from db.migrate import current_revision, downgrade, head_revision, upgrade
from db.models import Base
from db.session import make_engine


def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def test_upgrade_downgrade_upgrade_on_an_empty_database(postgres, tmp_path):
    for url in (f"sqlite:///{tmp_path / 'empty.db'}", postgres.create(migrated=False)):
        upgrade(url)
        assert current_revision(url) == head_revision()
        assert _tables(url) == set(Base.metadata.tables)
        downgrade(url, "base")
        assert current_revision(url) is None
        assert _tables(url) == set()
        upgrade(url)
        assert _tables(url) == set(Base.metadata.tables)


def test_migrations_match_the_models(database_url):
    """Autogenerate finds nothing to do: the migrations build exactly the models' schema."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            differences = compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()
    assert differences == []
