"""The page of a hybrid PDF against the XML it carries. The XML is the invoice in law; the page is
what a person approved. The total, the invoice number and the due date are read from the page by
the same text extraction as any PDF (``tasks.extraction``) and compared with the XML's; each
disagreement is a review reason. A value the page does not show is no disagreement."""

from __future__ import annotations

import logging
from datetime import date
from decimal import Decimal
from typing import Any

from tasks.einvoice.validation import Finding
from tasks.errors import UnreadableDocument
from tasks.extraction.document_fields import extract_fields
from tasks.reading.einvoice_xml import EInvoice
from tasks.reading.pdf_layer import open_pdf, text_page
from tasks.reading.positioned_text import DocumentText

logger = logging.getLogger(__name__)

COMPARED = ("total", "invoice_number", "due_date")
MAX_PAGES = 20
_LABELS = {"total": "total", "invoice_number": "invoice number", "due_date": "due date"}


def page_fields(data: bytes, name: str) -> dict[str, Any]:
    """The compared fields as the text layer of the PDF's pages shows them (empty for a scan)."""
    pdf = open_pdf(data, name)
    document = DocumentText(name=name, kind="pdf")
    try:
        document.page_count = pdf.page_count
        for index in range(min(MAX_PAGES, pdf.page_count)):
            page = text_page(pdf.load_page(index), index + 1)
            if page is not None:
                document.pages.append(page)
    except (RuntimeError, ValueError) as err:
        raise UnreadableDocument(f"{name}: its pages cannot be read to compare with its XML ({err})") from err
    finally:
        pdf.close()
    if not document.pages:
        return {}
    fields, _ = extract_fields(document)
    return {key: fields[key].value for key in COMPARED if key in fields and fields[key].value not in (None, "")}


def _same(key: str, page: Any, xml: Any) -> bool:
    if key == "total":
        return isinstance(page, Decimal) and isinstance(xml, Decimal) and abs(page) == abs(xml)
    if key == "invoice_number":
        return "".join(str(page).split()).casefold() == "".join(str(xml).split()).casefold()
    return isinstance(page, date) and page == xml


def _shown(value: Any) -> str:
    return value.isoformat() if isinstance(value, date) else str(value)


def disagreements(page: dict[str, Any], einvoice: EInvoice, name: str) -> list[str]:
    """A review reason per compared field the page shows differently from the XML."""
    reasons = []
    for key in COMPARED:
        xml = einvoice.values.get(key)
        if key in page and xml is not None and not _same(key, page[key], xml):
            reasons.append(f"{name}: the page shows {_LABELS[key]} {_shown(page[key])}, its XML says {_shown(xml)} "
                           "(the XML is the invoice in law; check which one was meant)")
    return reasons


def page_against_xml(data: bytes, name: str, einvoice: EInvoice) -> list[str]:
    """``disagreements`` of a hybrid PDF's page with its XML; a page that cannot be read says so."""
    try:
        return disagreements(page_fields(data, name), einvoice, name)
    except UnreadableDocument as err:
        return [str(err)]


def page_findings(reasons: list[str]) -> list[Finding]:
    """The disagreements as findings: warnings (the XML itself may be valid), each one a review reason."""
    return [Finding("PAGE-XML", "warning", reason, "the PDF's pages", "page") for reason in reasons]
