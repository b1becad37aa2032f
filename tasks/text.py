"""Reading a document's text. This module holds the PDF text layer (pymupdf)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import pymupdf

from tasks.errors import UnreadableDocument

logger = logging.getLogger(__name__)

# A page whose text layer has fewer characters than this is treated as a scan.
MIN_PAGE_CHARS = 20


@dataclass
class PdfText:
    page_count: int
    pages: list[str] = field(default_factory=list)  # text layer per page ("" for scans)

    @property
    def text(self) -> str:
        return "\n\f\n".join(self.pages).strip()

    @property
    def scanned_pages(self) -> list[int]:
        """Indexes of pages without a usable text layer (they need OCR)."""
        return [index for index, page in enumerate(self.pages) if len(page.strip()) < MIN_PAGE_CHARS]


def open_pdf(data: bytes, name: str) -> pymupdf.Document:
    """Open a PDF from bytes; corrupt and password-protected files raise UnreadableDocument."""
    try:
        document = pymupdf.open(stream=data, filetype="pdf")
    except (pymupdf.FileDataError, RuntimeError, ValueError) as err:
        raise UnreadableDocument(f"{name}: not a readable PDF ({err})") from err
    if document.needs_pass:
        document.close()
        raise UnreadableDocument(f"{name}: the PDF is password-protected")
    if document.page_count == 0:
        document.close()
        raise UnreadableDocument(f"{name}: the PDF has no pages")
    return document


def pdf_text_layer(data: bytes, name: str, max_pages: int | None = None) -> PdfText:
    """The text layer of every page (up to ``max_pages``), read with pymupdf."""
    document = open_pdf(data, name)
    try:
        result = PdfText(page_count=document.page_count)
        limit = document.page_count if max_pages is None else min(max_pages, document.page_count)
        for index in range(limit):
            try:
                result.pages.append(document.load_page(index).get_text("text", sort=True))
            except (RuntimeError, ValueError) as err:
                raise UnreadableDocument(f"{name}: page {index + 1} cannot be read ({err})") from err
        return result
    finally:
        document.close()
