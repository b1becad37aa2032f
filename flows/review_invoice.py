"""review-invoice: pause for a person to correct an invoice that needs review, in a Prefect UI form."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, Literal

from prefect import flow, get_run_logger
from prefect.exceptions import FlowPauseTimeout
from prefect.flow_runs import pause_flow_run
from prefect.input import RunInput
from prefect.runtime import flow_run
from pydantic import create_model
from sqlalchemy import select

from db.models import Invoice, InvoiceStatus
from db.session import session_scope
from tasks.invoices.fields import INVOICE_FIELDS, KEY_FIELDS
from tasks.invoices.review import apply_review, review_description, review_values
from tasks.operations.run_alerts import ALERT_HOOKS
from tasks.operations.run_reports import (
    markdown_table,
    plain,
    publish_markdown,
    summary_markdown,
)

_FORM_TYPES = {"date": date, "amount": Decimal, "text": str}


def _review_form() -> type[RunInput]:
    """The review form: the extracted values, to be corrected where wrong; its fields are the
    invoice fields a review may set (tasks.invoices.fields), the invoice's key ones required."""
    fields: dict[str, Any] = {}
    for field in INVOICE_FIELDS:
        if field.form is None:
            continue
        kind = _FORM_TYPES[field.kind]
        if field.name in KEY_FIELDS:
            fields[field.form] = (kind, ...)
        elif field.name == "currency":
            fields[field.form] = (kind, "EUR")
        else:
            fields[field.form] = (kind | None, None)
    return create_model(
        "InvoiceReview", __base__=RunInput, __doc__=_review_form.__doc__, **fields,
        status=(Literal["open", "paid", "partially_paid", "disputed", "cancelled"], "open"),
        reviewer=(str, ""), remember_for_vendor=(bool, True),
    )


InvoiceReview = _review_form()


def _next_for_review(invoice_id: int | None) -> Invoice | None:
    with session_scope() as session:
        if invoice_id is not None:
            return session.get(Invoice, invoice_id)
        return session.scalars(
            select(Invoice).where(Invoice.status == InvoiceStatus.NEEDS_REVIEW.value).order_by(Invoice.id).limit(1)
        ).first()


@flow(name="review-invoice", **ALERT_HOOKS)
def review_invoice(invoice_id: int | None = None, timeout_hours: float = 24.0) -> dict[str, object]:
    """Show an invoice that needs review as a form, wait for the answer, save the correction.

    Args:
        invoice_id: the invoice to review; empty for the oldest one that needs review.
        timeout_hours: how long to wait for an answer; then the invoice stays in needs_review.
    """
    logger = get_run_logger()
    invoice = _next_for_review(invoice_id)
    if invoice is None:
        message = f"invoice {invoice_id} does not exist" if invoice_id else "no invoice needs review"
        publish_markdown("review-invoice", f"# Review\n\n{message.capitalize()}.", message)
        return {"status": "nothing to review" if invoice_id is None else "not found"}
    form = InvoiceReview.with_initial_data(
        description=review_description(invoice, None), **review_values(invoice)
    )
    logger.info("waiting up to %.1f h for a review of invoice %s from %s: resume this run to answer",
                timeout_hours, invoice.number, invoice.counterparty)
    try:
        answer = pause_flow_run(wait_for_input=form, timeout=int(timeout_hours * 3600), poll_interval=2)
    except FlowPauseTimeout:
        publish_markdown(
            "review-invoice",
            f"# Review\n\nNobody answered within {timeout_hours:g} h; invoice {plain(invoice.number)} from "
            f"{plain(invoice.counterparty)} stays in needs_review.",
            "timed out",
        )
        return {"status": "timed out", "invoice_id": invoice.id}
    data = answer.model_dump(exclude={"reviewer", "remember_for_vendor"})
    with session_scope() as session:
        outcome = apply_review(session, invoice.id, data, answer.reviewer, answer.remember_for_vendor,
                               flow_run_id=str(flow_run.get_id() or ""))
    counts = {"invoice": f"{data['invoice_number']} ({data['counterparty']})", "fields changed": len(outcome.changes),
              "template hint": outcome.template or "none"}
    changed = [{"field": field, "before": old, "after": new} for field, (old, new) in outcome.changes.items()]
    note = ("## Changes\n\n" + markdown_table(changed, ["field", "before", "after"])) if changed else "Nothing changed."
    publish_markdown("review-invoice", summary_markdown("Review saved", counts, note=note), "review saved")
    return {"status": "reviewed", "invoice_id": outcome.invoice_id, "changes": outcome.changes,
            "template": outcome.template}
