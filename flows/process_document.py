"""process-document: read one stored document (text layer, OCR, e-invoice XML) into an invoice."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.context import FlowRunContext

from db.session import session_scope
from tasks.documents import processing
from tasks.extraction.invoice_file import Understanding, understand_file
from tasks.extraction.templates import load_templates
from tasks.operations.run_alerts import ALERT_HOOKS
from tasks.operations.run_reports import markdown_table, plain, publish_markdown
from tasks.settings import get_settings


@task(name="claim-document", cache_policy=NO_CACHE)
def claim_document(document_id: int, force: bool) -> processing.Claim | str:
    """Take the document for reading, with the vendor templates to read it with (one transaction)."""
    settings = get_settings()
    with session_scope() as session:
        claim = processing.claim_document(session, settings.documents_dir, document_id, force)
        if isinstance(claim, str):
            return claim
        return replace(claim, templates=tuple(load_templates(settings.templates_dir, session)))


@task(name="read-document", cache_policy=NO_CACHE)
def read_document(claim: processing.Claim) -> Understanding:
    return understand_file(Path(claim.path), claim.name, get_settings().ocr, list(claim.templates), kind=claim.kind)


@task(name="save-invoice", cache_policy=NO_CACHE)
def save_invoice(document_id: int, result: Understanding, flow_run_id: str | None) -> dict[str, Any]:
    with session_scope() as session:
        return processing.save_result(session, document_id, result, "process-document", flow_run_id)


def _report(outcome: dict[str, Any], result: Understanding | None) -> None:
    parts = [f"# Document {outcome['document_id']}: {plain(outcome.get('name', ''))}", "",
             markdown_table([outcome], [k for k in ("status", "outcome", "counterparty", "number", "confidence",
                                                    "needs_review") if k in outcome])]
    if result is not None and result.fields:
        rows = [{"field": k, "value": v.value, "confidence": f"{v.confidence:.2f}", "source": v.source}
                for k, v in result.fields.items()]
        parts += ["", f"Read from: {plain(result.text_source)}; template: {plain(result.template or 'none')}", "",
                  markdown_table(rows, ["field", "value", "confidence", "source"])]
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
    logger = get_run_logger()
    claim = claim_document(document_id, force)
    if isinstance(claim, str):
        logger.info("not read: %s", claim)
        outcome = {"document_id": document_id, "status": "skipped", "reason": claim}
        _report(outcome, None)
        return outcome
    result = None
    try:
        result = read_document(claim)
        context = FlowRunContext.get()
        run_id = str(context.flow_run.id) if context and context.flow_run else None
        outcome = save_invoice(document_id, result, run_id)
    except Exception as err:
        with session_scope() as session:
            processing.mark_failed(session, document_id, f"{type(err).__name__}: {err}")
        raise
    logger.info("document %s (%s): %s", document_id, claim.name, outcome["status"])
    _report(outcome, result)
    return outcome
