"""The e-invoice side of reading one stored document: validate what it carries, compare a hybrid
PDF's page with its XML, keep its lines and findings, and give an XML-only invoice a readable
rendering (a PDF document of its own, linked to the original, whose bytes never change).

``check_document`` runs before the invoice is written (its reasons hold the invoice for review);
``EInvoiceCheck.store`` runs after, in the same transaction.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from db.models import Document, DocumentStatus, InvoiceStatus
from tasks.documents.intake import ingest_bytes
from tasks.documents.store import path_in_store
from tasks.einvoice.carrier import Carried, carried_einvoice
from tasks.einvoice.page_check import page_against_xml, page_findings
from tasks.einvoice.records import derived_document, link_derived, store_findings, store_lines
from tasks.einvoice.render import language_for_country, render, render_html
from tasks.einvoice.validation import Finding, Validation, validate_xml
from tasks.einvoice.view import invoice_view
from tasks.errors import InvoiceAutomationError
from tasks.settings import get_settings

logger = logging.getLogger(__name__)

RENDERING = "rendering-pdf"
SHOWN = 200  # lines and findings in a run's summary (all of them are stored)


@dataclass
class EInvoiceCheck:
    """What was found about one document's e-invoice."""

    document_id: int
    name: str
    carried: Carried | None = None
    validation: Validation | None = None
    page_reasons: list[str] = field(default_factory=list)
    refused: str | None = None  # why it could not be checked at all
    rendering_id: int | None = None
    lines_stored: int = 0

    @property
    def review_reasons(self) -> list[str]:
        reasons = [self.refused] if self.refused else []
        return reasons + (self.validation.review_reasons if self.validation else []) + self.page_reasons

    @property
    def findings(self) -> list[Finding]:
        found = list(self.validation.findings) if self.validation else []
        return found + page_findings(self.page_reasons)

    def store(self, session: Session, invoice_id: int, documents_dir: Path | None = None,
              language: str | None = None) -> None:
        """Lines, findings and (for an XML file) the rendering, beside the invoice just written;
        ``language`` of the rendering (en, de, fr): by default the buyer's country's."""
        documents_dir = documents_dir or get_settings().documents_dir
        store_findings(session, self.document_id, invoice_id, self.findings)
        if self.carried is None:
            return
        self.lines_stored = store_lines(session, invoice_id, self.document_id, self.carried.einvoice.lines)
        if self.carried.carrier == "xml":
            self.rendering_id = _rendering(session, self, documents_dir, language)

    def summary(self) -> dict[str, Any]:
        """For the run's outcome and artifact: plain values only."""
        validation = self.validation
        lines = self.carried.einvoice.lines if self.carried else []
        return {
            "syntax": validation.profile.syntax if validation else None,
            "profile": validation.profile.name if validation else None,
            "valid": validation.valid if validation else None,
            "checked": list(validation.checked) if validation else [],
            "findings": [{"rule": f.rule, "severity": f.severity, "message": f.message, "location": f.location}
                         for f in self.findings[:SHOWN]], "finding_count": len(self.findings),
            "refused": self.refused,
            "rendering_document_id": self.rendering_id,
            "lines": [_plain_line(line) for line in lines[:SHOWN]], "line_count": len(lines),
        }


def _plain_line(line: Any) -> dict[str, Any]:
    return {k: (None if v is None else str(v)) for k, v in vars(line).items()}


def einvoice_check(session: Session, document_id: int, text_source: str | None) -> EInvoiceCheck | None:
    """``check_document`` for a document read as an e-invoice (``text_source`` "xml"), else None."""
    if text_source != "xml":
        return None
    return check_document(session, document_id, get_settings().documents_dir)


def held_for_review(values: dict[str, Any], check: EInvoiceCheck | None) -> dict[str, Any]:
    """The invoice's ``values`` held as needs_review with the check's reasons (unchanged without any)."""
    reasons = check.review_reasons if check is not None else []
    if not reasons or not values:
        return values
    return {**values, "needs_review": True, "status": InvoiceStatus.NEEDS_REVIEW.value,
            "review_reasons": [*values.get("review_reasons", []), *reasons]}


def check_document(session: Session, document_id: int, documents_dir: Path) -> EInvoiceCheck:
    """Validate the e-invoice a stored XML file or hybrid PDF carries (nothing is written here)."""
    document = session.get(Document, document_id)
    if document is None:
        raise LookupError(f"document {document_id} does not exist")
    check = EInvoiceCheck(document_id, document.original_name)
    try:
        data = path_in_store(documents_dir, document.storage_path).read_bytes()
        check.carried = carried_einvoice(data, check.name)
        where = f"{check.name} ({check.carried.attachment})" if check.carried.attachment else check.name
        check.validation = validate_xml(check.carried.einvoice.xml, where)
        if check.carried.carrier == "pdf":
            check.page_reasons = page_against_xml(data, check.name, check.carried.einvoice)
    except (InvoiceAutomationError, OSError) as err:
        check.refused = f"{check.name}: the e-invoice could not be validated ({err})"
        logger.warning("%s", check.refused)
    return check


def _rendering(session: Session, check: EInvoiceCheck, documents_dir: Path, language: str) -> int | None:
    """The PDF rendering of an XML-only invoice, stored once as a document of its own."""
    existing = derived_document(session, check.document_id, RENDERING)
    if existing is not None or check.carried is None:
        return existing
    try:
        view = invoice_view(check.carried.einvoice, check.name)
        made = render(view, language or language_for_country(view.buyer.country))
    except (InvoiceAutomationError, RuntimeError, ValueError) as err:
        logger.warning("%s: no rendering made (%s)", check.name, err)
        return None
    stored = ingest_bytes(session, documents_dir, made.pdf, f"{check.name}.{made.language}.pdf", "rendering")
    rendered = session.get(Document, stored.document_id)
    if rendered is not None and rendered.status == DocumentStatus.STORED.value:
        # made here, from the XML: never read as an invoice of its own
        rendered.status, rendered.text_source = DocumentStatus.PROCESSED.value, "xml"
        rendered.processed_at = datetime.now(UTC)
    link_derived(session, check.document_id, stored.document_id, RENDERING)
    return stored.document_id


def rendering_html(session: Session, document_id: int, language: str, documents_dir: Path | None = None) -> str:
    """The readable page of a stored e-invoice (an XML file or a hybrid PDF) as HTML, in ``language``
    (en, de, fr or a locale such as de_DE): for a page shown to one reader in their own language."""
    document = session.get(Document, document_id)
    if document is None:
        raise LookupError(f"document {document_id} does not exist")
    data = path_in_store(documents_dir or get_settings().documents_dir, document.storage_path).read_bytes()
    carried = carried_einvoice(data, document.original_name)
    return render_html(invoice_view(carried.einvoice, document.original_name), language)
