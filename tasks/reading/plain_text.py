"""Plain-text and HTML documents (a `.txt` invoice, an invoice sent as the e-mail itself): drawn
as PDF pages and read from that text layer, so that their fields are found by the same
extraction as every other document's, with the lines and columns the text sets.

HTML is cleaned first: scripts, styles, remote images, frames and forms are taken out, so
drawing it never fetches or runs anything.
"""

from __future__ import annotations

import html
import io

import pymupdf
from lxml import etree
from lxml import html as lxml_html

from tasks.errors import UnreadableDocument

MAX_TEXT_BYTES = 2 * 1024 * 1024
MAX_PAGES = 10
_DROPPED = ("script", "style", "img", "head", "title", "meta", "link", "iframe", "object", "embed", "svg", "form")
_PAGE = pymupdf.paper_rect("a4")
_MARGINS = (40, 40, -40, -40)


def clean_html(markup: str) -> tuple[str, str] | None:
    """(markup to draw, its plain text): scripts, styles, remote images and forms taken out;
    None when it is no HTML that can be parsed."""
    try:
        root = lxml_html.document_fromstring(markup)
    except (etree.ParserError, ValueError):
        return None
    for element in list(root.iter(*_DROPPED)):
        if element.getparent() is not None:
            element.drop_tree()
    body = root.find("body")
    body = body if body is not None else root
    return etree.tostring(body, encoding="unicode", method="html"), body.text_content()


def plain_markup(text: str) -> str:
    """Plain text as markup that keeps its lines and its columns of spaces."""
    return f'<pre style="white-space: pre-wrap; font-family: monospace; font-size: 9pt">{html.escape(text)}</pre>'


def draw_pages(markup: str) -> bytes:
    """``markup`` laid out on A4 pages (at most MAX_PAGES), as a PDF."""
    out = io.BytesIO()
    story = pymupdf.Story(markup)
    writer = pymupdf.DocumentWriter(out)
    more, pages = True, 0
    while more and pages < MAX_PAGES:
        device = writer.begin_page(_PAGE)
        more, _ = story.place(_PAGE + _MARGINS)
        story.draw(device)
        writer.end_page()
        pages += 1
    writer.close()
    return out.getvalue()


def decoded(data: bytes) -> str:
    """The text of a file in UTF-8 (with or without its byte order mark), UTF-16 with one, or
    else Windows-1252, the encoding of most text files that are not UTF-8."""
    data = data[:MAX_TEXT_BYTES]
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def is_html(text: str) -> bool:
    head = text.lstrip()[:500].lower()
    return head.startswith("<") and ("<html" in head or "<!doctype html" in head)


def text_as_pdf(text: str, name: str) -> bytes:
    """A text or HTML document drawn as PDF pages; UnreadableDocument when it cannot be."""
    markup = plain_markup(text)
    if is_html(text):
        cleaned = clean_html(text)
        if cleaned is None:
            raise UnreadableDocument(f"{name}: HTML that cannot be parsed")
        markup = cleaned[0]
    try:
        return draw_pages(markup)
    except (RuntimeError, ValueError) as err:
        raise UnreadableDocument(f"{name}: the text cannot be laid out as pages ({err})") from err
