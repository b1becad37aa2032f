"""Applying workbook rows to invoices in bulk, with the same keys and audit trail as
`tasks.invoices.upsert_invoice` (which does it one invoice at a time).

A *unit* is one invoice key with the row(s) that name it. Per batch of units: rows whose hash
equals the stored WorkbookRow are skipped; the rest are compared with their invoice; new
invoices are inserted, changed ones updated, each with an AuditEvent ("create" naming the row
it comes from / "update", field -> [old, new]); WorkbookRows are inserted or updated, each
naming its invoice (`WorkbookRow.invoice_id` traces an invoice back to its workbook rows).
A unit in conflict changes no invoice; its rows are still recorded.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any

from sqlalchemy import String, bindparam, func, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from db.models import AuditEvent, Invoice, Workbook, WorkbookRow
from tasks.invoices.records import (  # the one definition of "same value" and its audit form
    audit_value,
    same_value,
)
from tasks.workbook.bulk import IdAllocator, insert_rows, update_rows
from tasks.workbook.writer import InlineWriter, ThreadWriter

VALUE_FIELDS = (
    "direction", "issue_date", "due_date", "currency", "net", "tax", "total", "status", "paid_date", "paid_amount",
    "reference", "notes", "contact_email", "counterparty_vat_id", "iban",
)
NEW_INVOICE_DEFAULTS = {"direction": "payable", "currency": "EUR", "status": "open"}
_CHUNK = 500


@dataclass
class Unit:
    counterparty: str
    number: str
    counterparty_key: str
    invoice_key: str
    values: dict[str, Any] = field(default_factory=dict)
    rows: list[tuple[str, int, dict[str, Any], str]] = field(default_factory=list)  # sheet, row, record, hash
    duplicates: list[tuple[str, int, int]] = field(default_factory=list)  # sheet, row, duplicate of row
    conflict: bool = False
    invoice_id: int | None = None


def _equal(old: Any, new: Any) -> bool:
    if old in (None, "") and new in (None, ""):
        return True
    return same_value(old, new)


def _chunks(items: list[Any]) -> list[list[Any]]:
    return [items[i:i + _CHUNK] for i in range(0, len(items), _CHUNK)]


def apply_units(
    units: list[Unit], *, reader: Session, writer: InlineWriter | ThreadWriter, workbook: Workbook, actor: str,
    flow_run_id: str | None, known_rows: bool = True,
) -> dict[str, int]:
    """Write a batch of units; returns how many were new, updated and unchanged.

    ``reader`` looks up invoices and stored rows and draws ids; ``writer`` writes the batch.
    ``known_rows``: False when no row of this workbook was imported before (nothing to look up).
    """
    if not units:
        return {}
    outcomes: Counter[str] = Counter()
    stored = _stored_rows(reader, workbook.name, [(r[0], u.invoice_key) for u in units for r in u.rows]) \
        if known_rows else {}
    todo: list[tuple[Unit, list[Any]]] = []
    for unit in units:
        olds = [stored.get((sheet, unit.invoice_key)) for sheet, *_ in unit.rows]
        if not unit.conflict and all(o is not None and o.row_hash == row[3] for o, row in zip(olds, unit.rows)):
            outcomes["unchanged"] += 1
            continue
        todo.append((unit, olds))
    if not todo:
        return dict(outcomes)
    now = datetime.now(timezone.utc)
    allocator = IdAllocator(reader)
    invoices = _invoices(reader, [(u.counterparty_key, u.number) for u, _ in todo])
    created: list[Unit] = []
    updates: list[dict[str, Any]] = []
    audits = Audits(actor, flow_run_id, now)
    for unit, _olds in todo:
        current = invoices.get((unit.counterparty_key, unit.number))
        unit.invoice_id = current.id if current is not None else None
        if unit.conflict:
            continue
        if current is None:
            created.append(unit)
            outcomes["new"] += 1
            continue
        changes = {f: [audit_value(getattr(current, f)), audit_value(v)] for f, v in unit.values.items()
                   if not _equal(getattr(current, f), v)}
        if not changes:
            outcomes["unchanged"] += 1
            continue
        outcomes["updated"] += 1
        updates.append({"id": current.id, **{f: unit.values[f] for f in changes}, "updated_at": now})
        audits.updated.append((current.id, changes))
    batch = Batch(invoice_updates=updates)
    batch.invoice_columns, batch.invoices = _new_invoices(allocator, workbook, created, audits)
    batch.rows, batch.row_updates = _workbook_rows(allocator, workbook, todo, now)
    batch.audits = audits
    writer.submit(batch.write)
    return dict(outcomes)


@dataclass
class Batch:
    """Everything one batch writes, in the order the foreign keys need."""

    invoice_columns: tuple[str, ...] = ()
    invoices: list[tuple[Any, ...]] = field(default_factory=list)
    invoice_updates: list[dict[str, Any]] = field(default_factory=list)
    rows: list[tuple[Any, ...]] = field(default_factory=list)
    row_updates: list[dict[str, Any]] = field(default_factory=list)
    audits: Audits | None = None

    def write(self, session: Session) -> None:
        insert_rows(session, Invoice.__table__, self.invoice_columns, self.invoices)
        update_rows(session, Invoice.__table__, self.invoice_updates)
        insert_rows(session, WorkbookRow.__table__, ROW_COLUMNS, self.rows)
        update_rows(session, WorkbookRow.__table__, self.row_updates)
        if self.audits is not None:
            self.audits.write(session)


def _stored_rows(session: Session, name: str, keys: list[tuple[str, str]]) -> dict[tuple[str, str], Any]:
    """The WorkbookRows of (sheet, invoice key) pairs, looked up by the full unique index."""
    table = WorkbookRow.__table__
    columns = [table.c.id, table.c.sheet, table.c.invoice_key, table.c.row_hash, table.c.invoice_id,
               table.c.row_number]
    wanted = sorted(set(keys))
    if session.get_bind().dialect.name == "postgresql":
        pairs = _pairs(wanted)
        rows = session.execute(select(*columns).join(pairs, (table.c.sheet == pairs.c.a)
                                                     & (table.c.invoice_key == pairs.c.b))
                               .where(table.c.workbook_name == name))
    else:
        rows = _stored_rows_by_sheet(session, columns, name, wanted)
    return {(row.sheet, row.invoice_key): row for row in rows}


def _stored_rows_by_sheet(session: Session, columns: list[Any], name: str, keys: list[tuple[str, str]]) -> list[Any]:
    """SQLite: per sheet, IN lists of invoice keys."""
    table = WorkbookRow.__table__
    by_sheet: dict[str, list[str]] = {}
    for sheet, key in keys:
        by_sheet.setdefault(sheet, []).append(key)
    found = []
    for sheet, sheet_keys in by_sheet.items():
        for chunk in _chunks(sheet_keys):
            found += session.execute(select(*columns).where(
                table.c.workbook_name == name, table.c.sheet == sheet, table.c.invoice_key.in_(chunk)))
    return found


def _invoices(session: Session, pairs: list[tuple[str, str]]) -> dict[tuple[str, str], Any]:
    """The invoices of (counterparty key, number) pairs, by pair."""
    table = Invoice.__table__
    columns = [table.c.id, table.c.counterparty_key, table.c.number, *(table.c[f] for f in VALUE_FIELDS)]
    wanted = sorted(set(pairs))
    if session.get_bind().dialect.name == "postgresql":
        rows = _invoices_by_pairs(session, columns, wanted)
    else:
        rows = _invoices_by_lists(session, columns, wanted)
    return {(row.counterparty_key, row.number): row for row in rows}


def _invoices_by_pairs(session: Session, columns: list[Any], pairs: list[tuple[str, str]]) -> list[Any]:
    """PostgreSQL: the exact pairs joined against the unique index in one query."""
    table = Invoice.__table__
    keys = _pairs(pairs)
    return list(session.execute(
        select(*columns).join(keys, (table.c.counterparty_key == keys.c.a) & (table.c.number == keys.c.b))))


def _pairs(pairs: list[tuple[str, str]]) -> Any:
    """PostgreSQL: text pairs as a subquery of rows (a, b), built by the server from two arrays."""
    return select(func.unnest(_text_array("a", [a for a, _ in pairs])).label("a"),
                  func.unnest(_text_array("b", [b for _, b in pairs])).label("b")).subquery()


_SEPARATOR = "\x1f"  # a control character, which no cell of a workbook can hold


def _text_array(name: str, texts: list[str]) -> Any:
    """A text array parameter, sent as one joined string and split by the server (far cheaper
    than an array parameter of thousands of strings) unless a text holds the separator."""
    joined = _joined(texts)
    if joined is not None:
        return func.string_to_array(bindparam(name, joined, type_=String), _SEPARATOR)
    return bindparam(name, texts, type_=ARRAY(String))


def _joined(texts: Sequence[str]) -> str | None:
    """``texts`` joined by the separator, for string_to_array; None when one holds it (or all are
    one empty text, which string_to_array would make an empty array)."""
    joined = _SEPARATOR.join(texts)
    return joined if joined and joined.count(_SEPARATOR) == len(texts) - 1 else None


def _invoices_by_lists(session: Session, columns: list[Any], pairs: list[tuple[str, str]]) -> list[Any]:
    """SQLite: two IN lists per chunk use the (counterparty_key, number) index; exact pairs are kept."""
    table = Invoice.__table__
    found = []
    for chunk in _chunks(pairs):
        wanted = set(chunk)
        query = select(*columns).where(table.c.counterparty_key.in_({k for k, _ in chunk}),
                                       table.c.number.in_({n for _, n in chunk}))
        found += [row for row in session.execute(query) if (row.counterparty_key, row.number) in wanted]
    return found


AUDIT_COLUMNS = ("invoice_id", "at", "actor", "flow_run_id", "action", "changes")  # ids: the table's own
INVOICE_COLUMNS = ("id", "counterparty", "counterparty_key", "number", "source", "is_credit_note", "needs_review",
                   "review_reasons", "field_sources", "created_at", "updated_at")  # then the value fields given
ROW_COLUMNS = ("id", "workbook_name", "sheet", "invoice_key", "values", "row_hash", "row_number", "workbook_id",
               "invoice_id", "imported_at")
_NO_REASONS: list[Any] = []


# A new invoice's "create" event, built by PostgreSQL from arrays of its parts: far less work on
# both sides than encoding and copying each event (the events are a third of the rows written).
_CREATE_EVENTS = text(
    "INSERT INTO audit_events (invoice_id, at, actor, flow_run_id, action, changes) "
    "SELECT e.invoice_id, :at, :actor, :flow_run_id, 'create', json_build_object("
    "'counterparty', json_build_array(NULL, e.counterparty), 'number', json_build_array(NULL, e.number), "
    "'source', json_build_array(NULL, e.source)) "
    "FROM unnest(CAST(:invoice_ids AS integer[]), string_to_array(:counterparties, :separator), "
    "string_to_array(:numbers, :separator), string_to_array(:sources, :separator)) WITH ORDINALITY "
    "AS e(invoice_id, counterparty, number, source, position) ORDER BY e.position"
)


@dataclass
class Audits:
    """The audit events of one batch, written after the invoices they name: an "update" event
    (field -> [old, new]) per changed invoice, then a "create" event per new invoice naming the
    workbook row it comes from (the values themselves are in the invoice and in that WorkbookRow)."""

    actor: str
    flow_run_id: str | None
    at: datetime
    updated: list[tuple[int, dict[str, Any]]] = field(default_factory=list)  # invoice id, changes
    created: list[tuple[int, str, str, str]] = field(default_factory=list)  # invoice id, counterparty, number, source

    def write(self, session: Session) -> None:
        events = [(invoice_id, self.at, self.actor, self.flow_run_id, "update", changes)
                  for invoice_id, changes in self.updated]
        created = self._created_arrays() if session.get_bind().dialect.name == "postgresql" else None
        if created is None:
            events += [(invoice_id, self.at, self.actor, self.flow_run_id, "create", _create_changes(*event))
                       for invoice_id, *event in self.created]
        insert_rows(session, AuditEvent.__table__, AUDIT_COLUMNS, events)
        if created is not None:
            session.execute(_CREATE_EVENTS, {"at": self.at, "actor": self.actor, "flow_run_id": self.flow_run_id,
                                             **created})

    def _created_arrays(self) -> dict[str, Any] | None:
        """The parameters of _CREATE_EVENTS; None when there are none or a text holds the separator."""
        if not self.created:
            return None
        invoice_ids, *texts = zip(*self.created)
        joined = [_joined(column) for column in texts]
        if None in joined:
            return None
        return {"invoice_ids": list(invoice_ids), "separator": _SEPARATOR,
                **dict(zip(("counterparties", "numbers", "sources"), joined))}


def _create_changes(counterparty: str, number: str, source: str) -> dict[str, list[Any]]:
    return {"counterparty": [None, counterparty], "number": [None, number], "source": [None, source]}


@lru_cache(maxsize=256)
def _sources(fields: tuple[str, ...]) -> dict[str, str]:
    """field -> "workbook" (one shared, never mutated dict per set of fields)."""
    return {f: "workbook" for f in fields}


def _new_invoices(
    allocator: IdAllocator, workbook: Workbook, created: list[Unit], audits: Audits
) -> tuple[tuple[str, ...], list[tuple[Any, ...]]]:
    """The columns and rows of new invoices. Their "create" event names the workbook row they come
    from: the values themselves are in the invoice and in that WorkbookRow."""
    rows = []
    now, name = audits.at, workbook.name
    fields = _fields_given(created)
    defaults = [(f, NEW_INVOICE_DEFAULTS.get(f)) for f in fields]
    for unit, invoice_id in zip(created, allocator.take(Invoice.__table__, len(created))):
        unit.invoice_id = invoice_id
        values = unit.values
        rows.append((invoice_id, unit.counterparty, unit.counterparty_key, unit.number, "workbook", False, False,
                     _NO_REASONS, _sources(tuple(values)), now, now, *[values.get(f, d) for f, d in defaults]))
        sheet, number = unit.rows[0][:2]
        audits.created.append((invoice_id, unit.counterparty, unit.number, f"workbook {name} {sheet}!{number}"))
    return INVOICE_COLUMNS + fields, rows


def _fields_given(units: list[Unit]) -> tuple[str, ...]:
    """The value fields that some of ``units`` set or that have a default (the others stay NULL)."""
    given = set(NEW_INVOICE_DEFAULTS).union(*(unit.values for unit in units))
    return tuple(f for f in VALUE_FIELDS if f in given)


def _workbook_rows(
    allocator: IdAllocator, workbook: Workbook, todo: list[tuple[Unit, list[Any]]], now: datetime
) -> tuple[list[tuple[Any, ...]], list[dict[str, Any]]]:
    """New WorkbookRows and changes to stored ones; each names its invoice (the row an invoice was
    read from)."""
    new_rows: list[tuple[Any, ...]] = []
    changed: list[dict[str, Any]] = []
    name, workbook_id = workbook.name, workbook.id
    for unit, olds in todo:
        for (sheet, number, record, digest), old in zip(unit.rows, olds):
            if old is None:
                new_rows.append((name, sheet, unit.invoice_key, record, digest, number, workbook_id, unit.invoice_id,
                                 now))
            else:
                changed.append({"id": old.id, "values": record, "row_hash": digest, "row_number": number,
                                "workbook_id": workbook_id, "invoice_id": unit.invoice_id, "imported_at": now})
    ids = allocator.take(WorkbookRow.__table__, len(new_rows))
    return [(i, *row) for i, row in zip(ids, new_rows)], changed
