"""consolidate-workbook: bring an Excel workbook's invoices into the database, accounting for
every row (new, updated, unchanged, duplicate, conflict, rejected), in one transaction."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.context import FlowRunContext
from sqlalchemy import select

from db.models import Document, DocumentStatus
from db.session import session_scope
from tasks.errors import WorkbookError
from tasks.operations.run_alerts import ALERT_HOOKS
from tasks.operations.run_reports import (
    artifact_key,
    publish_markdown,
    publish_table,
    summary_markdown,
)
from tasks.settings import get_settings
from tasks.workbook.importer import import_workbook
from tasks.workbook.read import Limits

COUNTS = ("new", "updated", "unchanged", "duplicates", "conflicts", "rejected", "skipped_rows", "rows")


def _transient(err: BaseException) -> bool:
    """The database out of reach for a moment: worth another try, now or by a later run."""
    from sqlalchemy.exc import InterfaceError, OperationalError

    return isinstance(err, (OperationalError, InterfaceError, ConnectionError, TimeoutError))


def _worth_retrying(task: Any, task_run: Any, state: Any) -> bool:
    """Retry a failed import (it is one transaction) only for a transient fault; a workbook that
    is refused, or that fails the same way each time, is not read again."""
    try:
        state.result()
    except BaseException as err:  # noqa: BLE001 - sorted below
        return _transient(err)
    return False


@task(name="locate-workbook-document")
def locate_document(document_id: int) -> tuple[str, str]:
    """(path in the document store, original name) of a stored workbook document."""
    with session_scope() as session:
        document = session.get(Document, document_id)
        if document is None:
            raise WorkbookError(f"document {document_id} does not exist")
        if document.kind != "xlsx":
            raise WorkbookError(f"document {document_id} ({document.original_name}) is {document.kind}, not a workbook")
        return str(get_settings().documents_dir / document.storage_path), document.original_name


@task(name="import-workbook", retries=2, retry_delay_seconds=5, retry_condition_fn=_worth_retrying)
def import_workbook_task(path: str, dry_run: bool, original_name: str | None, document_id: int | None,
                         mapping_file: str | None, flow_run_id: str | None) -> dict[str, Any]:
    limits = Limits.from_settings(get_settings().workbook)
    report = import_workbook(path, dry_run=dry_run, flow_run_id=flow_run_id, document_id=document_id,
                             original_name=original_name, mapping_file=mapping_file, limits=limits)
    return report.as_dict()


@task(name="mark-workbook-document")
def mark_document(document_id: int, error: str | None) -> None:
    from datetime import datetime, timezone

    with session_scope() as session:
        document = session.scalars(select(Document).where(Document.id == document_id)).one()
        document.status = DocumentStatus.FAILED.value if error else DocumentStatus.PROCESSED.value
        document.error = error
        document.processed_at = datetime.now(timezone.utc)


def _publish(report: dict[str, Any] | None, name: str, error: str | None) -> None:
    counts = {k: (report or {}).get("counts", {}).get(k, 0) for k in COUNTS}
    publish_table(artifact_key(f"workbook-{name}")[:60], [{"workbook": name, **counts}],
                  f"{name}: what happened to its rows")
    attention: list[dict[str, Any]] = []
    if error:
        attention.append({"sheet": "(file)", "row": "", "column": "", "reason": error})
    for sheet in (report or {}).get("sheets", []):
        if sheet["status"] != "invoices" or sheet["notes"]:
            reason = sheet["reason"] or "; ".join(sheet["notes"])
            attention.append({"sheet": sheet["sheet"], "row": "", "column": "", "reason": f"{sheet['status']}: {reason}"})
    for conflict in (report or {}).get("conflicts", []):
        fields = "; ".join(f"{k}: {' / '.join(v)}" for k, v in conflict["fields"].items())
        attention.append({"sheet": ", ".join(conflict["rows"]), "row": "", "column": "",
                          "reason": f"conflict for {conflict['counterparty']} {conflict['number']}: {fields}"})
    attention += (report or {}).get("rejected", [])
    note = None
    if report and report.get("identical_to"):
        note = f"The same file was imported on {report['identical_to']}; nothing to do."
    if report and report.get("dry_run"):
        note = "Dry run: nothing was written."
    publish_markdown("consolidate-workbook", summary_markdown(f"Workbook {name}", counts, attention,
                     ["sheet", "row", "column", "reason"], note=note),
                     error or f"{counts['new']} new, {counts['updated']} updated, {counts['conflicts']} conflicts, "
                     f"{counts['rejected']} rejected rows")


@flow(name="consolidate-workbook", log_prints=False, **ALERT_HOOKS)
def consolidate_workbook(
    path: str = "", dry_run: bool = False, document_id: int | None = None, mapping_file: str | None = None
) -> dict[str, Any]:
    """Import an Excel workbook (.xlsx) into the invoices.

    Args:
        path: the workbook file to read (or leave empty and give document_id).
        dry_run: read and compare everything, write nothing.
        document_id: a stored workbook document (arrived by mail or in the drop folder).
        mapping_file: YAML/JSON with extra header names, status words and tab settings.
    """
    logger = get_run_logger()
    context = FlowRunContext.get()
    flow_run_id = str(context.flow_run.id) if context and context.flow_run else None
    mapping_file = mapping_file or (str(get_settings().workbook.mapping_file or "") or None)
    original_name = None
    if document_id is not None:
        path, original_name = locate_document(document_id)
    if not path:
        raise WorkbookError("give the path of a workbook or the id of a stored workbook document")
    name = original_name or Path(path).name
    try:
        report = import_workbook_task(path, dry_run, original_name, document_id, mapping_file, flow_run_id)
    except WorkbookError as err:
        logger.error("workbook %s refused: %s", name, err)
        _publish(None, name, str(err))
        if document_id is not None and not dry_run:
            mark_document(document_id, str(err))
        raise
    except Exception as err:
        # A stored workbook that fails the same way each time ends failed with the reason; later
        # intake runs would otherwise read it again, and fail again, every time. One that met a
        # transient fault stays stored, for the next intake run.
        reason = f"the import failed: {type(err).__name__}: {err}"[:2000]
        logger.error("workbook %s: %s", name, reason)
        _publish(None, name, reason)
        if document_id is not None and not dry_run and not _transient(err):
            mark_document(document_id, reason)
        raise
    if document_id is not None and not dry_run:
        mark_document(document_id, None)
    logger.info("workbook %s: %s", name, report["counts"])
    _publish(report, name, None)
    return report
