"""Hand new documents on to the step that reads them, by kind.

Intake (drop folder and mailbox) calls ``hand_over`` with the ids of the documents it just
stored; each kind goes to the flow that understands it. Documents an earlier run left unread
(its intake stopped before handing them on, or its read stopped half-way) go along with them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

from prefect.settings import temporary_settings
from sqlalchemy import select

from db.models import Document, DocumentStatus
from db.session import session_scope
from tasks.documents.filetypes import WORKBOOK_KIND
from tasks.documents.processing import left_unread
from tasks.reading.registry import READABLE_KINDS
from tasks.settings import get_settings


def readers_by_kind() -> dict[str, Callable[[int], Any]]:
    """Kind of document -> the flow (or function) that reads one document by id."""
    from flows.process_document import process_document

    def read(document_id: int) -> Any:
        # a document that cannot be read fails its own run (and is marked failed), not the intake run
        return process_document(document_id=document_id, return_state=True)

    def consolidate(document_id: int) -> Any:
        from flows.consolidate_workbook import consolidate_workbook

        # a workbook that cannot be read fails its own run (and the document), not the intake run
        return consolidate_workbook(document_id=document_id, return_state=True)

    return {**dict.fromkeys(READABLE_KINDS, read), WORKBOOK_KIND: consolidate}


def nested_run_settings():  # type: ignore[no-untyped-def]
    """Prefect settings for the documents' runs inside the intake run: no flow-run heartbeats of
    their own. The intake run's heartbeats already say the process is alive; and a run with
    heartbeats waits, when it ends, for its heartbeat thread to wake from its one-second sleep,
    which cost every document about 0.8 s, more than reading it. (Entered once for all of them:
    each entry builds Prefect's settings anew, about 0.1 s.)"""
    return temporary_settings(updates={"flows.heartbeat_frequency": None})


def hand_over(document_ids: list[int]) -> dict[str, int]:
    """Run the reading step for each new, stored document and for each one an earlier run left
    unread; returns how many were read or failed (and, as ``left_unread``, how many of them an
    earlier run had left).

    Each document is read in its own flow run, so one that fails is visible (red) on its own and
    never stops the intake that found it.
    """
    handlers = readers_by_kind()
    reread_after = timedelta(minutes=get_settings().ocr.reread_after_minutes)
    with session_scope() as session:
        behind = [i for i in left_unread(session, datetime.now(timezone.utc), reread_after, handlers)
                  if i not in document_ids]
    document_ids = [*document_ids, *behind]
    if not document_ids:
        return {}
    with session_scope() as session:
        rows = session.execute(
            select(Document.id, Document.kind).where(
                Document.id.in_(document_ids), Document.status == DocumentStatus.STORED.value
            )
        ).all()
    counts: dict[str, int] = {"left_unread": len(behind)} if behind else {}
    with nested_run_settings():
        for document_id, kind in rows:
            handler = handlers.get(kind)
            if handler is None:
                continue
            state = handler(document_id)
            outcome = "read" if state.is_completed() else "failed"
            counts[outcome] = counts.get(outcome, 0) + 1
    return counts
