"""The reminder emails: one digest per user, and the optional email to a customer's contact.

Builds the template context from invoices (balance of partially paid ones, days overdue, a link
to each invoice's document) and renders it with `notifications.compose`.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import Direction, Document, Invoice, InvoiceStatus
from notifications.compose import (
    RenderedEmail,
    build_message,
    parse_locale,
    render_email,
)
from notifications.transports import local_domain
from tasks.reminders.policy import level_offset
from tasks.settings import Settings

SECTIONS = {
    Direction.PAYABLE.value: ("To pay", "to pay"),
    Direction.RECEIVABLE.value: ("To chase (customers who owe us)", "to chase"),
}


@dataclass(frozen=True)
class Addressee:
    address: str
    name: str
    locale: str


def document_link(settings: Settings, document: Document | None) -> str | None:
    """Where a person opens the invoice's document: settings.reminders.document_url, or a file:// link."""
    if document is None:
        return None
    template = settings.reminders.document_url
    if template:
        return template.format(document_id=document.id, sha256=document.sha256, path=document.storage_path)
    return (Path(settings.documents_dir) / document.storage_path).resolve().as_uri()


def invoice_page(settings: Settings, invoice_id: int) -> str:
    """The invoice's page at the desk (its document beside its fields), at the desk's public address."""
    return f"{settings.desk.public_url.rstrip('/')}/invoices/{invoice_id}"


def _load(session: Session, invoice_ids: list[int]) -> tuple[dict[int, Invoice], dict[int, Document]]:
    invoices: dict[int, Invoice] = {}
    for start in range(0, len(invoice_ids), 1000):
        chunk = invoice_ids[start : start + 1000]
        invoices.update((i.id, i) for i in session.scalars(select(Invoice).where(Invoice.id.in_(chunk))))
    document_ids = sorted({i.document_id for i in invoices.values() if i.document_id})
    documents: dict[int, Document] = {}
    for start in range(0, len(document_ids), 1000):
        chunk = document_ids[start : start + 1000]
        documents.update((d.id, d) for d in session.scalars(select(Document).where(Document.id.in_(chunk))))
    return invoices, documents


def item_context(settings: Settings, invoice: Invoice, level: int, today: date, document: Document | None) -> dict[str, Any]:
    balance = invoice.balance
    due = invoice.due_date or today
    return {
        "invoice_id": invoice.id,
        "counterparty": invoice.counterparty,
        "number": invoice.number,
        "direction": invoice.direction,
        "due_date": invoice.due_date,
        "days_overdue": (today - due).days,
        "level": level,
        "level_days": level_offset(settings.reminders, level),
        "currency": invoice.currency or "EUR",
        "total": invoice.total,
        "paid": invoice.paid_amount or Decimal("0"),
        "balance": balance,
        "partially_paid": bool(invoice.paid_amount) or invoice.status == InvoiceStatus.PARTIALLY_PAID.value,
        "needs_review": invoice.needs_review or invoice.status == InvoiceStatus.NEEDS_REVIEW.value,
        "reference": invoice.reference,
        "link": document_link(settings, document),
        "page": invoice_page(settings, invoice.id),
    }


def digest_context(settings: Settings, addressee: Addressee, items: list[dict[str, Any]], today: date) -> dict[str, Any]:
    by_direction: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for item in sorted(items, key=lambda i: (i["due_date"] or today, i["counterparty"].casefold(), i["number"])):
        by_direction[item["direction"]].append(item)
    sections = []
    for direction, (title, short) in SECTIONS.items():
        rows = by_direction.get(direction, [])
        if not rows:
            continue
        totals: dict[str, Decimal] = defaultdict(Decimal)
        for row in rows:
            if row["balance"] is not None:
                totals[row["currency"]] += row["balance"]
        sections.append({"direction": direction, "title": title, "short": short, "items": rows,
                         "totals": sorted(totals.items())})
    return {
        "user_name": addressee.name,
        "today": today,
        "sections": sections,
        "count": len(items),
        "overdue": sum(1 for i in items if i["days_overdue"] > 0),
        "app_url": settings.reminders.app_url,
        "business_name": settings.reminders.business_name,
    }


def render_digest(settings: Settings, session: Session, addressee: Addressee, items: list[tuple[int, int]], today: date) -> RenderedEmail:
    """Render the digest for ``items`` ((invoice_id, level) pairs) to ``addressee``."""
    invoices, documents = _load(session, [invoice_id for invoice_id, _ in items])
    rows = [
        item_context(settings, invoices[invoice_id], level, today, documents.get(invoices[invoice_id].document_id or 0))
        for invoice_id, level in items
        if invoice_id in invoices
    ]
    context = digest_context(settings, addressee, rows, today)
    return render_email("reminder_digest", context, parse_locale(addressee.locale), settings.reminders.templates_dir)


def render_customer_email(settings: Settings, session: Session, addressee: Addressee, invoice_id: int, level: int, today: date) -> RenderedEmail:
    invoice = session.get(Invoice, invoice_id)
    if invoice is None:
        raise LookupError(f"invoice {invoice_id} no longer exists")
    context = {
        "item": item_context(settings, invoice, level, today, None),
        "customer_name": invoice.customer_name or invoice.counterparty,
        "business_name": settings.reminders.business_name,
        "today": today,
    }
    return render_email("customer_reminder", context, parse_locale(addressee.locale), settings.reminders.templates_dir)


def to_message(settings: Settings, addressee: Addressee, rendered: RenderedEmail, digest_id: str) -> EmailMessage:
    return build_message(
        settings.smtp.sender,
        [(addressee.address, addressee.name)],
        rendered,
        sender_name=settings.reminders.business_name or "Invoice reminders",
        message_id=digest_id,
        domain=local_domain(settings),
        headers={"X-Invoices-Digest": digest_id},
    )
