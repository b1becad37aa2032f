"""Kinds of text-layer invoices: invisible characters in labels, a number that begins with a date,
the issuer's column ("Aussteller"), typographic apostrophes, due dates in a sentence, a total's
heading beside an account number's, a placeholder issue date."""

from datetime import date
from decimal import Decimal

from tasks.extraction.invoice_file import understand_bytes
from tasks.settings import OcrSettings
from tests.support.pdfs import html_pdf, text_pdf

OCR = OcrSettings()


def test_zero_width_characters_in_a_label_are_read_through():
    pdf = html_pdf("<p>Company ABC Ltd</p><p>INVOICE\u200b: NO. 001</p><p>DATE\u200b: 01/03/2024</p><p>Total $2140.00</p>")
    assert understand_bytes(pdf, "invoice.pdf", OCR).value("invoice_number") == "001"


def test_an_invoice_number_that_begins_with_a_date_is_a_number():
    pdf = text_pdf(["Rechnung", "Rechnungsnummer: 2024-03-10T172205", "Ausstellungsdatum: 2024-03-10", "Gesamt: 100,00 €"])
    result = understand_bytes(pdf, "rechnung.pdf", OCR)
    assert result.value("invoice_number") == "2024-03-10T172205" and result.value("issue_date") == date(2024, 3, 10)


def test_the_issuers_column_names_the_vendor_and_a_sentence_the_due_date():
    pdf = html_pdf('<p>Rechnung Nr. 17</p><p>Ausstellungsdatum: 2024-03-10</p><table style="width:100%"><tr>'
                   "<td>Empfänger</td><td>Aussteller</td></tr><tr><td>Scrooge McDuck</td><td>Gyro Gearloose</td></tr>"
                   "</table><p>Gesamt: 100,00 €</p><p>Bitte überweise den Betrag bis 2024-03-20 auf folgendes Konto</p>")
    result = understand_bytes(pdf, "rechnung.pdf", OCR)
    assert result.value("vendor") == "Gyro Gearloose" and result.value("due_date") == date(2024, 3, 20)


def test_a_typographic_apostrophe_in_a_french_label():
    pdf = html_pdf("<p>Atelier Dupont SARL</p><p>Facture N°: F-17</p><p>Date d’émission: 2024-03-10</p>"
                   "<p>1   2016-04-03   Arc reactor   13000.00</p><p>Total: 13000.00 €</p>"
                   "<p>Merci de régler d’ici le 2024-03-20 par virement</p>")
    result = understand_bytes(pdf, "facture.pdf", OCR)
    assert (result.value("issue_date"), result.value("due_date")) == (date(2024, 3, 10), date(2024, 3, 20))


def test_a_totals_heading_beside_an_account_numbers_takes_the_amount_below_it():
    pdf = html_pdf('<p>WeasyPrint SAS</p><p>Invoice number: 12345</p><p>Date: March 31, 2018</p>'
                   '<table style="width:100%"><tr><td>DUE BY</td><td>ACCOUNT NUMBER</td><td>TOTAL DUE</td></tr>'
                   "<tr><td>May 10, 2018</td><td>132 456 789 012</td><td>€10,545.00</td></tr></table>")
    assert understand_bytes(pdf, "invoice.pdf", OCR).value("total") == Decimal("10545.00")


def test_a_placeholder_issue_date_sends_the_invoice_to_review():
    pdf = text_pdf(["Company ABC Ltd", "Invoice No. 001", "Date: 01/01/1970", "Total $2140.00"])
    result = understand_bytes(pdf, "invoice.pdf", OCR)
    assert result.needs_review and any("not plausible" in r for r in result.reasons)
