"""What a person needs to see of an e-invoice, taken from its XML (CII of every profile, ZUGFeRD
1.0, UBL Invoice and CreditNote): parties, dates, lines, tax breakdown, totals and payment terms."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from lxml import etree

from tasks.reading.einvoice_xml import CREDIT_NOTE_CODES, EInvoice, EInvoiceLine, parse_xml


@dataclass
class Party:
    name: str | None = None
    address: list[str] = field(default_factory=list)
    vat_id: str | None = None
    email: str | None = None
    country: str | None = None  # ISO 3166 code


@dataclass
class TaxRow:
    category: str | None
    rate: Decimal | None
    taxable: Decimal | None
    tax: Decimal | None


@dataclass
class InvoiceView:
    credit_note: bool
    number: str | None
    issue_date: date | None
    due_date: date | None
    currency: str | None
    seller: Party
    buyer: Party
    lines: list[EInvoiceLine]
    taxes: list[TaxRow]
    totals: list[tuple[str, Decimal]]  # (label key, amount), in the order of the invoice
    payment_terms: list[str]
    iban: str | None
    bic: str | None
    payment_reference: str | None
    buyer_reference: str | None
    notes: list[str]
    profile: str | None


def _texts(root: etree._Element, path: str) -> list[str]:
    return [" ".join("".join(e.itertext()).split()) for e in root.iterfind(path) if "".join(e.itertext()).strip()]


def _one(root: etree._Element | None, *paths: str) -> str | None:
    if root is None:
        return None
    for path in paths:
        found = _texts(root, path)
        if found:
            return found[0]
    return None


def _decimal(raw: str | None) -> Decimal | None:
    try:
        return Decimal(raw) if raw else None
    except ArithmeticError:
        return None


def _address(party: etree._Element, lines: tuple[str, ...], postcode: str, city: str, country: str) -> list[str]:
    address = [text for path in lines if (text := _one(party, path))]
    place = " ".join(t for t in (_one(party, postcode), _one(party, city)) if t)
    return [*address, *([place] if place else []), *([c] if (c := _one(party, country)) else [])]


def _with_country(party: Party, code: str | None) -> Party:
    party.country = code.upper() if code else None
    return party


def _cii_party(party: etree._Element | None) -> Party:
    if party is None:
        return Party()
    address = "{*}PostalTradeAddress/{*}"
    return _with_country(Party(_one(party, "{*}Name"),
                 _address(party, (f"{address}LineOne", f"{address}LineTwo", f"{address}LineThree"),
                          f"{address}PostcodeCode", f"{address}CityName", f"{address}CountryID"),
                 _one(party, "{*}SpecifiedTaxRegistration/{*}ID[@schemeID='VA']", "{*}SpecifiedTaxRegistration/{*}ID"),
                 _one(party, ".//{*}URIUniversalCommunication/{*}URIID", ".//{*}EmailURIUniversalCommunication/{*}URIID")),
                         _one(party, f"{address}CountryID"))


def _ubl_party(party: etree._Element | None) -> Party:
    if party is None:
        return Party()
    address = "{*}PostalAddress/{*}"
    return _with_country(Party(_one(party, "{*}PartyLegalEntity/{*}RegistrationName", "{*}PartyName/{*}Name"),
                 _address(party, (f"{address}StreetName", f"{address}AdditionalStreetName",
                                  f"{address}AddressLine/{{*}}Line"),
                          f"{address}PostalZone", f"{address}CityName", f"{address}Country/{{*}}IdentificationCode"),
                 _one(party, "{*}PartyTaxScheme/{*}CompanyID"), _one(party, "{*}Contact/{*}ElectronicMail")),
                         _one(party, f"{address}Country/{{*}}IdentificationCode"))


_CII_TOTALS = (("lines", "LineTotalAmount"), ("allowances", "AllowanceTotalAmount"), ("charges", "ChargeTotalAmount"),
               ("net", "TaxBasisTotalAmount"), ("tax", "TaxTotalAmount"), ("total", "GrandTotalAmount"),
               ("prepaid", "TotalPrepaidAmount"), ("due", "DuePayableAmount"))
_UBL_TOTALS = (("lines", "LineExtensionAmount"), ("allowances", "AllowanceTotalAmount"),
               ("charges", "ChargeTotalAmount"), ("net", "TaxExclusiveAmount"), ("total", "TaxInclusiveAmount"),
               ("prepaid", "PrepaidAmount"), ("due", "PayableAmount"))


def _cii(root: etree._Element, einvoice: EInvoice) -> InvoiceView:
    settlement = next(root.iter("{*}ApplicableHeaderTradeSettlement", "{*}ApplicableSupplyChainTradeSettlement"), None)
    summary = next(root.iter("{*}SpecifiedTradeSettlementHeaderMonetarySummation",
                             "{*}SpecifiedTradeSettlementMonetarySummation"), None)
    currency = einvoice.values.get("currency")
    totals = []
    for key, name in _CII_TOTALS:
        found = [e for e in (summary.iterfind(f"{{*}}{name}") if summary is not None else []) if (e.text or "").strip()]
        chosen = [e for e in found if e.get("currencyID") in (None, currency)] or found
        if chosen and (amount := _decimal(chosen[0].text.strip())) is not None:
            totals.append((key, amount))
    taxes = [TaxRow(_one(tax, "{*}CategoryCode"), _decimal(_one(tax, "{*}RateApplicablePercent", "{*}ApplicablePercent")),
                     _decimal(_one(tax, "{*}BasisAmount")), _decimal(_one(tax, "{*}CalculatedAmount")))
             for tax in (settlement.iterfind("{*}ApplicableTradeTax") if settlement is not None else [])]
    return InvoiceView(
        credit_note=bool(einvoice.values.get("is_credit_note")), number=einvoice.values.get("invoice_number"),
        issue_date=einvoice.values.get("issue_date"), due_date=einvoice.values.get("due_date"), currency=currency,
        seller=_cii_party(root.find(".//{*}SellerTradeParty")), buyer=_cii_party(root.find(".//{*}BuyerTradeParty")),
        lines=einvoice.lines, taxes=taxes, totals=totals,
        payment_terms=_texts(root, ".//{*}SpecifiedTradePaymentTerms/{*}Description"),
        iban=_one(root, ".//{*}PayeePartyCreditorFinancialAccount/{*}IBANID"),
        bic=_one(root, ".//{*}PayeeSpecifiedCreditorFinancialInstitution/{*}BICID"),
        payment_reference=_one(root, ".//{*}PaymentReference"), buyer_reference=_one(root, ".//{*}BuyerReference"),
        notes=_texts(root, "{*}ExchangedDocument/{*}IncludedNote/{*}Content")
        + _texts(root, "{*}HeaderExchangedDocument/{*}IncludedNote/{*}Content"),
        profile=einvoice.profile)


def _ubl(root: etree._Element, einvoice: EInvoice) -> InvoiceView:
    currency = einvoice.values.get("currency")
    monetary = root.find("{*}LegalMonetaryTotal")
    totals = [(key, amount) for key, name in _UBL_TOTALS
              if (amount := _decimal(_one(monetary, f"{{*}}{name}"))) is not None]
    tax_total = next((t for t in root.iterfind("{*}TaxTotal") if t.find("{*}TaxSubtotal") is not None), None)
    tax = einvoice.values.get("tax")
    if tax is not None:
        totals.insert(next((i for i, (k, _) in enumerate(totals) if k == "total"), len(totals)), ("tax", tax))
    taxes = [TaxRow(_one(sub, "{*}TaxCategory/{*}ID"), _decimal(_one(sub, "{*}TaxCategory/{*}Percent")),
                    _decimal(_one(sub, "{*}TaxableAmount")), _decimal(_one(sub, "{*}TaxAmount")))
             for sub in (tax_total.iterfind("{*}TaxSubtotal") if tax_total is not None else [])]
    return InvoiceView(
        credit_note=bool(einvoice.values.get("is_credit_note")), number=einvoice.values.get("invoice_number"),
        issue_date=einvoice.values.get("issue_date"), due_date=einvoice.values.get("due_date"), currency=currency,
        seller=_ubl_party(root.find("{*}AccountingSupplierParty/{*}Party")),
        buyer=_ubl_party(root.find("{*}AccountingCustomerParty/{*}Party")),
        lines=einvoice.lines, taxes=taxes, totals=totals, payment_terms=_texts(root, "{*}PaymentTerms/{*}Note"),
        iban=_one(root, "{*}PaymentMeans/{*}PayeeFinancialAccount/{*}ID"),
        bic=_one(root, "{*}PaymentMeans/{*}PayeeFinancialAccount/{*}FinancialInstitutionBranch/{*}ID"),
        payment_reference=_one(root, "{*}PaymentMeans/{*}PaymentID"), buyer_reference=_one(root, "{*}BuyerReference"),
        notes=_texts(root, "{*}Note"), profile=einvoice.profile)


def invoice_view(einvoice: EInvoice, name: str) -> InvoiceView:
    """The view of ``einvoice`` (its XML parsed again within the same limits)."""
    root = parse_xml(einvoice.xml, name)
    view = _cii(root, einvoice) if einvoice.syntax == "CII" else _ubl(root, einvoice)
    type_code = _one(root, "{*}InvoiceTypeCode", "{*}CreditNoteTypeCode", ".//{*}ExchangedDocument/{*}TypeCode")
    view.credit_note = view.credit_note or type_code in CREDIT_NOTE_CODES
    return view
