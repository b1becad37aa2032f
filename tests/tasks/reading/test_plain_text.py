"""Plain-text invoices (`.txt`): read by the same extraction as a PDF's text, whatever their
encoding, taken from the drop folder like any document, and from mail only when they read like
an invoice (a signature or a disclaimer is no document)."""

from datetime import date
from decimal import Decimal
from email.message import EmailMessage

from tasks.documents.filetypes import detect
from tasks.extraction.invoice_file import understand_bytes
from tasks.mail.parts import PartLimits, extract
from tasks.settings import OcrSettings

OCR = OcrSettings()
INVOICE = """Nordlicht Software GmbH
Hafenstraße 12, 20457 Hamburg
USt-IdNr. DE136695976

Rechnung Nr. 2024-0815
Rechnungsdatum:   14.03.2024
Fällig am:        28.03.2024

Pos  Beschreibung                 Betrag
1    Wartung März                 1.000,00 EUR

Nettobetrag                       1.000,00 EUR
USt. 19 %                           190,00 EUR
Gesamtbetrag                      1.190,00 EUR
"""


def test_a_text_invoice_is_read_like_a_pdf_in_utf8_or_windows_1252():
    for data in (INVOICE.encode("utf-8"), INVOICE.encode("utf-8-sig"), INVOICE.encode("cp1252")):
        assert detect(data).kind == "text"
        result = understand_bytes(data, "rechnung.txt", OCR)
        assert result.is_invoice and result.text_source == "text"
        assert result.value("invoice_number") == "2024-0815"
        assert (result.value("issue_date"), result.value("due_date")) == (date(2024, 3, 14), date(2024, 3, 28))
        assert [result.value(k) for k in ("net", "tax", "total")] == [Decimal("1000.00"), Decimal("190.00"),
                                                                      Decimal("1190.00")]
        assert result.value("vendor") == "Nordlicht Software GmbH" and result.value("vendor_vat_id") == "DE136695976"


def test_a_text_file_that_is_no_invoice_is_read_and_said_to_be_none():
    result = understand_bytes("Meeting notes\nbring the projector\n".encode(), "notes.txt", OCR)
    assert not result.is_invoice and result.needs_review


def test_mail_takes_a_text_attachment_only_when_it_reads_like_an_invoice():
    message = EmailMessage()
    message["Subject"] = "Rechnung"
    message.set_content("Anbei die Rechnung.")
    message.add_attachment(INVOICE.encode(), maintype="text", subtype="plain", filename="rechnung.txt")
    message.add_attachment(b"-- \nMax Muster, Vertrieb\n", maintype="text", subtype="plain", filename="signature.txt")
    contents = extract(message.as_bytes(), PartLimits(max_attachment_bytes=2 * 1024 * 1024,
                                                      min_inline_image_bytes=20 * 1024))
    assert [a.name for a in contents.attachments] == ["rechnung.txt"]
    assert [(n["name"], n["outcome"]) for n in contents.notes] == [("signature.txt", "ignored")]
