"""The original files, only to people who are logged in: a PDF for the browser's viewer, an image
inline, an e-invoice's XML and a mail's .eml as downloads; the type is the one detected from the
bytes, the download name a safe one. Anything else (a workbook, a quarantined file) is not served."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse, Response

from db.models import Document, MailMessage
from db.session import session_scope
from tasks.documents.store import path_in_store
from tasks.errors import StorageError
from tasks.settings import get_settings

router = APIRouter()
INLINE_TYPES = {"application/pdf", "image/png", "image/jpeg", "image/gif", "image/webp"}
SERVED_KINDS = {"pdf", "image", "xml"}
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(name: str, default_suffix: str) -> str:
    """A download name with letters, digits, dots, dashes and underscores only."""
    folded = unicodedata.normalize("NFKD", Path(name.replace("\\", "/")).name).encode("ascii", "ignore").decode()
    cleaned = _UNSAFE.sub("_", folded).strip(" ._")[:100] or "document"
    return cleaned if "." in cleaned else cleaned + default_suffix


def _stored_file(document: Document) -> Path:
    try:
        path = path_in_store(get_settings().documents_dir, document.storage_path)
    except StorageError as err:
        raise HTTPException(status_code=404) from err
    if not path.is_file():
        raise HTTPException(status_code=404)
    return path


def _file(path: Path, mime: str, name: str, inline: bool) -> Response:
    return FileResponse(path, media_type=mime, filename=name,
                        content_disposition_type="inline" if inline else "attachment")


@router.get("/documents/{document_id}")
def document_file(document_id: int) -> Response:
    with session_scope() as session:
        document = session.get(Document, document_id)
        if document is None or document.kind not in SERVED_KINDS or document.status == "quarantined":
            raise HTTPException(status_code=404)
        mime, name, kind = document.mime_type, document.original_name, document.kind
        path = _stored_file(document)
    inline = mime in INLINE_TYPES
    suffix = {"pdf": ".pdf", "xml": ".xml"}.get(kind, "." + mime.rpartition("/")[2])
    return _file(path, mime if inline else "application/octet-stream", safe_name(name, suffix), inline)


@router.get("/mail/{message_id}.eml")
def mail_original(message_id: int) -> Response:
    with session_scope() as session:
        message = session.get(MailMessage, message_id)
        document = session.get(Document, message.raw_document_id) if message and message.raw_document_id else None
        if document is None or document.kind != "eml":
            raise HTTPException(status_code=404)
        path = _stored_file(document)
        name = safe_name(message.subject or f"message-{message_id}", ".eml")
    return _file(path, "message/rfc822", name if name.endswith(".eml") else name + ".eml", inline=False)
