from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from db.models import AuditEvent, Invoice
from db.session import session_scope
from flows.daily_overview import daily_overview
from flows.mark_paid import mark_paid
from tasks.invoices.overview import aging_bucket, build_overview
from tasks.invoices.payments import PaymentError, record_payment
from tasks.invoices.records import upsert_invoice


def _invoice(counterparty: str, number: str, total: str, due: date | None, currency: str = "EUR",
             direction: str = "payable", status: str = "open") -> int:
    with session_scope() as session:
        return upsert_invoice(
            session, counterparty, number,
            {"total": Decimal(total), "due_date": due, "currency": currency, "direction": direction,
             "status": status, "source": "manual"},
            actor="test",
        ).invoice_id


def test_a_partial_payment_leaves_a_balance_and_an_audit_entry(settings):
    invoice_id = _invoice("ACME GmbH", "R-100", "119.00", date(2026, 11, 1))
    with session_scope() as session:
        first = record_payment(session, "R-100", None, "40", date(2026, 11, 5), actor="anna@example.com")
    with session_scope() as session:
        second = record_payment(session, "R-100", "acme", None, date(2026, 11, 9), actor="anna@example.com")
    assert (first.status, first.balance) == ("partially_paid", Decimal("79.00"))
    assert (second.status, second.balance, second.paid_amount) == ("paid", Decimal("0.00"), Decimal("119.00"))
    with session_scope() as session:
        invoice = session.get(Invoice, invoice_id)
        assert invoice.status == "paid" and invoice.paid_date == date(2026, 11, 9)
        payments = session.scalars(
            select(AuditEvent).where(AuditEvent.invoice_id == invoice_id, AuditEvent.action == "payment")
            .order_by(AuditEvent.id)
        ).all()
    assert [p.changes["status"] for p in payments] == [["open", "partially_paid"], ["partially_paid", "paid"]]
    assert payments[0].actor == "anna@example.com"
    with session_scope() as session, pytest.raises(PaymentError, match="already paid"):
        record_payment(session, "R-100", None, "1", date(2026, 11, 10), actor="x")


def test_payment_errors_name_the_invoice(settings):
    _invoice("Alpha", "DUP-1", "10.00", None)
    _invoice("Beta", "DUP-1", "20.00", None)
    with session_scope() as session:
        with pytest.raises(PaymentError, match="several counterparties"):
            record_payment(session, "DUP-1", None, None, date(2026, 1, 1), actor="x")
        with pytest.raises(PaymentError, match="no invoice number 'NOPE-9'"):
            record_payment(session, "NOPE-9", None, None, date(2026, 1, 1), actor="x")
        with pytest.raises(PaymentError, match="must be positive"):
            record_payment(session, "DUP-1", "Beta", "-5", date(2026, 1, 1), actor="x")


def test_aging_buckets():
    today = date(2026, 11, 21)
    assert [aging_bucket(date(2026, 11, 21 - d) if d < 21 else date(2026, 10, 31 - (d - 21)), today)
            for d in (0, 1, 20)] == ["current", "1-30", "1-30"]
    assert aging_bucket(date(2026, 9, 22), today) == "31-60"
    assert aging_bucket(date(2026, 8, 23), today) == "61-90"
    assert aging_bucket(date(2026, 8, 22), today) == "90+"
    assert aging_bucket(None, today) == "current"


def test_overview_totals_per_direction_and_currency(settings):
    today = date(2026, 11, 21)
    _invoice("A", "1", "100.00", date(2026, 11, 25))  # due soon
    _invoice("B", "2", "50.00", date(2026, 10, 1))  # 51 days overdue
    _invoice("C", "3", "70.00", date(2026, 11, 20), currency="USD")
    _invoice("D", "4", "999.00", date(2026, 10, 1), status="paid")
    _invoice("E", "5", "30.00", date(2027, 1, 1), direction="receivable")
    with session_scope() as session:
        overview = build_overview(session, today, due_soon_days=7)
    eur = overview.by_direction["payable"]["EUR"]
    assert (eur.open_count, eur.open_amount) == (2, Decimal("150.00"))
    assert (eur.overdue_count, eur.overdue_amount) == (1, Decimal("50.00"))
    assert (eur.due_soon_count, eur.due_soon_amount) == (1, Decimal("100.00"))
    assert eur.aging["31-60"] == Decimal("50.00") and eur.aging["current"] == Decimal("100.00")
    assert overview.by_direction["payable"]["USD"].aging["1-30"] == Decimal("70.00")
    assert overview.by_direction["receivable"]["EUR"].open_amount == Decimal("30.00")


@pytest.mark.usefixtures("prefect_server")
def test_mark_paid_and_daily_overview_flows(settings):
    _invoice("ACME GmbH", "F-1", "200.00", date(2026, 11, 1))
    summary = mark_paid(invoice_number="F-1", amount=Decimal("50"), paid_on=date(2026, 11, 2), recorded_by="ben")
    assert summary["status"] == "partially_paid" and summary["balance"] == "150.00 EUR"
    rows = daily_overview(today=date(2026, 11, 21))
    assert rows[0]["open amount"] == "150.00" and rows[0]["aging 1-30"] == "150.00"


@pytest.mark.usefixtures("prefect_server")
def test_a_failed_run_emails_the_admins_with_the_error_and_the_run_link(settings, monkeypatch):
    from tasks.settings import get_settings

    monkeypatch.setenv("INVOICES_ADMIN_EMAILS", '["admin@example.com"]')
    get_settings.cache_clear()
    state = mark_paid(invoice_number="NO-SUCH-1", return_state=True)
    assert state.is_failed()
    [alert] = list(get_settings().smtp.outbox_dir.glob("*.eml"))
    text = alert.read_text()
    assert "admin@example.com" in text and "mark-paid" in text
    assert "no invoice number 'NO-SUCH-1'" in text
    assert "/runs/flow-run/" in text


@pytest.mark.usefixtures("prefect_server")
def test_the_daily_overview_lists_invoices_to_review_and_documents_not_read(settings):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    from tasks.documents.intake import ingest_bytes

    with session_scope() as session:
        upsert_invoice(session, "Nordlicht Systems GmbH", "NS-7", {
            "total": Decimal("1190.00"), "currency": "EUR", "status": "needs_review", "needs_review": True,
            "review_reasons": ["the IBAN differs from earlier invoices"], "source": "document"}, actor="test")
        ingest_bytes(session, settings.documents_dir, b"\x7fELF\x02\x01\x01" + bytes(64), "invoice.pdf", "folder")
    _invoice("ACME GmbH", "F-9", "80.00", date(2026, 12, 1))

    state = daily_overview(today=date(2026, 11, 21), return_state=True)

    with get_client(sync_client=True) as client:
        [artifact] = [a for a in client.read_artifacts(artifact_filter=ArtifactFilter(
            flow_run_id=ArtifactFilterFlowRunId(any_=[state.state_details.flow_run_id]))) if a.type == "markdown"]
    to_review, _, unread = artifact.data.partition("## Documents not read")
    assert "## To review (1)" in to_review and "NS-7" in to_review and "the IBAN differs" in to_review
    assert "F-9" not in to_review
    assert "(1)" in unread and "invoice.pdf" in unread and "quarantined" in unread and "program" in unread
    assert "1 to review, 1 documents not read" in artifact.description
