"""A message without an invoice file whose text reads like an invoice (a receipt or an invoice
sent as the email itself): its body drawn as a PDF, so that it is stored and read like any
other document. The stored original message keeps the body as sent."""

from __future__ import annotations

import html
import io
import logging
from email.message import Message

import pymupdf
from lxml import etree
from lxml import html as lxml_html

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 2 * 1024 * 1024
MAX_PAGES = 10
_DROPPED = ("script", "style", "img", "head", "title", "meta", "link", "iframe", "object", "embed", "svg", "form")
_PAGE = pymupdf.paper_rect("a4")
_MARGINS = (40, 40, -40, -40)


def body_text(part: Message) -> tuple[str, str] | None:
    """(content type, decoded text) of a text/html or text/plain body part, or None."""
    content_type = part.get_content_type()
    if content_type not in ("text/html", "text/plain"):
        return None
    try:
        data = part.get_payload(decode=True) or b""
    except Exception:  # noqa: BLE001 - an undecodable body is left to the stored original
        return None
    charset = part.get_content_charset() or "utf-8"
    try:
        text = data[:MAX_BODY_BYTES].decode(charset, errors="replace")
    except LookupError:  # an unknown charset name
        text = data[:MAX_BODY_BYTES].decode("utf-8", errors="replace")
    return content_type, text


def _clean_html(markup: str) -> tuple[str, str] | None:
    """(markup to draw, its plain text): scripts, styles, remote images and forms taken out."""
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


def reads_like_an_invoice(text: str) -> bool:
    """An invoice word and an amount: enough to be worth reading as a document."""
    from tasks.language.amounts import find_amounts
    from tasks.language.labels import INVOICE_WORDS
    from tasks.language.words import fold

    return bool(INVOICE_WORDS.search(fold(text))) and bool(find_amounts(text))


def body_document(content_type: str, text: str) -> bytes | None:
    """The body as a PDF when it reads like an invoice; None otherwise (or when it cannot be drawn)."""
    if content_type == "text/html":
        cleaned = _clean_html(text)
        if cleaned is None:
            return None
        markup, plain = cleaned
    else:
        plain = text
        markup = f'<pre style="white-space: pre-wrap; font-family: sans-serif">{html.escape(text)}</pre>'
    if not reads_like_an_invoice(plain):
        return None
    try:
        return _draw(markup)
    except (RuntimeError, ValueError) as err:
        logger.warning("a message body could not be drawn as a PDF: %s", err)
        return None


def _draw(markup: str) -> bytes:
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
