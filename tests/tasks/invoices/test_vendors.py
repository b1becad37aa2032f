"""Vendors learnt from their invoices, and the changed-IBAN check: an invoice from a known
vendor with another bank account is held for review until a person confirms it, after which the
new account is the vendor's (PostgreSQL and SQLite, real PDFs read by the real reader)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from db.models import Invoice, Vendor
from db.session import session_scope
from tasks.documents import processing
from tasks.documents.intake import ingest_bytes
from tasks.extraction.invoice_file import understand_file
from tasks.invoices.review import apply_review
from tests.support.pdfs import text_pdf

OLD_IBAN, NEW_IBAN = "DE89 3704 0044 0532 0130 00", "DE02 1203 0000 0000 2020 51"


def _invoice_pdf(number: str, iban: str) -> bytes:
    return text_pdf(["Elektro Müller GmbH", "Lindwurmstraße 88, 80337 München", "Rechnung",
                     f"Rechnungsnummer: {number}", "Rechnungsdatum: 05.02.2024", "Fällig am: 19.02.2024",
                     "Nettobetrag: 100,00 EUR", "MwSt. 19 %: 19,00 EUR", "Gesamtbetrag: 119,00 EUR",
                     f"USt-IdNr.: DE811000107   IBAN: {iban}"])


def _process(settings, data: bytes, name: str) -> dict:
    with session_scope() as session:
        document_id = ingest_bytes(session, settings.documents_dir, data, name, "folder").document_id
    with session_scope() as session:
        claim = processing.claim_document(session, settings.documents_dir, document_id)
    result = understand_file(Path(claim.path), claim.name, settings.ocr, [], kind=claim.kind)
    with session_scope() as session:
        return processing.save_result(session, document_id, result, "test")


def _vendor() -> Vendor:
    with session_scope() as session:
        [vendor] = session.scalars(select(Vendor)).all()
        session.expunge(vendor)
        return vendor


def test_a_changed_iban_is_held_for_review_until_a_person_confirms_it(settings):
    first = _process(settings, _invoice_pdf("RE-1", OLD_IBAN), "first.pdf")
    assert first["status"] == "processed" and not first["needs_review"]
    vendor = _vendor()
    assert (vendor.name, vendor.vat_id, vendor.iban) == ("Elektro Müller GmbH", "DE811000107", OLD_IBAN.replace(" ", ""))

    second = _process(settings, _invoice_pdf("RE-2", NEW_IBAN), "second.pdf")
    assert second["needs_review"] and "differs from DE89370400440532013000" in second["reason"]
    with session_scope() as session:
        held = session.get(Invoice, second["invoice_id"])
        assert held.status == "needs_review" and held.vendor_id == vendor.id
        assert _vendor().iban == OLD_IBAN.replace(" ", "")  # a doubtful invoice teaches nothing
        apply_review(session, held.id, {"status": "open"}, "anna@example.com", remember=False)
    assert _vendor().iban == NEW_IBAN.replace(" ", "")  # confirmed by a person: the vendor's account now

    third = _process(settings, _invoice_pdf("RE-3", NEW_IBAN), "third.pdf")
    assert not third["needs_review"], third["reason"]
    with session_scope() as session:
        assert {i.number: i.vendor_id for i in session.scalars(select(Invoice))} == {
            "RE-1": vendor.id, "RE-2": vendor.id, "RE-3": vendor.id}


def test_a_disputed_invoice_with_another_iban_teaches_the_vendor_nothing(settings):
    _process(settings, _invoice_pdf("RE-1", OLD_IBAN), "first.pdf")
    forged = _process(settings, _invoice_pdf("RE-9", NEW_IBAN), "forged.pdf")
    assert forged["needs_review"]
    with session_scope() as session:
        apply_review(session, forged["invoice_id"], {"status": "disputed"}, "anna@example.com", remember=False)
        assert session.get(Invoice, forged["invoice_id"]).status == "disputed"
    assert _vendor().iban == OLD_IBAN.replace(" ", "")
