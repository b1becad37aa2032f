"""Invoice records: the natural key, idempotent upserts, and the audit trail of every change.

Every step that writes an invoice (document extraction, workbook import, payments, review)
goes through ``upsert_invoice`` or ``update_invoice`` so that the key is computed one way and
every change leaves an audit event (who or which flow, when, old -> new).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from db.models import AuditEvent, Invoice, InvoiceLink

# Legal-form words dropped from counterparty names so that "ACME GmbH" and "Acme" are one key.
LEGAL_FORMS = {
    "gmbh", "ag", "kg", "ohg", "ug", "mbh", "co", "kgaa", "ev",
    "ltd", "limited", "llc", "inc", "corp", "corporation", "plc", "llp", "lp",
    "sa", "sarl", "sas", "sasu", "eurl", "srl", "spa", "bv", "nv", "vof", "ab", "as", "oy", "gbr",
}
_NON_WORD = re.compile(r"[^\w]+", re.UNICODE)

# Fields an upsert may write; the key fields (counterparty_key, number) are set on creation.
INVOICE_FIELDS = (
    "direction", "counterparty", "vendor_id", "counterparty_vat_id", "customer_name", "iban", "reference",
    "issue_date", "due_date", "currency", "net", "tax", "total", "is_credit_note", "status", "paid_date",
    "paid_amount", "contact_email", "notes", "source", "document_id", "mail_message_id", "confidence",
    "needs_review", "review_reasons", "field_sources",
)


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


def _plain(value: Any) -> Any:
    """A JSON-safe form of a value for the audit trail."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return value


def _same(old: Any, new: Any) -> bool:
    if isinstance(old, Decimal) or isinstance(new, Decimal):
        try:
            return old is not None and new is not None and Decimal(str(old)) == Decimal(str(new))
        except ArithmeticError:
            return False
    return old == new


def apply_changes(invoice: Invoice, values: dict[str, Any]) -> dict[str, list[Any]]:
    """Set ``values`` on ``invoice``; returns {field: [old, new]} for what really changed."""
    changes: dict[str, list[Any]] = {}
    for field, new in values.items():
        if field not in INVOICE_FIELDS:
            raise ValueError(f"unknown invoice field {field!r}")
        old = getattr(invoice, field)
        if _same(old, new):
            continue
        setattr(invoice, field, new)
        changes[field] = [_plain(old), _plain(new)]
    return changes


def record_audit(
    session: Session,
    invoice_id: int,
    actor: str,
    action: str,
    changes: dict[str, list[Any]],
    flow_run_id: str | None = None,
) -> None:
    session.add(AuditEvent(invoice_id=invoice_id, actor=actor, action=action, changes=changes, flow_run_id=flow_run_id))


def find_invoice(session: Session, counterparty: str, number: str) -> Invoice | None:
    return session.scalars(
        select(Invoice).where(
            Invoice.counterparty_key == counterparty_key(counterparty),
            Invoice.number == invoice_number_key(number),
        )
    ).one_or_none()


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
    workbook_row_id: int | None = None,
) -> UpsertResult:
    """Create or update the invoice keyed by (counterparty, number), with an audit event.

    ``values`` may hold any of INVOICE_FIELDS; fields absent from it are left alone. A document
    or workbook row is linked to the invoice (the same invoice seen in several places is one
    record with several links). Safe against a parallel run creating the same invoice.
    """
    key, number = counterparty_key(counterparty), invoice_number_key(number)
    if not key or not number:
        raise ValueError(f"an invoice needs a counterparty and a number (got {counterparty!r}, {number!r})")
    invoice = find_invoice(session, counterparty, number)
    outcome = "updated"
    if invoice is None:
        candidate = Invoice(counterparty=counterparty.strip(), counterparty_key=key, number=number,
                            source=values.get("source", "manual"))
        try:
            with session.begin_nested():
                session.add(candidate)
            invoice, outcome = candidate, "created"
        except IntegrityError:
            invoice = find_invoice(session, counterparty, number)
            if invoice is None:
                raise
    changes = apply_changes(invoice, values)
    if outcome == "created":
        changes = {"counterparty": [None, invoice.counterparty], "number": [None, number], **changes}
    elif not changes:
        outcome = "unchanged"
    session.flush()
    if changes:
        record_audit(session, invoice.id, actor, "create" if outcome == "created" else "update", changes, flow_run_id)
    link_invoice(session, invoice.id, document_id=document_id, workbook_row_id=workbook_row_id)
    return UpsertResult(invoice.id, outcome, changes)


def link_invoice(
    session: Session, invoice_id: int, document_id: int | None = None, workbook_row_id: int | None = None
) -> None:
    """Record that an invoice was seen in a document or workbook row (once per pair)."""
    for column, value in (("document_id", document_id), ("workbook_row_id", workbook_row_id)):
        if value is None:
            continue
        exists = session.scalars(
            select(InvoiceLink.id).where(InvoiceLink.invoice_id == invoice_id, getattr(InvoiceLink, column) == value)
        ).first()
        if exists is None:
            session.add(InvoiceLink(invoice_id=invoice_id, **{column: value}))


def update_invoice(
    session: Session, invoice: Invoice, values: dict[str, Any], actor: str, action: str, flow_run_id: str | None = None
) -> dict[str, list[Any]]:
    """Change an existing invoice (payment, review, status) and audit what changed."""
    changes = apply_changes(invoice, values)
    if changes:
        session.flush()
        record_audit(session, invoice.id, actor, action, changes, flow_run_id)
    return changes
