"""process-document: read one stored document (text layer, OCR or e-invoice XML) into an invoice.

The flow reads one document by hand (or as a run of its deployment). Intake reads its batches
with ``read_document_run``, the same work as a task run per document: a task run costs the
server a few milliseconds where a flow run costs it a second, and each document is still its own
run in the UI, red on its own when it fails.
"""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.concurrency.sync import concurrency
from prefect.context import FlowRunContext, TaskRunContext

from db.session import session_scope
from tasks.documents import processing, reading_batch
from tasks.documents.reading_batch import OCR_LIMIT, ClaimLease
from tasks.einvoice.report import einvoice_report
from tasks.errors import UnreadableDocument
from tasks.extraction.invoice_file import Understanding, understand_file
from tasks.extraction.templates import load_templates
from tasks.operations.run_alerts import ALERT_HOOKS
from tasks.operations.run_reports import markdown_table, plain, publish_markdown
from tasks.reading.ocr import worker_count
from tasks.settings import get_settings


def _claim_marked(document_id: int, force: bool) -> tuple[processing.Claim | str, datetime | None]:
    """Take the document for reading, with the vendor templates to read it with and the claim's
    mark (one transaction)."""
    settings = get_settings()
    with session_scope() as session:
        claim = processing.claim_document(session, settings.documents_dir, document_id, force)
        if isinstance(claim, str):
            return claim, None
        return (replace(claim, templates=tuple(load_templates(settings.templates_dir, session))),
                reading_batch.claim_mark(session, document_id))


def _read(claim: processing.Claim) -> Understanding:
    """Read the claimed file; with an OCR limit (INVOICES_WORKERS__OCR_PROCESSES), a file whose
    pages need OCR first takes a slot of the global concurrency limit for each OCR process it
    starts, so the OCR processes of every worker together stay within the limit."""
    settings = get_settings()
    limit = settings.workers.ocr_processes
    processes = min(limit, worker_count(settings.ocr.workers),
                    reading_batch.ocr_pages(claim.path, claim.kind, settings.ocr.max_pages)) if limit else 0
    with concurrency(OCR_LIMIT, occupy=processes) if processes else nullcontext():
        return understand_file(Path(claim.path), claim.name, settings.ocr, list(claim.templates), kind=claim.kind)


def _save(document_id: int, result: Understanding, run_id: str | None, mark: datetime | None) -> dict[str, Any]:
    """Save what was read, while the claim with ``mark`` still holds the document (ClaimLost if not)."""
    with session_scope() as session:
        reading_batch.hold_claim(session, document_id, mark)
        return processing.save_result(session, document_id, result, "process-document", run_id)


@task(name="claim-document", cache_policy=NO_CACHE)
def claim_document(document_id: int, force: bool) -> processing.Claim | str:
    return _claim_marked(document_id, force)[0]


@task(name="read-document", cache_policy=NO_CACHE)
def read_document(claim: processing.Claim) -> Understanding:
    return _read(claim)


@task(name="save-invoice", cache_policy=NO_CACHE)
def save_invoice(document_id: int, result: Understanding, flow_run_id: str | None,
                 mark: datetime | None = None) -> dict[str, Any]:
    return _save(document_id, result, flow_run_id, mark)


def read_one(document_id: int, force: bool = False, *, steps: bool = False) -> tuple[dict[str, Any], Understanding | None]:
    """Claim, read and save one document; returns its outcome and what was read.

    ``steps`` runs the claim, the read and the save as task runs of their own (the flow does, for
    a document read by hand). A document released after an unexpected error is marked failed
    with the reason, and the error goes on to fail the run.
    """
    logger = get_run_logger()
    if steps:
        claim = claim_document(document_id, force)
        with session_scope() as session:
            mark = reading_batch.claim_mark(session, document_id)
    else:
        claim, mark = _claim_marked(document_id, force)
    if isinstance(claim, str):
        logger.info("not read: %s", claim)
        return {"document_id": document_id, "status": "skipped", "reason": claim}, None
    workers = get_settings().workers
    if workers.task_workers:  # where a batch's documents went, and that their claims are kept alive
        logger.info("document %s (%s): claimed", document_id, claim.name)
    result = None
    lease = ClaimLease(document_id, mark, workers.claim_lease_seconds if workers.task_workers else None)
    try:
        with lease:
            result = read_document(claim) if steps else _read(claim)
            mark = lease.mark()
            outcome = (save_invoice(document_id, result, _run_id(), mark) if steps
                       else _save(document_id, result, _run_id(), mark))
    except Exception as err:
        with session_scope() as session:
            if reading_batch.holds_claim(session, document_id, lease.mark()):
                processing.mark_failed(session, document_id, f"{type(err).__name__}: {err}")
        raise
    logger.info("document %s (%s): %s", document_id, claim.name, outcome["status"])
    return outcome, result


def _run_id() -> str | None:
    context = FlowRunContext.get()
    if context and context.flow_run:
        return str(context.flow_run.id)
    task_context = TaskRunContext.get()
    return str(task_context.task_run.id) if task_context else None


def failed_reading(outcome: dict[str, Any]) -> UnreadableDocument | None:
    """The error that makes a run red when its document could not be read (its outcome is saved)."""
    if outcome.get("status") != "failed":
        return None
    return UnreadableDocument(f"document {outcome['document_id']} ({outcome.get('name', '')}): {outcome.get('reason')}")


@task(name="process-document", task_run_name="process-document-{document_id}", cache_policy=NO_CACHE)
def read_document_run(document_id: int) -> dict[str, Any]:
    """Read one document of an intake batch (in the intake's process, or on a task worker)."""
    outcome, _ = read_one(document_id)
    error = failed_reading(outcome)
    if error is not None:
        raise error
    return outcome


def _report(outcome: dict[str, Any], result: Understanding | None) -> None:
    parts = [f"# Document {outcome['document_id']}: {plain(outcome.get('name', ''))}", "",
             markdown_table([outcome], [k for k in ("status", "outcome", "counterparty", "number", "confidence",
                                                    "needs_review") if k in outcome])]
    if result is not None and result.fields:
        rows = [{"field": k, "value": v.value, "confidence": f"{v.confidence:.2f}", "source": v.source}
                for k, v in result.fields.items()]
        parts += ["", f"Read from: {plain(result.text_source)}; template: {plain(result.template or 'none')}", "",
                  markdown_table(rows, ["field", "value", "confidence", "source"])]
    parts += einvoice_report(outcome.get("einvoice"))
    if outcome.get("reason"):
        parts += ["", "## Needs attention", "", plain(outcome["reason"])]
    publish_markdown(f"process-document-{outcome['document_id']}", "\n".join(parts),
                     f"document {outcome['document_id']}: {outcome['status']}")


@flow(name="process-document", log_prints=False, **ALERT_HOOKS)
def process_document(document_id: int, force: bool = False) -> dict[str, Any]:
    """Read one document into a validated invoice, upserted by (counterparty, number).

    Args:
        document_id: the id of the stored document.
        force: read it again even if it was already processed (or is stuck in processing).
    """
    outcome, result = read_one(document_id, force, steps=True)
    _report(outcome, result)
    return outcome
