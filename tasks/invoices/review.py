"""Reviewing an invoice that needs a human look: the values to show, saving the correction with
an audit entry, and remembering it as a vendor template hint so the next invoice from that
vendor reads right."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import Document, Invoice, InvoiceStatus, VendorTemplate
from tasks.errors import InvoiceAutomationError
from tasks.invoices.fields import INVOICE_FIELDS
from tasks.invoices.records import (
    counterparty_key,
    invoice_number_key,
    record_audit,
    update_invoice,
)
from tasks.extraction.teaching import Lesson, lesson
from tasks.invoices.vendors import confirm_vendor
from tasks.operations.run_reports import plain

logger = logging.getLogger(__name__)

# Form field -> invoice column.
FORM_FIELDS = {**{f.form: f.column for f in INVOICE_FIELDS if f.form}, "status": "status"}
# Invoice column -> vendor template field, for the hints a review leaves.
TEMPLATE_FIELDS = {f.column: f.name for f in INVOICE_FIELDS if f.taught}
CONSTANT_FIELDS = {f.column for f in INVOICE_FIELDS if f.per_vendor}  # the same on every invoice of one vendor
REVIEWABLE_STATUSES = ("open", "paid", "partially_paid", "disputed", "cancelled")
_TEMPLATE_PREFIX = "review-"


class ReviewError(InvoiceAutomationError):
    """A review could not be saved (unknown invoice, a key already used by another invoice)."""


def review_values(invoice: Invoice) -> dict[str, Any]:
    """The form's initial values: what was extracted, by form field."""
    values = {form: getattr(invoice, column) for form, column in FORM_FIELDS.items()}
    if values["status"] == InvoiceStatus.NEEDS_REVIEW.value:
        values["status"] = InvoiceStatus.OPEN.value
    return values


def review_description(invoice: Invoice, document_url: str | None) -> str:
    # The number, the vendor and the reasons quote the document: shown as text, never as Markdown.
    reasons = "\n".join(f"- {plain(reason)}" for reason in invoice.review_reasons or []) or "- (no reason recorded)"
    sources = ", ".join(f"{k}: {plain(v)}" for k, v in sorted((invoice.field_sources or {}).items())) or "unknown"
    confidence = "unknown" if invoice.confidence is None else f"{invoice.confidence:.0%}"
    lines = [
        f"## Review invoice {plain(invoice.number)} from {plain(invoice.counterparty)}",
        "",
        f"Confidence {confidence}. Why it needs a look:",
        reasons,
        "",
        f"Where each value came from: {sources}.",
    ]
    if document_url:
        lines += ["", f"Document: {document_url}"]
    lines += ["", "Correct what is wrong and submit. Untick *remember_for_vendor* if this invoice is unusual."]
    return "\n".join(lines)


def _key_taken(session: Session, invoice: Invoice, counterparty: str, number: str) -> bool:
    other = session.scalars(
        select(Invoice.id).where(
            Invoice.counterparty_key == counterparty_key(counterparty),
            Invoice.number == invoice_number_key(number),
            Invoice.id != invoice.id,
        )
    ).first()
    return other is not None


@dataclass(frozen=True)
class ReviewOutcome:
    invoice_id: int
    changes: dict[str, list[Any]]
    template: str | None


def apply_review(
    session: Session, invoice_id: int, answer: dict[str, Any], reviewer: str, remember: bool,
    flow_run_id: str | None = None,
) -> ReviewOutcome:
    """Save a reviewer's answer: corrected values, review cleared, an audit entry, a template hint."""
    invoice = session.get(Invoice, invoice_id)
    if invoice is None:
        raise ReviewError(f"invoice {invoice_id} does not exist")
    status = answer.get("status") or InvoiceStatus.OPEN.value
    if status not in REVIEWABLE_STATUSES:
        raise ReviewError(f"invoice {invoice.number}: status {status!r} is not one of {', '.join(REVIEWABLE_STATUSES)}")
    counterparty = (answer.get("counterparty") or invoice.counterparty).strip()
    number = invoice_number_key(answer.get("invoice_number") or invoice.number)
    if _key_taken(session, invoice, counterparty, number):
        raise ReviewError(f"invoice {number} from {counterparty} already exists as another record; "
                          "correct the number or counterparty")
    before = {column: getattr(invoice, column) for column in FORM_FIELDS.values()}
    values = {column: answer[form] for form, column in FORM_FIELDS.items()
              if form in answer and column not in {"counterparty", "number", "status"}}
    values.update(status=status, needs_review=False, review_reasons=[],
                  field_sources={**(invoice.field_sources or {}), **{c: "review" for c in values}})
    changes = update_invoice(session, invoice, values, actor=reviewer or "review", action="review",
                             flow_run_id=flow_run_id)
    key_changes = {}
    if counterparty != invoice.counterparty:
        key_changes["counterparty"] = [invoice.counterparty, counterparty]
        invoice.counterparty, invoice.counterparty_key = counterparty, counterparty_key(counterparty)
    if number != invoice.number:
        key_changes["number"] = [invoice.number, number]
        invoice.number = number
    if key_changes:
        session.flush()
        record_audit(session, invoice.id, reviewer or "review", "review", key_changes, flow_run_id)
        changes.update(key_changes)
    confirm_vendor(session, invoice)
    template = None
    if remember and changes:
        corrected = {column for column in FORM_FIELDS.values() if before[column] != getattr(invoice, column)}
        template = remember_for_vendor(session, invoice, corrected)
    return ReviewOutcome(invoice.id, changes, template)


def remember_for_vendor(session: Session, invoice: Invoice, corrected: set[str]) -> str | None:
    """Store what the correction teaches as this vendor's template (payable invoices with a text):
    the vendor recognised by its VAT id, IBAN or name as printed, each corrected field by its label."""
    if invoice.direction != "payable" or invoice.document_id is None:
        return None
    document = session.get(Document, invoice.document_id)
    text = (document.text if document else None) or ""
    name = _TEMPLATE_PREFIX + re.sub(r"[^a-z0-9]+", "-", counterparty_key(invoice.counterparty)).strip("-")
    template = session.scalars(select(VendorTemplate).where(VendorTemplate.name == name)).one_or_none()
    known = Lesson(list(template.keywords or []), dict(template.fields or {}), dict(template.options or {})) \
        if template else None
    values = {column: getattr(invoice, column) for column in {*TEMPLATE_FIELDS, "currency"}}
    learnt = lesson(text, invoice.counterparty, values, corrected, TEMPLATE_FIELDS, CONSTANT_FIELDS, known)
    if not learnt.keywords:
        logger.info("no template hint for %s: %s", invoice.counterparty, learnt.why)
        return None
    if learnt.why:
        logger.info("template hint for %s: %s", invoice.counterparty, learnt.why)
    if template is None:
        template = VendorTemplate(name=name, exclude_keywords=[], origin="review", priority=5)
        session.add(template)
    template.keywords, template.fields, template.options = learnt.keywords, learnt.fields, learnt.options
    session.flush()
    return template.name
