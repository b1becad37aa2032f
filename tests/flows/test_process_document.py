"""process-document on a real Prefect test server, PostgreSQL and SQLite: documents from the
drop folder become invoices; the same invoice in another file is linked, not doubled."""

from decimal import Decimal

import pymupdf
import pytest
from sqlalchemy import func, select

from db.models import AuditEvent, Document, Invoice, InvoiceLink
from db.session import session_scope
from flows.ingest_folder import ingest_folder
from flows.process_document import process_document
from tests.support.corpus_fixtures import CORPUS, corpus_cases, expected
from tests.support.einvoices import CII

pytestmark = pytest.mark.usefixtures("prefect_server")


def _documents() -> dict[str, Document]:
    with session_scope() as session:
        return {d.original_name: d for d in session.scalars(select(Document))}


def test_intake_hands_documents_to_process_document_and_the_same_invoice_is_linked(settings):
    inbox = settings.inbox_dir
    inbox.mkdir(parents=True)
    first = corpus_cases(scanned=False)[0]
    want = expected(first)
    (inbox / "invoice.pdf").write_bytes(first.read_bytes())
    copy = pymupdf.open(first)  # the same invoice as another file (different bytes)
    copy.set_metadata({"title": "copy"})
    (inbox / "copy.pdf").write_bytes(copy.tobytes())
    (inbox / "not-an-invoice.pdf").write_bytes(_report_pdf())
    (inbox / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)

    counts = ingest_folder()

    assert counts["stored"] == 4
    documents = _documents()
    assert {name: d.status for name, d in documents.items()} == {
        "invoice.pdf": "processed", "copy.pdf": "processed", "not-an-invoice.pdf": "not_invoice", "broken.png": "failed"}
    assert "no invoice found" in documents["not-an-invoice.pdf"].error
    assert "not a readable image" in documents["broken.png"].error
    with session_scope() as session:
        [invoice] = session.scalars(select(Invoice)).all()
        assert invoice.number == want["invoice_number"] and invoice.counterparty == want["vendor"]
        assert invoice.total == Decimal(want["total"]) and invoice.currency == want["currency"]
        assert invoice.status == "open" and not invoice.needs_review and invoice.source == "document"
        assert invoice.field_sources["total"]["source"] == "text"
        links = set(session.scalars(select(InvoiceLink.document_id)))
        assert links == {documents["invoice.pdf"].id, documents["copy.pdf"].id}
        assert session.scalar(select(func.count()).select_from(AuditEvent)) == 1


def test_a_run_by_hand_skips_what_is_done_unless_forced_and_xml_is_exact(settings):
    settings.documents_dir.mkdir(parents=True)
    from tasks.documents.intake import ingest_bytes

    with session_scope() as session:
        document_id = ingest_bytes(session, settings.documents_dir, CII.encode(), "factur-x.xml", "upload").document_id
    done = process_document(document_id=document_id)
    again = process_document(document_id=document_id)
    forced = process_document(document_id=document_id, force=True)

    assert done["status"] == "processed" and done["outcome"] == "created"
    assert again["status"] == "skipped" and "force" in again["reason"]
    assert forced["status"] == "processed" and forced["outcome"] == "unchanged"
    with session_scope() as session:
        invoice = session.scalars(select(Invoice)).one()
        assert (invoice.number, invoice.total, invoice.confidence) == ("FX-2024-001", Decimal("119.00"), 1.0)
        assert session.get(Document, document_id).text_source == "xml"


def test_a_doubtful_invoice_is_saved_for_review_with_its_reasons(settings):
    from tasks.documents.intake import ingest_bytes
    from tests.support.pdfs import text_pdf

    pdf = text_pdf(["Invoice", "Invoice No: Q-1", "Subtotal: 100.00 EUR", "VAT 20%: 20.00 EUR", "Total: 130.00 EUR"])
    settings.documents_dir.mkdir(parents=True)
    with session_scope() as session:
        document_id = ingest_bytes(session, settings.documents_dir, pdf, "doubtful.pdf", "upload").document_id
    outcome = process_document(document_id=document_id)

    assert outcome["status"] == "processed" and outcome["needs_review"]
    with session_scope() as session:
        invoice = session.scalars(select(Invoice)).one()
        assert invoice.status == "needs_review" and invoice.needs_review
        assert any("does not equal the total" in r for r in invoice.review_reasons)
        assert any("no vendor found" in r for r in invoice.review_reasons)


def _report_pdf() -> bytes:
    document = pymupdf.open()
    page = document.new_page()
    page.insert_text((72, 72), "Quarterly team meeting notes", fontsize=14)
    page.insert_text((72, 100), "We discussed the new office plants and the summer party on 12.07.2024.", fontsize=10)
    data = document.tobytes()
    document.close()
    return data


assert CORPUS.is_dir()


def test_a_claim_does_not_wait_for_the_disk_but_the_saved_invoice_does(settings):
    """A claim lost in a crash only means the document is read again; on PostgreSQL its commit is
    asynchronous, and the setting ends with the claim's transaction."""
    from sqlalchemy import text

    from tasks.documents import processing
    from tasks.documents.intake import ingest_bytes

    with session_scope() as session:
        document_id = ingest_bytes(session, settings.documents_dir, corpus_cases(scanned=False)[0].read_bytes(),
                                   "invoice.pdf", "folder").document_id
    postgres = settings.database.url.startswith("postgresql")
    with session_scope() as session:
        claim = processing.claim_document(session, settings.documents_dir, document_id)
        assert claim.document_id == document_id
        if postgres:
            assert session.execute(text("SHOW synchronous_commit")).scalar_one() == "off"
    with session_scope() as session:
        assert session.get(Document, document_id).status == "processing"
        if postgres:
            assert session.execute(text("SHOW synchronous_commit")).scalar_one() == "on"


def test_values_the_columns_cannot_hold_are_review_reasons_not_a_failed_document(settings):
    """A vendor name of 400 characters and a total of 1.23e12 (more than Numeric(14, 2) holds):
    PostgreSQL refused them (the document failed with the SQL text) and SQLite stored them."""
    from tasks.documents.intake import ingest_bytes

    hostile = (CII.replace("Lumen Werkstatt GmbH", "Lumen " + "W" * 394)
               .replace("<ram:GrandTotalAmount>119.00", "<ram:GrandTotalAmount>1230000000000.00")
               .replace("<ram:DuePayableAmount>119.00", "<ram:DuePayableAmount>1230000000000.00"))
    settings.documents_dir.mkdir(parents=True)
    with session_scope() as session:
        stored = ingest_bytes(session, settings.documents_dir, hostile.encode(), "hostile.xml", "upload")
        document_id = stored.document_id
    outcome = process_document(document_id=document_id)

    assert outcome["status"] == "processed" and outcome["needs_review"], outcome
    with session_scope() as session:
        document = session.get(Document, document_id)
        assert document.status == "processed" and document.error is None
        invoice = session.scalars(select(Invoice)).one()
        assert invoice.status == "needs_review" and invoice.number == "FX-2024-001"
        assert invoice.counterparty == ("Lumen " + "W" * 394)[:300] and len(invoice.counterparty_key) <= 300
        assert invoice.total is None and invoice.net == Decimal("100.00")
        reasons = " | ".join(invoice.review_reasons)
        assert "400 characters long" in reasons and "total left empty" in reasons, reasons
