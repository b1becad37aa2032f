"""Payments: marking an invoice paid in full or in part, with an audit entry each time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import Invoice, InvoiceStatus
from tasks.errors import InvoiceAutomationError
from tasks.invoices.records import counterparty_key, invoice_number_key, update_invoice

CENT = Decimal("0.01")


class PaymentError(InvoiceAutomationError):
    """A payment could not be recorded (unknown or ambiguous invoice, bad amount, closed invoice)."""


@dataclass(frozen=True)
class PaymentResult:
    invoice_id: int
    counterparty: str
    number: str
    currency: str
    status: str
    paid_amount: Decimal
    balance: Decimal | None
    changes: dict[str, list[object]]


def find_for_payment(session: Session, number: str, counterparty: str | None) -> Invoice:
    """The one invoice with this number (and counterparty, when several share the number)."""
    query = select(Invoice).where(Invoice.number == invoice_number_key(number))
    if counterparty:
        query = query.where(Invoice.counterparty_key == counterparty_key(counterparty))
    found = session.scalars(query).all()
    if not found:
        who = f" from {counterparty}" if counterparty else ""
        raise PaymentError(f"no invoice number {number!r}{who}")
    if len(found) > 1:
        names = ", ".join(sorted(invoice.counterparty for invoice in found))
        raise PaymentError(f"invoice number {number!r} exists for several counterparties ({names}); name one")
    return found[0]


def _amount(value: Decimal | str | float | None, invoice: Invoice) -> Decimal:
    if value is None or value == "":
        if invoice.total is None:
            raise PaymentError(f"invoice {invoice.number} has no total; give the amount paid")
        return (invoice.total - (invoice.paid_amount or Decimal("0"))).quantize(CENT)
    try:
        amount = Decimal(str(value)).quantize(CENT)
    except InvalidOperation as err:
        raise PaymentError(f"invoice {invoice.number}: {value!r} is not an amount") from err
    if amount <= 0:
        raise PaymentError(f"invoice {invoice.number}: the amount paid must be positive, got {amount}")
    return amount


def record_payment(
    session: Session,
    number: str,
    counterparty: str | None,
    amount: Decimal | str | float | None,
    paid_on: date,
    actor: str,
    flow_run_id: str | None = None,
) -> PaymentResult:
    """Add a payment to an invoice: the full balance when ``amount`` is None.

    A payment below the balance leaves the invoice partially paid with the rest as balance;
    reaching the total marks it paid. Cancelled invoices take no payment.
    """
    invoice = find_for_payment(session, number, counterparty)
    if invoice.status == InvoiceStatus.CANCELLED.value:
        raise PaymentError(f"invoice {invoice.number} from {invoice.counterparty} is cancelled")
    if invoice.status == InvoiceStatus.PAID.value:
        raise PaymentError(f"invoice {invoice.number} from {invoice.counterparty} is already paid in full")
    paid = _amount(amount, invoice)
    total_paid = (invoice.paid_amount or Decimal("0")) + paid
    balance = None if invoice.total is None else (invoice.total - total_paid).quantize(CENT)
    status = InvoiceStatus.PAID.value if balance is not None and balance <= 0 else InvoiceStatus.PARTIALLY_PAID.value
    changes = update_invoice(
        session,
        invoice,
        {"paid_amount": total_paid, "paid_date": paid_on, "status": status},
        actor=actor,
        action="payment",
        flow_run_id=flow_run_id,
    )
    return PaymentResult(
        invoice.id, invoice.counterparty, invoice.number, invoice.currency, status, total_paid, balance, changes
    )
