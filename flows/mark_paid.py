"""mark-paid: record a payment for an invoice (run from its form in the Prefect UI or the CLI)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from prefect import flow, get_run_logger
from prefect.runtime import flow_run

from db.session import session_scope
from tasks.invoices.payments import record_payment
from tasks.operations.run_alerts import ALERT_HOOKS
from tasks.operations.run_reports import publish_markdown, summary_markdown
from tasks.settings import get_settings


@flow(name="mark-paid", **ALERT_HOOKS)
def mark_paid(
    invoice_number: str,
    counterparty: str = "",
    paid_on: date | None = None,
    amount: Decimal | None = None,
    recorded_by: str = "",
) -> dict[str, str]:
    """Mark an invoice paid, in full or in part.

    Args:
        invoice_number: the invoice number as on the invoice.
        counterparty: vendor or customer name; needed only when two counterparties use the same number.
        paid_on: date of the payment; empty for today (business time zone).
        amount: amount paid; empty for the whole open balance. Less than the balance leaves the rest open.
        recorded_by: who records the payment (kept in the audit trail).
    """
    settings = get_settings()
    logger = get_run_logger()
    day = paid_on or datetime.now(settings.zone).date()
    with session_scope() as session:
        result = record_payment(
            session,
            invoice_number,
            counterparty or None,
            amount,
            day,
            actor=recorded_by or "mark-paid",
            flow_run_id=str(flow_run.get_id() or ""),
        )
    summary = {
        "invoice": result.number,
        "counterparty": result.counterparty,
        "status": result.status,
        "paid": f"{result.paid_amount} {result.currency}",
        "balance": "" if result.balance is None else f"{result.balance} {result.currency}",
    }
    logger.info("invoice %s from %s: %s, balance %s", result.number, result.counterparty, result.status, result.balance)
    publish_markdown(
        "mark-paid",
        summary_markdown("Payment recorded", summary, note=f"Paid on {day.isoformat()}."),
        f"{result.number}: {result.status}",
    )
    return summary
