"""The open-invoice overview: open, overdue and due-soon totals per currency, and aging buckets."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import Invoice, InvoiceStatus

# Invoices that still carry an open balance (disputed and unreviewed ones included: the money is open).
OPEN_STATUSES = (
    InvoiceStatus.OPEN.value,
    InvoiceStatus.PARTIALLY_PAID.value,
    InvoiceStatus.DISPUTED.value,
    InvoiceStatus.NEEDS_REVIEW.value,
)
AGING_BUCKETS = ("current", "1-30", "31-60", "61-90", "90+")
ZERO = Decimal("0.00")


def aging_bucket(due_date: date | None, today: date) -> str:
    """The aging bucket of an open invoice by days past its due date (no due date: current)."""
    return bucket_for_days(0 if due_date is None else (today - due_date).days)


def bucket_for_days(days: int) -> str:
    """The aging bucket for ``days`` past due (zero or less: current)."""
    if days <= 0:
        return "current"
    if days <= 30:
        return "1-30"
    if days <= 60:
        return "31-60"
    if days <= 90:
        return "61-90"
    return "90+"


def open_balance(invoice: Invoice) -> Decimal:
    if invoice.total is None:
        return ZERO
    return invoice.total - (invoice.paid_amount or ZERO)


@dataclass
class CurrencyTotals:
    open_count: int = 0
    open_amount: Decimal = ZERO
    overdue_count: int = 0
    overdue_amount: Decimal = ZERO
    due_soon_count: int = 0
    due_soon_amount: Decimal = ZERO
    aging: dict[str, Decimal] = field(default_factory=lambda: {bucket: ZERO for bucket in AGING_BUCKETS})


@dataclass
class Overview:
    today: date
    due_soon_days: int
    by_direction: dict[str, dict[str, CurrencyTotals]]  # direction -> currency -> totals

    def rows(self) -> list[dict[str, object]]:
        """One flat row per (direction, currency), for tables and workbooks."""
        flat = []
        for direction, currencies in sorted(self.by_direction.items()):
            for currency, totals in sorted(currencies.items()):
                flat.append({
                    "direction": direction, "currency": currency,
                    "open": totals.open_count, "open amount": totals.open_amount,
                    "overdue": totals.overdue_count, "overdue amount": totals.overdue_amount,
                    f"due in {self.due_soon_days} days": totals.due_soon_count,
                    "due soon amount": totals.due_soon_amount,
                    **{f"aging {bucket}": amount for bucket, amount in totals.aging.items()},
                })
        return flat


def build_overview(session: Session, today: date, due_soon_days: int = 7) -> Overview:
    """Totals of every invoice with an open balance, per direction and currency."""
    by_direction: dict[str, dict[str, CurrencyTotals]] = defaultdict(lambda: defaultdict(CurrencyTotals))
    invoices = session.scalars(select(Invoice).where(Invoice.status.in_(OPEN_STATUSES)))
    for invoice in invoices:
        balance = open_balance(invoice)
        if balance <= 0:
            continue
        totals = by_direction[invoice.direction][invoice.currency]
        totals.open_count += 1
        totals.open_amount += balance
        totals.aging[aging_bucket(invoice.due_date, today)] += balance
        if invoice.due_date is None:
            continue
        days_left = (invoice.due_date - today).days
        if days_left < 0:
            totals.overdue_count += 1
            totals.overdue_amount += balance
        elif days_left <= due_soon_days:
            totals.due_soon_count += 1
            totals.due_soon_amount += balance
    return Overview(today, due_soon_days, {d: dict(c) for d, c in by_direction.items()})
