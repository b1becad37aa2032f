"""The PDF text layer (pymupdf): opening a PDF safely, its text page by page, and a page's words as
positioned lines, or None for a page that is a scan (no text layer worth the name).
"""

from __future__ import annotations

import re

from dataclasses import dataclass, field

import pymupdf

from tasks.errors import UnreadableDocument
from tasks.reading.positioned_text import PageText, build_lines

# A page whose text layer has fewer characters than this is treated as a scan.
MIN_PAGE_CHARS = 20
# ... and so is a page with fewer than this on a picture that covers most of it: a scan that a
# scanner app, a fax header or a stamp gave a line of text ("Scanned with ...", "Page 1/2").
SPARSE_PAGE_CHARS = 200
SCAN_COVERAGE = 0.5
# What a text layer without a usable font map shows instead of its characters.
_BROKEN = ("\ufffd", "(cid:")



@dataclass
class PdfText:
    page_count: int
    pages: list[str] = field(default_factory=list)  # text layer per page

    @property
    def text(self) -> str:
        return "\n\f\n".join(self.pages).strip()


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


def pdf_text_layer(data: bytes, name: str, max_pages: int | None = None, sort: bool = True) -> PdfText:
    """The text layer of every page (up to ``max_pages``), read with pymupdf."""
    document = open_pdf(data, name)
    try:
        result = PdfText(page_count=document.page_count)
        limit = document.page_count if max_pages is None else min(max_pages, document.page_count)
        for index in range(limit):
            try:
                result.pages.append(document.load_page(index).get_text("text", sort=sort))
            except (RuntimeError, ValueError) as err:
                raise UnreadableDocument(f"{name}: page {index + 1} cannot be read ({err})") from err
        return result
    finally:
        document.close()


# Characters a text layer may hold that print nothing: zero-width spaces and joiners, word joiners,
# byte order marks, soft hyphens ("INVOICE\u200b: NO. 001" reads as "INVOICE: NO. 001").
_INVISIBLE = re.compile("[\u200b-\u200d\u2060\ufeff\u00ad]")


def text_page(page: pymupdf.Page, number: int) -> PageText | None:
    """The page from its text layer, or None when it has no usable one (a scan)."""
    words = [(text, w[0], w[1], w[2], w[3], 1.0) for w in page.get_text("words", sort=False)
             if (text := _INVISIBLE.sub("", w[4])).strip()]
    characters = sum(len(w[0]) for w in words)
    broken = sum(w[0].count(marker) for w in words for marker in _BROKEN)
    if characters < MIN_PAGE_CHARS or broken > characters * 0.2 or _picture_with_a_caption(page, characters):
        return None
    return PageText(number, "text", build_lines(words, number), page.rect.width, page.rect.height)


def _picture_with_a_caption(page: pymupdf.Page, characters: int) -> bool:
    """Whether a page's few words sit on a picture that covers most of it (a scanned invoice)."""
    if characters >= SPARSE_PAGE_CHARS:
        return False
    covered = sum(abs(pymupdf.Rect(image["bbox"]) & page.rect) for image in page.get_image_info())
    return covered >= SCAN_COVERAGE * abs(page.rect)

