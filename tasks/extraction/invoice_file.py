"""From a document file to validated invoice fields: the one code path used by the
process-document flow and by `invoices extract`.

    e-invoice XML (UBL/CII, or Factur-X/ZUGFeRD inside the PDF)  -> exact fields, source "xml"
    otherwise text layer / OCR  -> vendor template (if one matches) -> template-free extraction
    -> validation -> confidence, needs_review and reasons
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from tasks.documents.filetypes import detect
from tasks.errors import InvoiceAutomationError, UnreadableDocument
from tasks.extraction.document_fields import extract_fields
from tasks.extraction.model import FieldValue
from tasks.extraction.templates import Template, apply_template, best_template
from tasks.extraction.validation import validate
from tasks.invoices.fields import INVOICE_FIELDS
from tasks.language import labels
from tasks.reading.einvoice_xml import EInvoice
from tasks.reading.registry import read
from tasks.settings import OcrSettings

logger = logging.getLogger(__name__)

JSON_KEYS = ("file", *(f.name for f in INVOICE_FIELDS if f.in_json), "confidence", "needs_review", "reasons")


@dataclass
class Understanding:
    name: str
    kind: str = "other"
    fields: dict[str, FieldValue] = field(default_factory=dict)
    confidence: float = 0.0
    needs_review: bool = True
    reasons: list[str] = field(default_factory=list)
    is_invoice: bool = False
    error: str | None = None  # the document could not be read at all
    text: str = ""
    text_source: str | None = None  # text, ocr, mixed, xml
    page_count: int | None = None
    template: str | None = None

    def value(self, name: str) -> Any:
        found = self.fields.get(name)
        return found.value if found else None

    def as_json(self) -> dict[str, Any]:
        """The record `invoices extract --json` prints: exactly JSON_KEYS, null where not found."""
        record: dict[str, Any] = {"file": self.name}
        for key in JSON_KEYS[1:-3]:
            value = self.value(key)
            if isinstance(value, date):
                value = value.isoformat()
            elif isinstance(value, Decimal):
                value = f"{value:.2f}"
            record[key] = value
        record.update(confidence=self.confidence, needs_review=self.needs_review, reasons=list(self.reasons))
        return record


def _from_einvoice(found: EInvoice) -> dict[str, FieldValue]:
    fields = {name: FieldValue(value, 1.0, "xml", f"{found.syntax} XML") for name, value in found.values.items()}
    fields.setdefault("is_credit_note", FieldValue(False, 1.0, "xml"))
    return fields


def _looks_like_invoice(fields: dict[str, FieldValue], text: str) -> bool:
    if "invoice_number" in fields and ("total" in fields or "issue_date" in fields):
        return True
    from tasks.language.words import fold

    folded = fold(text)
    if labels.INVOICE_WORDS.search(folded) and ("total" in fields or "invoice_number" in fields):
        return True
    # A till receipt: a total and the day it was paid, in a receipt's words.
    return "total" in fields and "issue_date" in fields and bool(labels.RECEIPT_WORDS.search(folded))


def understand_file(path: Path, name: str, ocr: OcrSettings, templates: list[Template] | None = None,
                    kind: str | None = None) -> Understanding:
    """Read ``path`` and extract, validate and score its invoice fields. Never raises for bad input:
    an unreadable document comes back with ``error`` set and the reason in ``reasons``."""
    result = Understanding(name=name)
    try:
        result.kind = kind or detect(path.read_bytes()[:4096] if path.stat().st_size else b"").kind
        _understand(path, result, ocr, templates or [])
    except (InvoiceAutomationError, OSError) as err:
        result.error = str(err)
        result.reasons = [str(err)]
        result.needs_review, result.is_invoice = True, False
    return result


def _understand(path: Path, result: Understanding, ocr: OcrSettings, templates: list[Template]) -> None:
    reading = read(path, result.kind, result.name, ocr)
    result.text, result.text_source, result.page_count = reading.text, reading.source, reading.page_count
    result.reasons.extend(reading.notes)
    if reading.einvoice is not None:
        result.fields = _from_einvoice(reading.einvoice)
        result.is_invoice = True
    else:
        document = reading.document
        if document is None or not result.text.strip():
            unread = [p for p in document.pages if p.error] if document else []
            damaged = " (the PDF is damaged: truncated or corrupt)" if any("damaged" in r for r in result.reasons) else ""
            raise UnreadableDocument(f"{result.name}: no text could be read{damaged}"
                                     + (f" ({unread[0].error})" if unread else ""))
        template = best_template(templates, result.text)
        fields, _ = extract_fields(document, template.options if template else None)
        if template is not None:
            result.template = template.name
            fields.update(apply_template(template, result.text))
        result.fields = fields
        result.is_invoice = _looks_like_invoice(fields, result.text) or template is not None
    if not result.is_invoice:
        result.reasons.insert(0, f"{result.name}: no invoice found (no invoice number or amounts next to their labels)")
        result.confidence, result.needs_review = 0.0, True
        return
    validation = validate(result.fields, ocr.review_threshold)
    result.confidence, result.needs_review = validation.confidence, validation.needs_review
    result.reasons.extend(validation.reasons)


def understand_bytes(data: bytes, name: str, ocr: OcrSettings, templates: list[Template] | None = None) -> Understanding:
    """``understand_file`` for bytes in memory (written to a private temporary file first)."""
    with tempfile.TemporaryDirectory(prefix="invoices-read-") as folder:
        path = Path(folder) / "document"
        path.write_bytes(data)
        return understand_file(path, name, ocr, templates)
