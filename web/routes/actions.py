"""What a person does to an invoice: pay, correct, approve, dispute, cancel, reopen, assign, read
again. A refused action is a message on the invoice's page, never an error page."""

from __future__ import annotations

from datetime import date, datetime

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from db.session import session_scope
from tasks.errors import InvoiceAutomationError
from web import invoice_actions
from web.invoice_view import form_answer
from web.pages import require_member, settings_of
from web.routes.invoice_page import show_invoice
from web.runs import RunError, start_run
from web.sessions import Person

router = APIRouter()


def _done(invoice_id: int, message: str) -> Response:
    from urllib.parse import quote

    return RedirectResponse(f"/invoices/{invoice_id}?done={quote(message)}", status_code=303)


def _refused(request: Request, invoice_id: int, err: Exception) -> Response:
    return show_invoice(request, invoice_id, status_code=409, problem=str(err))


@router.post("/invoices/{invoice_id}/payment")
def mark_paid(request: Request, invoice_id: int, amount: str = Form(""), paid_on: str = Form(""),
              note: str = Form(""), person: Person = Depends(require_member)) -> Response:
    try:
        day = date.fromisoformat(paid_on) if paid_on.strip() else datetime.now(settings_of(request).zone).date()
    except ValueError:
        return _refused(request, invoice_id, ValueError(f"{paid_on!r} is not a date"))
    try:
        with session_scope() as session:
            result = invoice_actions.pay(session, invoice_id, amount, day, note, person.email)
    except InvoiceAutomationError as err:
        return _refused(request, invoice_id, err)
    balance = "" if result.balance is None else f"; {result.balance} {result.currency} left"
    return _done(invoice_id, f"payment recorded: {result.status.replace('_', ' ')}{balance}")


@router.post("/invoices/{invoice_id}/review")
async def correct(request: Request, invoice_id: int, person: Person = Depends(require_member)) -> Response:
    form = {k: str(v) for k, v in (await request.form()).items()}
    from starlette.concurrency import run_in_threadpool

    def save() -> Response:
        try:
            answer = form_answer(form)
            with session_scope() as session:
                outcome = invoice_actions.correct(session, invoice_id, answer, person.email,
                                                  remember=form.get("remember") == "on")
        except InvoiceAutomationError as err:
            return _refused(request, invoice_id, err)
        taught = f"; the vendor's template {outcome.template} learnt it" if outcome.template else ""
        return _done(invoice_id, f"saved: {', '.join(sorted(outcome.changes)) or 'nothing changed'}{taught}")

    return await run_in_threadpool(save)


@router.post("/invoices/{invoice_id}/approve")
def approve(request: Request, invoice_id: int, person: Person = Depends(require_member)) -> Response:
    try:
        with session_scope() as session:
            invoice_actions.approve(session, invoice_id, person.email)
    except InvoiceAutomationError as err:
        return _refused(request, invoice_id, err)
    return _done(invoice_id, "approved")


@router.post("/invoices/{invoice_id}/status/{action}")
def change_status(request: Request, invoice_id: int, action: str, person: Person = Depends(require_member)) -> Response:
    try:
        with session_scope() as session:
            invoice_actions.change_status(session, invoice_id, action, person.email)
    except InvoiceAutomationError as err:
        return _refused(request, invoice_id, err)
    return _done(invoice_id, f"{action}: done")


@router.post("/invoices/{invoice_id}/assign")
def assign(request: Request, invoice_id: int, user_id: str = Form(""), person: Person = Depends(require_member)
           ) -> Response:
    try:
        with session_scope() as session:
            invoice_actions.assign(session, invoice_id, int(user_id) if user_id.isdigit() else None, person.email)
    except InvoiceAutomationError as err:
        return _refused(request, invoice_id, err)
    return _done(invoice_id, "assigned")


@router.post("/invoices/{invoice_id}/reprocess")
def reprocess(request: Request, invoice_id: int, person: Person = Depends(require_member)) -> Response:
    try:
        with session_scope() as session:
            document_id = invoice_actions.invoice_or_error(session, invoice_id).document_id
        if document_id is None:
            raise invoice_actions.DeskActionError("this invoice has no document to read again")
        run = start_run(settings_of(request), "process-document", {"document_id": document_id, "force": True},
                        person.email)
    except (InvoiceAutomationError, RunError) as err:
        return _refused(request, invoice_id, err)
    return RedirectResponse(f"/runs/{run.id}", status_code=303)
