"""Turning one stored document into an invoice record: claim it, then save what was read.

Claim before work (status ``processing``, taken by one run only), mark done after commit: the
invoice upsert, the document's status and its text are written in one transaction. A document
that an earlier run left unread (stored but never handed on, or claimed by a run that stopped)
is found by ``left_unread`` and read by the next intake run. The same
invoice arriving as another file is linked to the existing record, not doubled; a record that
a person or the workbook wrote, or that was read with more confidence, keeps its values.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import Integer, Text, bindparam, case, func, select, text, update
from sqlalchemy.orm import Session

from db.models import Document, DocumentStatus, Invoice, InvoiceStatus
from tasks.einvoice.documents import einvoice_check, held_for_review
from tasks.extraction.invoice_file import Understanding
from tasks.extraction.templates import Template
from tasks.invoices.column_fits import misfit, text_limit
from tasks.invoices.fields import INVOICE_FIELDS, KEY_FIELDS
from tasks.invoices.records import (
    counterparty_key,
    create_invoice,
    find_invoice,
    invoice_number_key,
    write_invoice,
)
from tasks.invoices.vendors import check_vendor
from tasks.reading.registry import READABLE_KINDS

logger = logging.getLogger(__name__)

CLAIMABLE = (DocumentStatus.STORED.value, DocumentStatus.FAILED.value, DocumentStatus.NOT_INVOICE.value)
RECLAIMABLE = (*CLAIMABLE, DocumentStatus.PROCESSED.value, DocumentStatus.PROCESSING.value)
_SETTLED = {InvoiceStatus.PAID.value, InvoiceStatus.PARTIALLY_PAID.value, InvoiceStatus.CANCELLED.value,
            InvoiceStatus.DISPUTED.value}


@dataclass(frozen=True)
class Claim:
    """A document taken for reading: where it is, and the vendor templates to read it with."""

    document_id: int
    path: str
    kind: str
    name: str
    templates: tuple[Template, ...] = ()


_DOCUMENTS = Document.__table__
_CLAIM = (
    update(_DOCUMENTS)
    .where(_DOCUMENTS.c.id == bindparam("document_id"), _DOCUMENTS.c.kind.in_(READABLE_KINDS),
           _DOCUMENTS.c.status.in_(bindparam("statuses", expanding=True)))
    .values(status=DocumentStatus.PROCESSING.value, error=None, claimed_at=bindparam("now"))
    .returning(_DOCUMENTS.c.storage_path, _DOCUMENTS.c.kind, _DOCUMENTS.c.original_name)
)


_COMMIT_WITHOUT_WAITING = text("SET LOCAL synchronous_commit TO OFF")


def claim_document(session: Session, documents_dir: Path, document_id: int, force: bool = False) -> Claim | str:
    """Take the document for reading; returns the claim, or why it was not taken."""
    statuses = RECLAIMABLE if force else CLAIMABLE
    if session.get_bind().dialect.name == "postgresql":
        # A claim lost in a crash costs nothing (the document is read again by the next intake
        # run), so its commit does not wait for the disk.
        session.execute(_COMMIT_WITHOUT_WAITING)
    taken = session.execute(_CLAIM, {"document_id": document_id, "statuses": list(statuses),
                                     "now": datetime.now(timezone.utc)}).one_or_none()
    if taken is None:
        return _not_taken(session, document_id)
    return Claim(document_id, str(documents_dir / taken.storage_path), taken.kind, taken.original_name)


# A stored document is handed on by the intake run that stored it, within that run; one still
# waiting after this long was left behind by a run that stopped first.
HANDOFF_GRACE = timedelta(minutes=15)


def left_unread(session: Session, now: datetime, reread_after: timedelta, kinds: Collection[str]) -> list[int]:
    """Documents of ``kinds`` an earlier run left unread, oldest first: stored but never handed
    on, or claimed by a read that has not finished after ``reread_after`` (released here, with a
    note, so that they can be claimed again)."""
    stale = (_DOCUMENTS.c.status == DocumentStatus.PROCESSING.value) & (_DOCUMENTS.c.claimed_at < now - reread_after)
    released = session.execute(
        update(_DOCUMENTS).where(stale).values(
            status=DocumentStatus.STORED.value,
            error="an earlier read of it did not finish (its run stopped); it is read again",
        ).returning(_DOCUMENTS.c.id)
    ).scalars().all()
    if released:
        logger.warning("documents %s: their reads did not finish; they are read again", sorted(released))
    waiting = session.execute(
        select(_DOCUMENTS.c.id).where(_DOCUMENTS.c.status == DocumentStatus.STORED.value,
                                      _DOCUMENTS.c.kind.in_(list(kinds)),
                                      _DOCUMENTS.c.created_at < now - HANDOFF_GRACE)
        .order_by(_DOCUMENTS.c.id)
    ).scalars().all()
    return sorted({*waiting, *released})


def _not_taken(session: Session, document_id: int) -> str:
    document = session.execute(
        select(_DOCUMENTS.c.kind, _DOCUMENTS.c.status, _DOCUMENTS.c.original_name).where(_DOCUMENTS.c.id == document_id)
    ).one_or_none()
    if document is None:
        return f"document {document_id} does not exist"
    if document.kind not in READABLE_KINDS:
        return f"document {document_id} ({document.original_name}) is a {document.kind} file, not read here"
    return (f"document {document_id} ({document.original_name}) is {document.status}; "
            "run with force=True to read it again")


def invoice_values(result: Understanding, document_id: int) -> tuple[str, str, dict[str, Any]]:
    """(counterparty, number, values) for ``upsert_invoice`` from what was read."""
    reasons = list(result.reasons)
    counterparty = result.value("vendor") or result.value("vendor_vat_id") or result.value("iban")
    if not counterparty:
        counterparty, reasons = "unknown vendor", [*reasons, "saved under 'unknown vendor'"]
    number = result.value("invoice_number")
    if not number:
        number, reasons = f"document-{document_id}", [*reasons, f"saved under the number document-{document_id}"]
    counterparty, number = _fitted_keys(str(counterparty), str(number), reasons)
    needs_review = result.needs_review or len(reasons) > len(result.reasons)
    values: dict[str, Any] = {
        "direction": "payable",
        **{f.column: result.value(f.name) for f in INVOICE_FIELDS if f.name not in (*KEY_FIELDS, "currency")},
        "is_credit_note": bool(result.value("is_credit_note")),
        "source": "document",
        "document_id": document_id,
        "confidence": result.confidence,
        "needs_review": needs_review,
        "review_reasons": reasons if needs_review else [],
        "field_sources": {name: {"source": found.source, "confidence": round(found.confidence, 3)}
                          for name, found in result.fields.items()},
        "status": InvoiceStatus.NEEDS_REVIEW.value if needs_review else InvoiceStatus.OPEN.value,
    }
    if result.value("currency"):  # else the column's default
        values["currency"] = result.value("currency")
    return counterparty, number, _fitted_values(values)


_COLUMNS = Invoice.__table__.c
_NAME_LIMIT = min(text_limit(_COLUMNS.counterparty) or 300, text_limit(_COLUMNS.counterparty_key) or 300)
_NUMBER_LIMIT = text_limit(_COLUMNS.number) or 100


def _fitted_keys(counterparty: str, number: str, reasons: list[str]) -> tuple[str, str]:
    """The counterparty and number, cut to what their columns (and keys) hold, with a reason."""
    if len(counterparty) > _NAME_LIMIT or len(counterparty_key(counterparty)) > _NAME_LIMIT:
        cut = counterparty[:_NAME_LIMIT]
        while len(counterparty_key(cut)) > _NAME_LIMIT:  # a folded name can be longer than the name
            cut = cut[:-10]
        reasons.append(f"the vendor name read is {len(counterparty):,} characters long; only its first "
                       f"{len(cut)} are kept")
        counterparty = cut
    if len(invoice_number_key(number)) > _NUMBER_LIMIT:
        reasons.append(f"the invoice number read is {len(number):,} characters long; only its first "
                       f"{_NUMBER_LIMIT} are kept")
        number = invoice_number_key(number)[:_NUMBER_LIMIT]
    return counterparty, number


def _fitted_values(values: dict[str, Any]) -> dict[str, Any]:
    """``values`` with each one its column cannot hold (an amount beyond it, a text longer than
    it) left empty and held for review with the reason: never a database error."""
    reasons = []
    for name, value in values.items():
        column = _COLUMNS.get(name)
        reason = misfit(column, value) if column is not None and value is not None else None
        if reason is not None:
            values[name] = None
            reasons.append(f"{name} left empty: the value read has {reason}" if isinstance(value, str)
                           else f"{name} left empty: {reason}")
    if not reasons:
        return values
    return {**values, "needs_review": True, "status": InvoiceStatus.NEEDS_REVIEW.value,
            "review_reasons": [*values.get("review_reasons", []), *reasons]}


_FINISH = (
    update(_DOCUMENTS)
    .where(_DOCUMENTS.c.id == bindparam("document_id"))
    .values(status=bindparam("status"), error=bindparam("error"), processed_at=bindparam("now"),
            text=case((func.coalesce(_DOCUMENTS.c.text, "") == "", bindparam("text", type_=Text)),
                      else_=_DOCUMENTS.c.text),
            text_source=func.coalesce(bindparam("text_source", type_=Text), _DOCUMENTS.c.text_source),
            page_count=func.coalesce(bindparam("page_count", type_=Integer), _DOCUMENTS.c.page_count))
    .returning(_DOCUMENTS.c.original_name)
)


def _finish_document(session: Session, document_id: int, result: Understanding, status: str,
                     error: str | None) -> str:
    """Record the document's outcome and what was read of it (the text only if it had none);
    returns the document's name."""
    name = session.execute(_FINISH, {
        "document_id": document_id, "status": status, "error": error, "now": datetime.now(timezone.utc),
        "text": result.text or None, "text_source": result.text_source or None, "page_count": result.page_count or None,
    }).scalar_one_or_none()
    if name is None:
        raise LookupError(f"document {document_id} disappeared while it was being read")
    return name


def _over_existing(existing: Invoice | None, values: dict[str, Any]) -> dict[str, Any]:
    """What of ``values`` read again from a document may change the invoice already recorded:
    nothing when a person or the workbook wrote it or an equal or better read did (the file is
    only linked); a settled invoice keeps its status."""
    if existing is None:
        return values
    if existing.source != "document" or (existing.confidence or 0) >= values["confidence"]:
        return {}
    if existing.status in _SETTLED:
        return {k: v for k, v in values.items() if k != "status"}
    return values


def save_result(session: Session, document_id: int, result: Understanding, actor: str,
                flow_run_id: str | None = None) -> dict[str, Any]:
    """Record what was read: the invoice (created, updated or linked) and the document's status."""
    if result.error is not None:
        name = _finish_document(session, document_id, result, DocumentStatus.FAILED.value, result.error)
        return {"document_id": document_id, "name": name, "status": "failed", "reason": result.error}
    if not result.is_invoice:
        reason = "; ".join(result.reasons)[:2000]
        name = _finish_document(session, document_id, result, DocumentStatus.NOT_INVOICE.value, reason)
        return {"document_id": document_id, "name": name, "status": "not_invoice", "reason": reason}
    name = _finish_document(session, document_id, result, DocumentStatus.PROCESSED.value, None)
    counterparty, number, values = invoice_values(result, document_id)
    einvoice = einvoice_check(session, document_id, result.text_source)  # validated; a hybrid's page against its XML
    values = held_for_review(check_vendor(session, counterparty, values), einvoice)
    written = create_invoice(session, counterparty, number, values, actor=actor, flow_run_id=flow_run_id,
                             document_id=document_id)
    if written is None:  # seen before: update it, or only link the file
        existing = find_invoice(session, counterparty, number)
        values = _over_existing(existing, values)
        written = write_invoice(session, existing, counterparty, number, values, actor=actor,
                                flow_run_id=flow_run_id, document_id=document_id)
    if einvoice is not None:  # its lines, findings and (an XML file's) readable rendering
        einvoice.store(session, written.invoice_id)
    return {"document_id": document_id, "name": name, "status": "processed", "invoice_id": written.invoice_id,
            "outcome": written.outcome, "counterparty": counterparty, "number": number,
            "confidence": result.confidence, "needs_review": bool(values.get("needs_review", False)),
            "reason": "; ".join(values.get("review_reasons", [])),
            **({"einvoice": einvoice.summary()} if einvoice is not None else {})}


def mark_failed(session: Session, document_id: int, reason: str) -> None:
    """Release a claimed document after an unexpected error, with the reason."""
    document = session.get(Document, document_id)
    if document is not None and document.status == DocumentStatus.PROCESSING.value:
        document.status, document.error = DocumentStatus.FAILED.value, reason[:2000]
