"""One invoice: its fields and where they came from, its document beside them, its history; and
what a person does to it (pay in part, correct, approve, dispute, cancel, reopen), each change
in the audit trail with their name."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pymupdf

from db.models import AuditEvent, Invoice, VendorTemplate
from db.session import session_scope
from tasks.documents.intake import ingest_bytes
from tests.support.desk import add_invoice


def _pdf(text: str) -> bytes:
    document = pymupdf.open()
    document.new_page().insert_text((72, 90), text, fontsize=12)
    return document.tobytes()


def _read_invoice(settings, name: str = "rechnung <1>.pdf") -> int:
    from flows.process_document import process_document

    text = ("Schrauben Müller GmbH\nInvoice number: SM-4711\nInvoice date: 2026-11-02\nDue date: 2026-12-02\n"
            "Net amount: 100.00 EUR\nVAT 19%: 19.00 EUR\nTotal: 119.00 EUR")
    with session_scope() as session:
        stored = ingest_bytes(session, settings.documents_dir, _pdf(text), name, "upload")
    process_document(document_id=stored.document_id)  # the flow, as intake runs it
    with session_scope() as session:
        return session.query(Invoice).filter_by(document_id=stored.document_id).one().id


def test_the_page_shows_the_fields_their_source_and_the_document(desk, prefect_server):
    desk.person("ann@example.com")
    invoice = _read_invoice(desk.settings)
    client = desk.login("ann@example.com")
    page = client.get(f"/invoices/{invoice}").text
    assert "SM-4711" in page and "€119.00" in page and "Schrauben Müller GmbH" in page
    sources = re.findall(r'<small class="source">([^<]*)</small>', page)
    assert len(sources) >= 10 and any(sources), sources  # where each value came from
    with session_scope() as session:
        document_id = session.get(Invoice, invoice).document_id
    assert f'<iframe id="document" src="/documents/{document_id}"' in page
    response = client.get(f"/documents/{document_id}")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"] == 'inline; filename="rechnung_1_.pdf"'
    assert response.content.startswith(b"%PDF")
    assert response.headers["x-content-type-options"] == "nosniff"


def test_a_partial_payment_leaves_a_balance_and_names_the_person(desk):
    desk.person("ann@example.com")
    invoice = add_invoice("INV-7", total=Decimal("100.00"))
    client = desk.login("ann@example.com")
    response = client.post(f"/invoices/{invoice}/payment", data={"amount": "40,00".replace(",", "."),
                           "paid_on": "2026-11-20", "note": "first half", "csrf_token": client.csrf})
    assert response.status_code == 303
    page = client.get(response.headers["location"]).text
    assert "partially paid; 60.00 EUR left" in page
    with session_scope() as session:
        row = session.get(Invoice, invoice)
        assert (row.status, row.paid_amount, row.paid_date) == ("partially_paid", Decimal("40.00"), date(2026, 11, 20))
        assert "first half" in row.notes
        payment = session.query(AuditEvent).filter_by(invoice_id=invoice, action="payment").one()
        assert payment.actor == "ann@example.com"
    refused = client.post(f"/invoices/{invoice}/payment", data={"amount": "-5", "csrf_token": client.csrf})
    assert refused.status_code == 409 and "must be positive" in refused.text
    unknown = client.post("/invoices/999999/payment", data={"amount": "5", "csrf_token": client.csrf})
    assert unknown.status_code == 404 and "no such page, invoice or document" in unknown.text
    assert "Traceback" not in unknown.text


def test_a_correction_is_saved_audited_and_taught_to_the_vendor(desk, prefect_server):
    desk.person("ann@example.com")
    invoice = _read_invoice(desk.settings)
    client = desk.login("ann@example.com")
    response = client.post(f"/invoices/{invoice}/review", data={
        "due_date": "2026-12-16", "reference": "PO-99", "remember": "on", "csrf_token": client.csrf})
    assert response.status_code == 303
    with session_scope() as session:
        row = session.get(Invoice, invoice)
        assert row.due_date == date(2026, 12, 16) and row.reference == "PO-99"
        review = session.query(AuditEvent).filter_by(invoice_id=invoice, action="review").one()
        assert review.actor == "ann@example.com" and review.changes["due_date"] == ["2026-12-02", "2026-12-16"]
        assert session.query(VendorTemplate).filter(VendorTemplate.origin == "review").count() == 1
    bad = client.post(f"/invoices/{invoice}/review", data={"due_date": "16.12.", "csrf_token": client.csrf})
    assert bad.status_code == 409 and "is not a date" in bad.text


def test_approve_dispute_cancel_and_reopen(desk):
    desk.person("ann@example.com")
    invoice = add_invoice("INV-8", status="needs_review", needs_review=True, review_reasons=["total unclear"])
    client = desk.login("ann@example.com")
    steps = [("approve", "open"), ("status/dispute", "disputed"), ("status/reopen", "open"),
             ("status/cancel", "cancelled"), ("status/reopen", "open")]
    for path, status in steps:
        assert client.post(f"/invoices/{invoice}/{path}", data={"csrf_token": client.csrf}).status_code == 303
        with session_scope() as session:
            assert session.get(Invoice, invoice).status == status, path
    again = client.post(f"/invoices/{invoice}/approve", data={"csrf_token": client.csrf})
    assert again.status_code == 409 and "does not need a review" in again.text
    history = client.get(f"/invoices/{invoice}").text
    assert history.count("ann@example.com") >= 5 and "needs_review → open" in history


def test_the_email_it_came_with_is_shown_as_text_and_its_original_downloads(desk):
    from db.models import MailMessage

    desk.person("ann@example.com")
    raw = (b"From: Billing <billing@vendor.example>\r\nSubject: Your invoice <b>42</b>\r\n"
           b"Content-Type: text/plain; charset=utf-8\r\n\r\nPlease find attached <script>x()</script> invoice 42.\r\n")
    with session_scope() as session:
        stored = ingest_bytes(session, desk.settings.documents_dir, raw, "message.eml", "mail")
        message = MailMessage(account="billing", folder="INBOX", uidvalidity=1, uid=7, subject="Your invoice <b>42</b>",
                              sender="billing@vendor.example", raw_document_id=stored.document_id, status="processed")
        session.add(message)
        session.flush()
        message_id = message.id
    invoice = add_invoice("M-42", mail_message_id=message_id)
    client = desk.login("ann@example.com")
    page = client.get(f"/invoices/{invoice}").text
    assert "Your invoice &lt;b&gt;42&lt;/b&gt;" in page and "billing@vendor.example" in page
    assert "Please find attached &lt;script&gt;x()&lt;/script&gt; invoice 42." in page
    original = client.get(f"/mail/{message_id}.eml")
    assert original.status_code == 200 and original.headers["content-type"] == "message/rfc822"
    assert original.headers["content-disposition"].startswith("attachment;") and original.content == raw


def test_an_admin_adds_a_person_who_can_then_log_in(desk):
    desk.person("boss@example.com", role="admin")
    client = desk.login("boss@example.com")
    added = client.post("/people", data={"email": "new@example.com", "name": "<i>New</i>", "role": "viewer",
                                         "locale": "de_DE", "password": "a new password", "csrf_token": client.csrf})
    assert added.status_code == 303
    assert "&lt;i&gt;New&lt;/i&gt;" in client.get("/people").text
    assert desk.login("new@example.com", "a new password").get("/").status_code == 200
    short = client.post("/people", data={"email": "x@example.com", "password": "short", "csrf_token": client.csrf})
    assert short.status_code == 400 and "at least 10 characters" in short.text


def test_a_text_invoice_is_shown_as_its_text_beside_the_fields(desk, prefect_server):
    from flows.process_document import process_document

    text = ("Nordlicht <script>alert(1)</script> GmbH\nRechnung Nr. 2024-0815\nRechnungsdatum: 14.03.2024\n"
            "Gesamtbetrag   1.190,00 EUR\n")
    desk.person("ann@example.com")
    with session_scope() as session:
        stored = ingest_bytes(session, desk.settings.documents_dir, text.encode(), "rechnung.txt", "upload")
    process_document(document_id=stored.document_id)
    with session_scope() as session:
        invoice = session.query(Invoice).filter_by(document_id=stored.document_id).one().id
    page = desk.login("ann@example.com").get(f"/invoices/{invoice}").text
    assert '<pre id="document" class="document-text">' in page and "Rechnung Nr. 2024-0815" in page
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    sources = [s for s in re.findall(r'<small class="source">([^<]*)</small>', page) if s.strip()]
    assert len(sources) >= 6, sources  # the vendor and the number say where they came from too
