from datetime import date
from decimal import Decimal

from openpyxl import load_workbook

from db.session import session_scope
from tasks.invoices.overview import bucket_for_days as bucket
from tasks.invoices.records import upsert_invoice
from tasks.workbook.export import export_workbook
from tasks.workbook.importer import import_workbook
from tests.support.workbook_fixtures import SAMPLE, invoice_table, table_counts

TODAY = date(2024, 5, 1)


def test_exporting_and_reimporting_the_export_changes_nothing(settings, tmp_path):
    import_workbook(SAMPLE)
    with session_scope() as session:  # an invoice from a document, with fields the workbook never had
        upsert_invoice(session, "Papier Meier e.K.", "PM 77/2024", {
            "total": Decimal("-15.00"), "net": Decimal("-12.61"), "tax": Decimal("-2.39"), "currency": "CHF",
            "is_credit_note": True, "iban": "DE89370400440532013000", "reference": "PO  4711",
            "notes": "Gutschrift\nzweite Zeile", "contact_email": "Buchhaltung <buha@meier.example>",
            "status": "needs_review", "source": "document"}, actor="process-document")
    before, table = table_counts(), invoice_table()

    result = export_workbook(tmp_path / "out" / "consolidated.xlsx", today=TODAY)
    report = import_workbook(result.path)

    assert result.invoices == 12
    assert report.counts["new"] == report.counts["updated"] == report.counts["rejected"] == 0
    assert report.counts["unchanged"] == 12 and report.conflicts == []
    assert [s["status"] for s in report.sheets] == ["invoices", "invoices", "skipped"]
    after = table_counts()
    assert after["invoices"] == before["invoices"] and after["audit_events"] == before["audit_events"]
    assert invoice_table() == table


def test_the_export_is_typed_filtered_frozen_and_has_overdue_and_aging(settings, tmp_path):
    import_workbook(SAMPLE)
    path = tmp_path / "consolidated.xlsx"
    result = export_workbook(path, today=TODAY)

    book = load_workbook(path)
    assert book.sheetnames == ["Invoices", "Overdue", "Aging"]
    sheet = book["Invoices"]
    headers = [c.value for c in sheet[1]]
    assert headers[:3] == ["Direction", "Counterparty", "Invoice number"]
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref.startswith("A1:")
    row = {h: c for h, c in zip(headers, sheet[2])}
    assert row["Total"].data_type == "n" and row["Total"].number_format == "#,##0.00"
    assert row["Due date"].is_date and row["Due date"].number_format == "yyyy-mm-dd"

    overdue = book["Overdue"]
    numbers = [r[2] for r in overdue.iter_rows(min_row=2, values_only=True)]
    # open or partly paid, due before 1 May 2024
    assert numbers == ["INV-7790", "RE-2024-002", "2024-118", "RE-2024-003", "RE-2024-004", "F-2024-002"]
    assert result.overdue == 6

    aging = book["Aging"]
    assert len(aging._charts) == 1
    table = {r[0]: r[1:] for r in aging.iter_rows(min_row=3, values_only=True) if r[0]}
    assert table["Days past due"] == ("EUR", "USD")
    assert table["current"] == (0, 0)  # F-2024-004 is due later but disputed, so not open
    assert table["1-30"] == (2400, 0)
    assert table["31-60"] == (2250.66, 0)  # 1234.56 + 298.10 + 480 (partly paid, nothing recorded) + 238
    assert table["61-90"] == (0, 89.9) and table["90+"] == (0, 0)
    assert table["All"] == (4650.66, 89.9)


def test_aging_buckets():
    assert [bucket(d) for d in (-5, 0, 1, 30, 31, 60, 61, 90, 91, 400)] == [
        "current", "current", "1-30", "1-30", "31-60", "31-60", "61-90", "61-90", "90+", "90+"]
