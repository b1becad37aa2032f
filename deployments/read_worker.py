"""`invoices read-worker`: a Prefect task worker that reads the documents intake hands to the
work pool (INVOICES_WORKERS__TASK_WORKERS), beside the process worker of each compose worker.

Several of them share a batch: each takes the next document's task run from the server, claims
the document (one read only saves it) and keeps its claim alive while it reads. The global
concurrency limit `invoices-ocr` (INVOICES_WORKERS__OCR_PROCESSES) caps the OCR processes of all
of them together; it is set here, at start, from the settings.
"""

from __future__ import annotations

import logging

from tasks.settings import Settings

logger = logging.getLogger(__name__)


def ensure_ocr_limit(settings: Settings) -> None:
    """Create or update the global concurrency limit on OCR processes (none when it is 0)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate, GlobalConcurrencyLimitUpdate
    from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound

    from tasks.documents.reading_batch import OCR_LIMIT

    limit = settings.workers.ocr_processes
    if not limit:
        return
    logger.info("global concurrency limit %s: %d OCR processes across every worker", OCR_LIMIT, limit)
    with get_client(sync_client=True) as client:
        try:
            client.read_global_concurrency_limit_by_name(OCR_LIMIT)
        except ObjectNotFound:
            try:
                client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name=OCR_LIMIT, limit=limit))
                return
            except ObjectAlreadyExists:  # another worker starting at the same moment made it
                pass
        client.update_global_concurrency_limit(OCR_LIMIT, GlobalConcurrencyLimitUpdate(limit=limit))


def read_worker(settings: Settings) -> None:
    """Serve the process-document task until stopped (SIGTERM or Ctrl-C)."""
    from prefect.task_worker import serve

    from flows.process_document import read_document_run
    from tasks.documents.reading_batch import documents_at_once

    ensure_ocr_limit(settings)
    serve(read_document_run, limit=documents_at_once(settings))
