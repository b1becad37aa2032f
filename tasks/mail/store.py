"""Taking one fetched message into the system, in one transaction: the raw message (.eml) and
each attachment stored once by content, the outcome of every part recorded on the message.

The same message seen before (a recreated folder, a new UIDVALIDITY) is recognised by the
sha256 of its bytes and linked to the earlier record instead of being taken again.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from db.models import MailMessage, MailStatus
from db.session import session_scope
from tasks.documents.intake import ingest_bytes
from tasks.documents.store import sha256_bytes
from tasks.errors import MailboxError
from tasks.mail import ledger
from tasks.mail.parts import PartLimits, extract
from tasks.settings import Settings

NEEDS_PERSON = ("quarantined", "too_large", "refused")


def store_message(row_id: int, claimer: str, raw: bytes, settings: Settings,
                  limits: PartLimits) -> tuple[str, str | None, list[int]]:
    """Store the raw message and its attachments and record the outcome, in one transaction.

    Returns (status, reason for a person or None, ids of documents created). The same message
    seen before under another UIDVALIDITY or folder (same content hash) is linked, not taken again.
    """
    documents_dir = settings.documents_dir
    digest = sha256_bytes(raw)
    with session_scope() as session:
        row = session.get(MailMessage, row_id)
        if row is None or row.claimed_by != claimer or row.status != MailStatus.CLAIMED.value:
            raise MailboxError(f"message {row_id} is no longer claimed by this poll")
        earlier = session.scalars(select(MailMessage).where(
            MailMessage.account == row.account, MailMessage.content_sha256 == digest, MailMessage.id != row.id,
            MailMessage.status.in_(ledger.DONE), MailMessage.duplicate_of_id.is_(None),
        ).order_by(MailMessage.id).limit(1)).first()
        row.content_sha256, row.size_bytes, row.processed_at = digest, len(raw), ledger.now()
        if earlier is not None:
            row.status, row.duplicate_of_id, row.raw_document_id = earlier.status, earlier.id, earlier.raw_document_id
            row.error = (f"same message as #{earlier.id} ({earlier.folder}, UIDVALIDITY {earlier.uidvalidity}, "
                         f"UID {earlier.uid}); not taken again")
            return "resynced", None, []
        contents = extract(raw, limits)
        headers = contents.headers
        row.message_id, row.subject, row.sender, row.sent_at = (headers.message_id, headers.subject, headers.sender,
                                                                headers.sent_at)
        created: list[int] = []
        eml = ingest_bytes(session, documents_dir, raw, f"{_subject_name(headers.subject)}.eml", channel="mail",
                           mail_message_id=row.id)
        row.raw_document_id = eml.document_id
        if eml.created:
            created.append(eml.document_id)
        parts: list[dict[str, Any]] = []
        for attachment in contents.attachments:
            result = ingest_bytes(session, documents_dir, attachment.data, attachment.name, channel="mail",
                                  mail_message_id=row.id)
            outcome = "quarantined" if result.rejected else "stored" if result.created else "duplicate"
            reason = result.error
            if attachment.renamed_from:
                reason = (f"{reason}; " if reason else "") + f"name as sent: {attachment.renamed_from!r}"
            parts.append({"name": attachment.name, "kind": result.kind, "size": len(attachment.data),
                          "outcome": outcome, "reason": reason, "document_id": result.document_id})
            if result.created:
                created.append(result.document_id)
        row.parts = parts + contents.notes
        problems = [f"{p['name']}: {p['outcome']}" + (f" ({p['reason']})" if p.get("reason") else "")
                    for p in row.parts if p["outcome"] in NEEDS_PERSON]
        if contents.defects:
            problems.append("malformed MIME: " + ", ".join(contents.defects[:5]))
        if parts:
            row.status, row.error = MailStatus.PROCESSED.value, "; ".join(problems) or None
        else:
            row.status = MailStatus.NO_DOCUMENTS.value
            row.error = "; ".join(problems) or ("no attachment" if not contents.notes else "no usable attachment: " +
                                               "; ".join(f"{n['name']}: {n['reason']}" for n in contents.notes))
        return row.status, row.error, created


def _subject_name(subject: str) -> str:
    cleaned = re.sub(r"[\x00-\x1f\x7f/\\]+", " ", subject).strip()[:150]
    return cleaned or "message"
