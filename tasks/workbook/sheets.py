"""One tab of a workbook: find its header row, map its columns to invoice fields, and turn each
row into invoice values or into problems that name the sheet, row, column and reason.

A tab whose first rows hold no invoice columns (a holiday list, a price list, an empty tab) is
skipped with a note. A tab that has invoice columns but no invoice-number column, or no
customer/vendor, is rejected whole with the reason. Blank rows are ignored; totals rows and
note rows are skipped and counted; a value merged down over several rows fills each of the rows
below it that the tab holds (a merged range never makes rows of its own, however far it reaches).
A value no invoice column can hold (an amount beyond the column, a text longer than it) rejects
its row, as does a cell the file gets wrong.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from itertools import chain
from typing import Any

from db.models import WorkbookRow
from tasks.errors import WorkbookError
from tasks.invoices.column_fits import INVOICE_BOUNDS, invoice_misfit, text_limit
from tasks.workbook import values as cells_to
from tasks.workbook.package import column_letter
from tasks.workbook.read import NO_RESULT, RawSheet, WorkbookFile
from tasks.workbook.vocabulary import HeaderMatch, SheetSettings, Vocabulary, fold

AMOUNT_FIELDS = ("total", "net", "tax", "paid_amount")
DATE_FIELDS = ("issue_date", "due_date", "paid_date")
TEXT_FIELDS = ("reference", "notes", "counterparty_vat_id", "iban")


@dataclass(frozen=True)
class Column:
    number: int
    header: str
    key: str  # unique name of the column in the row's record
    match: HeaderMatch | None

    @property
    def label(self) -> str:
        return f"{column_letter(self.number)} ({self.header})" if self.header else column_letter(self.number)


@dataclass
class SheetPlan:
    name: str
    status: str  # invoices, skipped, rejected
    reason: str | None = None
    header_row: int | None = None
    columns: list[Column] = field(default_factory=list)
    settings: SheetSettings = field(default_factory=SheetSettings)
    notes: list[str] = field(default_factory=list)
    by_field: dict[str, list[Column]] = field(default_factory=dict)
    parsers: list[tuple[str, list[Column], Any, dict[Any, Any] | None]] | None = None
    numbers: dict[int, str] | None = None  # column number -> key in the row's record


@dataclass(frozen=True)
class Problem:
    sheet: str
    row: int | None
    column: str
    reason: str


@dataclass
class InvoiceRow:
    sheet: str
    row: int
    counterparty: str
    number: str
    values: dict[str, Any]
    record: dict[str, Any]


class Skip(str):
    """A row that is not an invoice and not an error: a totals row or a note."""


_SHEET_NAME_LIMIT = text_limit(WorkbookRow.__table__.c.sheet) or 100


def _header_candidates(rows: list[tuple[int, dict[int, Any]]], vocabulary: Vocabulary):  # type: ignore[no-untyped-def]
    for number, cells in rows:
        matches = {c: vocabulary.match_header(v) for c, v in cells.items() if isinstance(v, str)}
        fields = {m.field for m in matches.values() if m is not None and m.field}
        yield number, cells, fields


def _is_invoice_table(fields: set[str]) -> bool:
    return "number" in fields or ("counterparty" in fields and bool(fields & {"total", "net", "due_date"}))


def plan_sheet(
    book: WorkbookFile, raw: RawSheet, vocabulary: Vocabulary
) -> tuple[SheetPlan, Iterator[tuple[int, dict[int, Any]]]]:
    """The plan of a tab and an iterator over its data rows (after the header row)."""
    settings = vocabulary.sheet_settings(raw.name)
    plan = SheetPlan(raw.name, "invoices", settings=settings)
    if raw.hidden:
        plan.notes.append("hidden tab")
    if settings.skip:
        plan.status, plan.reason = "skipped", "skipped by the mapping file"
        return plan, iter(())
    if len(raw.name) > _SHEET_NAME_LIMIT:
        plan.status = "rejected"
        plan.reason = (f"the tab's name is {len(raw.name):,} characters long, more than the "
                       f"{_SHEET_NAME_LIMIT} kept (Excel allows 31); rename the tab")
        plan.name = raw.name[:_SHEET_NAME_LIMIT]
        return plan, iter(())
    book.load_merges(raw)
    stream = _with_merges(book.rows(raw), raw.merges, book.limits.max_merged_cells, book.where(raw))
    head: list[tuple[int, dict[int, Any]]] = []
    for row in stream:
        head.append(row)
        if len(head) >= book.limits.header_scan_rows and (settings.header_row is None or row[0] >= settings.header_row):
            break
    if not head:
        plan.status, plan.reason = "skipped", "empty tab"
        return plan, iter(())
    candidates = list(_header_candidates(head, vocabulary))
    if settings.header_row is not None:
        chosen = [c for c in candidates if c[0] == settings.header_row]
    else:
        best = max(len(c[2]) for c in candidates)
        chosen = [c for c in candidates if len(c[2]) == best and best >= 2 and _is_invoice_table(c[2])]
        if not chosen:
            chosen = [c for c in candidates if len(c[2]) == best and best >= 2]
    if not chosen:
        seen = ", ".join(str(v) for v in candidates[0][1].values())[:200]
        plan.status = "skipped"
        plan.reason = f"no invoice columns in the first {len(head)} rows (first row: {seen})"
        return plan, iter(())
    header_row, header_cells, fields = chosen[0]
    plan.header_row = header_row
    plan.columns = _columns(header_cells, vocabulary, plan)
    headers = ", ".join(c.header for c in plan.columns if c.header)[:300]
    if not _is_invoice_table(fields):
        plan.status, plan.reason = "skipped", f"no invoice columns (headers in row {header_row}: {headers})"
    elif "number" not in fields:
        plan.status = "rejected"
        plan.reason = (f"no invoice-number column in header row {header_row} (headers: {headers}); "
                       "add one, or name it in the mapping file (headers: {<header>: number})")
    elif "counterparty" not in fields and not settings.counterparty:
        plan.status = "rejected"
        plan.reason = (f"no customer or vendor column in header row {header_row} (headers: {headers}); add one, "
                       "or give the tab a counterparty in the mapping file")
    if plan.status != "invoices":
        return plan, iter(())
    for field_name, columns in plan.by_field.items():
        if len(columns) > 1:
            plan.notes.append(f"columns {', '.join(c.label for c in columns)} all give {field_name}; "
                              "rows where they differ are rejected")
    rest = chain((r for r in head if r[0] > header_row), stream)
    return plan, rest


def _columns(cells: dict[int, Any], vocabulary: Vocabulary, plan: SheetPlan) -> list[Column]:
    columns: list[Column] = []
    used: dict[str, int] = {}
    for number in sorted(cells):
        value = cells[number]
        header = cells_to.text(value) if value is not NO_RESULT and not isinstance(value, cells_to.CellError) else None
        header = header or ""
        base = header or f"(column {column_letter(number)})"
        used[fold(base)] = used.get(fold(base), 0) + 1
        key = base if used[fold(base)] == 1 else f"{base} ({used[fold(base)]})"
        if used[fold(base)] == 2:
            plan.notes.append(f"duplicate header {header!r}")
        match = vocabulary.match_header(header) if header else None
        column = Column(number, header, key, match if match and match.field else None)
        columns.append(column)
        if column.match:
            plan.by_field.setdefault(column.match.field, []).append(column)  # type: ignore[arg-type]
    return columns


def _with_merges(
    rows: Iterator[tuple[int, dict[int, Any]]], merges: list[tuple[int, int, int, int]], most_cells: int, where: str
) -> Iterator[tuple[int, dict[int, Any]]]:
    """Fill a value merged down over several rows (first column of the range) into each row below
    it that holds a value; filling more than ``most_cells`` cells refuses the tab."""
    vertical = [m for m in merges if m[3] > m[1]]
    if not vertical:
        yield from rows
        return
    starts: dict[int, list[tuple[int, int, int, int]]] = {}
    for merge in vertical:
        starts.setdefault(merge[1], []).append(merge)
    active: list[tuple[int, int, Any]] = []  # column, last row, value
    previous = filled = 0
    for number, cells in rows:
        if number <= previous:
            continue
        previous = number
        if active:
            active = [a for a in active if a[1] >= number]
            filled += len(active)
            if filled > most_cells:
                raise WorkbookError(f"{where}: its merged ranges fill more than {most_cells:,} cells "
                                    "(the limit: INVOICES_WORKBOOK__MAX_MERGED_CELLS)")
            for column, _last, value in active:
                cells.setdefault(column, value)
        for min_col, _min_row, _max_col, max_row in starts.get(number, ()):
            if min_col in cells:
                active.append((min_col, max_row, cells[min_col]))
        yield number, cells


def _parsers(plan: SheetPlan, vocabulary: Vocabulary) -> list[tuple[str, list[Column], Any, dict[Any, Any] | None]]:
    """(field, its columns, parser, memo) for the fields this tab has, in the order rows are read.

    The memo holds the parsed value of each text or date a field's cells held so far: names,
    dates, status words and currencies repeat from row to row. Invoice numbers do not.
    """
    order = plan.settings.date_order
    parsers: dict[str, Any] = {
        "number": cells_to.invoice_number,
        "counterparty": cells_to.text,
        **{f: (lambda raw: cells_to.amount(raw, vocabulary)) for f in AMOUNT_FIELDS},
        **{f: (lambda raw: cells_to.to_date(raw, order)) for f in DATE_FIELDS},
        **{f: cells_to.text for f in TEXT_FIELDS},
        "contact_email": cells_to.email,
        "status": lambda raw: cells_to.status(raw, vocabulary),
        "direction": lambda raw: cells_to.direction(raw, vocabulary),
        "currency": lambda raw: cells_to.currency(raw, vocabulary),
    }
    return [(f, plan.by_field[f], _within(f, parser) if f in INVOICE_BOUNDS and f not in _KEYS else parser,
             None if f == "number" else {})
            for f, parser in parsers.items() if f in plan.by_field]


_KEYS = ("number", "counterparty")  # checked with their keys, by the importer


def _within(field_name: str, parser: Any) -> Any:
    """``parser``, raising ValueError for a value its invoice column cannot hold (an amount
    parser's value is the first of its pair)."""
    def parse(raw: Any) -> Any:
        value = parser(raw)
        reason = invoice_misfit(field_name, value[0] if type(value) is tuple else value)
        if reason is not None:
            raise ValueError(f"{field_name}: {reason}")
        return value

    return parse


_MEMO_TYPES = frozenset({str, date, datetime})  # exact types: a CellError is a str, and 1 == 1.0 == True
_MEMO_LIMIT = 20_000  # distinct values remembered per field
_UNSEEN = object()


def _read_fields(plan: SheetPlan, number: int, cells: dict[int, Any], problems: list[Problem]):  # type: ignore[no-untyped-def]
    values: dict[str, Any] = {}
    columns: dict[str, Column] = {}
    for field_name, field_columns, parser, memo in plan.parsers:  # type: ignore[union-attr]
        if len(field_columns) > 1:
            _read_columns(plan, number, cells, problems, field_name, field_columns, parser, values, columns)
            continue
        column = field_columns[0]
        raw = cells.get(column.number)
        if raw is None:
            continue
        value = memo.get(raw, _UNSEEN) if memo is not None and type(raw) in _MEMO_TYPES else _UNSEEN
        if value is _UNSEEN:
            value = _parse(plan, number, column, raw, parser, memo, problems)
        if value is not None and value is not _FAILED and value != (None, None):
            values[field_name], columns[field_name] = value, column
    return values, columns


_FAILED = object()


def _parse(plan: SheetPlan, number: int, column: Column, raw: Any, parser: Any, memo: dict[Any, Any] | None,
           problems: list[Problem]) -> Any:
    """A cell's value by ``parser`` (remembered in ``memo`` for a text or a date), or _FAILED
    with the reason added to ``problems``."""
    try:
        value = parser(raw)
    except ValueError as err:
        reason = str(err)
        problems.append(Problem(plan.name, number, column.label, reason[:300] + ("..." if len(reason) > 300 else "")))
        return _FAILED
    if memo is not None and type(raw) in _MEMO_TYPES and len(memo) < _MEMO_LIMIT:
        memo[raw] = value
    return value


def _read_columns(plan: SheetPlan, number: int, cells: dict[int, Any], problems: list[Problem], field_name: str,
                  field_columns: list[Column], parser: Any, values: dict[str, Any], columns: dict[str, Column]) -> None:
    """A field that several columns give: their values must agree."""
    found: list[tuple[Column, Any]] = []
    for column in field_columns:
        raw = cells.get(column.number)
        if raw is None:
            continue
        value = _parse(plan, number, column, raw, parser, None, problems)
        if value is _FAILED:
            return
        if value is not None and value != (None, None):
            found.append((column, value))
    if len(found) > 1 and any(v != found[0][1] for _, v in found[1:]):
        shown = " vs ".join(f"{c.label}: {cells.get(c.number)!r}" for c, _ in found)
        problems.append(Problem(plan.name, number, found[0][0].label, f"columns disagree ({shown})"))
    elif found:
        values[field_name], columns[field_name] = found[0][1], found[0][0]


def convert_row(
    plan: SheetPlan, number: int, cells: dict[int, Any], vocabulary: Vocabulary
) -> InvoiceRow | list[Problem] | Skip:
    """One data row -> invoice values, or the problems that keep it out, or a Skip note."""
    if plan.parsers is None:
        plan.parsers = _parsers(plan, vocabulary)
    problems: list[Problem] = []
    values, columns = _read_fields(plan, number, cells, problems)
    invoice_number = values.pop("number", None)
    if invoice_number is not None and _is_totals_word(invoice_number, vocabulary):
        return Skip("totals row")
    if invoice_number is None and not any(p.column == plan.by_field["number"][0].label for p in problems):
        texts = [fold(v) for v in cells.values() if isinstance(v, str)]
        if any(t in vocabulary.totals_words or (t.split(" ")[0] in vocabulary.totals_words and len(t.split()) <= 2)
               for t in texts if t):
            return Skip("totals row")
        mapped = {c.number for cols in plan.by_field.values() for c in cols}
        if "counterparty" not in values and not any(cells.get(n) is not None for n in mapped):
            return Skip("note row")
        return [Problem(plan.name, number, plan.by_field["number"][0].label, "no invoice number")]
    counterparty = values.pop("counterparty", None)
    if counterparty is None and not any(p.column.startswith(tuple(c.label for c in plan.by_field.get("counterparty", ())))
                                        for p in problems):
        counterparty = plan.settings.counterparty
        if counterparty is None:
            problems.append(Problem(plan.name, number, plan.by_field["counterparty"][0].label,
                                    "no customer or vendor name"))
    if problems:
        return problems
    named_currency = None
    for field_name in AMOUNT_FIELDS:
        if field_name in values:
            values[field_name], in_cell = values[field_name]
            match = columns[field_name].match
            named_currency = named_currency or in_cell or (match.currency if match else None)
    if "direction" not in values:
        match = columns["counterparty"].match if "counterparty" in columns else None
        if plan.settings.direction or (match and match.direction):
            values["direction"] = plan.settings.direction or match.direction  # type: ignore[union-attr]
    if "currency" not in values and (named_currency or plan.settings.currency):
        values["currency"] = named_currency or plan.settings.currency
    if "status" not in values:
        if values.get("paid_date") is not None:
            values["status"] = "paid"
        elif plan.settings.status:
            values["status"] = plan.settings.status
    return InvoiceRow(plan.name, number, str(counterparty), str(invoice_number), values, _record(plan, cells))


_AS_IS = frozenset({str, int})  # cells kept in the record as they are (exact types: not a CellError)


def _record(plan: SheetPlan, cells: dict[int, Any]) -> dict[str, Any]:
    """The row as read, by column key (a column without a header: by its letter), JSON-safe."""
    if plan.numbers is None:
        plan.numbers = {c.number: c.key for c in plan.columns}
    record = {}
    for column, key in plan.numbers.items():
        value = cells.get(column)
        if value is not None:
            record[key] = value if type(value) in _AS_IS else cells_to.plain(value)
    if not cells.keys() <= plan.numbers.keys():
        extra = sorted(set(cells) - plan.numbers.keys())
        record.update({f"(column {column_letter(n)})": cells_to.plain(cells[n]) for n in extra})
    return record


_DIGIT = re.compile(r"[0-9]")


def _is_totals_word(text: str, vocabulary: Vocabulary) -> bool:
    """Whether an invoice-number cell says "Total" (a number with a digit cannot, unless a totals
    word has one: folding keeps ASCII digits)."""
    if _DIGIT.search(text) and not _any_digit(vocabulary.totals_words):
        return False
    return fold(text) in vocabulary.totals_words


@lru_cache(maxsize=16)
def _any_digit(words: frozenset[str]) -> bool:
    return any(_DIGIT.search(word) for word in words)
