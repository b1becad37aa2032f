"""The reader registry: every kind of document that can be read, and the reader that reads it.

A reader takes a stored file and gives a ``Reading``: the exact fields of an e-invoice (an XML
file, or the XML a PDF carries), or the document's positioned text, page by page (the PDF text
layer where a page has one, OCR for scanned pages and images). ``READABLE_KINDS``, the kinds
intake accepts, the documents the reading pipeline claims and the kinds handed on to it after
intake all come from ``READERS``: a new kind of document is one new entry here.

Limits (pages, pixels, time) come from the OCR settings and every page that could not be read is
reported, never silently dropped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tasks.errors import UnreadableDocument
from tasks.reading.einvoice_xml import EInvoice, einvoice_in_pdf, read_einvoice
from tasks.reading.ocr import OcrJob, read_pages, tesseract_available
from tasks.reading.pdf_layer import open_pdf, pdf_text_layer, text_page
from tasks.reading.plain_text import decoded, text_as_pdf
from tasks.reading.positioned_text import (
    DocumentText,
    PageText,
    build_lines,
    level_skew,
)
from tasks.settings import OcrSettings


@dataclass
class Reading:
    """What a reader got from a file: an e-invoice's exact fields, or positioned text to extract them from."""

    text: str
    source: str  # "xml", "text" or "ocr"
    page_count: int | None
    einvoice: EInvoice | None = None
    document: DocumentText | None = None
    notes: list[str] = field(default_factory=list)  # what a person should know about the reading


def read_xml(path: Path, name: str, ocr: OcrSettings) -> Reading:
    """An XML file: a UBL or CII invoice (Factur-X, ZUGFeRD, XRechnung), its fields taken exactly."""
    einvoice = read_einvoice(path.read_bytes(), name)
    if einvoice is None:
        raise UnreadableDocument(f"{name}: XML file, but not a UBL or CII (Factur-X/ZUGFeRD/XRechnung) invoice")
    return Reading(text="", source="xml", page_count=None, einvoice=einvoice)


def read_pdf(path: Path, name: str, ocr: OcrSettings) -> Reading:
    """A PDF: the e-invoice it carries (Factur-X/ZUGFeRD) when there is one, else its pages."""
    pdf = open_pdf(path.read_bytes(), name)
    try:
        einvoice = einvoice_in_pdf(pdf, name)
        damaged = bool(getattr(pdf, "is_repaired", False))
    except BaseException:
        pdf.close()
        raise
    notes = [f"{name}: the PDF is damaged (truncated or corrupt); only what could be repaired was read"] if damaged else []
    if einvoice is not None:
        pdf.close()
        layer = pdf_text_layer(path.read_bytes(), name, ocr.max_pages)
        return Reading(text=layer.text, source="xml", page_count=layer.page_count, einvoice=einvoice, notes=notes)
    document = DocumentText(name=name, kind="pdf")
    jobs: list[OcrJob] = []
    try:
        document.page_count = pdf.page_count
        for index in range(min(ocr.max_pages, pdf.page_count)):
            try:
                page = text_page(pdf.load_page(index), index + 1)
            except (RuntimeError, ValueError) as err:
                document.notes.append(f"page {index + 1} cannot be read ({err})")
                continue
            if page is None:
                jobs.append(OcrJob(str(path), "pdf", index))
                document.pages.append(PageText(index + 1, "ocr"))
            else:
                document.pages.append(page)
    finally:
        pdf.close()
    return _with_ocr(document, jobs, ocr, notes)


def read_image(path: Path, name: str, ocr: OcrSettings) -> Reading:
    """An image (PNG, JPEG, multi-page TIFF ...), OCR'd frame by frame."""
    document = DocumentText(name=name, kind="image")
    document.page_count = _frame_count(path, name, ocr.max_pixels)
    jobs = [OcrJob(str(path), "image", index) for index in range(min(ocr.max_pages, document.page_count))]
    document.pages = [PageText(job.index + 1, "ocr") for job in jobs]
    return _with_ocr(document, jobs, ocr, [])


def read_text(path: Path, name: str, ocr: OcrSettings) -> Reading:
    """A plain-text or HTML file (a `.txt` invoice), drawn as pages and read from their text layer."""
    pdf = open_pdf(text_as_pdf(decoded(path.read_bytes()), name), name)
    document = DocumentText(name=name, kind="text")
    try:
        document.page_count = pdf.page_count
        for index in range(min(ocr.max_pages, pdf.page_count)):
            page = text_page(pdf.load_page(index), index + 1)
            if page is not None:
                document.pages.append(page)
    finally:
        pdf.close()
    return Reading(text=document.text, source="text", page_count=document.page_count, document=document)


READERS: dict[str, Callable[[Path, str, OcrSettings], Reading]] = {
    "pdf": read_pdf,
    "image": read_image,
    "xml": read_xml,
    "text": read_text,
}
READABLE_KINDS: tuple[str, ...] = tuple(READERS)


def read(path: Path, kind: str, name: str, ocr: OcrSettings) -> Reading:
    """Read a stored file of ``kind`` with its reader; a kind without one is UnreadableDocument."""
    reader = READERS.get(kind)
    if reader is None:
        raise UnreadableDocument(f"{name}: a {kind} file is not a document that holds an invoice")
    return reader(path, name, ocr)


def _with_ocr(document: DocumentText, jobs: list[OcrJob], ocr: OcrSettings, notes: list[str]) -> Reading:
    """OCR the pages in ``jobs`` into ``document`` and say what a person should know."""
    if document.page_count > ocr.max_pages:
        document.notes.append(f"only the first {ocr.max_pages} of {document.page_count} pages were read "
                              "(INVOICES_OCR__MAX_PAGES)")
    if jobs:
        if not tesseract_available():
            raise UnreadableDocument(f"{document.name}: {len(jobs)} page(s) need OCR but tesseract is not installed")
        jobs = [OcrJob(job.path, job.kind, job.index, ocr.languages, ocr.dpi, ocr.max_pixels, ocr.page_timeout_seconds)
                for job in jobs]
        by_number = {page.number: position for position, page in enumerate(document.pages)}
        for page in read_pages(jobs, ocr.workers, ocr.document_timeout_seconds):
            read_page = _ocr_page(page, page.index + 1)
            document.pages[by_number[read_page.number]] = read_page
            if read_page.error:
                document.notes.append(read_page.error)
    return Reading(text=document.text, source=document.source, page_count=document.page_count, document=document,
                   notes=notes + document.notes)


def _ocr_page(result, number: int) -> PageText:  # type: ignore[no-untyped-def]
    if result.error:
        return PageText(number, "ocr", error=result.error, confidence=0.0)
    keys = [w[6] for w in result.words]
    lines = build_lines(level_skew([w[:6] for w in result.words], keys), number, keys)
    return PageText(number, "ocr", lines, result.width, result.height, result.confidence, result.rotation)
def _frame_count(path: Path, name: str, max_pixels: int) -> int:
    """Frames in an image file, after checking its size from the header (nothing is decoded)."""
    import warnings

    from PIL import Image, UnidentifiedImageError

    guard, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None  # only the header is read; the limit is ours
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                width, height = image.size
                frames = int(getattr(image, "n_frames", 1))
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as err:
        raise UnreadableDocument(f"{name}: not a readable image ({err})") from err
    finally:
        Image.MAX_IMAGE_PIXELS = guard
    if width * height > max_pixels:
        raise UnreadableDocument(
            f"{name}: the image is {width} x {height} px ({width * height / 1e6:.0f} Mpx), over the limit of "
            f"{max_pixels / 1e6:.0f} Mpx (INVOICES_OCR__MAX_PIXELS)"
        )
    return frames
