"""Applying workbook rows to invoices in bulk, with the same keys and audit trail as
`tasks.invoices.upsert_invoice` (which does it one invoice at a time).

A *unit* is one invoice key with the row(s) that name it. Per batch of units: rows whose hash
equals the stored WorkbookRow are skipped; the rest are compared with their invoice; new
invoices are inserted, changed ones updated, each with an AuditEvent ("create" / "update",
field -> [old, new]); WorkbookRows are inserted or updated and linked to their invoice.
A unit in conflict changes no invoice; its rows are still recorded.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any

from sqlalchemy import String, bindparam, func, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from db.models import AuditEvent, Invoice, InvoiceLink, Workbook, WorkbookRow
from tasks.invoices import _plain, _same  # the one definition of "same value" and its audit form
from tasks.workbook_bulk import IdAllocator, insert_rows, update_rows

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
    return _same(old, new)


def _chunks(items: list[Any]) -> list[list[Any]]:
    return [items[i:i + _CHUNK] for i in range(0, len(items), _CHUNK)]


def apply_units(
    units: list[Unit], *, session: Session, workbook: Workbook, actor: str, flow_run_id: str | None,
    known_rows: bool = True,
) -> dict[str, int]:
    """Write a batch of units; returns how many were new, updated and unchanged.

    ``known_rows``: False when no row of this workbook was imported before (nothing to look up).
    """
    if not units:
        return {}
    outcomes: Counter[str] = Counter()
    stored = _stored_rows(session, workbook.name, [(r[0], u.invoice_key) for u in units for r in u.rows]) \
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
    allocator = IdAllocator(session)
    invoices = _invoices(session, [(u.counterparty_key, u.number) for u, _ in todo])
    created: list[Unit] = []
    updates: list[dict[str, Any]] = []
    audits: list[dict[str, Any]] = []
    for unit, _olds in todo:
        current = invoices.get((unit.counterparty_key, unit.number))
        unit.invoice_id = current.id if current is not None else None
        if unit.conflict:
            continue
        if current is None:
            created.append(unit)
            outcomes["new"] += 1
            continue
        changes = {f: [_plain(getattr(current, f)), _plain(v)] for f, v in unit.values.items()
                   if not _equal(getattr(current, f), v)}
        if not changes:
            outcomes["unchanged"] += 1
            continue
        outcomes["updated"] += 1
        updates.append({"id": current.id, **{f: unit.values[f] for f in changes}, "updated_at": now})
        audits.append(_audit(current.id, "update", changes, actor, flow_run_id, now))
    _create_invoices(session, allocator, created, audits, actor, flow_run_id, now)
    update_rows(session, Invoice.__table__, updates)
    _write_rows(session, allocator, workbook, todo, now)
    insert_rows(session, AuditEvent.__table__, audits)
    return dict(outcomes)


def _stored_rows(session: Session, name: str, keys: list[tuple[str, str]]) -> dict[tuple[str, str], Any]:
    """The WorkbookRows of (sheet, invoice key) pairs, looked up by the full unique index."""
    table = WorkbookRow.__table__
    found: dict[tuple[str, str], Any] = {}
    by_sheet: dict[str, set[str]] = {}
    for sheet, key in keys:
        by_sheet.setdefault(sheet, set()).add(key)
    for sheet, sheet_keys in by_sheet.items():
        for chunk in _chunks(sorted(sheet_keys)):
            query = select(table.c.id, table.c.sheet, table.c.invoice_key, table.c.row_hash, table.c.invoice_id,
                           table.c.row_number).where(table.c.workbook_name == name, table.c.sheet == sheet,
                                                     table.c.invoice_key.in_(chunk))
            for row in session.execute(query):
                found[(row.sheet, row.invoice_key)] = row
    return found


def _invoices(session: Session, pairs: list[tuple[str, str]]) -> dict[tuple[str, str], Any]:
    table = Invoice.__table__
    columns = [table.c.id, table.c.counterparty_key, table.c.number, *(table.c[f] for f in VALUE_FIELDS)]
    found: dict[tuple[str, str], Any] = {}
    postgres = session.get_bind().dialect.name == "postgresql"
    for chunk in _chunks(sorted(set(pairs))):
        if postgres:  # exact (key, number) pairs joined against the unique index
            keys = select(func.unnest(bindparam("k", [k for k, _ in chunk], type_=ARRAY(String))).label("k"),
                          func.unnest(bindparam("n", [n for _, n in chunk], type_=ARRAY(String))).label("n")).subquery()
            query = select(*columns).join(keys, (table.c.counterparty_key == keys.c.k) & (table.c.number == keys.c.n))
            for row in session.execute(query):
                found[(row.counterparty_key, row.number)] = row
            continue
        # SQLite: two IN lists use the (counterparty_key, number) index; exact pairs are kept
        wanted = set(chunk)
        query = select(*columns).where(table.c.counterparty_key.in_({k for k, _ in chunk}),
                                       table.c.number.in_({n for _, n in chunk}))
        for row in session.execute(query):
            if (row.counterparty_key, row.number) in wanted:
                found[(row.counterparty_key, row.number)] = row
    return found


def _audit(invoice_id: int, action: str, changes: dict[str, Any], actor: str, flow_run_id: str | None,
           now: datetime) -> dict[str, Any]:
    return {"invoice_id": invoice_id, "at": now, "actor": actor, "flow_run_id": flow_run_id, "action": action,
            "changes": changes}


_NO_REASONS: list[Any] = []


@lru_cache(maxsize=256)
def _sources(fields: tuple[str, ...]) -> dict[str, str]:
    """field -> "workbook" (one shared, never mutated dict per set of fields)."""
    return {f: "workbook" for f in fields}


def _create_invoices(
    session: Session, allocator: IdAllocator, created: list[Unit], audits: list[dict[str, Any]], actor: str,
    flow_run_id: str | None, now: datetime,
) -> None:
    rows = []
    for unit, invoice_id in zip(created, allocator.take(Invoice.__table__, len(created))):
        unit.invoice_id = invoice_id
        values = {**NEW_INVOICE_DEFAULTS, **unit.values}
        row = {"id": invoice_id, "counterparty": unit.counterparty, "counterparty_key": unit.counterparty_key,
               "number": unit.number, "source": "workbook", "is_credit_note": False, "needs_review": False,
               "review_reasons": _NO_REASONS, "field_sources": _sources(tuple(unit.values)),
               "created_at": now, "updated_at": now}
        row.update({f: values.get(f) for f in VALUE_FIELDS})
        rows.append(row)
        changes = {"counterparty": [None, unit.counterparty], "number": [None, unit.number]}
        changes.update({f: [None, _plain(v)] for f, v in unit.values.items() if v is not None})
        audits.append(_audit(invoice_id, "create", changes, actor, flow_run_id, now))
    insert_rows(session, Invoice.__table__, rows)


def _write_rows(
    session: Session, allocator: IdAllocator, workbook: Workbook, todo: list[tuple[Unit, list[Any]]], now: datetime
) -> None:
    new_rows: list[dict[str, Any]] = []
    changed: list[dict[str, Any]] = []
    relinked: list[tuple[int, int]] = []
    for unit, olds in todo:
        for (sheet, number, record, digest), old in zip(unit.rows, olds):
            row = {"values": record, "row_hash": digest, "row_number": number, "workbook_id": workbook.id,
                   "invoice_id": unit.invoice_id, "imported_at": now}
            if old is None:
                new_rows.append({"workbook_name": workbook.name, "sheet": sheet, "invoice_key": unit.invoice_key, **row})
            else:
                changed.append({"id": old.id, **row})
                if unit.invoice_id is not None and old.invoice_id != unit.invoice_id:
                    relinked.append((unit.invoice_id, old.id))
    for row, row_id in zip(new_rows, allocator.take(WorkbookRow.__table__, len(new_rows))):
        row["id"] = row_id
    insert_rows(session, WorkbookRow.__table__, new_rows)
    update_rows(session, WorkbookRow.__table__, changed)
    links = [{"invoice_id": r["invoice_id"], "workbook_row_id": r["id"], "created_at": now}
             for r in new_rows if r["invoice_id"] is not None]
    if relinked:
        table = InvoiceLink.__table__
        existing = {(i, w) for i, w in session.execute(select(table.c.invoice_id, table.c.workbook_row_id).where(
            table.c.workbook_row_id.in_([w for _, w in relinked])))}
        links += [{"invoice_id": i, "workbook_row_id": w, "created_at": now} for i, w in relinked if (i, w) not in existing]
    insert_rows(session, InvoiceLink.__table__, links)
