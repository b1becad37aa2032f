"""Taking a file into the system: classify it by content, store it once by sha256, record a
documents row, and note where it came from. Reading the document is left to process-document,
which also records its text.

Files that cannot be taken (empty, executable, corrupt or encrypted PDF ...) are still stored
and recorded, with status ``quarantined`` and the reason, so that nothing a user gave the
system is lost; the caller decides what else to do with the input (the drop folder moves it
to ``quarantine/``).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path, PurePath

from sqlalchemy import bindparam, insert, select
from sqlalchemy.orm import Session

from db.conflicts import insert_ignoring_conflicts
from db.models import Document, DocumentOrigin, DocumentStatus
from tasks.documents.filetypes import FileType, detect
from tasks.documents.store import sha256_bytes, store_bytes
from tasks.errors import RejectedDocument, StorageError, UnreadableDocument
from tasks.reading.pdf_layer import open_pdf

logger = logging.getLogger(__name__)

_REFUSED_KINDS = {
    "empty": "the file is empty (0 bytes)",
    "executable": "the file is a program, not a document",
    "office-legacy": "the file is a legacy or password-protected Office file; save it as .xlsx or PDF",
    "zip": "zip archives are not taken from here; unpack them into the inbox",
    "other": "unknown file type (not a PDF, image, workbook, XML invoice or email)",
}
# The names a text document may have: a `.txt` invoice, a saved web page. Plain text under any
# other name (a ".pdf" holding text) is refused as what it is.
TEXT_SUFFIXES = frozenset({".txt", ".text", ".htm", ".html"})
MAX_NAME_LENGTH = 500
_UNENCODABLE = re.compile("[\\\\\ud800-\udfff]")  # a backslash, or a byte that was not UTF-8
_ESCAPE = re.compile(r"\\(\\|x[0-9a-f]{2}|u[0-9a-f]{4})")


def _escaped(char: str) -> str:
    code = ord(char)
    if char == "\\":
        return "\\\\"
    if 0xDC80 <= code <= 0xDCFF:  # a byte the file system's name held that is not UTF-8
        return f"\\x{code - 0xDC00:02x}"
    return f"\\u{code:04x}"  # any other lone surrogate


def shown_name(name: str) -> str:
    """``name`` as text that every log, artifact and database column takes, losslessly.

    A name that is not valid UTF-8 (as ``os.walk`` gives it: its stray bytes surrogate-escaped)
    has each such byte written ``\\xff`` and each backslash doubled; a valid name without a
    backslash is kept as it is. ``original_of`` gives the name back.
    """
    if not _UNENCODABLE.search(name):
        return name
    return _UNENCODABLE.sub(lambda match: _escaped(match.group()), name)


def original_of(shown: str) -> str:
    """The name (with its stray bytes surrogate-escaped again) that ``shown_name`` showed as ``shown``."""
    def unescape(match: re.Match[str]) -> str:
        code = match.group(1)
        if code == "\\":
            return "\\"
        value = int(code[1:], 16)
        return chr(0xDC00 + value) if code[0] == "x" else chr(value)

    return _ESCAPE.sub(unescape, shown) if "\\" in shown else shown


@dataclass(frozen=True)
class IngestResult:
    document_id: int
    sha256: str
    kind: str
    created: bool  # False when the same bytes were already a document
    status: str
    error: str | None = None

    @property
    def rejected(self) -> bool:
        return self.status == DocumentStatus.QUARANTINED.value


def check_document(data: bytes, file_type: FileType, name: str) -> int | None:
    """Validate a file's content for intake; returns a PDF's page count.

    Raises RejectedDocument with the reason when the file cannot be taken: not a document, or a
    PDF that does not open, is password-protected or has no pages.
    """
    if not file_type.accepted:
        raise RejectedDocument(f"{name}: {_REFUSED_KINDS.get(file_type.kind, 'not a document')}")
    suffix = PurePath(name).suffix.lower()
    if file_type.kind == "text" and suffix and suffix not in TEXT_SUFFIXES:
        raise RejectedDocument(f"{name}: the file is plain text although its name ends in {suffix}")
    if file_type.kind != "pdf":
        return None
    try:
        with open_pdf(data, name) as document:
            return document.page_count
    except UnreadableDocument as err:
        raise RejectedDocument(str(err)) from err


_DOCUMENTS = Document.__table__
_ORIGINS = DocumentOrigin.__table__
_FIND = select(_DOCUMENTS.c.id, _DOCUMENTS.c.kind, _DOCUMENTS.c.status, _DOCUMENTS.c.error).where(
    _DOCUMENTS.c.sha256 == bindparam("sha256"))
_ADD_ORIGIN = insert(_ORIGINS)


def _existing(session: Session, sha256: str) -> IngestResult | None:
    """The document already stored with these bytes, if any."""
    row = session.execute(_FIND, {"sha256": sha256}).one_or_none()
    if row is None:
        return None
    return IngestResult(row.id, sha256, row.kind, False, row.status, row.error)


def _insert_document(session: Session, values: dict[str, object]) -> int | None:
    """The new document's id, or None when a parallel run inserted the same bytes first."""
    statement = insert_ignoring_conflicts(session, _DOCUMENTS, ["sha256"]).returning(_DOCUMENTS.c.id)
    return session.execute(statement, values).scalar_one_or_none()


def _record_origin(
    session: Session, document_id: int, channel: str, name: str, mail_message_id: int | None, new: bool
) -> None:
    """Note this arrival (once per document, message and name; a new document has none yet)."""
    if not new:
        exists = session.scalars(
            select(_ORIGINS.c.id).where(
                _ORIGINS.c.document_id == document_id,
                _ORIGINS.c.original_name == name,
                _ORIGINS.c.mail_message_id.is_(None)
                if mail_message_id is None
                else _ORIGINS.c.mail_message_id == mail_message_id,
            )
        ).first()
        if exists is not None:
            return
    session.execute(_ADD_ORIGIN, {"document_id": document_id, "channel": channel, "original_name": name,
                                  "mail_message_id": mail_message_id})


def _take(session: Session, documents_dir: Path, data: bytes, sha256: str, name: str) -> IngestResult:
    """Check, store (fsync'd before the row that points at it is committed) and record the bytes,
    or find the document that already holds them."""
    file_type = detect(data)
    status, error, page_count = DocumentStatus.STORED.value, None, None
    try:
        page_count = check_document(data, file_type, name)
    except RejectedDocument as err:
        status, error = DocumentStatus.QUARANTINED.value, str(err)
    stored = store_bytes(documents_dir, data)
    document_id = _insert_document(session, {
        "sha256": sha256, "size_bytes": len(data), "kind": file_type.kind, "mime_type": file_type.mime_type,
        "storage_path": stored.relative_path, "original_name": name, "page_count": page_count,
        "status": status, "error": error,
    })
    if document_id is None:  # stored before, or by a parallel run just now
        known = _existing(session, sha256)
        if known is None:
            raise StorageError(f"document {sha256[:12]} ({name}) was neither inserted nor found")
        return known
    if error:
        logger.warning("quarantined %s: %s", name, error)
    return IngestResult(document_id, sha256, file_type.kind, True, status, error)


def ingest_bytes(
    session: Session,
    documents_dir: Path,
    data: bytes,
    original_name: str,
    channel: str,
    mail_message_id: int | None = None,
) -> IngestResult:
    """Store ``data`` once and record it as a document (quarantined with a reason if refused).

    Idempotent: the same bytes again add only an origin row (they are stored once, under their
    sha256). Safe against a parallel run inserting the same document (the loser re-reads the
    winner's row).
    """
    name = shown_name(original_name or "(no name)")[:MAX_NAME_LENGTH]
    result = _take(session, documents_dir, data, sha256_bytes(data), name)
    _record_origin(session, result.document_id, channel, name, mail_message_id, result.created)
    return result
