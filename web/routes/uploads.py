"""Upload at the desk: PDFs and images are stored in the document store (as the drop folder does)
and read by a run of process-document; a workbook shows its dry run first and is imported by a
run of consolidate-workbook once a person confirms."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fastapi import APIRouter, Depends, HTTPException, Request, UploadFile
from fastapi.responses import RedirectResponse, Response

from db.models import Document
from db.session import session_scope
from tasks.documents.filetypes import WORKBOOK_KIND
from tasks.documents.intake import ingest_bytes
from tasks.documents.store import path_in_store
from tasks.errors import InvoiceAutomationError
from tasks.reading.registry import READABLE_KINDS
from tasks.workbook.importer import import_workbook
from web.pages import render, require_member, settings_of
from web.runs import RunError, RunView, start_run
from web.sessions import Person

router = APIRouter()
MAX_FILES = 50


@dataclass
class Uploaded:
    name: str
    document_id: int | None
    outcome: str  # read, workbook, duplicate, refused
    detail: str = ""
    run: RunView | None = None
    report: dict | None = None


@router.get("/upload")
def upload_page(request: Request, person: Person = Depends(require_member)) -> Response:
    return render(request, "upload.html", results=[])


def _dry_run(documents_dir: Path, document_id: int, name: str) -> dict:
    """What importing the workbook would do (new, updated, conflicts, rejected rows); writes nothing."""
    with session_scope() as session:
        document = session.get(Document, document_id)
        path = path_in_store(documents_dir, document.storage_path)
    return import_workbook(path, dry_run=True, document_id=document_id, original_name=name).as_dict()


def _take(request: Request, person: Person, name: str, data: bytes) -> Uploaded:
    settings = settings_of(request)
    if len(data) > settings.storage.max_file_mb * 1024 * 1024:
        return Uploaded(name, None, "refused", f"larger than {settings.storage.max_file_mb} MB")
    with session_scope() as session:
        result = ingest_bytes(session, settings.documents_dir, data, name, "upload")
    if result.rejected:
        return Uploaded(name, result.document_id, "refused", result.error or "refused")
    if result.kind == WORKBOOK_KIND:
        try:
            return Uploaded(name, result.document_id, "workbook", report=_dry_run(settings.documents_dir, result.document_id, name))
        except InvoiceAutomationError as err:
            return Uploaded(name, result.document_id, "refused", str(err))
    if result.kind not in READABLE_KINDS:
        return Uploaded(name, result.document_id, "refused", f"a {result.kind} file is kept but not read")
    try:
        run = start_run(settings, "process-document", {"document_id": result.document_id, "force": not result.created},
                        person.email)
    except RunError as err:
        return Uploaded(name, result.document_id, "stored", f"stored; reading it could not start: {err}")
    return Uploaded(name, result.document_id, "read" if result.created else "duplicate", run=run)


@router.post("/upload")
async def upload(request: Request, files: list[UploadFile], person: Person = Depends(require_member)) -> Response:
    from starlette.concurrency import run_in_threadpool

    limit = settings_of(request).storage.max_file_mb * 1024 * 1024
    results = []
    for upload_file in files[:MAX_FILES]:
        data = await upload_file.read(limit + 1)
        results.append(await run_in_threadpool(_take, request, person, upload_file.filename or "(no name)", data))
    return render(request, "upload.html", results=results)


@router.post("/upload/workbook/{document_id}")
def import_confirmed(request: Request, document_id: int, person: Person = Depends(require_member)) -> Response:
    with session_scope() as session:
        document = session.get(Document, document_id)
        if document is None or document.kind != WORKBOOK_KIND:
            raise HTTPException(status_code=404)
    try:
        run = start_run(settings_of(request), "consolidate-workbook", {"document_id": document_id}, person.email)
    except RunError as err:
        return render(request, "error.html", status_code=503, message=str(err))
    return RedirectResponse(f"/runs/{run.id}", status_code=303)
