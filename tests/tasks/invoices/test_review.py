"""Reviewing an invoice from the Prefect UI: the flow pauses with a pre-filled form, the answer
(sent exactly as the UI sends it) is saved with an audit entry and becomes a vendor hint."""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from db.models import AuditEvent, Document, Invoice, VendorTemplate
from db.session import session_scope
from flows.review_invoice import review_invoice
from tasks.documents.intake import ingest_bytes
from tasks.extraction.templates import apply_template, best_template, load_templates
from tasks.invoices.records import upsert_invoice
from tests.support.pdfs import text_pdf

pytestmark = pytest.mark.usefixtures("prefect_server")

LINES = ["Nordlicht Systems GmbH", "Belegnummer: NS-2026-0042", "Datum: 03.11.2026",
         "Zahlbetrag: 1.190,00 EUR"]


def _needs_review(settings) -> int:
    with session_scope() as session:
        document_id = ingest_bytes(session, settings.documents_dir, text_pdf(LINES), "ns.pdf", "folder").document_id
        session.get(Document, document_id).text = "\n".join(LINES)  # as process-document records it
        return upsert_invoice(
            session, "Nordlicht Systems GmbH", "2026",
            {"total": Decimal("1.19"), "currency": "EUR", "status": "needs_review", "needs_review": True,
             "review_reasons": ["total: net + tax does not match"], "source": "document", "document_id": document_id},
            actor="process-document", document_id=document_id,
        ).invoice_id


async def _paused_run(flow_name: str, seconds: float = 120):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        FlowFilter,
        FlowFilterName,
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateName,
    )

    deadline = time.monotonic() + seconds
    async with get_client() as client:
        while time.monotonic() < deadline:
            runs = await client.read_flow_runs(
                flow_filter=FlowFilter(name=FlowFilterName(any_=[flow_name])),
                flow_run_filter=FlowRunFilter(state=FlowRunFilterState(name=FlowRunFilterStateName(any_=["Paused"]))),
            )
            if runs:
                return runs[0]
            await asyncio.sleep(0.5)
    raise AssertionError("the review flow never paused")


async def _resume(flow_run_id, run_input: dict) -> None:
    from prefect.client.orchestration import get_client

    async with get_client() as client:
        result = await client.resume_flow_run(flow_run_id, run_input=run_input)
        assert result.status.value == "ACCEPT", result


def test_a_review_from_the_ui_form_saves_the_correction_and_teaches_the_vendor_template(settings):
    invoice_id = _needs_review(settings)
    results: dict = {}
    worker = threading.Thread(target=lambda: results.update(out=review_invoice(invoice_id=invoice_id)))
    worker.start()
    paused = asyncio.run(_paused_run("review-invoice"))
    schema_defaults = paused.state.state_details.run_input_keyset
    assert schema_defaults  # the run waits for input, as the UI shows it
    asyncio.run(_resume(paused.id, {
        "counterparty": "Nordlicht Systems GmbH", "invoice_number": "NS-2026-0042", "issue_date": "2026-11-03",
        "due_date": None, "currency": "EUR", "net": None, "tax": None, "total": "1190.00", "vat_id": None,
        "iban": None, "reference": None, "status": "open", "reviewer": "anna@example.com",
        "remember_for_vendor": True,
    }))
    worker.join(timeout=120)
    assert results["out"]["status"] == "reviewed"

    with session_scope() as session:
        invoice = session.get(Invoice, invoice_id)
        assert (invoice.number, invoice.total, invoice.status, invoice.needs_review) == (
            "NS-2026-0042", Decimal("1190.00"), "open", False)
        assert invoice.issue_date == date(2026, 11, 3)
        review = session.scalars(select(AuditEvent).where(AuditEvent.action == "review")).all()
        assert {e.actor for e in review} == {"anna@example.com"}
        changed = {field for e in review for field in e.changes}
        assert {"number", "total", "status", "issue_date"} <= changed
        [hint] = session.scalars(select(VendorTemplate)).all()
        assert hint.origin == "review"
        templates = load_templates(settings.templates_dir, session)
    # The next invoice from this vendor reads right through the hint.
    text = "\n".join(["Nordlicht Systems GmbH", "Belegnummer: NS-2026-0077", "Datum: 01.12.2026",
                      "Zahlbetrag: 2.380,00 EUR"])
    template = best_template(templates, text)
    assert template is not None and template.name == hint.name
    values = {name: field.value for name, field in apply_template(template, text).items()}
    assert values["invoice_number"] == "NS-2026-0077"
    assert values["total"] == Decimal("2380.00")
    assert values["issue_date"] == date(2026, 12, 1)


def test_a_review_nobody_answers_leaves_the_invoice_in_needs_review(settings):
    invoice_id = _needs_review(settings)
    out = review_invoice(invoice_id=invoice_id, timeout_hours=3 / 3600)
    assert out["status"] == "timed out"
    with session_scope() as session:
        invoice = session.get(Invoice, invoice_id)
        assert invoice.status == "needs_review" and invoice.needs_review
