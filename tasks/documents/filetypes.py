"""What a file really is, decided by its bytes, never by its name."""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass

from tasks.reading.registry import READABLE_KINDS


@dataclass(frozen=True)
class FileType:
    kind: str  # pdf, image, xlsx, xml, eml, zip, office-legacy, executable, text, empty, other
    mime_type: str

    @property
    def accepted(self) -> bool:
        """Whether intake keeps this kind as a document (the rest is quarantined)."""
        return self.kind in ACCEPTED_KINDS


# What intake keeps: every kind the reader registry can read, workbooks (consolidated into the
# invoices) and mail messages (unpacked like a mailbox's).
WORKBOOK_KIND, MESSAGE_KIND = "xlsx", "eml"
ACCEPTED_KINDS = frozenset({*READABLE_KINDS, WORKBOOK_KIND, MESSAGE_KIND})

_IMAGE_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"II*\x00", "image/tiff"),
    (b"MM\x00*", "image/tiff"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"BM", "image/bmp"),
)
_EXECUTABLE_SIGNATURES = (b"\x7fELF", b"MZ", b"\xcf\xfa\xed\xfe", b"\xce\xfa\xed\xfe", b"\xca\xfe\xba\xbe", b"#!")
_MAIL_HEADER = re.compile(
    rb"^(received|return-path|from|to|cc|reply-to|sender|subject|date|message-id|mime-version|"
    rb"content-type|content-transfer-encoding|delivered-to|references|in-reply-to|dkim-signature|"
    rb"arc-[\w-]+|authentication-results|x-[\w-]+):",
    re.IGNORECASE | re.MULTILINE,
)


def _zip_kind(data: bytes) -> FileType:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, ValueError, OSError):
        return FileType("other", "application/octet-stream")
    if "[Content_Types].xml" in names and any(name.startswith("xl/") for name in names):
        return FileType("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    return FileType("zip", "application/zip")


# Text in a one-byte encoding (Windows-1252, Latin-1): printable bytes, tabs and line breaks only.
_WINDOWS_TEXT = re.compile(rb"[\t\n\r\f\x20-\x7e\x80-\xff]*")


def detect(data: bytes) -> FileType:
    """Classify ``data`` by its leading bytes (and, for zips, by their member names)."""
    if not data:
        return FileType("empty", "application/octet-stream")
    head = data[:2048]
    if head.lstrip(b"\x00\t\r\n \xef\xbb\xbf")[:5] == b"%PDF-" or b"%PDF-" in data[:1024]:
        return FileType("pdf", "application/pdf")
    for signature, mime in _IMAGE_SIGNATURES:
        if head.startswith(signature):
            return FileType("image", mime)
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return FileType("image", "image/webp")
    if head.startswith(b"PK\x03\x04"):
        return _zip_kind(data)
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return FileType("office-legacy", "application/x-ole-storage")
    if head.startswith(_EXECUTABLE_SIGNATURES):
        return FileType("executable", "application/x-executable")
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16 with its byte order mark: XML or text saved so
        head = head.decode("utf-16", errors="replace").encode("utf-8")
    text_head = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text_head.startswith(b"<?xml") or text_head.startswith(b"<"):
        if b"<html" in text_head[:500].lower() or b"<!doctype html" in text_head[:500].lower():
            return FileType("text", "text/html")
        return FileType("xml", "application/xml")
    if _MAIL_HEADER.match(head) and b"\n\n" in data.replace(b"\r\n", b"\n")[:65536]:
        return FileType("eml", "message/rfc822")
    if b"\x00" not in head:
        try:
            head.decode("utf-8")
        except UnicodeDecodeError as err:
            if err.start < len(head) - 3 and not _WINDOWS_TEXT.fullmatch(head):
                return FileType("other", "application/octet-stream")
        return FileType("text", "text/plain")
    return FileType("other", "application/octet-stream")
