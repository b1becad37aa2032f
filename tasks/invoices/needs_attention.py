"""What needs a person's look: invoices waiting for review, and documents that could not be
read (failed, or quarantined at intake) recently. The daily overview lists them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db.models import Document, DocumentStatus, Invoice, InvoiceStatus

UNREAD = (DocumentStatus.FAILED.value, DocumentStatus.QUARANTINED.value)
MAX_ROWS = 200  # per list; the count says how many there are in all


@dataclass
class Attention:
    reviews: list[dict[str, Any]]
    review_count: int
    documents: list[dict[str, Any]]
    document_count: int


def needs_attention(session: Session, now: datetime, document_days: int = 7) -> Attention:
    """Invoices in ``needs_review`` (oldest first, with their reasons) and documents that could
    not be read in the last ``document_days`` days (newest first)."""
    review = Invoice.status == InvoiceStatus.NEEDS_REVIEW.value
    invoices = session.scalars(select(Invoice).where(review).order_by(Invoice.created_at, Invoice.id)
                               .limit(MAX_ROWS)).all()
    unread = (Document.status.in_(UNREAD)) & (Document.created_at >= now - timedelta(days=document_days))
    documents = session.scalars(select(Document).where(unread).order_by(Document.created_at.desc(), Document.id.desc())
                                .limit(MAX_ROWS)).all()
    return Attention(
        reviews=[{"invoice": i.id, "vendor or customer": i.counterparty, "number": i.number,
                  "total": "" if i.total is None else f"{i.total} {i.currency}", "due": i.due_date or "",
                  "why": "; ".join(i.review_reasons or []) or "marked for review", "since": i.created_at.date()}
                 for i in invoices],
        review_count=_count(session, select(Invoice.id).where(review)),
        documents=[{"document": d.id, "name": d.original_name, "status": d.status, "why": d.error or "",
                    "arrived": d.created_at.date()} for d in documents],
        document_count=_count(session, select(Document.id).where(unread)),
    )


def _count(session: Session, query: Any) -> int:
    return session.scalar(select(func.count()).select_from(query.subquery())) or 0
