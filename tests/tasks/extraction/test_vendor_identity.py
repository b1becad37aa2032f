"""Who issued the invoice, by what the page says of itself: its own web and e-mail domain spells
the vendor's name; the customer's name, an e-mail line or a word before a number are not it."""

from tasks.extraction.domains import domain_keys, name_spelled_by, spelled_by
from tasks.extraction.invoice_file import understand_bytes
from tasks.language.identifiers import find_vat_ids
from tasks.settings import OcrSettings
from tests.support.pdfs import html_pdf, text_pdf

OCR = OcrSettings()


def test_domains_name_their_owner_not_free_mail_or_examples():
    keys = domain_keys(["contact@akretion.com https://www.akretion.com", "jane@gmail.com", "sales@example.com",
                        "see shop.acme.co.uk"])
    assert keys == ["akretion", "acme"]
    assert spelled_by("Akretion France", keys) and spelled_by("ACME", keys) and not spelled_by("Cabinet CACtus", keys)
    assert spelled_by("Bouygues Telecom", ["bouyguestelecom"])


def test_a_name_is_found_as_printed_but_never_inside_an_address():
    lines = ["mail : serviceclient@edf.fr", "www.edf.fr", "Application mobile : EDF & MOI"]
    assert name_spelled_by(lines, ["edf"], lambda name: True) == "EDF"
    assert name_spelled_by(lines[:2], ["edf"], lambda name: True) is None


def test_the_sender_block_its_domain_spells_beats_a_larger_customer_block():
    """Two address blocks and no legal form: the one the footer's domain spells is the vendor."""
    pdf = html_pdf('<p style="font-size:10pt">Akretion France<br>27 rue Henri Rolland<br>69100 Villeurbanne</p>'
                   '<p style="font-size:13pt">Cabinet CACtus<br>42 rue de l\'audit<br>69100 Villeurbanne</p>'
                   "<p>Invoice VT/2022/0001</p><p>Invoice Date: 21/09/2022</p><p>Total 1,810.80 €</p>"
                   "<p>contact@akretion.com https://www.akretion.com</p>")
    assert understand_bytes(pdf, "invoice.pdf", OCR).value("vendor") == "Akretion France"


def test_a_legal_name_printed_once_yields_to_the_name_the_domain_spells_throughout():
    """An unlabelled customer address with a legal form, the vendor's name repeated in the text and in its domain."""
    pdf = text_pdf(["Date de facture : 02/11/2019", "N° de facture : 11608848301659", "ALEXINUX SARL",
                    "35 B RUE MONTGOLFIER", "69100 VILLEURBANNE", "Vos services Bouygues Telecom   10,83   12,99",
                    "Montant de la facture   12,99", "Espace Client Bouygues Telecom sur bouyguestelecom.fr"])
    assert understand_bytes(pdf, "facture.pdf", OCR).value("vendor") == "Bouygues Telecom"


def test_an_e_mail_line_is_never_a_vendor_name():
    pdf = text_pdf(["mail : billing@shop.test", "Invoice No. 4471", "Invoice Date: 02/11/2019", "Total 12.99 EUR"])
    assert understand_bytes(pdf, "invoice.pdf", OCR).value("vendor") is None


def test_a_word_before_a_number_is_no_vat_prefix_and_spaced_dashes_are_read():
    found = find_vat_ids("EDF-SA capital de 1 549 961 789,50 € N.I.T.V.A. FR 03 - 552 081 317")
    assert [(vat_id, valid) for vat_id, _, valid in found] == [("FR03552081317", True)]


def test_an_invoice_number_printed_in_groups_of_three_digits_is_read_whole():
    pdf = text_pdf(["EDF SA", "Facture du 11/12/2022", "N° de facture : 12 345 678 901", "Montant total 62,86 €"])
    assert understand_bytes(pdf, "facture.pdf", OCR).value("invoice_number").replace(" ", "") == "12345678901"


def test_a_weee_or_eori_number_is_not_the_vat_id():
    pdf = text_pdf(["Muster Baumarkt AG", "WEEE-Reg.-Nr. DE 39697378", "EORI: DE123456789012345", "Bon-Nr. 4711",
                    "Datum 23.09.2016", "SUMME EUR 152,00"])
    result = understand_bytes(pdf, "bon.pdf", OCR)
    assert result.value("vendor_vat_id") is None and not any("VAT id" in r for r in result.reasons)


def test_the_customers_vat_id_labelled_in_the_cell_before_it_is_not_the_vendors():
    pdf = text_pdf(["Acme Ltd.", "Invoice No. 4471", "Invoice Date: 02/11/2019", "Your VAT ID:   DE136695976",
                    "Total 12.99 EUR", "VAT-ID: DE811191002"])
    assert understand_bytes(pdf, "invoice.pdf", OCR).value("vendor_vat_id") == "DE811191002"
