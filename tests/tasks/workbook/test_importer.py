import json
import os
import zipfile
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from db.models import AuditEvent, Invoice, WorkbookRow
from db.session import session_scope
from tasks.errors import WorkbookError
from tasks.invoices.records import upsert_invoice
from tasks.workbook.importer import import_workbook, workbook_name
from tests.support.workbook_fixtures import (
    EXPECTED,
    SAMPLE,
    encrypted_workbook,
    good_rows,
    invoice_table,
    table_counts,
    write_book,
    zip_bomb,
)


def _comparable(report) -> dict:
    result = report.as_dict()
    for key in ("sha256", "workbook_id", "identical_to", "dry_run"):
        result.pop(key)
    return result


def test_the_sample_workbook_gives_the_expected_result(settings):
    report = import_workbook(SAMPLE)

    result = {"report": _comparable(report), "invoices": invoice_table()}
    if os.environ.get("UPDATE_GOLDEN"):
        EXPECTED.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    assert result == json.loads(EXPECTED.read_text())
    counts = table_counts()
    assert counts["invoices"] == report.counts["new"]
    assert counts["audit_events"] == report.counts["new"]  # one "create" event per new invoice
    # every taken row is remembered once per tab: 15 good rows - 1 duplicate
    assert counts["workbook_rows"] == 14
    with session_scope() as session:
        conflict_rows = session.scalars(select(WorkbookRow).where(WorkbookRow.invoice_key == "muller|F-2024-003")).all()
        assert sorted(r.sheet for r in conflict_rows) == ["Factures clients", "Kunden 2024"]
        assert all(r.invoice_id is None for r in conflict_rows)  # no invoice made from conflicting rows
        weber = session.scalars(select(WorkbookRow).where(WorkbookRow.invoice_key == "weber|RE-2024-004")).one()
        assert weber.values["Kunde"] == "Weber AG" and weber.row_number == 8  # filled from the merged cell
        assert weber.invoice_id == session.scalars(select(Invoice.id).where(Invoice.number == "RE-2024-004")).one()
        created = session.scalars(select(AuditEvent).where(AuditEvent.invoice_id == weber.invoice_id)).one()
        assert (created.action, created.actor) == ("create", "consolidate-workbook")
        assert created.changes == {"counterparty": [None, "Weber AG"], "number": [None, "RE-2024-004"],
                                   "source": [None, f"workbook {report.workbook} {weber.sheet}!8"]}
        events = session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
        invoices = session.scalars(select(Invoice).order_by(Invoice.id)).all()
        assert [(e.invoice_id, e.changes["number"][1]) for e in events] == [(i.id, i.number) for i in invoices]


def test_reimporting_changes_nothing_and_a_changed_row_is_an_audited_update(settings, tmp_path):
    first = import_workbook(SAMPLE)
    before, table = table_counts(), invoice_table()

    again = import_workbook(SAMPLE)  # the same bytes
    assert again.identical_to is not None
    assert again.counts["new"] == again.counts["updated"] == 0
    assert again.counts["unchanged"] == first.counts["new"]
    assert again.conflicts == first.conflicts and again.rejected == first.rejected  # still reported

    resaved = tmp_path / SAMPLE.name  # same rows, different bytes: every row is compared by its hash
    _rewrite(SAMPLE, resaved, {"docProps/core.xml": lambda d: d.replace(b"Buchhaltung", b"Buchhaltung 2")})
    third = import_workbook(resaved)
    assert third.identical_to is None
    assert (third.counts["new"], third.counts["updated"], third.counts["unchanged"]) == (0, 0, first.counts["new"])
    assert len(third.conflicts) == 1 and third.counts["rejected"] == 2
    assert table_counts()["audit_events"] == before["audit_events"] and invoice_table() == table

    changed = tmp_path / "changed" / SAMPLE.name
    changed.parent.mkdir()
    _rewrite(SAMPLE, changed, {"xl/worksheets/sheet2.xml": lambda d: d.replace(b"<v>49</v>", b"<v>59.5</v>")})
    fourth = import_workbook(changed)
    assert (fourth.counts["new"], fourth.counts["updated"]) == (0, 1)
    with session_scope() as session:
        invoice = session.scalars(select(Invoice).where(Invoice.number == "4711")).one()
        assert invoice.total == Decimal("59.50")
        event = session.scalars(select(AuditEvent).where(AuditEvent.invoice_id == invoice.id)
                                .order_by(AuditEvent.id.desc())).first()
        assert event.action == "update" and event.changes == {"total": ["49.00", "59.50"]}
        assert event.actor == "consolidate-workbook"


def _rewrite(source, target, changes):
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as copy:
        for item in original.infolist():
            data = original.read(item.filename)
            if item.filename in changes:
                new = changes[item.filename](data)
                assert new != data, f"nothing changed in {item.filename}"
                data = new
            copy.writestr(item, data)


def test_an_existing_invoice_is_updated_with_an_audit_event_and_keys_match_upsert_invoice(settings):
    with session_scope() as session:
        upsert_invoice(session, "Dupont S.A.R.L.", "F-2024-002", {"total": Decimal("2000"), "source": "document"},
                       actor="process-document")

    report = import_workbook(SAMPLE)

    assert report.counts["updated"] == 1 and report.counts["new"] == 10
    with session_scope() as session:
        invoice = session.scalars(select(Invoice).where(Invoice.number == "F-2024-002")).one()
        assert invoice.total == Decimal("2400.00") and invoice.source == "document"
        assert invoice.due_date == date(2024, 4, 19) and invoice.status == "open"
        event = session.scalars(select(AuditEvent).where(AuditEvent.invoice_id == invoice.id,
                                                         AuditEvent.action == "update")).one()
        assert event.changes["total"] == ["2000.00", "2400.00"]
        assert event.changes["direction"] == ["payable", "receivable"]


def test_a_dry_run_reports_everything_and_writes_nothing(settings):
    before = table_counts()
    report = import_workbook(SAMPLE, dry_run=True)
    assert report.counts["new"] == 11 and len(report.conflicts) == 1
    assert table_counts() == before
    assert import_workbook(SAMPLE).identical_to is None  # the dry run left no trace


def test_bad_files_are_refused_at_file_level_and_write_nothing(settings, tmp_path):
    (tmp_path / "invoice.pdf.xlsx").write_bytes(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n")
    (tmp_path / "notes.xlsx").write_text("Invoice 1, 100 EUR\n")
    (tmp_path / "empty.xlsx").write_bytes(b"")
    with zipfile.ZipFile(tmp_path / "archive.xlsx", "w") as archive:
        archive.writestr("readme.txt", "hello")
    encrypted_workbook(tmp_path / "locked.xlsx")
    zip_bomb(tmp_path / "bomb.xlsx")
    expected = {
        "invoice.pdf.xlsx": "not an Excel workbook (.xlsx); its content looks like pdf",
        "notes.xlsx": "looks like text",
        "empty.xlsx": "empty",
        "archive.xlsx": "a zip archive but not an Excel workbook",
        "locked.xlsx": "password-protected",
        "bomb.xlsx": "zip bomb",
    }
    before = table_counts()
    for name, reason in expected.items():
        with pytest.raises(WorkbookError) as caught:
            import_workbook(tmp_path / name)
        assert name in str(caught.value) and reason in str(caught.value)
        assert (tmp_path / name).exists()  # the input is left where it was
    assert table_counts() == before


def test_sheet_and_row_problems_are_reported_and_the_rest_is_imported(settings, tmp_path, million_row_workbook):
    path = write_book(tmp_path / "mixed.xlsx", {
        "Good": good_rows("G"),
        "Two amounts": [
            ["Invoice #", "Customer", "Amount", "Amount", "Betrag"],
            ["D-1", "Dup Ltd", 10, 10, None],      # the same amount twice: fine
            ["D-2", "Dup Ltd", 10, 12, None],      # they disagree: rejected
            ["D-3", "Dup Ltd", None, None, "7,50"],
        ],
        "No numbers": [["Customer", "Amount", "Due"], ["Someone", 5, date(2024, 1, 1)]],
        "Prices": [["Article", "Price", "Currency"], ["Pen", 1.5, "EUR"]],
        "Empty": [],
    })
    report = import_workbook(path)
    sheets = {s["sheet"]: s for s in report.sheets}
    assert sheets["Good"]["status"] == "invoices" and sheets["Good"]["rows"] == 2
    assert sheets["No numbers"]["status"] == "rejected"
    assert "no invoice-number column" in sheets["No numbers"]["reason"]
    assert sheets["Prices"]["status"] == "skipped" and sheets["Empty"]["status"] == "skipped"
    assert "empty tab" in sheets["Empty"]["reason"]
    assert any("duplicate header 'Amount'" in n for n in sheets["Two amounts"]["notes"])
    assert report.rejected == [{"sheet": "Two amounts", "row": 3, "column": "C (Amount)",
                                "reason": "columns disagree (C (Amount): 10 vs D (Amount): 12)"}]
    assert report.counts["new"] == 4
    with session_scope() as session:
        totals = {n: t for n, t in session.execute(select(Invoice.number, Invoice.total))}
    assert totals == {"G-1": Decimal("100.00"), "G-2": Decimal("200.00"), "D-1": Decimal("10.00"),
                      "D-3": Decimal("7.50")}

    big = import_workbook(million_row_workbook)  # a million formatted empty rows below two invoices
    assert big.counts["new"] == 2 and big.counts["rejected"] == 0
    assert big.sheets[0]["rows"] == 2


def test_workbook_identity_ignores_case_spaces_and_copy_suffixes():
    assert workbook_name("Rechnungen  2024 (2).xlsx") == workbook_name("rechnungen 2024.xlsx")
    assert workbook_name("/tmp/x/Invoices.xlsx") == "invoices.xlsx"


def test_fewer_collections_puts_the_threshold_back_after_the_last_of_overlapping_imports():
    import gc

    from tasks.workbook.garbage_collection import THRESHOLD, fewer_collections

    before = gc.get_threshold()
    first, second = fewer_collections(), fewer_collections()
    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)
    assert gc.get_threshold()[0] >= THRESHOLD  # the second is still running
    second.__exit__(None, None, None)
    assert gc.get_threshold() == before
