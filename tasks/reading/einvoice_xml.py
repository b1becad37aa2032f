"""Structured e-invoices: Factur-X / ZUGFeRD XML embedded in a PDF, and UBL or CII XML files
(XRechnung, Peppol BIS). Their fields and lines are exact, so they are taken from the XML, not the page.

Elements are looked up by local name (``{*}``) so that ZUGFeRD 1.0, ZUGFeRD 2.x / Factur-X (every
profile), XRechnung and UBL 2.1 Invoice and CreditNote all read through the same paths. Hostile XML
(a DTD or entity declaration, nesting deeper than any invoice, more bytes than the limit) is refused
by ``parse_xml`` with the reason, before anything else looks at it.
"""

from __future__ import annotations

import logging
import re
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
MAX_XML_BYTES = 20 * 1024 * 1024
MAX_XML_DEPTH = 64  # a CII invoice nests about 12 deep, UBL about 8
_MAX_ATTACHMENTS = 50


@dataclass
class EInvoiceLine:
    """One invoice line (BG-25) as the XML states it."""

    position: int
    line_id: str | None = None
    description: str | None = None
    quantity: Decimal | None = None
    unit: str | None = None
    unit_price: Decimal | None = None
    net_amount: Decimal | None = None
    tax_category: str | None = None
    tax_rate: Decimal | None = None


@dataclass
class EInvoice:
    syntax: str  # "CII" (ZUGFeRD 1.0 too) or "UBL"
    values: dict[str, Any] = field(default_factory=dict)  # field name -> value (Decimal, date, str, bool)
    attachment: str | None = None  # name of the attachment it came from, for a PDF
    profile: str | None = None  # the customization / guideline id (BT-24)
    root: str = ""  # local name of the root element: CrossIndustryInvoice, CrossIndustryDocument, Invoice, CreditNote
    lines: list[EInvoiceLine] = field(default_factory=list)
    xml: bytes = b""  # the XML itself, as it arrived


def _parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
                           remove_comments=True)


def parse_xml(data: bytes, name: str) -> etree._Element:
    """``data`` parsed without fetching, expanding or trusting anything: a file over the size limit,
    one with a DTD (entity declarations: external entities, entity expansion) or nested deeper than
    any invoice is refused with UnreadableDocument naming the reason."""
    if len(data) > MAX_XML_BYTES:
        raise UnreadableDocument(f"{name}: XML of {len(data) / 1024 / 1024:.0f} MB, larger than the limit of "
                                 f"{MAX_XML_BYTES // 1024 // 1024} MB; refused unread")
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise UnreadableDocument(f"{name}: XML with a DTD or entity declarations (external entities, entity "
                                 "expansion); an invoice has none, refused unread")
    try:
        root = etree.fromstring(data, parser=_parser())
    except etree.XMLSyntaxError as err:
        if "depth" in str(err).lower():
            raise UnreadableDocument(f"{name}: XML nested more than {MAX_XML_DEPTH} elements deep; no invoice is, "
                                     "refused unread") from err
        raise UnreadableDocument(f"{name}: not well-formed XML ({err})") from err
    docinfo = root.getroottree().docinfo
    if docinfo.internalDTD is not None or docinfo.doctype:  # one in another encoding than the bytes looked for
        raise UnreadableDocument(f"{name}: XML with a DTD; an invoice has none, refused unread")
    _check_depth(root, name)
    return root


def _check_depth(root: etree._Element, name: str) -> None:
    depth, deepest = 0, 0
    for event, _ in etree.iterwalk(root, events=("start", "end")):
        depth += 1 if event == "start" else -1
        if depth > deepest:
            deepest = depth
            if deepest > MAX_XML_DEPTH:
                raise UnreadableDocument(f"{name}: XML nested more than {MAX_XML_DEPTH} elements deep; "
                                         "no invoice is, refused unread")


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


def _decimal(raw: str | None) -> Decimal | None:
    try:
        return Decimal(raw.strip()) if raw and raw.strip() else None
    except InvalidOperation:
        return None


def _first(element: etree._Element, *paths: str) -> etree._Element | None:
    for path in paths:
        found = element.find(path)
        if found is not None and (found.text or "").strip():
            return found
    return None


# Where each line field is, per syntax (the first path that has a value wins).
_LINE_PATHS: dict[str, dict[str, tuple[str, ...]]] = {
    "CII": {  # CII D16B (Factur-X, ZUGFeRD 2.x, XRechnung) and ZUGFeRD 1.0's CII draft
        "items": (".//{*}IncludedSupplyChainTradeLineItem",),
        "quantity": (".//{*}BilledQuantity",),
        "line_id": ("{*}AssociatedDocumentLineDocument/{*}LineID",),
        "description": ("{*}SpecifiedTradeProduct/{*}Name", "{*}SpecifiedTradeProduct/{*}Description"),
        "unit_price": (".//{*}NetPriceProductTradePrice/{*}ChargeAmount",),
        "net_amount": (".//{*}SpecifiedTradeSettlementLineMonetarySummation/{*}LineTotalAmount",
                       ".//{*}SpecifiedTradeSettlementMonetarySummation/{*}LineTotalAmount"),
        "tax_category": (".//{*}ApplicableTradeTax/{*}CategoryCode",),
        "tax_rate": (".//{*}ApplicableTradeTax/{*}RateApplicablePercent", ".//{*}ApplicableTradeTax/{*}ApplicablePercent"),
    },
    "UBL": {  # UBL 2.1 Invoice and CreditNote
        "items": ("{*}InvoiceLine", "{*}CreditNoteLine"),
        "quantity": ("{*}InvoicedQuantity", "{*}CreditedQuantity"),
        "line_id": ("{*}ID",),
        "description": ("{*}Item/{*}Name", "{*}Item/{*}Description"),
        "unit_price": ("{*}Price/{*}PriceAmount",),
        "net_amount": ("{*}LineExtensionAmount",),
        "tax_category": ("{*}Item/{*}ClassifiedTaxCategory/{*}ID",),
        "tax_rate": ("{*}Item/{*}ClassifiedTaxCategory/{*}Percent",),
    },
}


def read_lines(root: etree._Element, syntax: str) -> list[EInvoiceLine]:
    """BG-25, every invoice line, in the order of the document."""
    paths = _LINE_PATHS[syntax]
    items = [item for path in paths["items"] for item in root.iterfind(path)]
    lines = []
    for position, item in enumerate(items, start=1):
        quantity = _first(item, *paths["quantity"])
        lines.append(EInvoiceLine(
            position=position,
            line_id=_text(item, *paths["line_id"]),
            description=_text(item, *paths["description"]),
            quantity=_decimal(quantity.text) if quantity is not None else None,
            unit=quantity.get("unitCode") if quantity is not None else None,
            unit_price=_decimal(_text(item, *paths["unit_price"])),
            net_amount=_decimal(_text(item, *paths["net_amount"])),
            tax_category=_text(item, *paths["tax_category"]),
            tax_rate=_decimal(_text(item, *paths["tax_rate"])),
        ))
    return lines


def invoice_syntax(root: etree._Element) -> str | None:
    """"CII" or "UBL" for an invoice's root element, None for any other XML."""
    local, namespace = _local(root), (etree.QName(root).namespace or "").lower()
    if local in {"CrossIndustryInvoice", "CrossIndustryDocument"}:
        return "CII"
    if local in {"Invoice", "CreditNote"} and "ubl" in namespace:
        return "UBL"
    return None


def profile_of(root: etree._Element) -> str | None:
    """The specification the invoice claims to follow (BT-24: CII guideline or UBL customization id)."""
    return _text(root, "{*}ExchangedDocumentContext/{*}GuidelineSpecifiedDocumentContextParameter/{*}ID",
                 "{*}SpecifiedExchangedDocumentContext/{*}GuidelineSpecifiedDocumentContextParameter/{*}ID",
                 "{*}CustomizationID")


def einvoice_from_root(root: etree._Element, data: bytes) -> EInvoice | None:
    """The fields and lines of a parsed UBL or CII invoice; None when the XML is some other document."""
    syntax = invoice_syntax(root)
    if syntax is None:
        return None
    values = _cii(root) if syntax == "CII" else _ubl(root)
    lines = read_lines(root, syntax)
    return EInvoice(syntax, {key: value for key, value in values.items() if value not in (None, "")},
                    profile=profile_of(root), root=_local(root), lines=lines, xml=data)


def read_einvoice(data: bytes, name: str) -> EInvoice | None:
    """The fields of a UBL or CII invoice; None when the XML is some other document."""
    return einvoice_from_root(parse_xml(data, name), data)


def _attachment_order(document: Any) -> dict[str, int]:
    """Attachment names by rank: those the PDF/A-3 catalogue's ``/AF`` array names first (an
    ``/AFRelationship`` of Data, Source or Alternative before the rest), then the known names."""
    ranks: dict[str, int] = {}
    try:
        kind, value = document.xref_get_key(document.pdf_catalog(), "AF")
        if kind == "xref":  # an indirect array
            kind, value = "array", document.xref_object(int(value.split()[0]))
        references = [int(ref) for ref in re.findall(r"(\d+)\s+\d+\s+R", value)] if kind == "array" else []
        for xref in references[:_MAX_ATTACHMENTS]:
            names = [document.xref_get_key(xref, key)[1] for key in ("UF", "F")]
            relation = document.xref_get_key(xref, "AFRelationship")[1].lstrip("/")
            for found in names:
                if found and found != "null":
                    ranks.setdefault(found.strip("()"), 0 if relation in {"Data", "Source", "Alternative"} else 1)
    except (RuntimeError, ValueError, IndexError) as err:
        logger.debug("no /AF array read: %s", err)
    return ranks


def pdf_attachments(document: Any) -> list[tuple[str, bytes]]:
    """Every embedded file of an open pymupdf document that is XML, whatever it is called: those
    the ``/AF`` relation names first, then the known e-invoice names, then the rest."""
    found = []
    try:
        names = document.embfile_names()[:_MAX_ATTACHMENTS]
    except (RuntimeError, ValueError):
        return []
    ranks = _attachment_order(document)
    for attachment in names:
        try:
            info = document.embfile_info(attachment)
            if int(info.get("length") or info.get("size") or 0) > MAX_XML_BYTES:
                logger.warning("embedded file %s is over %s bytes; not read", attachment, MAX_XML_BYTES)
                continue
            data = document.embfile_get(attachment)
        except (RuntimeError, ValueError) as err:
            logger.warning("embedded file %s cannot be read: %s", attachment, err)
            continue
        if data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"<":
            filename = str(info.get("ufilename") or info.get("filename") or attachment)
            rank = min(ranks.get(filename, 9), ranks.get(attachment, 9))
            found.append((rank, filename.lower() not in KNOWN_ATTACHMENTS, attachment, data))
    found.sort(key=lambda item: item[:2])
    return [(attachment, data) for _, _, attachment, data in found]


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
