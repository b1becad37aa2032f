"""Choosing net, tax and total on what the document prints: amounts that agree with each other
win, a till receipt's cash handed over and change are no total, a nil or garbled total is no
candidate."""

from decimal import Decimal

from tasks.extraction.invoice_file import understand_bytes
from tasks.settings import OcrSettings
from tests.support.pdfs import text_pdf

OCR = OcrSettings()


def _amounts(lines: list[str]) -> tuple:
    result = understand_bytes(text_pdf(lines), "document.pdf", OCR)
    return tuple(result.value(k) for k in ("net", "tax", "total"))


def test_a_total_over_a_larger_one_is_the_subtotal_when_the_tax_makes_them_agree():
    """"Summe" (a total word) over the tax and a "Rechnungstotal": the first is the net, the
    last the total, not a payment slip's amount printed below them."""
    lines = ["Muster AG", "Rechnung Nr. 1071672", "Datum 29.10.2023", "Summe   CHF 2'420.00", "MwSt. 7.7%",
             "MwSt. Betrag   CHF 186.35", "Rechnungstotal   CHF 2'606.35", "Zahlteil", "Währung   Betrag",
             "CHF   1 994.75"]
    assert _amounts(lines) == (Decimal("2420.00"), Decimal("186.35"), Decimal("2606.35"))


def test_a_subtotal_that_agrees_with_nothing_is_not_taken_as_the_net():
    lines = ["Muster AG", "Rechnung Nr. 17", "Datum 29.10.2023", "Summe   CHF 100.00", "Gesamt   CHF 250.00"]
    net, _, total = _amounts(lines)
    assert total == Decimal("250.00") and net != Decimal("100.00")


def test_cash_handed_over_and_change_are_not_the_total_of_a_receipt():
    lines = ["Muster Markt GmbH", "Bon-Nr. 4711", "02.03.2020", "BROT   2,29", "KAFFEE   4,87",
             "ZU ZAHLEN EURO   7,16", "BARGELD   10,00", "ZURÜCK   2,84"]
    assert _amounts(lines)[2] == Decimal("7.16")


def test_the_cash_less_the_change_confirms_the_total_among_a_vat_table():
    """A VAT table whose row adds up (net + tax = gross of one rate) does not beat the total the
    money handed over less the change confirms."""
    lines = ["Muster Markt GmbH", "Bon-Nr. 4711", "02.03.2020", "ZU ZAHLEN EURO   24,23", "BARGELD   40,00",
             "ZURÜCK   15,77", "MWST   Netto   MWST-BETRAG   BRUTTO", "C 7,00%   17,33   1,21   18,54",
             "D 19,00%   4,78   0,91   5,69"]
    assert _amounts(lines)[2] == Decimal("24.23")


def test_a_nil_total_is_no_candidate_beside_one_that_is_not():
    lines = ["Muster Markt GmbH", "Bon-Nr. 4711", "02.03.2020", "zu zahlen   7,16", "Bar   10,00",
             "Rückgeld   -2,84", "Summe   0,00"]
    assert _amounts(lines)[2] == Decimal("7.16")


def test_ocr_debris_beside_a_total_label_is_not_its_amount():
    lines = ["Muster Baumarkt AG", "Bon-Nr. 4711", "Datum 23.09.16", "SUMME [31   EUR   152,00",
             "GEGEBEN ec-Karte   EUR   152,00"]
    assert _amounts(lines)[2] == Decimal("152.00")


def test_a_till_receipt_without_the_word_invoice_is_read_as_one():
    result = understand_bytes(text_pdf(["Muster Markt GmbH", "Kassenbon", "02.03.2020", "BROT   2,29",
                                        "SUMME EUR   2,29", "BAR   5,00", "RÜCKGELD   2,71"]), "bon.pdf", OCR)
    assert result.is_invoice and result.value("total") == Decimal("2.29")


def test_the_tax_a_total_holds_is_the_tax_not_a_total():
    lines = ["Muster Buch GmbH", "Quittung", "Bon-Nr. 600", "Datum 06.05.2020", "SUMME (1)   € 49,90",
             "Betrag   49.90 EUR", "Betrag enthält   3,26 €   MWSt", "Netto:   46,64"]
    assert _amounts(lines) == (Decimal("46.64"), Decimal("3.26"), Decimal("49.90"))


def test_an_amount_alone_below_the_tax_that_is_net_plus_tax_is_the_total():
    """The total's label lost (a photo), its amount printed under the tax line."""
    lines = ["Contoso", "6/10/2019 13:59", "Sales Associate: Paul", "2 Surface Pro 6   $1,998.00",
             "Sub-Total   $2,297.97", "Tax   $218.31", "$2,516.28"]
    result = understand_bytes(text_pdf(lines), "receipt.pdf", OCR)
    assert result.is_invoice and result.value("total") == Decimal("2516.28")
    assert result.fields["total"].note == "net + tax, printed below them"
