"""A person's correction of one invoice teaches the vendor's next ones: the vendor is recognised
by its VAT id or IBAN as printed (else its name), each corrected field by the label before it."""

from decimal import Decimal

from tasks.extraction.invoice_file import understand_bytes
from tasks.extraction.teaching import identity_keyword, lesson
from tasks.extraction.templates import Template
from tasks.invoices.review import CONSTANT_FIELDS, TEMPLATE_FIELDS
from tasks.settings import OcrSettings
from tests.support.pdfs import text_pdf

OCR = OcrSettings()


def _invoice(number: str, total: str) -> bytes:
    return text_pdf(["WELCOME TO OUR SHOP", "Kontor Nord", "Hafenweg 3, Kiel", f"Beleg {number}", "Datum 02.03.2024",
                     "Posten   12,00", f"Endsumme inkl. Steuer:   {total}", "Steuer-ID: DE 136 695 976"])


def test_the_vat_id_as_printed_recognises_the_vendor_before_its_name():
    text = "Kontor Nord\nSteuer-ID: DE 136 695 976\n"
    keyword = identity_keyword(text, "Kontor Nord GmbH", "DE136695976", None)
    assert keyword is not None and "Kontor" not in keyword
    assert identity_keyword(text, "Kontor Nord", None, None) == r"Kontor\s+Nord"
    assert identity_keyword(text, "Somebody Else", None, None) is None


def test_a_corrected_vendor_and_total_read_right_on_the_vendors_next_invoice():
    first = understand_bytes(_invoice("A-17", "1.234,50"), "first.pdf", OCR)
    values = {"counterparty": "Kontor Nord GmbH", "total": Decimal("1234.50"), "counterparty_vat_id": "DE136695976",
              "number": "A-17"}
    learnt = lesson(first.text, "Kontor Nord GmbH", values, {"counterparty", "total", "number"}, TEMPLATE_FIELDS,
                    CONSTANT_FIELDS)
    assert learnt.keywords and not learnt.why
    template = Template("review-kontor-nord", learnt.keywords, [], learnt.fields, learnt.options, 5, "db")
    plain = understand_bytes(_invoice("A-18", "88,00"), "next.pdf", OCR)
    taught = understand_bytes(_invoice("A-18", "88,00"), "next.pdf", OCR, [template])
    assert plain.value("vendor") != "Kontor Nord GmbH"
    assert taught.template == "review-kontor-nord"
    assert (taught.value("vendor"), taught.value("total"), taught.value("invoice_number")) == (
        "Kontor Nord GmbH", Decimal("88.00"), "A-18")


def test_a_correction_that_cannot_teach_says_why():
    learnt = lesson("nothing of the vendor here", "Kontor Nord GmbH", {"total": Decimal("1")}, {"total"},
                    TEMPLATE_FIELDS, CONSTANT_FIELDS)
    assert learnt.keywords == [] and "Kontor Nord GmbH" in learnt.why
