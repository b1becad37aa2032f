"""What a person does to one invoice at the desk, through the same functions as the flows
(``record_payment``, ``apply_review``, ``update_invoice``), each change in the audit trail with
their name."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from db.models import Invoice, InvoiceAssignment, InvoiceStatus, User
from tasks.errors import InvoiceAutomationError
from tasks.invoices.payments import PaymentResult, record_payment
from tasks.invoices.records import record_audit, update_invoice
from tasks.invoices.review import REVIEWABLE_STATUSES, ReviewOutcome, apply_review

# action -> the statuses it may start from
STATUS_ACTIONS: dict[str, tuple[str, ...]] = {
    "dispute": ("open", "partially_paid", "needs_review"),
    "cancel": ("open", "partially_paid", "needs_review", "disputed"),
    "reopen": ("disputed", "cancelled", "paid"),
}


class DeskActionError(InvoiceAutomationError):
    """An action a person asked for that cannot be done (the page says why)."""


def invoice_or_error(session: Session, invoice_id: int) -> Invoice:
    invoice = session.get(Invoice, invoice_id)
    if invoice is None:
        raise DeskActionError(f"there is no invoice {invoice_id}")
    return invoice


def pay(session: Session, invoice_id: int, amount: str, paid_on: date, note: str, actor: str) -> PaymentResult:
    """Record a payment (``amount`` empty: the whole balance) and a note beside it."""
    invoice = invoice_or_error(session, invoice_id)
    result = record_payment(session, invoice.number, invoice.counterparty, amount.strip() or None, paid_on, actor)
    if note.strip():
        add_note(session, invoice, f"{paid_on.isoformat()} paid {result.paid_amount} {result.currency}: "
                                   f"{note.strip()}", actor)
    return result


def add_note(session: Session, invoice: Invoice, line: str, actor: str) -> None:
    notes = "\n".join(filter(None, [invoice.notes, line[:2000]]))
    update_invoice(session, invoice, {"notes": notes}, actor, "note")


def correct(session: Session, invoice_id: int, answer: dict[str, Any], actor: str, remember: bool) -> ReviewOutcome:
    """Save corrected fields; the invoice keeps its status (one that waited for review opens)."""
    invoice = invoice_or_error(session, invoice_id)
    if invoice.status in REVIEWABLE_STATUSES:
        answer = {"status": invoice.status, **answer}
    return apply_review(session, invoice_id, answer, actor, remember)


def approve(session: Session, invoice_id: int, actor: str) -> ReviewOutcome:
    """Approve as read: the values stay as they are, the review is cleared."""
    invoice = invoice_or_error(session, invoice_id)
    if not invoice.needs_review and invoice.status != InvoiceStatus.NEEDS_REVIEW.value:
        raise DeskActionError(f"invoice {invoice.number} does not need a review")
    return apply_review(session, invoice_id, {}, actor, remember=False)


def _reopened_status(invoice: Invoice) -> str:
    paid = invoice.paid_amount or Decimal(0)
    if invoice.total is not None and paid >= invoice.total > 0:
        return InvoiceStatus.PAID.value
    return InvoiceStatus.PARTIALLY_PAID.value if paid > 0 else InvoiceStatus.OPEN.value


def change_status(session: Session, invoice_id: int, action: str, actor: str) -> dict[str, list[Any]]:
    invoice = invoice_or_error(session, invoice_id)
    if action not in STATUS_ACTIONS:
        raise DeskActionError(f"{action!r} is not something the desk does to an invoice")
    if invoice.status not in STATUS_ACTIONS[action]:
        raise DeskActionError(f"invoice {invoice.number} is {invoice.status.replace('_', ' ')}; it cannot {action}")
    if action == "reopen":
        status = InvoiceStatus.OPEN.value if invoice.status == InvoiceStatus.PAID.value else _reopened_status(invoice)
        values: dict[str, Any] = {"status": status}
        if invoice.status == InvoiceStatus.PAID.value:
            values.update(paid_amount=None, paid_date=None)
    else:
        values = {"status": InvoiceStatus.DISPUTED.value if action == "dispute" else InvoiceStatus.CANCELLED.value}
    return update_invoice(session, invoice, values, actor, action)


def assign(session: Session, invoice_id: int, user_id: int | None, actor: str) -> None:
    """Give the invoice to a person (None: to nobody), with an audit entry."""
    invoice = invoice_or_error(session, invoice_id)
    before = session.scalars(select(User.email).join(InvoiceAssignment, InvoiceAssignment.user_id == User.id)
                             .where(InvoiceAssignment.invoice_id == invoice.id)).first()
    after = None
    if user_id is not None:
        user = session.get(User, user_id)
        if user is None or not user.active:
            raise DeskActionError(f"there is no active person {user_id}")
        after = user.email
    if before == after:
        return
    session.execute(delete(InvoiceAssignment).where(InvoiceAssignment.invoice_id == invoice.id))
    if user_id is not None:
        session.add(InvoiceAssignment(invoice_id=invoice.id, user_id=user_id))
    session.flush()
    record_audit(session, invoice.id, actor, "assign", {"assignee": [before, after]})
