"""Structured e-invoices: Factur-X / ZUGFeRD XML embedded in a PDF, and UBL or CII XML files
(XRechnung, Peppol BIS). Their fields are exact, so they are taken from the XML, not the page.

Elements are looked up by local name (``{*}``) so that ZUGFeRD 1.0, ZUGFeRD 2.x / Factur-X,
XRechnung and UBL 2.x all read through the same paths.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from lxml import etree

from tasks.errors import UnreadableDocument

logger = logging.getLogger(__name__)

# Names under which Factur-X, ZUGFeRD and XRechnung put the XML inside a PDF.
KNOWN_ATTACHMENTS = ("factur-x.xml", "zugferd-invoice.xml", "zugferd_invoice.xml", "xrechnung.xml")
CREDIT_NOTE_CODES = {"381", "261", "262", "296", "308", "396", "420", "458", "532"}
_MAX_XML_BYTES = 20 * 1024 * 1024


@dataclass
class EInvoice:
    syntax: str  # "CII" or "UBL"
    values: dict[str, Any] = field(default_factory=dict)  # field name -> value (Decimal, date, str, bool)
    attachment: str | None = None  # name of the attachment it came from, for a PDF


def _parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
                           remove_comments=True)


def parse_xml(data: bytes, name: str) -> etree._Element:
    if len(data) > _MAX_XML_BYTES:
        raise UnreadableDocument(f"{name}: XML larger than {_MAX_XML_BYTES // 1024 // 1024} MB")
    try:
        return etree.fromstring(data, parser=_parser())
    except etree.XMLSyntaxError as err:
        raise UnreadableDocument(f"{name}: not well-formed XML ({err})") from err


def _local(element: etree._Element) -> str:
    return etree.QName(element).localname


def _text(root: etree._Element, *paths: str) -> str | None:
    for path in paths:
        for found in root.iterfind(path):
            text = (found.text or "").strip()
            if text:
                return text
    return None


def _amount(root: etree._Element, currency: str | None, *paths: str) -> Decimal | None:
    """An amount; when it is given in several currencies (CII tax totals) the invoice's one wins."""
    for path in paths:
        found = [e for e in root.iterfind(path) if (e.text or "").strip()]
        if not found:
            continue
        preferred = [e for e in found if currency and e.get("currencyID") == currency] or found
        try:
            return Decimal(preferred[0].text.strip())
        except InvalidOperation:
            continue
    return None


def _date(raw: str | None) -> date | None:
    if not raw:
        return None
    raw = raw.strip()
    for pattern in ("%Y%m%d", "%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%d.%m.%Y"):
        try:
            return datetime.strptime(raw[: len(datetime.now().strftime(pattern))], pattern).date()
        except ValueError:
            continue
    return None


def _cii(root: etree._Element) -> dict[str, Any]:
    trade = ".//{*}SellerTradeParty"
    buyer = ".//{*}BuyerTradeParty"
    summation = (".//{*}SpecifiedTradeSettlementHeaderMonetarySummation", ".//{*}SpecifiedTradeSettlementMonetarySummation")
    currency = _text(root, ".//{*}InvoiceCurrencyCode")

    def total(name: str) -> Decimal | None:
        return _amount(root, currency, *(f"{s}/{{*}}{name}" for s in summation))

    type_code = _text(root, ".//{*}ExchangedDocument/{*}TypeCode", ".//{*}HeaderExchangedDocument/{*}TypeCode")
    return {
        "invoice_number": _text(root, ".//{*}ExchangedDocument/{*}ID", ".//{*}HeaderExchangedDocument/{*}ID"),
        "issue_date": _date(_text(root, ".//{*}ExchangedDocument/{*}IssueDateTime/{*}DateTimeString",
                                  ".//{*}HeaderExchangedDocument/{*}IssueDateTime/{*}DateTimeString")),
        "due_date": _date(_text(root, ".//{*}SpecifiedTradePaymentTerms/{*}DueDateDateTime/{*}DateTimeString")),
        "vendor": _text(root, f"{trade}/{{*}}Name"),
        "vendor_vat_id": _text(root, f"{trade}/{{*}}SpecifiedTaxRegistration/{{*}}ID[@schemeID='VA']",
                               f"{trade}/{{*}}SpecifiedTaxRegistration/{{*}}ID"),
        "customer": _text(root, f"{buyer}/{{*}}Name"),
        "iban": _text(root, ".//{*}PayeePartyCreditorFinancialAccount/{*}IBANID"),
        "currency": currency,
        "net": total("TaxBasisTotalAmount") or total("LineTotalAmount"),
        "tax": total("TaxTotalAmount"),
        "total": total("GrandTotalAmount") or total("DuePayableAmount"),
        "reference": _text(root, ".//{*}BuyerOrderReferencedDocument/{*}IssuerAssignedID", ".//{*}BuyerReference"),
        "is_credit_note": type_code in CREDIT_NOTE_CODES,
    }


def _ubl(root: etree._Element) -> dict[str, Any]:
    supplier = "{*}AccountingSupplierParty/{*}Party"
    customer = "{*}AccountingCustomerParty/{*}Party"
    currency = _text(root, "{*}DocumentCurrencyCode")
    totals = "{*}LegalMonetaryTotal"
    type_code = _text(root, "{*}InvoiceTypeCode", "{*}CreditNoteTypeCode")
    return {
        "invoice_number": _text(root, "{*}ID"),
        "issue_date": _date(_text(root, "{*}IssueDate")),
        "due_date": _date(_text(root, "{*}DueDate", "{*}PaymentMeans/{*}PaymentDueDate")),
        "vendor": _text(root, f"{supplier}/{{*}}PartyLegalEntity/{{*}}RegistrationName",
                        f"{supplier}/{{*}}PartyName/{{*}}Name"),
        "vendor_vat_id": _text(root, f"{supplier}/{{*}}PartyTaxScheme/{{*}}CompanyID"),
        "customer": _text(root, f"{customer}/{{*}}PartyLegalEntity/{{*}}RegistrationName",
                          f"{customer}/{{*}}PartyName/{{*}}Name"),
        "iban": _text(root, "{*}PaymentMeans/{*}PayeeFinancialAccount/{*}ID"),
        "currency": currency,
        "net": _amount(root, currency, f"{totals}/{{*}}TaxExclusiveAmount"),
        "tax": _amount(root, currency, "{*}TaxTotal/{*}TaxAmount"),
        "total": _amount(root, currency, f"{totals}/{{*}}TaxInclusiveAmount", f"{totals}/{{*}}PayableAmount"),
        "reference": _text(root, "{*}OrderReference/{*}ID", "{*}BuyerReference"),
        "is_credit_note": _local(root) == "CreditNote" or type_code in CREDIT_NOTE_CODES,
    }


def read_einvoice(data: bytes, name: str) -> EInvoice | None:
    """The fields of a UBL or CII invoice; None when the XML is some other document."""
    root = parse_xml(data, name)
    local = _local(root)
    if local in {"CrossIndustryInvoice", "CrossIndustryDocument"}:
        values, syntax = _cii(root), "CII"
    elif local in {"Invoice", "CreditNote"} and "ubl" in (etree.QName(root).namespace or "").lower():
        values, syntax = _ubl(root), "UBL"
    else:
        return None
    return EInvoice(syntax, {key: value for key, value in values.items() if value not in (None, "")})


def pdf_attachments(document: Any) -> list[tuple[str, bytes]]:
    """The XML files embedded in an open pymupdf document, known e-invoice names first."""
    found = []
    try:
        names = document.embfile_names()
    except (RuntimeError, ValueError):
        return []
    for attachment in names:
        if not attachment.lower().endswith(".xml"):
            continue
        try:
            found.append((attachment, document.embfile_get(attachment)))
        except (RuntimeError, ValueError) as err:
            logger.warning("embedded file %s cannot be read: %s", attachment, err)
    found.sort(key=lambda item: item[0].lower() not in KNOWN_ATTACHMENTS)
    return found


def einvoice_in_pdf(document: Any, name: str) -> EInvoice | None:
    """The Factur-X / ZUGFeRD / XRechnung invoice embedded in a PDF, if it carries one."""
    for attachment, data in pdf_attachments(document):
        try:
            found = read_einvoice(data, f"{name} ({attachment})")
        except UnreadableDocument as err:
            logger.warning("%s", err)
            continue
        if found is not None:
            found.attachment = attachment
            return found
    return None
