"""A batch of documents being read at once: the claims their reads keep, the ones given up for
dead, and what each document became.

A read renews its claim (``documents.claimed_at``) while it works, so a claim that is not renewed
for the lease belongs to a read that is gone (its worker was killed): the batch releases it and
hands the document on again. The claim's mark is also its token: only the read holding the
current mark saves the document (``hold_claim`` in the save's transaction), so a document is
saved once even when a read given up for dead comes back.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Collection
from datetime import datetime, timedelta, timezone
from typing import Any, Self

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from db.models import Document, DocumentStatus, Invoice, InvoiceLink
from db.session import session_scope
from tasks.errors import ClaimLost
from tasks.reading.ocr import worker_count
from tasks.settings import Settings

logger = logging.getLogger(__name__)

_DOCUMENTS = Document.__table__
_LINKS = InvoiceLink.__table__
_INVOICES = Invoice.__table__
UNFINISHED = (DocumentStatus.STORED.value, DocumentStatus.PROCESSING.value)
# The Prefect global concurrency limit on OCR processes across every worker.
OCR_LIMIT = "invoices-ocr"


def documents_at_once(settings: Settings) -> int:
    """Documents one process takes or reads at the same time: the setting, or one per core.

    Several documents read at once each run their own tesseract: each one is kept to a single
    thread (OMP_THREAD_LIMIT=1, unless set), as one tesseract per core reads the most pages."""
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    return settings.workers.documents_at_once or worker_count(settings.ocr.workers)


class ClaimLease:
    """Keeps a document's claim alive while it is read: its mark is moved on every ``lease / 3``
    seconds, from a thread, while the claim still holds. ``mark()`` stops renewing and gives the
    claim's current mark (for the save, which only that mark may do)."""

    def __init__(self, document_id: int, claimed_at: datetime | None, lease_seconds: float | None) -> None:
        """No ``lease_seconds``: the claim is only held, not renewed (nothing gives claims up by
        lease when the intake run reads its documents itself)."""
        self.document_id = document_id
        self._mark = claimed_at
        self._every = lease_seconds / 3 if lease_seconds else None
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> Self:
        if self._mark is not None and self._every:
            self._thread = threading.Thread(target=self._renew, name=f"claim-{self.document_id}", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.mark()

    def _renew(self) -> None:
        while not self._stop.wait(self._every or 0):
            with self._lock:
                if self._stop.is_set() or self._mark is None:
                    return
                new = datetime.now(timezone.utc)
                try:
                    with session_scope() as session:
                        kept = session.execute(
                            update(_DOCUMENTS).where(_DOCUMENTS.c.id == self.document_id,
                                                     _DOCUMENTS.c.status == DocumentStatus.PROCESSING.value,
                                                     _DOCUMENTS.c.claimed_at == self._mark)
                            .values(claimed_at=new)).rowcount
                except Exception as err:  # noqa: BLE001 - the next renewal tries again; the lease is longer than this
                    logger.warning("document %s: its claim could not be renewed: %s", self.document_id, err)
                    continue
                if not kept:
                    logger.warning("document %s: its claim was given up and taken by another read", self.document_id)
                    return
                self._mark = new

    def mark(self) -> datetime | None:
        """Stop renewing; the claim's mark as it stands now."""
        with self._lock:
            self._stop.set()
            return self._mark


def claim_mark(session: Session, document_id: int) -> datetime | None:
    """The mark of the claim on the document (as the database holds it): read in the claim's own
    transaction."""
    return session.execute(select(_DOCUMENTS.c.claimed_at).where(_DOCUMENTS.c.id == document_id)).scalar()


def holds_claim(session: Session, document_id: int, mark: datetime | None) -> bool:
    """Whether the claim with ``mark`` still holds the document; if it does, the document's row
    stays locked for the rest of the transaction, so no other read can take it before the
    transaction ends (no ``mark``: a read without a claim mark, always)."""
    if mark is None:
        return True
    return bool(session.execute(
        update(_DOCUMENTS).where(_DOCUMENTS.c.id == document_id,
                                 _DOCUMENTS.c.status == DocumentStatus.PROCESSING.value,
                                 _DOCUMENTS.c.claimed_at == mark)
        .values(claimed_at=mark)).rowcount)


def hold_claim(session: Session, document_id: int, mark: datetime | None) -> None:
    """``holds_claim``, or ClaimLost: a read whose claim was given up for dead saves nothing."""
    if not holds_claim(session, document_id, mark):
        raise ClaimLost(f"document {document_id}: its claim was given up (its read stopped renewing it) and "
                        "another read took it; this read is not saved")


def release_dead_claims(document_ids: Collection[int], lease: timedelta,
                        now: datetime | None = None) -> list[int]:
    """Of ``document_ids``, those whose claim was not renewed for ``lease`` (their read is gone):
    released (status stored again, with a note) and returned, to be handed on again."""
    if not document_ids:
        return []
    now = now or datetime.now(timezone.utc)
    with session_scope() as session:
        released = session.execute(
            update(_DOCUMENTS).where(_DOCUMENTS.c.id.in_(list(document_ids)),
                                     _DOCUMENTS.c.status == DocumentStatus.PROCESSING.value,
                                     _DOCUMENTS.c.claimed_at < now - lease)
            .values(status=DocumentStatus.STORED.value,
                    error="its read stopped renewing its claim (the worker was stopped); it is read again")
            .returning(_DOCUMENTS.c.id)
        ).scalars().all()
    if released:
        logger.warning("documents %s: their reads stopped; handed on again", sorted(released))
    return sorted(released)


def statuses(document_ids: Collection[int]) -> dict[int, str]:
    """Each document's status now."""
    if not document_ids:
        return {}
    with session_scope() as session:
        return dict(session.execute(
            select(_DOCUMENTS.c.id, _DOCUMENTS.c.status).where(_DOCUMENTS.c.id.in_(list(document_ids)))).all())


def batch_rows(document_ids: Collection[int]) -> list[dict[str, Any]]:
    """One row per document of a batch: its name, state, and the vendor, number and total of the
    invoice it was read into (empty when it holds none), in the order of the ids."""
    if not document_ids:
        return []
    with session_scope() as session:
        found = session.execute(
            select(_DOCUMENTS.c.id, _DOCUMENTS.c.original_name, _DOCUMENTS.c.status, _DOCUMENTS.c.error,
                   _INVOICES.c.counterparty, _INVOICES.c.number, _INVOICES.c.total, _INVOICES.c.currency)
            .select_from(_DOCUMENTS.outerjoin(_LINKS, _LINKS.c.document_id == _DOCUMENTS.c.id)
                         .outerjoin(_INVOICES, _INVOICES.c.id == _LINKS.c.invoice_id))
            .where(_DOCUMENTS.c.id.in_(list(document_ids)))
        ).all()
    rows = {}
    for row in found:
        rows.setdefault(row.id, {
            "document": row.id, "name": row.original_name, "state": row.status,
            "vendor": row.counterparty or "", "number": row.number or "",
            "total": f"{row.total} {row.currency or ''}".strip() if row.total is not None else "",
            "reason": row.error or "",
        })
    return [rows[i] for i in document_ids if i in rows]


def ocr_pages(path: str, kind: str, max_pages: int) -> int:
    """How many pages of the stored file will need OCR (pages without a text layer; every frame
    of an image): the OCR processes its read takes, to hold that many slots of the OCR limit. A
    file that cannot be looked into counts as one (its reader reports why)."""
    try:
        if kind == "pdf":
            import pymupdf

            with pymupdf.open(path) as document:
                return sum(1 for index in range(min(max_pages, document.page_count))
                           if not document.load_page(index).get_text("text").strip())
        if kind == "image":
            from PIL import Image

            with Image.open(path) as image:
                return min(max_pages, int(getattr(image, "n_frames", 1)))
    except Exception:  # noqa: BLE001 - the read itself says what is wrong with the file
        return 1
    return 0
