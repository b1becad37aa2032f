from decimal import Decimal

from sqlalchemy import func, select

from db.models import AuditEvent, Invoice, InvoiceLink
from db.session import session_scope
from tasks.documents.intake import ingest_bytes
from tasks.invoices.records import counterparty_key, upsert_invoice
from tests.support.pdfs import text_pdf


def test_counterparty_key_ignores_case_accents_punctuation_and_legal_form():
    assert counterparty_key("ACME GmbH") == counterparty_key("Acme") == "acme"
    assert counterparty_key("Société Générale S.A.") == "societe generale"
    assert counterparty_key("Müller & Söhne KG") == "muller sohne"
    assert counterparty_key("Acme") != counterparty_key("Acme Tools")


def test_upsert_is_idempotent_audited_and_links_every_document(settings):
    with session_scope() as session:
        doc_a = ingest_bytes(session, settings.documents_dir, text_pdf(["A"]), "a.pdf", "folder").document_id
        doc_b = ingest_bytes(session, settings.documents_dir, text_pdf(["B"]), "b.pdf", "folder").document_id
    values = {"total": Decimal("119.00"), "currency": "EUR", "source": "document"}
    with session_scope() as session:
        first = upsert_invoice(session, "ACME GmbH", " INV-1 ", values, actor="test", document_id=doc_a)
    with session_scope() as session:
        again = upsert_invoice(session, "Acme", "INV-1", dict(values, total=Decimal("119")), actor="test", document_id=doc_b)
    with session_scope() as session:
        changed = upsert_invoice(session, "acme", "INV-1", {"total": Decimal("120.00")}, actor="payments")

    assert first.outcome == "created" and again.outcome == "unchanged" and changed.outcome == "updated"
    assert first.invoice_id == again.invoice_id == changed.invoice_id
    assert changed.changes == {"total": ["119.00", "120.00"]}
    with session_scope() as session:
        assert session.scalar(select(func.count()).select_from(Invoice)) == 1
        invoice = session.get(Invoice, first.invoice_id)
        assert invoice.number == "INV-1" and invoice.total == Decimal("120.00")
        assert sorted(session.scalars(select(InvoiceLink.document_id))) == sorted([doc_a, doc_b])
        events = session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
        assert [(e.actor, e.action) for e in events] == [("test", "create"), ("payments", "update")]
