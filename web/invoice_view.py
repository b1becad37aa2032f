"""Everything the page of one invoice shows: its fields with their source, why it needs a look,
its document, the e-mail it came with, its history, the reminders sent and the runs that touched it."""

from __future__ import annotations

import email
import email.policy
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import AuditEvent, Document, DocumentOrigin, Invoice, InvoiceAssignment, MailMessage, Reminder, User
from tasks.documents.store import read_stored
from tasks.errors import InvoiceAutomationError
from tasks.invoices.fields import INVOICE_FIELDS
from tasks.invoices.review import FORM_FIELDS
from tasks.settings import get_settings

MAX_MAIL_TEXT = 20_000


@dataclass
class FieldView:
    label: str
    form: str | None
    kind: str
    value: Any
    source: str
    confidence: float | None


@dataclass
class InvoiceView:
    invoice: Invoice
    fields: list[FieldView]
    document: Document | None
    mail: MailMessage | None
    mail_text: str
    history: list[AuditEvent]
    reminders: list[Reminder]
    run_ids: list[str]
    assignee_id: int | None
    people: list[tuple[int, str]]


def _mail_of(session: Session, invoice: Invoice) -> MailMessage | None:
    if invoice.mail_message_id:
        return session.get(MailMessage, invoice.mail_message_id)
    if invoice.document_id:
        found = session.scalars(select(DocumentOrigin.mail_message_id).where(
            DocumentOrigin.document_id == invoice.document_id, DocumentOrigin.mail_message_id.is_not(None))).first()
        return session.get(MailMessage, found) if found else None
    return None


def mail_text(session: Session, message: MailMessage | None) -> str:
    """The plain text of the message (as text, never rendered), or ''."""
    if message is None or not message.raw_document_id:
        return ""
    document = session.get(Document, message.raw_document_id)
    if document is None:
        return ""
    try:
        parsed = email.message_from_bytes(read_stored(get_settings().documents_dir, document.storage_path),
                                          policy=email.policy.default)
        body = parsed.get_body(preferencelist=("plain",))  # type: ignore[attr-defined]
        return (body.get_content() if body is not None else "")[:MAX_MAIL_TEXT]
    except (InvoiceAutomationError, OSError, LookupError, ValueError) as err:
        return f"(the message could not be read: {type(err).__name__})"


def _source(recorded: Any) -> tuple[str, float | None]:
    """(where a value came from, how sure the reading was) as the invoice recorded it."""
    if isinstance(recorded, dict):
        confidence = recorded.get("confidence")
        return str(recorded.get("source") or ""), float(confidence) if isinstance(confidence, (int, float)) else None
    return ("" if recorded is None else str(recorded)), None


def invoice_view(session: Session, invoice_id: int) -> InvoiceView | None:
    invoice = session.get(Invoice, invoice_id)
    if invoice is None:
        return None
    sources = invoice.field_sources or {}
    fields = [FieldView(f.label, f.form, f.kind, getattr(invoice, f.column),
                        *_source(sources.get(f.column) or sources.get(f.name)))  # a review records columns, reading names
              for f in INVOICE_FIELDS]
    history = list(session.scalars(select(AuditEvent).where(AuditEvent.invoice_id == invoice.id)
                                   .order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(200)))
    reminders = list(session.scalars(select(Reminder).where(Reminder.invoice_id == invoice.id)
                                     .order_by(Reminder.claimed_at.desc())))
    runs = [e.flow_run_id for e in history if e.flow_run_id] + [r.flow_run_id for r in reminders if r.flow_run_id]
    message = _mail_of(session, invoice)
    assignee = session.scalar(select(InvoiceAssignment.user_id).where(InvoiceAssignment.invoice_id == invoice.id))
    people = [(u.id, u.name) for u in session.scalars(
        select(User).where(User.active.is_(True), User.password_hash.is_not(None)).order_by(User.name))]
    return InvoiceView(invoice, fields, session.get(Document, invoice.document_id) if invoice.document_id else None,
                       message, mail_text(session, message), history, reminders, list(dict.fromkeys(runs)),
                       assignee, people)


def form_answer(form: dict[str, str]) -> dict[str, Any]:
    """The correction form's values as ``apply_review`` takes them (empty: left as it was)."""
    from datetime import date
    from decimal import Decimal, InvalidOperation

    kinds = {f.form: f.kind for f in INVOICE_FIELDS if f.form}
    answer: dict[str, Any] = {}
    for name in FORM_FIELDS:
        raw = (form.get(name) or "").strip()
        if name == "status" or not raw:
            continue
        kind = kinds.get(name, "text")
        try:
            if kind == "date":
                answer[name] = date.fromisoformat(raw)
            elif kind == "amount":
                answer[name] = Decimal(raw.replace(" ", "").replace(",", "."))
            else:
                answer[name] = raw[:300]
        except (ValueError, InvalidOperation) as err:
            raise InvoiceAutomationError(f"{name.replace('_', ' ')}: {raw!r} is not a {kind}") from err
    if "currency" in answer:
        answer["currency"] = str(answer["currency"]).upper()[:3]
    return answer
