"""Field extraction: value parsers, the labelled corpus (text PDFs), e-invoice XML, templates,
bad input and the `invoices extract` command. No OCR here (see test_ocr.py)."""

import json
import struct
import zlib
from datetime import date
from decimal import Decimal
from pathlib import Path

import pymupdf
import pytest
from typer.testing import CliRunner

from deployments.cli import app
from tasks.extraction.invoice_file import JSON_KEYS, understand_bytes, understand_file
from tasks.extraction.label_lookup import Reader, _without_leader
from tasks.extraction.templates import Template, load_yaml_templates
from tasks.language.amounts import parse_amount
from tasks.language.currencies import currencies_in
from tasks.language.dates import find_dates
from tasks.language.identifiers import find_ibans, find_unprefixed_gb_vat, find_vat_ids
from tasks.language.terms import payment_terms_days
from tasks.settings import OcrSettings, get_settings
from tests.support.corpus_fixtures import corpus_cases, mismatches
from tests.support.einvoices import CII, UBL_CREDIT_NOTE
from tests.support.pdfs import encrypted_pdf, html_pdf, text_pdf

OCR = OcrSettings()


@pytest.mark.parametrize(
    ("printed", "value"),
    [("1,234.56", "1234.56"), ("1.234,56", "1234.56"), ("1'234.56", "1234.56"), ("1\u2019234.56", "1234.56"),
     ("1 234,56", "1234.56"), ("1\u202f234,56 €", "1234.56"), ("$ 12.5", "12.5"), ("EUR -7,00", "-7.00"),
     ("(7.00)", "-7.00"), ("12,00-", "-12.00"), ("1.234", "1234"), ("1,234,567.89", "1234567.89"), ("0,99", "0.99")],
)
def test_amounts_in_every_listed_format(printed, value):
    assert parse_amount(printed) == Decimal(value)


def test_percentages_are_not_amounts():
    assert parse_amount("19 %") is None and parse_amount("VAT 20%") is None


def test_dates_numeric_iso_and_written_in_four_languages():
    text = ("12.03.2024 | 2024-03-13 | 14 March 2024 | March 15, 2024 | 16. März 2024 | 1er avril 2024 | "
            "18 maart 2024 | 19 févr. 2024")
    assert [d for d, _, _ in find_dates(text)] == [
        date(2024, 3, 12), date(2024, 3, 13), date(2024, 3, 14), date(2024, 3, 15), date(2024, 3, 16),
        date(2024, 4, 1), date(2024, 3, 18), date(2024, 2, 19)]


def test_an_ambiguous_date_is_read_the_way_the_rest_of_the_page_reads():
    us = text_pdf(["ACME Inc.", "Invoice No: 77-1", "Invoice Date: 03/04/2024", "Due Date: 04/25/2024",
                   "Total: $ 100.00"])
    eu = text_pdf(["ACME Ltd", "Invoice No: 77-2", "Invoice Date: 03/04/2024", "Due Date: 25/04/2024",
                   "Total: 100.00 GBP"])
    assert understand_bytes(us, "us.pdf", OCR).value("issue_date") == date(2024, 3, 4)
    assert understand_bytes(eu, "eu.pdf", OCR).value("issue_date") == date(2024, 4, 3)


def test_currencies_vat_ids_ibans_and_payment_terms():
    assert currencies_in("Total 12,00 € / 5 USD / £3 / CHF 4") == ["EUR", "USD", "GBP", "CHF"]
    assert [v for v, _, ok in find_vat_ids("USt-IdNr.: DE 136 695 976, TVA FR40303265045") if ok] == [
        "DE136695976", "FR40303265045"]
    assert find_ibans("IBAN: DE89 3704 0044 0532 0130 00 BIC COBADEFFXXX")[0][0] == "DE89370400440532013000"
    assert find_ibans("IBAN: DE88 3704 0044 0532 0130 00") == []  # wrong check digits
    assert [payment_terms_days(t) for t in ("Net 30", "Zahlbar innerhalb von 14 Tagen", "Paiement à 45 jours",
                                            "Betaling binnen 21 dagen", "Due upon receipt")] == [30, 14, 45, 21, 0]
    # a net amount is not a payment term
    assert [payment_terms_days(t) for t in ("summe netto 31'693.17 chf", "summe netto 31\u2019693.17", "netto 1 250,00 eur",
                                            "total net 12.50", "zahlungsziel: 45 tage netto")] == [None, None, None, None, 45]


def test_uk_vat_numbers_printed_without_their_prefix():
    assert [v for v, _ in find_unprefixed_gb_vat("VAT Registration No. 245 6719 41 · Company No. 06611234")] == [
        "GB245671941"]
    assert find_unprefixed_gb_vat("VAT Reg No: 245 6719 42") == []  # wrong check digits
    assert find_unprefixed_gb_vat("Company No. 245 6719 41") == []  # not labelled as VAT


def test_spaced_numbers_and_dot_leaders():
    assert Reader.number("INV 2024 117") == "INV 2024 117"
    assert Reader.number("NC-2025-0042|07/04/2025 3318") == "NC-2025-0042"  # a table rule read as "|"
    assert Reader.number("No. BR 2024 0588127 vom") == "BR 2024 0588127"
    assert Reader.number("VAT 20 %") is None
    assert _without_leader(" ........ 12/03/2024") == "12/03/2024"
    assert _without_leader(" … eeeeeeeseeee") == ""  # leader dots as OCR reads them
    assert _without_leader(" es ist") == "es ist"


@pytest.mark.parametrize("path", corpus_cases(scanned=False), ids=lambda p: p.stem)
def test_golden_text_invoices(path):
    result = understand_file(path, path.name, OCR)
    assert result.error is None and result.text_source == "text"
    assert mismatches(result, path) == {}
    assert not result.needs_review, result.reasons


def test_payment_terms_give_the_due_date_and_credit_notes_are_flagged():
    pdf = text_pdf(["Nordlicht Systems GmbH", "Gutschrift", "Gutschrift-Nr.: GS-2024-7", "Datum: 01.02.2024",
                    "Gesamtbetrag: -119,00 EUR", "Zahlbar innerhalb von 14 Tagen"])
    result = understand_bytes(pdf, "gs.pdf", OCR)
    assert result.value("due_date") == date(2024, 2, 15) and result.fields["due_date"].note == "payment terms: 14 days"
    assert result.value("is_credit_note") is True and result.value("total") == Decimal("-119.00")


def test_factur_x_xml_inside_a_pdf_wins_over_the_page():
    document = pymupdf.open(stream=text_pdf(["Invoice No: WRONG-1", "Total: 999.00 EUR"]), filetype="pdf")
    document.embfile_add("factur-x.xml", CII.encode())
    result = understand_bytes(document.tobytes(), "facturx.pdf", OCR)
    record = result.as_json()
    assert record | {"file": None} == {
        "file": None, "invoice_number": "FX-2024-001", "issue_date": "2024-03-05", "due_date": "2024-04-04",
        "vendor": "Lumen Werkstatt GmbH", "vendor_vat_id": "DE136695976", "iban": "DE89370400440532013000",
        "currency": "EUR", "net": "100.00", "tax": "19.00", "total": "119.00", "confidence": 1.0,
        "needs_review": False, "reasons": []}
    assert result.text_source == "xml" and {f.source for f in result.fields.values()} == {"xml"}
    assert result.value("reference") == "PO-7" and result.value("customer") == "Orchard Bureau SAS"


def test_a_ubl_credit_note_file():
    result = understand_bytes(UBL_CREDIT_NOTE.encode(), "cn.xml", OCR)
    assert (result.value("invoice_number"), result.value("total"), result.value("currency")) == ("CN-88", Decimal("24.00"), "GBP")
    assert result.value("is_credit_note") is True and result.value("vendor_vat_id") == "GB980780684"


def test_a_template_overrides_fields_and_exclude_keywords_stop_it(tmp_path):
    (tmp_path / "acme.yml").write_text(
        "keywords: ['Acme Tools GmbH']\nexclude_keywords: ['Mahnung']\nvendor: Acme Tools GmbH\n"
        "fields:\n  invoice_number: 'Beleg\\s*:\\s*(\\S+)'\n  total: {regex: 'Zahlbetrag\\s+(\\S+)', type: amount}\n")
    [template] = load_yaml_templates(tmp_path)
    pdf = text_pdf(["Acme Tools GmbH", "Beleg: B-77", "Datum: 02.05.2024", "Summe: 50,00 EUR", "Zahlbetrag 59,50"])
    result = understand_bytes(pdf, "acme.pdf", OCR, [template])
    assert result.template == "acme" and result.value("invoice_number") == "B-77"
    assert result.value("total") == Decimal("59.50") and result.fields["total"].source == "template"
    assert template.check("Acme Tools GmbH Mahnung") == (False, "excluded by: 'Mahnung'")
    assert isinstance(template, Template)


def _png_header(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b""))


def test_bad_input_gives_a_clear_reason_and_no_crash():
    pdf = text_pdf(["Invoice No: 1", "Total: 10.00 EUR"])
    many = pymupdf.open()
    for number in range(500):
        many.new_page().insert_text((72, 72), f"Page {number + 1} of a long report with no invoice on it")
    cases = {
        "locked.pdf": encrypted_pdf(["Invoice No: 1"]),
        "truncated.pdf": pdf[: len(pdf) // 3],
        "garbage.pdf": b"%PDF-1.7\n" + b"\x00garbage" * 100,
        "huge.png": _png_header(20_000, 20_000),
        "long.pdf": many.tobytes(),
    }
    reasons = {name: understand_bytes(data, name, OCR).reasons for name, data in cases.items()}
    assert "password-protected" in reasons["locked.pdf"][0]
    assert "not a readable PDF" in reasons["truncated.pdf"][0] or "damaged" in reasons["truncated.pdf"][0]
    assert "not a readable PDF" in reasons["garbage.pdf"][0]
    assert "20000 x 20000 px" in reasons["huge.png"][0] and "INVOICES_OCR__MAX_PIXELS" in reasons["huge.png"][0]
    assert any("only the first 50 of 500 pages" in r for r in reasons["long.pdf"])
    assert any("no invoice found" in r for r in reasons["long.pdf"])


@pytest.fixture
def cli_env(tmp_path, monkeypatch):
    """A data folder with no database, and settings read afresh."""
    monkeypatch.setenv("INVOICES_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("INVOICES_TEMPLATES_DIR", str(tmp_path / "templates"))
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def test_invoices_extract_json_has_exactly_the_promised_keys(tmp_path, cli_env):
    [first] = corpus_cases(scanned=False)[:1]
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.4 broken")
    outcome = CliRunner().invoke(app, ["extract", str(first), str(tmp_path / "broken.pdf"), "--json"])
    assert outcome.exit_code == 0, outcome.output
    good, bad = (json.loads(line) for line in outcome.output.strip().splitlines())
    assert tuple(good) == JSON_KEYS and tuple(bad) == JSON_KEYS
    expected = json.loads(first.with_suffix(".json").read_text())
    assert {k: good[k] for k in ("invoice_number", "total", "currency")} == {
        k: expected[k] for k in ("invoice_number", "total", "currency")}
    assert 0 <= good["confidence"] <= 1 and good["needs_review"] is False
    assert bad["invoice_number"] is None and bad["needs_review"] is True and "not a readable PDF" in bad["reasons"][0]
    assert not (tmp_path / "data" / "invoices.db").exists()  # nothing stored


def test_templates_check_says_which_template_matches_and_why(tmp_path, cli_env):
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "acme.yml").write_text("keywords: ['Acme Tools', 'Beleg']\nfields:\n  reference: {value: X-1}\n")
    (tmp_path / "templates" / "other.yml").write_text("keywords: ['Someone Else']\n")
    pdf = tmp_path / "acme.pdf"
    pdf.write_bytes(text_pdf(["Acme Tools GmbH", "Beleg: B-77", "Total: 5,00 EUR"]))
    outcome = CliRunner().invoke(app, ["templates", "check", str(pdf)], env={"COLUMNS": "250"})
    assert outcome.exit_code == 0, outcome.output
    assert "acme (used)" in outcome.output and "all keywords found" in outcome.output
    assert "keyword(s) not found: 'Someone Else'" in outcome.output and "X-1" in outcome.output


def test_the_example_templates_load():
    names = {t.name for t in load_yaml_templates(Path(__file__).resolve().parents[3] / "templates")}
    assert {"example-telecom", "example-supplier-credit-notes"} <= names


def test_the_label_next_to_an_amount_decides_its_role():
    """A VAT summary set left of the totals: its headings ("Base HT") do not make "Total TVA" a net."""
    pdf = html_pdf(
        "<p>Atelier Noir SARL</p><p>Facture n° F-88 du 03/03/2025</p>"
        '<table style="width:100%"><tr><td style="width:230pt"><b>Récapitulatif TVA</b><table>'
        '<tr><td>Taux</td><td>Base HT</td><td>Montant TVA</td></tr>'
        '<tr><td>5,5 %</td><td>1 000,00</td><td>55,00</td></tr><tr><td>20 %</td><td>500,00</td><td>100,00</td></tr></table></td>'
        '<td><table style="width:100%"><tr><td>Total HT</td><td>1 500,00 €</td></tr><tr><td>Total TVA</td><td>155,00 €</td></tr>'
        "<tr><td>Total TTC</td><td>1 655,00 €</td></tr></table></td></tr></table>")
    result = understand_bytes(pdf, "recap.pdf", OCR)
    assert (result.value("net"), result.value("tax"), result.value("total")) == (
        Decimal("1500.00"), Decimal("155.00"), Decimal("1655.00"))
    assert result.fields["tax"].note is None  # read beside "Total TVA", not worked out as total - net


def test_amounts_under_their_column_headings():
    """A row of amounts under "Excl. VAT | VAT | Incl. VAT" (amounts set close together read as one
    cell); a VAT table's total row under "Montant HT TVA Montant TTC"; "Page 1 of 1" is no amount."""
    marketplace = html_pdf(
        '<table style="width:100%"><tr><td><b>VAT Invoice</b></td><td style="text-align:right">Page 1 of 1</td></tr></table>'
        "<p>Sold by Kettle Homeware Ltd · Invoice # KH-913 · Invoice date 9 January 2025</p>"
        '<table style="margin-left:230pt; width:255pt"><tr><td>Invoice total</td><td style="text-align:right">Excl. VAT</td>'
        '<td style="text-align:right">VAT</td><td style="text-align:right">Incl. VAT</td></tr><tr><td></td><td style="text-align:right">'
        '£69.16</td><td style="text-align:right">£13.82</td><td style="text-align:right"><b>£82.98</b></td></tr></table>')
    result = understand_bytes(marketplace, "marketplace.pdf", OCR)
    assert (result.value("net"), result.value("tax"), result.value("total")) == (
        Decimal("69.16"), Decimal("13.82"), Decimal("82.98"))
    folio = html_pdf(
        "<p>Hôtel du Port SAS · Facture N° 4411 · Date 17/06/2025</p>"
        '<table style="width:100%"><tr><td>Taux TVA</td><td style="text-align:right">Montant HT</td><td style="text-align:right">TVA</td>'
        '<td style="text-align:right">Montant TTC</td></tr><tr><td>10,00 %</td><td style="text-align:right">265,45</td>'
        '<td style="text-align:right">26,55</td><td style="text-align:right">292,00</td></tr><tr><td>20,00 %</td>'
        '<td style="text-align:right">25,00</td><td style="text-align:right">5,00</td><td style="text-align:right">30,00</td></tr>'
        '<tr><td>Total</td><td style="text-align:right">290,45</td><td style="text-align:right">31,55</td>'
        '<td style="text-align:right">322,00</td></tr></table>')
    result = understand_bytes(folio, "folio.pdf", OCR)
    assert (result.value("net"), result.value("tax"), result.value("total")) == (
        Decimal("290.45"), Decimal("31.55"), Decimal("322.00"))


def test_a_letterhead_is_read_as_the_legal_name_that_holds_it():
    pdf = html_pdf(
        '<p><b style="font-size:20pt">fibrelink</b></p><p>Bill number: B77120455 · Bill date: 12 March 2025</p>'
        "<p>Total to pay £57.30</p><p>Questions? Call 0330 808 1234.</p><p style=\"font-size:7pt\">Fibrelink Broadband Ltd, "
        "3 Wellington Place, Leeds LS1 4AP. Registered in England and Wales, company number 11223344.</p>")
    assert understand_bytes(pdf, "bill.pdf", OCR).value("vendor") == "Fibrelink Broadband Ltd"


def test_a_vat_id_in_the_customers_address_block_is_never_the_vendors():
    """The vendor's own VAT id unreadable (as on a poor scan): the one under "Bill to" is the
    customer's, even labelled only "VAT:"."""
    pdf = html_pdf(
        '<table style="width:100%"><tr><td style="width:250pt"><b>Pennine Data Ltd</b><br>3 Wharf Street<br>'
        "Huddersfield HD1 1AA<br>VAT: see our website</td><td><b>Bill to</b><br>Harrogate Kitchens Ltd<br>"
        "Unit 12, Hornbeam Park<br>VAT: GB 980 7806 29</td></tr></table>"
        "<p>Invoice No: PD-5521 · Invoice Date: 7 May 2024</p><p>Total £1,440.00</p>")
    result = understand_bytes(pdf, "two-columns.pdf", OCR)
    assert result.value("vendor") == "Pennine Data Ltd" and result.value("vendor_vat_id") is None


def test_an_ampersand_ocr_read_as_a_grave_a_in_an_english_or_german_name():
    from tasks.extraction.parties import _company_name

    assert _company_name("Kettle à Crumb Homeware Ltd") == "Kettle & Crumb Homeware Ltd"
    assert _company_name("Müller à Söhne GmbH") == "Müller & Söhne GmbH"
    assert _company_name("Boulangerie à l'Ancienne SARL") == "Boulangerie à l'Ancienne SARL"  # French: a real "à"


def test_the_vendor_beside_the_customer_block_and_not_in_a_delivery_address():
    """Two address columns side by side: "Bill to" keeps its own column, not the whole line; a
    "Ship to" column is the customer's too."""
    pdf = html_pdf(
        "<p><b>Invoice</b></p><p>Invoice number 8F3A-0007 · Date of issue November 3, 2026</p>"
        '<table style="width:100%"><tr><td style="width:170pt"><b>Quillstack, Inc.</b><br>548 Market Street<br>San Francisco, CA</td>'
        "<td style=\"width:170pt\"><b>Bill to</b><br>Harbor Finch<br>1200 Alton Road</td>"
        "<td><b>Ship to</b><br>Finch Logistics LLC<br>9 Dock Road</td></tr></table>"
        '<p>Pay online</p><p>Total $1,284.00</p>')
    result = understand_bytes(pdf, "saas.pdf", OCR)
    assert result.value("vendor") == "Quillstack, Inc." and result.value("customer") == "Harbor Finch"
    numbered = html_pdf(
        "<p><b>Imprimerie Delvaux</b></p><p style=\"font-size:16pt\"><b>NOTE DE CRÉDIT</b></p>"
        "<table><tr><td>Numéro</td><td>Date</td><td>N° client</td></tr><tr><td>NC-42</td><td>07/04/2025</td><td>3318</td></tr></table>"
        "<p>Total TVAC -378,13 €</p><p style=\"font-size:7pt\">Imprimerie Delvaux SA · Chaussée de Louvain 233, 5000 Namur</p>")
    result = understand_bytes(numbered, "nc.pdf", OCR)
    assert result.value("vendor") == "Imprimerie Delvaux SA" and result.value("customer") is None


def test_the_invoice_number_and_not_the_number_of_the_invoice_it_refers_to():
    storno = text_pdf(["Büroservice Hartmann e.K.", "Stornorechnung Nr. ST-2025-0009", "Datum: 03.02.2025",
                       "Storno zu Rechnung Nr.: RE-2025-0143 vom 14.01.2025", "Gesamtbetrag -1.487,50 EUR"])
    result = understand_bytes(storno, "storno.pdf", OCR)
    assert (result.value("invoice_number"), result.value("reference")) == ("ST-2025-0009", "RE-2025-0143")
    honorar = text_pdf(["Steiner Steuerberatung GmbH", "Wien, am 30. April 2025", "Honorarnote Nr. 2025/0234",
                        "Gesamtbetrag EUR 2.232,00"])
    assert understand_bytes(honorar, "honorar.pdf", OCR).value("invoice_number") == "2025/0234"
    header = html_pdf("<p><b>Imprimerie Delvaux SA</b></p><p><b>NOTE DE CRÉDIT</b></p><table><tr><td>Numéro</td><td>Date</td>"
                      "<td>N° client</td></tr><tr><td>NC-2025-0042</td><td>07/04/2025</td><td>3318</td></tr></table>"
                      "<p>Total TVAC -378,13 €</p>")
    assert understand_bytes(header, "nc.pdf", OCR).value("invoice_number") == "NC-2025-0042"


def test_a_label_wrapped_in_a_narrow_column():
    pdf = html_pdf(
        "<p><b>Liffey Data Solutions Limited</b></p>"
        '<table style="width:100%"><tr><td style="width:240pt">Invoice to<br>Harcourt Veterinary Group Ltd</td><td><table>'
        "<tr><td>Invoice No.</td><td>INV-3318</td></tr><tr><td>Invoice Date</td><td>21/05/2025</td></tr>"
        "<tr><td>Purchase Order</td><td>HX-4471</td></tr></table></td></tr></table>"
        "<p>Total EUR 2,460.00</p>")
    assert understand_bytes(pdf, "wrapped.pdf", OCR).value("reference") == "HX-4471"


def test_a_written_date_on_a_line_with_a_dash_or_a_pound_sign():
    assert [d for d, _, _ in find_dates("Amount due by 26 March 2025 – we'll collect £57.30")] == [date(2025, 3, 26)]
    assert [d for d, _, _ in find_dates("Wien, am 30. April 2025 · Honorarnote")] == [date(2025, 4, 30)]


def test_the_invoice_a_credit_note_concerns_is_its_reference():
    pdf = html_pdf("<p><b>Imprimerie Delvaux SA</b></p><p><b>NOTE DE CRÉDIT</b> NC-2025-0042 du 07/04/2025</p>"
                   '<table style="width:100%"><tr><td>N° client</td><td>Concerne facture</td></tr>'
                   "<tr><td>3318</td><td>2025-0318 du 24/03/2025</td></tr></table><p>Total TVAC -378,13 €</p>")
    assert understand_bytes(pdf, "nc.pdf", OCR).value("reference") == "2025-0318"


def test_a_uk_vat_number_wrapped_onto_the_next_line():
    pdf = text_pdf(["Fibrelink Broadband Ltd", "Bill number: B77120455", "Bill date: 12 March 2025", "Total to pay £57.30",
                    "Registered in England and Wales, company number 11223344. VAT registration number 678", "0083 74."])
    assert understand_bytes(pdf, "bill.pdf", OCR).value("vendor_vat_id") == "GB678008374"


def test_a_swiss_uid_is_a_valid_vat_id_with_or_without_mwst():
    assert [(v, ok) for v, _, ok in find_vat_ids("MWST-Nr. CHE-991.618.411 MWST")] == [("CHE991618411", True)]
    assert [(v, ok) for v, _, ok in find_vat_ids("UID CHE-991.618.411")] == [("CHE991618411", True)]
    assert [ok for _, _, ok in find_vat_ids("UID CHE-991.618.412")] == [False]  # wrong check digit


def test_ocr_letter_digit_confusions_in_vat_ids_are_repaired_where_the_format_allows():
    def ids(text):
        return [v for v, _, ok in find_vat_ids(text) if ok]

    assert ids("VAT No. IE 36689970H") == ["IE3668997OH"]  # a letter read as 0 where Ireland's format wants a letter
    assert ids("VAT No. IE 61643O6FA") == ["IE6164306FA"]  # an O read among the digits
    assert ids("USt-IdNr. DE 8I1 0OO 107") == ["DE811000107"]  # groups printed with spaces
    assert ids("TVA FR57 592 45l 959") == ["FR57592451959"]
    assert ids("btw NL893095321801") == ["NL893095321B01"]
    assert ids("UID ATU334425B4") == ["ATU33442584"]
    assert ids("USt-IdNr. DE 8I1 0OO 108") == []  # no repair passes the checksum


def test_seller_in_a_sentence_is_no_label():
    pdf = text_pdf(["VAT Invoice", "Invoice # KCH-INV-2025-00913", "Invoice date 9 January 2025", "Total payable £82.98",
                    "Kettle & Crumb Homeware Ltd, Unit 4, Riverside Trading Estate, Bristol",
                    "This invoice was issued on behalf of the seller by Shopwell Marketplace Services S.à r.l."])
    assert understand_bytes(pdf, "marketplace.pdf", OCR).value("vendor") == "Kettle & Crumb Homeware Ltd"


def test_a_wrapped_iban_whose_check_digits_ocr_misread():
    pdf = text_pdf(["Steiner Steuerberatung GmbH", "Honorarnote Nr. 2025/0234", "Gesamtbetrag EUR 2.232,00",
                    "Zahlbar binnen 14 Tagen auf unser Konto bei der Raiffeisenbank, IBAN ATO4 3200 0000 1239",
                    "8745, BIC RLNWATWW."])
    assert understand_bytes(pdf, "honorar.pdf", OCR).value("iban") == "AT043200000012398745"


def test_words_with_a_date_after_a_reference_label_are_its_value_not_more_label():
    """"Votre commande : courriel du 4 novembre 2024" names no order number; the payment terms
    under it ("30 jours net") are not one either."""
    pdf = html_pdf(
        "<p>Imprimerie du Léman Sàrl</p><p>Facture</p><table><tr><td>N° de facture :</td><td>24-0871</td></tr>"
        "<tr><td>Votre commande : courriel du 4 novembre 2024</td></tr>"
        "<tr><td>Conditions :</td><td>30 jours net</td></tr></table><p>Montant total CHF 3'761.90</p>")
    assert understand_bytes(pdf, "facture.pdf", OCR).value("reference") is None


def test_a_reference_label_ending_in_n_degree_takes_the_value_on_the_next_line():
    pdf = text_pdf(["Thermica Ouest SAS", "Facture n° FA24-00987 du 29/11/2024",
                    "Objet : mission études thermiques RE2020, phase PRO. Votre bon de commande n°", "BC-2024-0731.",
                    "Net à payer 1 854,00 €"])
    assert understand_bytes(pdf, "facture.pdf", OCR).value("reference") == "BC-2024-0731"


def test_a_bare_number_label_with_a_spaced_colon_under_the_document_title():
    pdf = text_pdf(["Thermica Ouest SAS", "FACTURE", "Numéro : FA24-00987", "Date : 29 novembre 2024",
                    "Net à payer 1 854,00 €"])
    assert understand_bytes(pdf, "facture.pdf", OCR).value("invoice_number") == "FA24-00987"


def test_the_degree_sign_of_n_de_facture_as_ocr_reads_it():
    for label in ("N’ de facture :", "N' de facture :", "N* de facture :"):
        pdf = html_pdf(f"<p>Imprimerie du Léman Sàrl</p><p>Facture</p><p>{label} 24-0871</p><p>Date : 22 nov. 2024</p>"
                       "<p>Montant total CHF 3'761.90</p>")
        assert understand_bytes(pdf, "facture.pdf", OCR).value("invoice_number") == "24-0871", label


def test_the_leistungsempfaenger_and_the_preneur_are_the_customer():
    """A reverse-charge invoice prints both VAT ids: the one of the "Leistungsempfänger" (under
    that label, or named so in the text) and of the "preneur" is the customer's."""
    pdf = html_pdf(
        "<p><b>Alpendata Software GmbH</b><br>Museumstraße 12, 6020 Innsbruck</p>"
        "<p>Leistungsempfänger:<br>Hofmann Logistik GmbH<br>Am Güterbahnhof 5<br>83022 Rosenheim<br>UID: DE315628074</p>"
        "<p>Rechnung Nr. 2024/0318 · Datum 22.11.2024</p><p>Gesamtbetrag EUR 8.400,00</p>"
        "<p>Reverse Charge. UID-Nr. des Leistungsempfängers: DE315628074 · Unsere UID-Nr.: ATU67382156</p>")
    result = understand_bytes(pdf, "rc.pdf", OCR)
    assert result.value("vendor_vat_id") == "ATU67382156" and result.value("customer") == "Hofmann Logistik GmbH"
    pdf = text_pdf(["Conseil Dupont SARL", "Facture n° 88 du 03/03/2025", "N° TVA du preneur : DE315628074",
                    "Autoliquidation. N° TVA FR55829457167", "Total HT 1 000,00 €"])
    assert understand_bytes(pdf, "rc.pdf", OCR).value("vendor_vat_id") == "FR55829457167"


def test_a_letterhead_is_read_as_the_one_legal_name_that_shares_its_name_word():
    pdf = html_pdf(
        '<p><b style="font-size:20pt">Buro Vandamme</b><br>kantoorbenodigdheden</p><p>Factuurnummer 2024/11/0458</p>'
        "<p>Factuurdatum 22/11/2024</p><p>Te betalen € 605,00</p>"
        '<p style="font-size:7pt">Vandamme Kantoorinrichting BV · BTW BE 0871.544.208 · RPR Gent</p>')
    assert understand_bytes(pdf, "factuur.pdf", OCR).value("vendor") == "Vandamme Kantoorinrichting BV"


def test_a_wrapped_label_beside_the_customers_address():
    """"Invoice | 22 Nov. 2024" over "date" in a narrow column, the customer's address going on
    left of it: the label is "Invoice date" (not the "date" of the delivery date below)."""
    pdf = html_pdf(
        "<p><b>Moselle Data S.à r.l.</b></p><p>INVOICE No. MD-2024-0622</p>"
        '<table style="width:100%"><tr><td style="width:250pt">Customer<br>Kirchberg Wealth Partners S.A.<br>'
        "15, avenue J.F. Kennedy<br>L-1855 Luxembourg</td><td><table><tr><td style=\"width:40pt\">Invoice date</td>"
        '<td style="width:80pt">22 Nov. 2024</td></tr><tr><td>Delivery date</td><td>Nov 18, 2024</td></tr></table></td></tr>'
        "</table><p>Total EUR 16,965.00</p>")
    assert understand_bytes(pdf, "invoice.pdf", OCR).value("issue_date") == date(2024, 11, 22)


def test_a_value_a_narrow_column_wrapped_onto_the_next_line_is_read_whole():
    """"Factuurdatum 25 november" over "2024"; a PO number broken after a slash ("KWP/" over
    "PO/2024/117"), its label wrapped too ("PO" over "number")."""
    pdf = html_pdf(
        "<p><b>Podiumtechniek Dekker V.O.F.</b></p>"
        '<table style="width:100%"><tr><td style="width:260pt">Stichting Zomerfestival Noordwijk<br>Postbus 118<br>'
        '2200 AC Noordwijk</td><td><table style="font-size:9pt"><tr><td>Factuurnr.</td><td>2024-0212</td></tr>'
        "<tr><td>Factuurdatum</td><td>25 november 2024</td></tr><tr><td>Proformanr.</td><td>PF-2024-031</td></tr>"
        "<tr><td>Uw kenmerk</td><td>ZFN-2024-14</td></tr></table></td></tr></table>"
        "<p>Deze factuur vervangt de proformafactuur PF-2024-031 van 4 november 2024.</p><p>Totaal € 3.690,50</p>")
    assert understand_bytes(pdf, "factuur.pdf", OCR).value("issue_date") == date(2024, 11, 25)
    pdf = html_pdf(
        "<p><b>Moselle Data S.à r.l.</b></p><p>INVOICE No. MD-2024-0622 · Invoice date 22 Nov. 2024</p>"
        '<table style="width:100%"><tr><td style="width:250pt">Customer<br>Kirchberg Wealth Partners S.A.<br>'
        "Attn. Finance Department<br>15, avenue J.F. Kennedy<br>L-1855 Luxembourg<br>VAT LU20165772</td><td><table>"
        "<tr><td>Invoice date</td><td>22 Nov. 2024</td></tr><tr><td>Delivery date</td><td>Nov 18, 2024</td></tr>"
        "<tr><td>Due date</td><td>22-12-2024</td></tr><tr><td>PO number</td><td>KWP/PO/2024/117</td></tr></table>"
        "</td></tr></table><p>Total EUR 16,965.00</p>")
    assert understand_bytes(pdf, "invoice.pdf", OCR).value("reference") == "KWP/PO/2024/117"


def test_an_iban_with_a_mark_ocr_read_between_its_digits():
    assert [iban for iban, _ in find_ibans("Graag overmaken op NL22 RABO 0312 998: 8 71 t.n.v. Het Anker")] == [
        "NL22RABO0312998871"]
    assert find_ibans("IBAN: DE88 3704 0044 0532: 0130 00") == []  # still the checksum decides
