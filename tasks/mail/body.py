"""A message without an invoice file whose text reads like an invoice (a receipt or an invoice
sent as the email itself): its body drawn as a PDF, so that it is stored and read like any
other document. The stored original message keeps the body as sent."""

from __future__ import annotations

import logging
from email.message import Message

from tasks.reading.plain_text import MAX_TEXT_BYTES, clean_html, draw_pages, plain_markup

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = MAX_TEXT_BYTES


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


def reads_like_an_invoice(text: str) -> bool:
    """An invoice word and an amount: enough to be worth reading as a document."""
    from tasks.language.amounts import find_amounts
    from tasks.language.labels import INVOICE_WORDS
    from tasks.language.words import fold

    return bool(INVOICE_WORDS.search(fold(text))) and bool(find_amounts(text))


def body_document(content_type: str, text: str) -> bytes | None:
    """The body as a PDF when it reads like an invoice; None otherwise (or when it cannot be drawn)."""
    if content_type == "text/html":
        cleaned = clean_html(text)
        if cleaned is None:
            return None
        markup, plain = cleaned
    else:
        plain = text
        markup = plain_markup(text)
    if not reads_like_an_invoice(plain):
        return None
    try:
        return draw_pages(markup)
    except (RuntimeError, ValueError) as err:
        logger.warning("a message body could not be drawn as a PDF: %s", err)
        return None
