"""What is inside an email: its headers and the files worth taking, each with a reason when not.

Walks the MIME tree of a raw message (leniently: malformed MIME, wrong or missing charsets and
hostile file names never stop the walk) and returns
    attachments  files to take into the document store (PDF, images, xlsx, XML, and anything
                 named or declared as such, so that intake can quarantine a fake with its reason);
                 parts of forwarded messages (message/rfc822 or attached .eml) and members of zip
                 archives included; a message with none of these whose text reads like an invoice
                 gives its body, drawn as a PDF (tasks.mail.body)
    notes        every other part that was not taken, with an outcome and a reason: "skipped"
                 (small inline images such as logos), "ignored" (not a document), "too_large",
                 "refused" (zip bombs, encrypted or broken archives, nesting too deep)

Nothing here touches the file system: names are only cleaned for display and the database.
"""

from __future__ import annotations

import email
import io
import logging
import re
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.header import decode_header
from email.message import Message
from email.policy import Compat32
from email.utils import getaddresses, parsedate_to_datetime
from typing import Any

from tasks.documents.filetypes import ACCEPTED_KINDS, detect

logger = logging.getLogger(__name__)

DOCUMENT_EXTENSIONS = (".pdf", ".xlsx", ".xml", ".png", ".jpg", ".jpeg", ".tif", ".tiff", ".gif", ".bmp", ".webp")
DOCUMENT_TYPES = ("application/pdf", "application/xml", "text/xml", "application/x-pdf",
                  "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
_EXTENSION_BY_KIND = {"pdf": ".pdf", "xlsx": ".xlsx", "xml": ".xml", "eml": ".eml", "zip": ".zip"}
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
MAX_NAME = 200
MB = 1024 * 1024


class _Lenient(Compat32):
    """compat32 parsing, but undeclared 8-bit header bytes are kept (as surrogates) for `decode_text`
    instead of being replaced by question marks."""

    def _sanitize_header(self, name: str, value: Any) -> Any:
        return value


POLICY = _Lenient()


@dataclass(frozen=True)
class PartLimits:
    max_attachment_bytes: int = 20 * 1024 * 1024
    min_inline_image_bytes: int = 20 * 1024
    max_zip_members: int = 200
    max_zip_total_bytes: int = 100 * 1024 * 1024
    max_zip_ratio: int = 100
    max_depth: int = 5  # forwarded messages and archives inside each other

    @classmethod
    def from_settings(cls, imap: Any) -> PartLimits:
        mb = 1024 * 1024
        return cls(imap.max_attachment_mb * mb, imap.min_inline_image_kb * 1024, imap.max_zip_members,
                   imap.max_zip_total_mb * mb, imap.max_zip_ratio)


@dataclass(frozen=True)
class Attachment:
    name: str  # cleaned, for display; e.g. "invoices.zip/march.pdf"
    data: bytes
    renamed_from: str | None = None  # the name as sent, when it had to be cleaned


@dataclass(frozen=True)
class Headers:
    message_id: str | None
    subject: str
    sender: str  # the address only, lower case
    sent_at: datetime | None


@dataclass
class MessageContents:
    headers: Headers
    attachments: list[Attachment] = field(default_factory=list)
    notes: list[dict[str, Any]] = field(default_factory=list)
    defects: list[str] = field(default_factory=list)


def _fix_text(value: str) -> str:
    """Bytes smuggled in as surrogates (8-bit headers) become UTF-8 where possible."""
    if any("\udc80" <= ch <= "\udcff" for ch in value):
        raw = value.encode("utf-8", "surrogateescape")
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:  # undeclared 8-bit text is most often Windows-1252 / Latin-1
            return raw.decode("cp1252", "replace")
    return value


def decode_text(value: Any) -> str:
    """A header value as text, whatever its encoded words and charsets (unknown ones included)."""
    if value is None:
        return ""
    text = _fix_text(str(value))
    try:
        chunks = decode_header(text)
    except Exception:  # a malformed encoded word: keep the raw text
        return text
    out = []
    for chunk, charset in chunks:
        if isinstance(chunk, str):
            out.append(chunk)
            continue
        for candidate in (charset, "utf-8", "latin-1"):
            if not candidate:
                continue
            try:
                out.append(chunk.decode(candidate))
                break
            except (LookupError, UnicodeDecodeError):
                continue
    return _fix_text("".join(out))


def _text_reads_like_an_invoice(data: bytes) -> bool:
    """Whether a text or HTML attachment is worth reading as a document (a `.txt` invoice, not a
    signature, a disclaimer or a mailing list's footer)."""
    from tasks.mail.body import reads_like_an_invoice
    from tasks.reading.plain_text import clean_html, decoded, is_html

    text = decoded(data)
    if is_html(text):
        cleaned = clean_html(text)
        text = cleaned[1] if cleaned else ""
    return reads_like_an_invoice(text)


def clean_name(raw: str | None) -> str:
    """A display name: the last path component, without control characters or leading dots."""
    name = _CONTROL.sub("", decode_text(raw or "")).replace("\\", "/").split("/")[-1]
    name = name.strip().lstrip(".").strip()
    if len(name) > MAX_NAME:
        stem, dot, ext = name.rpartition(".")
        name = (stem[: MAX_NAME - 20] + dot + ext[:16]) if dot else name[:MAX_NAME]
    return name


def read_headers(raw: bytes) -> Headers:
    """The headers this system keeps, from a whole message or from its header block alone."""
    message = email.message_from_bytes(raw, policy=POLICY)
    return _headers(message)


def _headers(message: Message) -> Headers:
    message_id = decode_text(message.get("Message-ID")).strip() or None
    sender = ""
    try:
        addresses = getaddresses([decode_text(message.get("From"))])
        sender = next((address for _, address in addresses if address), "")
    except Exception:  # noqa: BLE001 - a broken From: header leaves the sender empty
        sender = ""
    sent_at = None
    try:
        date_header = message.get("Date")
        if date_header:
            sent_at = parsedate_to_datetime(decode_text(date_header))
            if sent_at.tzinfo is None:
                sent_at = sent_at.replace(tzinfo=timezone.utc)
    except (TypeError, ValueError, IndexError, OverflowError):
        sent_at = None
    return Headers(message_id[:500] if message_id else None, decode_text(message.get("Subject")).strip()[:1000],
                   sender.strip().lower()[:500], sent_at)


def extract(raw: bytes, limits: PartLimits) -> MessageContents:
    """The headers, the files to take and a note for every part not taken."""
    message = email.message_from_bytes(raw, policy=POLICY)
    contents = MessageContents(_headers(message))
    walker = _Walker(limits, contents)
    walker.walk(message, prefix="", depth=0)
    if not contents.attachments:
        walker.take_body()
    return contents


class _Walker:
    def __init__(self, limits: PartLimits, contents: MessageContents) -> None:
        self.limits = limits
        self.contents = contents
        self.count = 0
        self.bodies: list[tuple[str, Message]] = []  # (prefix, text part) of each message's text

    def note(self, name: str, kind: str, size: int, outcome: str, reason: str) -> None:
        self.contents.notes.append({"name": name, "kind": kind, "size": size, "outcome": outcome, "reason": reason})

    def walk(self, message: Message, prefix: str, depth: int) -> None:
        self.contents.defects += [f"{prefix or 'message'}: {type(d).__name__}" for d in getattr(message, "defects", [])]
        if depth > self.limits.max_depth:
            self.note(prefix or "message", "eml", 0, "refused",
                      f"{prefix}: messages or archives nested more than {self.limits.max_depth} deep are not opened")
            return
        if message.is_multipart():
            payload = message.get_payload()
            if isinstance(payload, list):
                forwarded = message.get_content_type() == "message/rfc822"
                for part in payload:
                    if isinstance(part, Message):
                        inner = f"{prefix}{clean_name(part.get('Subject')) or 'forwarded message'}/" if forwarded else prefix
                        self.walk(part, inner, depth + (1 if forwarded else 0))
                return
        self.leaf(message, prefix, depth)

    def leaf(self, part: Message, prefix: str, depth: int) -> None:
        self.count += 1
        content_type = part.get_content_type()
        disposition = (part.get_content_disposition() or "").lower()
        try:
            raw_name = part.get_filename() or part.get_param("name")
        except Exception:  # noqa: BLE001 - undecodable parameters: treat as nameless
            raw_name = None
        if isinstance(raw_name, tuple):  # RFC 2231 value with an unknown charset
            raw_name = raw_name[2]
        raw_name = decode_text(raw_name) if raw_name else ""
        if not raw_name and disposition != "attachment" and content_type.startswith("text/"):
            self.bodies.append((prefix, part))  # the message body
            return
        if content_type.startswith("multipart/"):
            self.contents.defects.append(f"{prefix or 'message'}: {content_type} part without sub-parts")
            return
        try:
            data = part.get_payload(decode=True) or b""
        except Exception as err:  # noqa: BLE001 - an undecodable payload is a note, not a crash
            self.note(prefix + (clean_name(raw_name) or f"part {self.count}"), "other", 0, "refused",
                      f"could not decode the part: {err}")
            return
        self.take(data, raw_name, content_type, disposition, bool(part.get("Content-ID")), prefix, depth)

    def take(self, data: bytes, raw_name: str, content_type: str, disposition: str, has_cid: bool,
             prefix: str, depth: int) -> None:
        limits = self.limits
        kind = detect(data).kind
        name = clean_name(raw_name)
        renamed = raw_name if raw_name and name != raw_name else None
        if not name:
            name = f"attachment-{self.count}{_EXTENSION_BY_KIND.get(kind, '')}"
        shown = prefix + name
        if len(data) > limits.max_attachment_bytes:
            self.note(shown, kind, len(data), "too_large",
                      f"{shown}: {len(data) / MB:.1f} MB is over the {limits.max_attachment_bytes / MB:.0f} MB limit "
                      "(INVOICES_IMAP__MAX_ATTACHMENT_MB); it stays in the stored original message")
            return
        if kind == "image" and (disposition == "inline" or has_cid or not disposition) \
                and len(data) < limits.min_inline_image_bytes:
            self.note(shown, kind, len(data), "skipped",
                      f"inline image below {limits.min_inline_image_bytes // 1024} KB (logo or signature)")
            return
        if kind == "zip":
            self.unzip(data, shown, depth)
            return
        if kind == "eml" and (content_type.startswith("message/") or name.lower().endswith(".eml")):
            inner = email.message_from_bytes(data, policy=POLICY)
            self.walk(inner, shown + "/", depth + 1)
            return
        if kind == "text" and not _text_reads_like_an_invoice(data):
            self.note(shown, kind, len(data), "ignored", f"{shown}: text ({content_type}) that reads like no invoice")
            return
        declared = name.lower().endswith(DOCUMENT_EXTENSIONS) or content_type in DOCUMENT_TYPES
        if kind in ACCEPTED_KINDS or declared:
            self.contents.attachments.append(Attachment(shown, data, renamed))
            return
        self.note(shown, kind, len(data), "ignored", f"{shown}: {kind} ({content_type}) is not an invoice document")

    def take_body(self) -> None:
        """The first message text that reads like an invoice (the outer message's first, HTML
        before plain text), as a PDF document."""
        from tasks.mail.body import body_document, body_text

        bodies = [(prefix, found) for prefix, part in self.bodies if (found := body_text(part)) is not None]
        bodies.sort(key=lambda body: (body[0].count("/"), body[1][0] != "text/html"))  # outer first, HTML first
        for prefix, (content_type, text) in bodies:
            document = body_document(content_type, text)
            if document is not None:
                name = prefix.rstrip("/") or clean_name(self.contents.headers.subject)[:100] or "message"
                self.contents.attachments.append(Attachment(f"{name} (message text).pdf", document))
                return

    def unzip(self, data: bytes, shown: str, depth: int) -> None:
        limits = self.limits
        if depth >= limits.max_depth:
            self.note(shown, "zip", len(data), "refused", f"{shown}: archive nested too deep; not opened")
            return
        try:
            archive = zipfile.ZipFile(io.BytesIO(data))
            members = [info for info in archive.infolist() if not info.is_dir()]
        except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError) as err:
            self.note(shown, "zip", len(data), "refused", f"{shown}: not a readable zip archive ({err})")
            return
        if len(members) > limits.max_zip_members:
            self.note(shown, "zip", len(data), "refused",
                      f"{shown}: {len(members)} files is more than {limits.max_zip_members} "
                      "(INVOICES_IMAP__MAX_ZIP_MEMBERS); not unpacked")
            return
        budget = limits.max_zip_total_bytes
        with archive:
            for info in members:
                member = f"{shown}/{clean_name(info.filename) or 'unnamed'}"
                reason = self._member_problem(info, budget, member)
                if reason is None:
                    cap = min(limits.max_attachment_bytes, budget, max(info.compress_size, 1) * limits.max_zip_ratio)
                    try:
                        with archive.open(info) as handle:
                            content = handle.read(cap + 1)  # never trust the sizes an archive declares
                    except Exception as err:  # noqa: BLE001 - broken, encrypted or unsupported member
                        reason = f"{member}: could not be unpacked ({type(err).__name__}: {err})"
                    else:
                        if len(content) > cap:
                            reason = f"{member}: expands beyond {cap / MB:.1f} MB (zip bomb or over a limit); not unpacked"
                if reason:
                    self.note(member, "zip-member", info.file_size, "refused", reason)
                    continue
                budget -= len(content)
                self.count += 1
                self.take(content, info.filename, "application/octet-stream", "attachment", False,
                          f"{shown}/", depth + 1)

    def _member_problem(self, info: zipfile.ZipInfo, budget: int, member: str) -> str | None:
        limits = self.limits
        if info.flag_bits & 0x1:
            return f"{member}: encrypted (password-protected) archive member"
        if info.file_size > max(info.compress_size, 1) * limits.max_zip_ratio:
            return f"{member}: compressed {info.file_size // max(info.compress_size, 1)}:1, more than " \
                   f"{limits.max_zip_ratio}:1 (INVOICES_IMAP__MAX_ZIP_RATIO; a zip bomb?)"
        if info.file_size > limits.max_attachment_bytes:
            return f"{member}: {info.file_size / MB:.1f} MB unpacked is over the attachment limit"
        if info.file_size > budget:
            return f"{member}: the archive unpacks to more than {limits.max_zip_total_bytes / MB:.0f} MB " \
                   "(INVOICES_IMAP__MAX_ZIP_TOTAL_MB)"
        return None
