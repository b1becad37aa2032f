"""A run started at the desk: its state (the page asks again until it has finished) and its link
to the Prefect UI."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response
from sqlalchemy import select

from db.models import Invoice
from db.session import session_scope
from web.pages import render, require_member, settings_of
from web.runs import RunError, RunView, read_run, start_run
from web.sessions import Person

router = APIRouter()


@router.get("/runs/{run_id}")
def run_page(request: Request, run_id: str) -> Response:
    try:
        uuid.UUID(run_id)
    except ValueError as err:
        raise HTTPException(status_code=404) from err
    try:
        run = read_run(settings_of(request), run_id)
    except RunError as err:
        return render(request, "error.html", status_code=503, message=str(err))
    partial = request.headers.get("HX-Request") == "true"
    return render(request, "run_state.html" if partial else "run.html", run=run, invoice_id=_invoice_of(run))


def _invoice_of(run: RunView) -> int | None:
    """The invoice a finished run of a document's reading made (or found), if any."""
    document_id = run.parameters.get("document_id")
    if not run.finished or not isinstance(document_id, int):
        return None
    with session_scope() as session:
        return session.scalar(select(Invoice.id).where(Invoice.document_id == document_id).order_by(Invoice.id))


@router.post("/backup")
def back_up_now(request: Request, person: Person = Depends(require_member)) -> Response:
    from fastapi.responses import RedirectResponse

    try:
        run = start_run(settings_of(request), "backup", {}, person.email)
    except RunError as err:
        return render(request, "error.html", status_code=503, message=str(err))
    return RedirectResponse(f"/runs/{run.id}", status_code=303)
