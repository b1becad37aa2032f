"""Spanish and Czech invoices: their labels for the number, the dates, net, tax and total are
read like the other languages' (and a currency printed as a word-symbol, "Kč", "Rs", "RM")."""

from datetime import date
from decimal import Decimal

import pytest

from tasks.extraction.invoice_file import understand_bytes
from tasks.language.currencies import currencies_in
from tasks.settings import OcrSettings
from tests.support.pdfs import html_pdf, text_pdf

OCR = OcrSettings()


def test_a_spanish_invoice():
    pdf = text_pdf(["Suministros Iberia S.L.", "Número de factura: F-2024-118", "Fecha de factura: 05/07/2024",
                    "Fecha de vencimiento: 20/07/2024", "Facturar a", "Anita Oliver", "Base imponible   1.419,00 €",
                    "IVA 21 %   297,99 €", "Total a pagar   1.716,99 €"])
    result = understand_bytes(pdf, "factura.pdf", OCR)
    assert result.is_invoice
    assert result.value("invoice_number") == "F-2024-118"
    assert (result.value("issue_date"), result.value("due_date")) == (date(2024, 7, 5), date(2024, 7, 20))
    assert [result.value(k) for k in ("net", "tax", "total")] == [Decimal("1419.00"), Decimal("297.99"),
                                                                  Decimal("1716.99")]


def test_a_spanish_summary_of_partial_total_taxes_and_balance_owed():
    pdf = text_pdf(["FACTURA", "INV/2024/00005", "TECNATIVA", "TOTAL PARCIAL   1419.00", "DESCUENTO   0.00",
                    "TOTAL IMPUESTOS   302.00", "Saldo adeudado   1721.00"])
    result = understand_bytes(pdf, "factura.pdf", OCR)
    assert result.value("invoice_number") == "INV/2024/00005"
    assert [result.value(k) for k in ("net", "tax", "total")] == [Decimal("1419.00"), Decimal("302.00"),
                                                                  Decimal("1721.00")]


def test_a_czech_invoice():
    pdf = html_pdf("<p>Faktura č. 198900000001</p><p>Datum vydání 05/03/2016</p><p>Datum splatnosti 19/03/2016</p>"
                   "<p>Cena bez daně: Kč 10.000</p><p>DPH 21 %: Kč 2.100</p><p>Celkem: Kč 12.100,-</p>")
    result = understand_bytes(pdf, "faktura.pdf", OCR)
    assert result.value("invoice_number") == "198900000001"
    assert (result.value("issue_date"), result.value("due_date")) == (date(2016, 3, 5), date(2016, 3, 19))
    assert [result.value(k) for k in ("net", "tax", "total", "currency")] == [
        Decimal("10000"), Decimal("2100"), Decimal("12100"), "CZK"]


@pytest.mark.parametrize(("text", "codes"), [
    ("Celkem: Kč 12.100,-", ["CZK"]), ("Rs. 450.00", ["INR"]), ("Total RM 12.50", ["MYR"]), ("12,99 zł", ["PLN"]),
    ("₹ 1,200", ["INR"]), ("FORM 12", []), ("RMS 12 Rsvp 2", []), ("RM alone", [])])
def test_currency_symbols_written_in_letters_count_only_beside_an_amount(text, codes):
    assert currencies_in(text) == codes

