"""The exact reader of e-invoices: every EN 16931 syntax (UBL 2.1 Invoice and CreditNote, CII D16B,
XRechnung in both, Peppol BIS 3.0), Factur-X / ZUGFeRD 2.x of every profile and ZUGFeRD 1.0, as
XML files or inside PDFs whatever the attachment is called (the PDF/A-3 /AF relation first)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pymupdf
import pytest

from tasks.einvoice.profiles import classify
from tasks.errors import UnreadableDocument
from tasks.reading.einvoice_xml import einvoice_in_pdf, pdf_attachments, read_einvoice
from tests.support.einvoice_pdfs import hybrid_pdf

DATA = Path(__file__).resolve().parents[2] / "data" / "einvoice"
CII = DATA / "en16931" / "cii" / "CII_example1.xml"
UBL = DATA / "en16931" / "ubl" / "ubl-tc434-example1.xml"
CREDIT_NOTE = DATA / "en16931" / "ubl" / "ubl-tc434-creditnote1.xml"
PEPPOL = DATA / "en16931" / "ubl" / "BIS3_Invoice_positive.XML"
XRECHNUNG_CII = DATA / "xrechnung" / "cii" / "cii-br-de-1-test.xml"
XRECHNUNG_UBL = DATA / "xrechnung" / "ubl-inv" / "ubl-inv-br-de-1-test.xml"
XRECHNUNG_CREDIT = DATA / "xrechnung" / "ubl-cn" / "ubl-cn-br-de-1-test.xml"

ZUGFERD_1 = b"""<?xml version="1.0" encoding="UTF-8"?>
<rsm:CrossIndustryDocument xmlns:rsm="urn:ferd:CrossIndustryDocument:invoice:1p0"
  xmlns:ram="urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:12"
  xmlns:udt="urn:un:unece:uncefact:data:standard:UnqualifiedDataType:15">
 <rsm:SpecifiedExchangedDocumentContext><ram:GuidelineSpecifiedDocumentContextParameter>
  <ram:ID>urn:ferd:CrossIndustryDocument:invoice:1p0:comfort</ram:ID></ram:GuidelineSpecifiedDocumentContextParameter>
 </rsm:SpecifiedExchangedDocumentContext>
 <rsm:HeaderExchangedDocument><ram:ID>RE-1001</ram:ID><ram:TypeCode>380</ram:TypeCode>
  <ram:IssueDateTime><udt:DateTimeString format="102">20140310</udt:DateTimeString></ram:IssueDateTime>
 </rsm:HeaderExchangedDocument>
 <rsm:SpecifiedSupplyChainTradeTransaction>
  <ram:ApplicableSupplyChainTradeAgreement>
   <ram:SellerTradeParty><ram:Name>Lieferant GmbH</ram:Name>
    <ram:SpecifiedTaxRegistration><ram:ID schemeID="VA">DE123456789</ram:ID></ram:SpecifiedTaxRegistration>
   </ram:SellerTradeParty>
   <ram:BuyerTradeParty><ram:Name>Kunden AG</ram:Name></ram:BuyerTradeParty>
  </ram:ApplicableSupplyChainTradeAgreement>
  <ram:ApplicableSupplyChainTradeSettlement>
   <ram:InvoiceCurrencyCode>EUR</ram:InvoiceCurrencyCode>
   <ram:SpecifiedTradePaymentTerms><ram:DueDateDateTime><udt:DateTimeString format="102">20140410</udt:DateTimeString>
   </ram:DueDateDateTime></ram:SpecifiedTradePaymentTerms>
   <ram:SpecifiedTradeSettlementMonetarySummation>
    <ram:LineTotalAmount currencyID="EUR">200.00</ram:LineTotalAmount>
    <ram:TaxBasisTotalAmount currencyID="EUR">200.00</ram:TaxBasisTotalAmount>
    <ram:TaxTotalAmount currencyID="EUR">38.00</ram:TaxTotalAmount>
    <ram:GrandTotalAmount currencyID="EUR">238.00</ram:GrandTotalAmount>
   </ram:SpecifiedTradeSettlementMonetarySummation>
  </ram:ApplicableSupplyChainTradeSettlement>
  <ram:IncludedSupplyChainTradeLineItem>
   <ram:AssociatedDocumentLineDocument><ram:LineID>1</ram:LineID></ram:AssociatedDocumentLineDocument>
   <ram:SpecifiedSupplyChainTradeAgreement><ram:NetPriceProductTradePrice>
    <ram:ChargeAmount currencyID="EUR">20.0000</ram:ChargeAmount></ram:NetPriceProductTradePrice>
   </ram:SpecifiedSupplyChainTradeAgreement>
   <ram:SpecifiedSupplyChainTradeDelivery><ram:BilledQuantity unitCode="C62">10.0000</ram:BilledQuantity>
   </ram:SpecifiedSupplyChainTradeDelivery>
   <ram:SpecifiedSupplyChainTradeSettlement>
    <ram:ApplicableTradeTax><ram:TypeCode>VAT</ram:TypeCode><ram:CategoryCode>S</ram:CategoryCode>
     <ram:ApplicablePercent>19.00</ram:ApplicablePercent></ram:ApplicableTradeTax>
    <ram:SpecifiedTradeSettlementMonetarySummation><ram:LineTotalAmount currencyID="EUR">200.00</ram:LineTotalAmount>
    </ram:SpecifiedTradeSettlementMonetarySummation>
   </ram:SpecifiedSupplyChainTradeSettlement>
   <ram:SpecifiedTradeProduct><ram:Name>Schrauben M6</ram:Name></ram:SpecifiedTradeProduct>
  </ram:IncludedSupplyChainTradeLineItem>
 </rsm:SpecifiedSupplyChainTradeTransaction>
</rsm:CrossIndustryDocument>"""


def _read(path: Path):  # type: ignore[no-untyped-def]
    return read_einvoice(path.read_bytes(), path.name)


def test_cii_d16b_fields_and_lines_are_exact() -> None:
    found = _read(CII)
    assert (found.syntax, found.root, found.profile) == ("CII", "CrossIndustryInvoice", "urn:cen.eu:en16931:2017")
    assert found.values["invoice_number"] == "12115118" and found.values["total"] == Decimal("250.33")
    assert len(found.lines) == 20 and found.lines[-1].net_amount == Decimal("-109.98")
    assert found.xml == CII.read_bytes()  # the XML as it arrived


def test_ubl_invoice_and_credit_note_lines() -> None:
    invoice, credit = _read(UBL), _read(CREDIT_NOTE)
    assert invoice.root == "Invoice" and not invoice.values["is_credit_note"]
    assert credit.root == "CreditNote" and credit.values["is_credit_note"]
    assert credit.lines and all(line.quantity is not None and line.net_amount is not None for line in credit.lines)
    first = invoice.lines[0]
    assert (first.position, first.description, first.unit, first.tax_category) == (1, "PATAT FRITES 10MM 10KG", "EA",
                                                                                    "S")


@pytest.mark.parametrize(("path", "syntax", "root", "name"), [
    (XRECHNUNG_CII, "CII", "CrossIndustryInvoice", "XRechnung"),
    (XRECHNUNG_UBL, "UBL", "Invoice", "XRechnung"),
    (XRECHNUNG_CREDIT, "UBL", "CreditNote", "XRechnung"),
    (PEPPOL, "UBL", "Invoice", "Peppol BIS Billing 3.0"),
], ids=["xrechnung-cii", "xrechnung-ubl", "xrechnung-ubl-credit-note", "peppol-bis3"])
def test_xrechnung_and_peppol_in_either_syntax(path: Path, syntax: str, root: str, name: str) -> None:
    found = _read(path)
    assert (found.syntax, found.root) == (syntax, root)
    assert classify(found.syntax, found.root, found.profile).name == name
    assert found.values["invoice_number"] and found.lines


@pytest.mark.parametrize(("guideline", "name", "en16931"), [
    ("urn:factur-x.eu:1p0:minimum", "Factur-X / ZUGFeRD MINIMUM", False),
    ("urn:factur-x.eu:1p0:basicwl", "Factur-X / ZUGFeRD BASIC WL", False),
    ("urn:cen.eu:en16931:2017#compliant#urn:factur-x.eu:1p0:basic", "Factur-X / ZUGFeRD BASIC", True),
    ("urn:cen.eu:en16931:2017", "EN 16931", True),
    ("urn:cen.eu:en16931:2017#conformant#urn:factur-x.eu:1p0:extended", "Factur-X / ZUGFeRD EXTENDED", True),
    ("urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0", "XRechnung", True),
])
def test_every_factur_x_profile_is_read_and_named(guideline: str, name: str, en16931: bool) -> None:
    xml = CII.read_bytes().replace(b"<ram:ID>urn:cen.eu:en16931:2017</ram:ID>", f"<ram:ID>{guideline}</ram:ID>".encode(), 1)
    found = read_einvoice(xml, "factur-x.xml")
    profile = classify(found.syntax, found.root, found.profile)
    assert found.profile == guideline and (profile.name, profile.en16931) == (name, en16931)
    assert found.values["total"] == Decimal("250.33")


def test_zugferd_1_is_read_with_its_lines() -> None:
    found = read_einvoice(ZUGFERD_1, "ZUGFeRD-invoice.xml")
    assert (found.syntax, found.root) == ("CII", "CrossIndustryDocument")
    assert classify(found.syntax, found.root, found.profile).syntax == "ZUGFeRD 1.0"
    values = found.values
    assert (values["invoice_number"], values["vendor"], values["customer"]) == ("RE-1001", "Lieferant GmbH", "Kunden AG")
    assert (values["issue_date"], values["due_date"]) == (date(2014, 3, 10), date(2014, 4, 10))
    assert (values["net"], values["tax"], values["total"]) == (Decimal("200.00"), Decimal("38.00"), Decimal("238.00"))
    [line] = found.lines
    assert (line.line_id, line.description, line.quantity, line.unit) == ("1", "Schrauben M6", Decimal("10.0000"), "C62")
    assert (line.unit_price, line.net_amount, line.tax_category, line.tax_rate) == (
        Decimal("20.0000"), Decimal("200.00"), "S", Decimal("19.00"))


@pytest.mark.parametrize("attachment", ["factur-x.xml", "zugferd-invoice.xml", "ZUGFeRD-invoice.xml", "xrechnung.xml",
                                        "Rechnung 2024-17.XML", "invoice-data"])
def test_a_hybrid_pdf_is_read_whatever_its_attachment_is_called(attachment: str) -> None:
    pdf = pymupdf.open(stream=hybrid_pdf(CII.read_bytes(), ["Invoice 12115118"], attachment=attachment, af=False,
                                         extra={"terms.xml": b"<terms>pay in 14 days</terms>"}))
    found = einvoice_in_pdf(pdf, "hybrid.pdf")
    assert found is not None and found.attachment == attachment and found.values["invoice_number"] == "12115118"


def test_the_af_relation_comes_before_the_known_names() -> None:
    decoy = ZUGFERD_1.replace(b"RE-1001", b"DECOY-1")
    pdf = pymupdf.open(stream=hybrid_pdf(CII.read_bytes(), ["Invoice"], attachment="anhang.xml",
                                         extra={"factur-x.xml": decoy}))
    assert [name for name, _ in pdf_attachments(pdf)][:2] == ["anhang.xml", "factur-x.xml"]
    assert einvoice_in_pdf(pdf, "hybrid.pdf").values["invoice_number"] == "12115118"
    without = pymupdf.open(stream=hybrid_pdf(CII.read_bytes(), ["Invoice"], attachment="anhang.xml", af=False,
                                             extra={"factur-x.xml": decoy}))
    assert einvoice_in_pdf(without, "hybrid.pdf").values["invoice_number"] == "DECOY-1"  # the known name, then


def test_a_hostile_attachment_is_skipped_and_the_invoice_found() -> None:
    bomb = b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa">]><r>&a;</r>'
    pdf = pymupdf.open(stream=hybrid_pdf(CII.read_bytes(), ["Invoice"], attachment="data.xml", af=False,
                                         extra={"factur-x.xml": bomb}))
    assert einvoice_in_pdf(pdf, "hybrid.pdf").attachment == "data.xml"
    with pytest.raises(UnreadableDocument, match="refused unread"):
        read_einvoice(bomb, "factur-x.xml")


def test_other_xml_is_no_invoice() -> None:
    assert read_einvoice(b"<catalogue><item/></catalogue>", "catalogue.xml") is None
