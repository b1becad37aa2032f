"""E-invoices through process-document on a real Prefect test server, SQLite and PostgreSQL: their
lines, findings and readable rendering are kept; an invalid one and a hybrid PDF whose page
disagrees with its XML are held for review with the reasons; the lines reach the workbook."""

from __future__ import annotations

import hashlib
from decimal import Decimal
from pathlib import Path

import pymupdf
import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from db.einvoice_tables import DerivedDocument, EInvoiceFinding, InvoiceLine
from db.models import Document, Invoice
from db.session import session_scope
from flows.process_document import process_document
from tasks.documents.intake import ingest_bytes
from tasks.documents.store import path_in_store
from tasks.einvoice.documents import rendering_html
from tasks.workbook.export import export_workbook
from tests.support.einvoice_pdfs import hybrid_pdf

pytestmark = pytest.mark.usefixtures("prefect_server")
DATA = Path(__file__).resolve().parents[2] / "data" / "einvoice"
EXAMPLE = DATA / "en16931" / "cii" / "CII_example1.xml"  # invoice 12115118, 20 lines, total 250.33 EUR


def _process(settings, data: bytes, name: str, force: bool = False) -> tuple[int, dict]:
    settings.documents_dir.mkdir(parents=True, exist_ok=True)
    with session_scope() as session:
        document_id = ingest_bytes(session, settings.documents_dir, data, name, "upload").document_id
    return document_id, process_document(document_id=document_id, force=force)


def _artifact(state) -> str:  # type: ignore[no-untyped-def]
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    with get_client(sync_client=True) as client:
        found = client.read_artifacts(artifact_filter=ArtifactFilter(
            flow_run_id=ArtifactFilterFlowRunId(any_=[state.state_details.flow_run_id])))
    return "\n".join(a.data for a in found if a.type == "markdown")


def test_an_xml_invoice_keeps_its_lines_and_gets_a_rendering_linked_to_the_unchanged_original(settings):
    data = EXAMPLE.read_bytes()
    settings.documents_dir.mkdir(parents=True)
    with session_scope() as session:
        document_id = ingest_bytes(session, settings.documents_dir, data, "rechnung.xml", "folder").document_id
    state = process_document(document_id=document_id, return_state=True)
    outcome = state.result()
    assert outcome["status"] == "processed" and outcome["einvoice"]["valid"] is True

    with session_scope() as session:
        invoice = session.scalars(select(Invoice)).one()
        lines = session.scalars(select(InvoiceLine).order_by(InvoiceLine.position)).all()
        assert invoice.number == "12115118" and len(lines) == 20
        first = lines[0]
        assert (first.position, first.line_id, first.description, first.unit, first.tax_category) == (
            1, "1", "PATAT FRITES 10MM 10KG", "H87", "S")
        assert (first.quantity, first.unit_price, first.net_amount, first.tax_rate) == (
            Decimal(2), Decimal("9.95"), Decimal("19.90"), Decimal(6))
        assert sum(line.net_amount for line in lines) == Decimal("229.60")
        assert not any("EN 16931" in reason for reason in invoice.review_reasons)
        [link] = session.scalars(select(DerivedDocument)).all()
        assert link.original_id == document_id and link.purpose == "rendering-pdf"
        rendering, original = session.get(Document, link.document_id), session.get(Document, document_id)
        assert rendering.kind == "pdf" and rendering.status == "processed"  # never read as an invoice again
        stored = path_in_store(settings.documents_dir, original.storage_path).read_bytes()
        assert hashlib.sha256(stored).hexdigest() == original.sha256 == hashlib.sha256(data).hexdigest()
        pdf = pymupdf.open(stream=path_in_store(settings.documents_dir, rendering.storage_path).read_bytes())
        text = " ".join(page.get_text() for page in pdf)
    for shown in ("Invoice 12115118", "De Koksmaat", "ODIN 59", "PATAT FRITES 10MM 10KG", "250.33", "VAT breakdown",
                  "NL57 RABO 0107307510"):
        assert shown in text, shown

    markdown = _artifact(state)
    assert "E-invoice: CII, EN 16931: valid" in markdown
    assert "Invoice lines (20):" in markdown and "PATAT FRITES 10MM 10KG" in markdown
    assert f"Readable rendering: document {link.document_id}" in markdown

    again = process_document(document_id=document_id, force=True)
    assert again["status"] == "processed"
    with session_scope() as session:
        assert len(session.scalars(select(InvoiceLine)).all()) == 20  # replaced, not doubled
        assert len(session.scalars(select(DerivedDocument)).all()) == 1

    export = export_workbook(settings.data_dir / "export.xlsx")
    sheet = load_workbook(export.path)["Lines"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:4] == ("Issuer", "Line of invoice", "Position", "Item") and len(rows) == 21
    assert rows[1][:8] == ("De Koksmaat", "12115118", 1, "PATAT FRITES 10MM 10KG", 2, "H87", 9.95, 19.9)


def test_a_german_buyer_reads_the_rendering_in_german(settings):
    instance = DATA / "xrechnung" / "cii" / "cii-br-de-1-test.xml"
    document_id, _ = _process(settings, instance.read_bytes(), "xrechnung.xml")
    with session_scope() as session:
        link = session.scalars(select(DerivedDocument).where(DerivedDocument.original_id == document_id)).one()
        rendering = session.get(Document, link.document_id)
        text = pymupdf.open(stream=path_in_store(settings.documents_dir, rendering.storage_path).read_bytes())[0].get_text()
    assert rendering.original_name == "xrechnung.xml.de.pdf"
    assert "Rechnung 123456XX" in text and "Positionen" in text and "Zahlung" in text
    with session_scope() as session:  # a reader of another language gets the page in theirs
        html = rendering_html(session, document_id, "fr_FR")
    assert '<html lang="fr">' in html and "<h1>Facture 123456XX</h1>" in html


def test_an_invalid_xrechnung_is_held_for_review_with_its_rules_and_findings_kept(settings):
    instance = DATA / "xrechnung" / "ubl-inv" / "ubl-inv-br-de-18-wrong-whitespace.xml"
    document_id, outcome = _process(settings, instance.read_bytes(), "xrechnung.xml")
    assert outcome["status"] == "processed" and outcome["needs_review"] and "BR-DE-18" in outcome["reason"]
    with session_scope() as session:
        invoice = session.scalars(select(Invoice)).one()
        assert invoice.status == "needs_review"
        assert any("not a valid XRechnung e-invoice (BR-DE-18)" in r for r in invoice.review_reasons)
        findings = session.scalars(select(EInvoiceFinding).where(EInvoiceFinding.document_id == document_id)).all()
    by_rule = {f.rule: f for f in findings}
    assert by_rule["BR-DE-18"].severity == "fatal" and by_rule["BR-DE-18"].layer == "xrechnung"
    assert by_rule["BR-DE-18"].location == "/Invoice[1]" and "Skonto" in by_rule["BR-DE-18"].message
    assert all(f.invoice_id == invoice.id for f in findings)
    assert by_rule["BR-DE-TMP-32"].severity == "information"  # warnings are kept too, not held for
    assert not any("BR-DE-TMP-32" in r for r in invoice.review_reasons)


def test_a_hybrid_pdf_whose_page_total_differs_from_its_xml_is_held_for_review(settings):
    page = ["INVOICE", "Invoice No: 12115118", "Invoice date: 09.01.2015", "Due date: 09.01.2015",
            "Net: 229.60 EUR", "VAT: 20.73 EUR", "Total: 260.33 EUR"]
    pdf = hybrid_pdf(EXAMPLE.read_bytes(), page, attachment="factur-x.xml")
    _, outcome = _process(settings, pdf, "hybrid.pdf")
    assert outcome["status"] == "processed" and outcome["needs_review"]
    assert "the page shows total 260.33, its XML says 250.33" in outcome["reason"]
    with session_scope() as session:
        invoice = session.scalars(select(Invoice)).one()
        assert invoice.status == "needs_review" and invoice.total == Decimal("250.33")  # the XML is the invoice
        assert [f.rule for f in session.scalars(select(EInvoiceFinding)) if f.layer == "page"] == ["PAGE-XML"]
        assert len(session.scalars(select(InvoiceLine)).all()) == 20
        assert session.scalars(select(DerivedDocument)).all() == []  # a hybrid has its own page


def test_a_hybrid_pdf_whose_page_agrees_is_not_held_for_the_page(settings):
    page = ["INVOICE", "Invoice No: 12115118", "Due date: 09.01.2015", "Total: 250.33 EUR"]
    pdf = hybrid_pdf(EXAMPLE.read_bytes(), page, attachment="zugferd-invoice.xml", af=False)
    _, outcome = _process(settings, pdf, "hybrid.pdf")
    assert outcome["status"] == "processed" and "the page shows" not in outcome["reason"]
    assert outcome["einvoice"]["valid"] is True


def test_hostile_xml_is_refused_with_its_reason_and_kept(settings):
    hostile = (b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
               b'<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2">&x;</Invoice>')
    document_id, outcome = _process(settings, hostile, "evil.xml")
    assert outcome["status"] == "failed" and "DTD" in outcome["reason"] and "evil.xml" in outcome["reason"]
    with session_scope() as session:
        document = session.get(Document, document_id)
        assert document.status == "failed" and "refused unread" in document.error
        assert path_in_store(settings.documents_dir, document.storage_path).read_bytes() == hostile


def test_xml_invoices_from_the_drop_folder_are_read_with_their_lines(settings):
    from flows.ingest_folder import ingest_folder

    settings.inbox_dir.mkdir(parents=True)
    (settings.inbox_dir / "XRechnung 2024-17.xml").write_bytes(
        (DATA / "xrechnung" / "ubl-inv" / "ubl-inv-br-de-1-test.xml").read_bytes())
    credit_note = (DATA / "xrechnung" / "ubl-cn" / "ubl-cn-br-de-1-test.xml").read_bytes()
    (settings.inbox_dir / "gutschrift.xml").write_bytes(credit_note.replace(b"<cbc:ID>1234567<", b"<cbc:ID>GS-7<", 1))
    assert ingest_folder()["stored"] == 2
    with session_scope() as session:
        invoices = session.scalars(select(Invoice).order_by(Invoice.is_credit_note)).all()
        assert [i.is_credit_note for i in invoices] == [False, True]
        for invoice in invoices:
            assert session.scalars(select(InvoiceLine).where(InvoiceLine.invoice_id == invoice.id)).all()
        assert {d.original_name for d in session.scalars(select(Document)) if d.kind == "pdf"} == {
            "XRechnung 2024-17.xml.de.pdf", "gutschrift.xml.de.pdf"}


def test_xml_invoices_by_mail_are_read_with_their_lines(settings, dovecot, monkeypatch):
    from tasks.mail.imap_poll import poll_account
    from tests.support.dovecot import configure
    from tests.support.mails import invoice_mail

    user = dovecot.add_user()
    configured = configure(monkeypatch, [dovecot.account("billing", user)])
    with dovecot.mailbox(user) as box:
        box.append(invoice_mail("Rechnung", [("rechnung.xml", EXAMPLE.read_bytes())]), "INBOX")
    assert poll_account(configured.imap.accounts[0], configured).documents == 2  # the message and its XML
    with session_scope() as session:
        [document] = [d for d in session.scalars(select(Document)) if d.kind == "xml"]
    outcome = process_document(document_id=document.id)
    assert outcome["status"] == "processed" and outcome["number"] == "12115118"
    with session_scope() as session:
        assert len(session.scalars(select(InvoiceLine)).all()) == 20
