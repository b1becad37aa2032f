"""What an e-invoice leaves in the database: its lines, its validation findings, and the documents
made from it. Stored in the same transaction as the invoice (claim before work, done after commit)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from db.einvoice_tables import DerivedDocument, EInvoiceFinding, InvoiceLine
from tasks.einvoice.validation import Finding
from tasks.reading.einvoice_xml import EInvoiceLine

LINE_FIELDS = ("position", "line_id", "description", "quantity", "unit", "unit_price", "net_amount",
               "tax_category", "tax_rate")
_LIMITS = {"line_id": 100, "unit": 16, "tax_category": 8}


def _fitted(line: EInvoiceLine) -> dict[str, Any]:
    values = {name: getattr(line, name) for name in LINE_FIELDS}
    for name, limit in _LIMITS.items():
        if isinstance(values[name], str):
            values[name] = values[name][:limit]
    for name, digits in (("quantity", 15), ("unit_price", 13), ("net_amount", 17), ("tax_rate", 4)):
        value = values[name]
        if value is not None and (not value.is_finite() or value.adjusted() >= digits):
            values[name] = None  # more than the column holds: left empty rather than a database error
    return values


def store_lines(session: Session, invoice_id: int, document_id: int, lines: Iterable[EInvoiceLine]) -> int:
    """Replace the invoice's lines with ``lines`` unless another document gave them first; returns
    how many the invoice now has from this document."""
    sources = set(session.scalars(select(InvoiceLine.document_id).where(InvoiceLine.invoice_id == invoice_id)))
    if sources - {document_id}:
        return 0
    session.execute(delete(InvoiceLine).where(InvoiceLine.invoice_id == invoice_id))
    rows = [InvoiceLine(invoice_id=invoice_id, document_id=document_id, **_fitted(line)) for line in lines]
    session.add_all(rows)
    session.flush()
    return len(rows)


def store_findings(session: Session, document_id: int, invoice_id: int | None, findings: Iterable[Finding]) -> int:
    """Replace what validating the document found (a re-read finds it again)."""
    session.execute(delete(EInvoiceFinding).where(EInvoiceFinding.document_id == document_id))
    rows = [EInvoiceFinding(document_id=document_id, invoice_id=invoice_id, layer=f.layer, rule=f.rule[:64],
                            severity=f.severity, message=f.message, location=f.location) for f in findings]
    session.add_all(rows)
    session.flush()
    return len(rows)


def invoice_lines(session: Session, invoice_ids: Iterable[int] | None = None) -> list[InvoiceLine]:
    """Lines of the given invoices (every invoice's when None), by invoice and position."""
    query = select(InvoiceLine).order_by(InvoiceLine.invoice_id, InvoiceLine.position)
    if invoice_ids is not None:
        query = query.where(InvoiceLine.invoice_id.in_(list(invoice_ids)))
    return list(session.scalars(query))


def derived_document(session: Session, original_id: int, purpose: str) -> int | None:
    """The id of the document made from ``original_id`` for ``purpose``, if there is one."""
    return session.scalar(select(DerivedDocument.document_id).where(DerivedDocument.original_id == original_id,
                                                                     DerivedDocument.purpose == purpose))


def link_derived(session: Session, original_id: int, document_id: int, purpose: str) -> None:
    if derived_document(session, original_id, purpose) is None:
        session.add(DerivedDocument(original_id=original_id, document_id=document_id, purpose=purpose))
        session.flush()
