"""The page of one invoice."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from db.session import session_scope
from web.invoice_view import invoice_view
from web.pages import render, settings_of
from web.runs import run_url

router = APIRouter()


def show_invoice(request: Request, invoice_id: int, status_code: int = 200, **context: object) -> Response:
    with session_scope() as session:
        view = invoice_view(session, invoice_id)
        if view is None:
            raise HTTPException(status_code=404)
        settings = settings_of(request)
        return render(request, "invoice.html", status_code=status_code, view=view, inv=view.invoice,
                      runs=[(run_id, run_url(settings, run_id)) for run_id in view.run_ids],
                      today=datetime.now(settings.zone).date(), **context)


@router.get("/invoices/{invoice_id}")
def invoice_page(request: Request, invoice_id: int) -> Response:
    return show_invoice(request, invoice_id)
