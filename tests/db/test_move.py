"""`invoices db move`: a SQLite database filled by the system's own functions, copied into a real
PostgreSQL database, verified, and used there."""

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from db.migrate import upgrade
from db.models import AuditEvent, Base, Invoice
from db.move import move_database, verify_copy
from db.session import engine_for, make_engine, session_scope
from deployments.cli import app
from tasks.errors import DatabaseMoveError
from tasks.invoices.payments import record_payment
from tasks.invoices.records import upsert_invoice
from tasks.operations.users import save_user
from tasks.settings import Settings, get_settings
from tasks.workbook.importer import import_workbook
from tests.support.backup_fixtures import seed
from tests.support.workbook_fixtures import SAMPLE


@pytest.fixture
def sqlite_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """The system on a SQLite file, filled as its flows fill it: documents read into invoices, a
    workbook, payments, a credit note with review reasons, a user."""
    url = f"sqlite:///{(tmp_path / 'invoices.db').as_posix()}"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("INVOICES_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("INVOICES_DATABASE__URL", url)
    get_settings.cache_clear()
    upgrade(url)
    settings = get_settings()
    seed(settings, 1, 6)
    import_workbook(SAMPLE)
    with session_scope() as session:
        upsert_invoice(session, "Crédit Ünïcode SARL", "CN-1",
                       {"total": Decimal("-1234567890.12"), "is_credit_note": True, "needs_review": True,
                        "confidence": 0.3333333333333333, "review_reasons": ["total ≠ net + tax", {"why": [1, 2.5]}],
                        "field_sources": {"total": "ocr"}, "currency": "CHF", "source": "manual"}, actor="test")
    with session_scope() as session:
        record_payment(session, "R-2", None, "0.50", date(2026, 3, 31), actor="anna@example.com")
    save_user("anna@example.com", "Anna", "admin", "de_DE", ["payable"], ["Vendor 1 GmbH"])
    yield settings
    engine_for.cache_clear()
    get_settings.cache_clear()


def _counts(url: str) -> dict[str, int]:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            names = set(sa.inspect(connection).get_table_names())
            return {t.name: connection.scalar(sa.select(sa.func.count()).select_from(t))
                    for t in Base.metadata.sorted_tables if t.name in names}
    finally:
        engine.dispose()


def _target(postgres, migrated: bool = False):  # type: ignore[no-untyped-def]
    url = postgres.create(migrated=migrated)
    return url


def test_every_table_is_copied_verified_and_the_system_works_on_the_target(sqlite_settings, postgres, monkeypatch):
    source = sqlite_settings.database.url
    target = _target(postgres)  # no tables yet: migrated by the move
    before = _counts(source)
    assert sum(1 for n in before.values() if n) >= 8, before  # documents, invoices, audit, workbook rows, users ...

    report = move_database(source, target, batch_rows=7)  # several batches per table

    assert report.migrated
    assert _counts(target) == before
    assert {name: count for name, count in report.rows.items()} == {n: c for n, c in before.items() if n in report.rows}
    assert verify_copy(source, target) == []
    assert report.settings_line == f"INVOICES_DATABASE__URL={target}"
    engine = make_engine(target)
    with session_scope(engine) as session:
        credit = session.scalars(sa.select(Invoice).where(Invoice.number == "CN-1")).one()
        assert (credit.total, credit.is_credit_note, credit.review_reasons, credit.confidence) == (
            Decimal("-1234567890.12"), True, ["total ≠ net + tax", {"why": [1, 2.5]}], 0.3333333333333333)
        assert credit.created_at.utcoffset().total_seconds() == 0
    engine.dispose()

    # the system on the target: new rows get fresh ids, a payment is recorded with its audit event
    monkeypatch.setenv("INVOICES_DATABASE__URL", target)
    get_settings.cache_clear()
    engine_for.cache_clear()
    with session_scope() as session:
        highest_invoice = session.scalar(sa.select(sa.func.max(Invoice.id)))
        highest_event = session.scalar(sa.select(sa.func.max(AuditEvent.id)))
        created = upsert_invoice(session, "After Move Ltd", "AM-1", {"total": Decimal("10.00"), "source": "manual"},
                                 actor="test")
    assert created.invoice_id == highest_invoice + 1
    with session_scope() as session:
        paid = record_payment(session, "R-3", None, None, date(2026, 4, 1), actor="anna@example.com")
    assert paid.status == "paid"
    with session_scope() as session:
        event = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "payment")
                                .order_by(AuditEvent.id.desc())).first()
        assert event.invoice_id == paid.invoice_id and event.id > highest_event + 1
    engine_for(target).dispose()
    postgres.drop(target)


def test_a_target_that_holds_data_is_refused_naming_the_table(sqlite_settings, postgres):
    target = _target(postgres, migrated=True)
    engine = make_engine(target)
    with session_scope(engine) as session:
        upsert_invoice(session, "Already There", "X-1", {"total": Decimal("1.00"), "source": "manual"}, actor="test")
    engine.dispose()

    with pytest.raises(DatabaseMoveError, match=r"holds data \(table audit_events, invoices\)"):
        move_database(sqlite_settings.database.url, target)

    assert _counts(target)["invoices"] == 1 and _counts(target)["documents"] == 0
    postgres.drop(target)


def test_a_row_changed_on_the_way_is_found_by_the_checksum_and_nothing_is_kept(sqlite_settings, postgres):
    source = sqlite_settings.database.url
    target = _target(postgres, migrated=True)
    engine = make_engine(target)
    with engine.begin() as connection:  # the target changes one amount as it arrives
        connection.exec_driver_sql(
            "CREATE FUNCTION nudge() RETURNS trigger AS $$ BEGIN "
            "IF NEW.number = 'R-4' THEN NEW.total := NEW.total + 0.01; END IF; RETURN NEW; END $$ LANGUAGE plpgsql")
        connection.exec_driver_sql("CREATE TRIGGER nudge BEFORE INSERT ON invoices FOR EACH ROW EXECUTE FUNCTION nudge()")
    engine.dispose()

    with pytest.raises(DatabaseMoveError, match="table invoices: checksum of the restored rows differs"):
        move_database(source, target)
    assert set(_counts(target).values()) == {0}  # rolled back: the target is as empty as before

    engine = make_engine(target)
    with engine.begin() as connection:
        connection.exec_driver_sql("DROP TRIGGER nudge ON invoices")
    engine.dispose()
    move_database(source, target)
    assert verify_copy(source, target) == []
    engine = make_engine(target)
    with engine.begin() as connection:
        connection.execute(sa.update(Invoice).where(Invoice.number == "R-5").values(notes="changed"))
        connection.execute(sa.delete(AuditEvent).where(AuditEvent.id == 1))
    engine.dispose()
    problems = verify_copy(source, target)
    assert any("table invoices: checksum" in p for p in problems), problems
    assert any(p.startswith("table audit_events: ") and "rows restored" in p for p in problems), problems
    postgres.drop(target)


def test_the_command_prints_the_setting_to_switch_over_without_the_password(sqlite_settings, postgres):
    target = sa.engine.make_url(_target(postgres)).set(password="s3cret-pw").render_as_string(hide_password=False)
    wrong = CliRunner().invoke(app, ["db", "move", "--to", "sqlite:///elsewhere.db"])
    assert wrong.exit_code == 1 and "not a PostgreSQL URL" in wrong.output

    done = CliRunner().invoke(app, ["db", "move", "--to", target])

    assert done.exit_code == 0, done.output
    assert "s3cret-pw" not in done.output
    plain = target.replace(":s3cret-pw@", "@")
    assert f"INVOICES_DATABASE__URL={plain}\n" in done.output and "user:PASSWORD@host" in done.output
    assert "invoices " in done.output and "checksum verified" in done.output
    again = CliRunner().invoke(app, ["db", "move", "--to", target])
    assert again.exit_code == 1 and "holds data" in again.output and "s3cret-pw" not in again.output
    postgres.drop(target)
