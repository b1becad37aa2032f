"""Invoice records: the natural key, idempotent upserts, and the audit trail of every change.

Every step that writes an invoice (document extraction, workbook import, payments, review)
goes through ``upsert_invoice`` or ``update_invoice`` so that the key is computed one way and
every change leaves an audit event (who or which flow, when, old -> new).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, insert, select
from sqlalchemy.orm import Session

from db.conflicts import insert_ignoring_conflicts
from db.models import AuditEvent, Invoice, InvoiceLink
from tasks.invoices.fields import INVOICE_FIELDS

# Legal-form words dropped from counterparty names so that "ACME GmbH" and "Acme" are one key.
LEGAL_FORMS = {
    "gmbh", "ag", "kg", "ohg", "ug", "mbh", "co", "kgaa", "ev",
    "ltd", "limited", "llc", "inc", "corp", "corporation", "plc", "llp", "lp",
    "sa", "sarl", "sas", "sasu", "eurl", "srl", "spa", "bv", "nv", "vof", "ab", "as", "oy", "gbr",
}
_NON_WORD = re.compile(r"[^\w]+", re.UNICODE)

# Fields an upsert may write; the key fields (counterparty_key, number) are set on creation.
# The columns an upsert may set: those the invoice fields fill (the number is the key) and the
# invoice's own bookkeeping.
SETTABLE_COLUMNS = frozenset({f.column for f in INVOICE_FIELDS} - {"number"}) | {
    "direction", "vendor_id", "status", "paid_date", "paid_amount", "contact_email", "notes", "source",
    "document_id", "mail_message_id", "confidence", "needs_review", "review_reasons", "field_sources",
}


def counterparty_key(name: str) -> str:
    """The normalised counterparty: case, accents, punctuation and legal forms removed.

    >>> counterparty_key("  ACME Gesellschaft mbH & Co. KG ") == counterparty_key("Acme Gesellschaft")
    True
    """
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii").casefold()
    folded = folded.replace("&", " ")
    words = [w for w in _NON_WORD.sub(" ", folded.replace(".", "")).split() if w not in LEGAL_FORMS]
    return " ".join(words) or folded.strip()


def invoice_number_key(number: str) -> str:
    """An invoice number as stored: trimmed, inner whitespace collapsed."""
    return " ".join(str(number).split())


def audit_value(value: Any) -> Any:
    """A JSON-safe form of a value for the audit trail."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return value


def same_value(old: Any, new: Any) -> bool:
    """Whether two values of a field are the same (1.5 and Decimal("1.50") are)."""
    if isinstance(old, Decimal) or isinstance(new, Decimal):
        try:
            return old is not None and new is not None and Decimal(str(old)) == Decimal(str(new))
        except ArithmeticError:
            return False
    return old == new


def _differences(current: Callable[[str], Any], values: dict[str, Any]) -> dict[str, list[Any]]:
    """{field: [old, new]} for the ``values`` that differ from ``current(field)``."""
    changes: dict[str, list[Any]] = {}
    for field, new in values.items():
        if field not in SETTABLE_COLUMNS:
            raise ValueError(f"unknown invoice field {field!r}")
        old = current(field)
        if not same_value(old, new):
            changes[field] = [audit_value(old), audit_value(new)]
    return changes


def apply_changes(invoice: Invoice, values: dict[str, Any]) -> dict[str, list[Any]]:
    """Set ``values`` on ``invoice``; returns {field: [old, new]} for what really changed."""
    changes = _differences(lambda field: getattr(invoice, field), values)
    for field in changes:
        setattr(invoice, field, values[field])
    return changes


_INVOICES = Invoice.__table__
_ADD_AUDIT = insert(AuditEvent.__table__)
_FIND = select(Invoice).where(Invoice.counterparty_key == bindparam("key"), Invoice.number == bindparam("number"))


def record_audit(
    session: Session,
    invoice_id: int,
    actor: str,
    action: str,
    changes: dict[str, list[Any]],
    flow_run_id: str | None = None,
) -> None:
    session.execute(_ADD_AUDIT, {"invoice_id": invoice_id, "actor": actor, "action": action, "changes": changes,
                                 "flow_run_id": flow_run_id})


def find_invoice(session: Session, counterparty: str, number: str) -> Invoice | None:
    keys = {"key": counterparty_key(counterparty), "number": invoice_number_key(number)}
    return session.scalars(_FIND, keys).one_or_none()


@dataclass(frozen=True)
class UpsertResult:
    invoice_id: int
    outcome: str  # created, updated, unchanged
    changes: dict[str, list[Any]]


def upsert_invoice(
    session: Session,
    counterparty: str,
    number: str,
    values: dict[str, Any],
    actor: str,
    flow_run_id: str | None = None,
    document_id: int | None = None,
) -> UpsertResult:
    """Create or update the invoice keyed by (counterparty, number), with an audit event.

    ``values`` may hold any of SETTABLE_COLUMNS; fields absent from it are left alone. A document
    is linked to the invoice (the same invoice seen in several files is one record with several
    links; a workbook row names its invoice itself). Safe against a parallel run creating the
    same invoice.
    """
    return write_invoice(session, find_invoice(session, counterparty, number), counterparty, number, values,
                         actor=actor, flow_run_id=flow_run_id, document_id=document_id)


def _keys(counterparty: str, number: str) -> tuple[str, str]:
    key, number = counterparty_key(counterparty), invoice_number_key(number)
    if not key or not number:
        raise ValueError(f"an invoice needs a counterparty and a number (got {counterparty!r}, {number!r})")
    return key, number


def create_invoice(
    session: Session,
    counterparty: str,
    number: str,
    values: dict[str, Any],
    *,
    actor: str,
    flow_run_id: str | None = None,
    document_id: int | None = None,
) -> UpsertResult | None:
    """Create the invoice keyed by (counterparty, number), with its audit event and its link to
    ``document_id``; None when it exists already (a parallel run may just have created it)."""
    key, number = _keys(counterparty, number)
    row, changes = new_invoice_row(counterparty, key, number, values)
    statement = insert_ignoring_conflicts(session, _INVOICES, ["counterparty_key", "number"])
    invoice_id = session.execute(statement.returning(_INVOICES.c.id), row).scalar_one_or_none()
    if invoice_id is None:
        return None
    record_audit(session, invoice_id, actor, "create", changes, flow_run_id)
    link_invoice(session, invoice_id, document_id)
    return UpsertResult(invoice_id, "created", changes)


def write_invoice(
    session: Session,
    invoice: Invoice | None,
    counterparty: str,
    number: str,
    values: dict[str, Any],
    *,
    actor: str,
    flow_run_id: str | None = None,
    document_id: int | None = None,
) -> UpsertResult:
    """``upsert_invoice`` for a caller that has just looked the key up: ``invoice`` is what
    ``find_invoice`` returned (None: create it, unless a parallel run has just done so)."""
    if invoice is None:
        created = create_invoice(session, counterparty, number, values, actor=actor, flow_run_id=flow_run_id,
                                 document_id=document_id)
        if created is not None:
            return created
        invoice = find_invoice(session, counterparty, number)
        if invoice is None:
            raise LookupError(f"invoice {number!r} of {counterparty!r} was neither created nor found")
    changes = update_invoice(session, invoice, values, actor, "update", flow_run_id)
    link_invoice(session, invoice.id, document_id)
    return UpsertResult(invoice.id, "updated" if changes else "unchanged", changes)


def _defaults() -> dict[str, Any]:
    """What a new invoice holds before any value is set: its columns' defaults."""
    defaults = {}
    for column in Invoice.__table__.columns:
        if column.key in SETTABLE_COLUMNS and column.default is not None:
            default = column.default
            defaults[column.key] = default.arg(None) if default.is_callable else default.arg
    return defaults


def new_invoice_row(
    counterparty: str, key: str, number: str, values: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, list[Any]]]:
    """The row of a new invoice and its "create" audit changes: the key, then every value that
    differs from what a new record holds."""
    row: dict[str, Any] = {**_defaults(), "counterparty": counterparty.strip(), "counterparty_key": key,
                           "number": number, "source": values.get("source", "manual")}
    changes = {"counterparty": [None, row["counterparty"]], "number": [None, number]}
    differences = _differences(row.get, values)
    row.update({field: values[field] for field in differences})
    return row, {**changes, **differences}


def link_invoice(session: Session, invoice_id: int, document_id: int | None) -> None:
    """Record that an invoice was seen in a document (once per pair)."""
    if document_id is not None:
        link = insert_ignoring_conflicts(session, InvoiceLink.__table__)
        session.execute(link, {"invoice_id": invoice_id, "document_id": document_id})


def update_invoice(
    session: Session, invoice: Invoice, values: dict[str, Any], actor: str, action: str, flow_run_id: str | None = None
) -> dict[str, list[Any]]:
    """Change an existing invoice (payment, review, status) and audit what changed."""
    changes = apply_changes(invoice, values)
    if changes:
        session.flush()
        record_audit(session, invoice.id, actor, action, changes, flow_run_id)
    return changes
