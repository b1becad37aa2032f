"""Hand new documents on to the step that reads them, by kind.

Intake (drop folder and mailbox) calls ``hand_over`` with the ids of the documents it just
stored; each kind goes to the step that understands it. Documents an earlier run left unread
(its intake stopped before handing them on, or its read stopped half-way) go along with them.

Documents are read as a batch: a ``process-document`` task run each, several at once (one per
core: a scan's tesseract runs beside the others'), in the intake's own process, or, with
``INVOICES_WORKERS__TASK_WORKERS``, on the work pool's task workers (`invoices read-worker`).
Each document is red on its own when it fails; the batch's table artifact shows what each became.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any, Self

from prefect import get_run_logger
from prefect.task_runners import ThreadPoolTaskRunner
from sqlalchemy import select

from db.models import Document, DocumentStatus
from db.session import session_scope
from tasks.documents import reading_batch
from tasks.documents.filetypes import WORKBOOK_KIND
from tasks.documents.processing import left_unread
from tasks.operations.run_reports import publish_table
from tasks.reading.registry import READABLE_KINDS
from tasks.settings import get_settings

# How often a batch on the task workers looks at its documents' states (a database read).
POLL_SECONDS = 0.2
READ_STATES = {DocumentStatus.PROCESSED.value, DocumentStatus.NOT_INVOICE.value}


class BatchReading:
    """A batch being read while it is still being handed on: each document is read (a task run
    each, ``documents_at_once`` at a time, or on the task workers) from the moment it is added, so
    intake reads the first documents while it still takes the last files. ``finish`` adds the
    documents an earlier run left unread, waits for every read, reads the workbooks and publishes
    the batch's table."""

    def __init__(self) -> None:
        self.settings = get_settings()
        self.on_workers = self.settings.workers.task_workers
        self.ids: list[int] = []
        self.workbooks: list[int] = []
        self.order: dict[int, int] = {}  # the order documents went to the task workers in
        self.futures: list[Any] = []
        self.runner: ThreadPoolTaskRunner | None = None

    def __enter__(self) -> Self:
        if not self.on_workers:
            self.runner = ThreadPoolTaskRunner(max_workers=reading_batch.documents_at_once(self.settings))
            self.runner.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.runner is not None:
            self.runner.__exit__(*exc)

    def add(self, document_id: int, kind: str | None) -> None:
        """Read this stored document (a workbook is read when the batch finishes)."""
        from flows.process_document import read_document_run

        if kind == WORKBOOK_KIND:
            self.workbooks.append(document_id)
        elif kind in READABLE_KINDS and document_id not in self.order:
            self.ids.append(document_id)
            self.order[document_id] = len(self.order)
            if self.runner is not None:
                self.futures.append(self.runner.submit(read_document_run, parameters={"document_id": document_id}))
            else:
                read_document_run.delay(document_id=document_id)

    def add_stored(self, document_ids: list[int]) -> None:
        """Read those of ``document_ids`` that are stored and not read yet, by kind."""
        if not document_ids:
            return
        with session_scope() as session:
            rows = session.execute(
                select(Document.id, Document.kind).where(
                    Document.id.in_(document_ids), Document.status == DocumentStatus.STORED.value
                ).order_by(Document.id)
            ).all()
        for document_id, kind in rows:
            self.add(document_id, kind)

    def finish(self) -> dict[str, int]:
        """Wait for every read; returns how many were read or failed (and, as ``left_unread``,
        how many of them an earlier run had left)."""
        reread_after = timedelta(minutes=self.settings.ocr.reread_after_minutes)
        handed = {*self.ids, *self.workbooks}
        with session_scope() as session:
            behind = [i for i in left_unread(session, datetime.now(timezone.utc), reread_after, readers_by_kind())
                      if i not in handed]
        self.add_stored(behind)
        counts: dict[str, int] = {"left_unread": len(behind)} if behind else {}
        if self.ids:
            if self.runner is not None:
                for future in self.futures:
                    future.wait()
            else:
                on_task_workers(self.ids, self.order)
            rows = reading_batch.batch_rows(self.ids)
            for row in rows:
                outcome = "read" if row["state"] in READ_STATES else "failed"
                counts[outcome] = counts.get(outcome, 0) + 1
            publish_table("documents-read", rows, f"{counts.get('read', 0)} of {len(rows)} documents read, "
                          f"{counts.get('failed', 0)} not")
        for outcome, number in consolidate_each(self.workbooks).items():
            counts[outcome] = counts.get(outcome, 0) + number
        return counts


def read_batch(document_ids: list[int]) -> dict[str, int]:
    """Read ``document_ids`` as one batch (see ``BatchReading``)."""
    with BatchReading() as batch:
        batch.add_stored(document_ids)
        return batch.finish()


def on_task_workers(document_ids: list[int], order: dict[int, int]) -> None:
    """Wait until each document handed to the task workers (in ``order``) is read.

    A document whose read stopped renewing its claim (its worker was killed) is handed on again,
    and so is one still unclaimed while a document handed on after it was taken more than a lease
    ago (the server hands them out in order: a worker took it and died before claiming it). The
    claim makes sure one read only saves it."""
    from flows.process_document import read_document_run

    logger = get_run_logger()
    lease = timedelta(seconds=get_settings().workers.claim_lease_seconds)
    taken_at: dict[int, float] = {}  # when each was first seen taken, by this process's clock
    last_check = time.monotonic()
    while True:
        now = time.monotonic()
        status = reading_batch.statuses(document_ids)
        for document_id, state in status.items():
            if state != DocumentStatus.STORED.value:
                taken_at.setdefault(document_id, now)
        waiting = [i for i, state in status.items() if state in reading_batch.UNFINISHED]
        if not waiting:
            return
        if now - last_check < lease.total_seconds() / 3:
            time.sleep(POLL_SECONDS)
            continue
        last_check = now
        again = set(reading_batch.release_dead_claims(waiting, lease))
        again |= _skipped_in_the_queue(status, order, taken_at, now - lease.total_seconds())
        for document_id in sorted(again, key=order.__getitem__):
            logger.warning("document %s: its read stopped on its worker; handed on again", document_id)
            read_document_run.delay(document_id=document_id)
            order[document_id] = max(order.values()) + 1
            taken_at.pop(document_id, None)


def _skipped_in_the_queue(status: dict[int, str], order: dict[int, int], taken_at: dict[int, float],
                          before: float) -> set[int]:
    """Documents still stored while one handed on after them was taken before ``before``."""
    taken_long_ago = [order[i] for i, at in taken_at.items() if at < before]
    if not taken_long_ago:
        return set()
    latest = max(taken_long_ago)
    return {i for i, state in status.items() if state == DocumentStatus.STORED.value and order[i] < latest}


def consolidate_each(document_ids: list[int]) -> dict[str, int]:
    """A run of consolidate-workbook per workbook: one that cannot be read fails its own run (and
    the document), not the intake run."""
    from flows.consolidate_workbook import consolidate_workbook

    counts: dict[str, int] = {}
    with nested_run_settings():
        for document_id in document_ids:
            state = consolidate_workbook(document_id=document_id, return_state=True)
            outcome = "read" if state.is_completed() else "failed"
            counts[outcome] = counts.get(outcome, 0) + 1
    return counts


def nested_run_settings():  # type: ignore[no-untyped-def]
    """Prefect settings for flow runs inside the intake run: no flow-run heartbeats of their own.
    The intake run's heartbeats already say the process is alive; and a run with heartbeats
    waits, when it ends, for its heartbeat thread to wake from its one-second sleep."""
    from prefect.settings import temporary_settings

    return temporary_settings(updates={"flows.heartbeat_frequency": None})


def readers_by_kind() -> dict[str, Callable[[list[int]], dict[str, int]]]:
    """Kind of document -> the step that reads a batch of them by id."""
    return {**dict.fromkeys(READABLE_KINDS, read_batch), WORKBOOK_KIND: consolidate_each}


def hand_over(document_ids: list[int]) -> dict[str, int]:
    """Read each new, stored document and each one an earlier run left unread; returns how many
    were read or failed (and, as ``left_unread``, how many of them an earlier run had left)."""
    with BatchReading() as batch:
        batch.add_stored(document_ids)
        return batch.finish()
