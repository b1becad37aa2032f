"""Home: what needs a person today, and how the flows are doing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from db.models import Invoice
from db.session import session_scope
from deployments.registry import deployment_specs
from tasks.invoices.needs_attention import needs_attention
from tasks.invoices.overview import OPEN_STATUSES, build_overview
from web.pages import render, require_member, settings_of
from web.runs import RunError, last_runs, start_run
from web.sessions import Person

router = APIRouter()
DUE_SOON_DAYS = 7


@router.get("/")
def home(request: Request) -> Response:
    settings = settings_of(request)
    now = datetime.now(UTC)
    today = now.astimezone(settings.zone).date()
    with session_scope() as session:
        attention = needs_attention(session, now)
        overview = build_overview(session, today, DUE_SOON_DAYS)
        due_soon = list(session.scalars(
            select(Invoice).where(Invoice.status.in_(OPEN_STATUSES), Invoice.due_date >= today,
                                  Invoice.due_date <= today + timedelta(days=DUE_SOON_DAYS))
            .order_by(Invoice.due_date, Invoice.id).limit(50)))
        session.expunge_all()
    overdue = [(direction, currency, totals.overdue_count, totals.overdue_amount)
               for direction, by_currency in sorted(overview.by_direction.items())
               for currency, totals in sorted(by_currency.items()) if totals.overdue_count]
    return render(request, "home.html", attention=attention, overdue=overdue, due_soon=due_soon, today=today)


@router.get("/home/runs")
def home_runs(request: Request) -> Response:
    """The last run of each flow and the scheduler's health (asked of the Prefect server)."""
    settings = settings_of(request)
    problem, health = "", None
    try:
        runs = last_runs(settings, [spec.name for spec in deployment_specs(settings)])
    except RunError as err:
        runs, problem = [], str(err)
    if not problem:
        try:
            from tasks.operations.prefect_server import connected
            from tasks.operations.schedule_health import schedule_health

            with connected(settings):
                health = schedule_health()
        except Exception as err:  # the page says the check could not run; it never fails the page
            problem = f"the schedules could not be checked: {type(err).__name__}"
    return render(request, "home_runs.html", runs=runs, problem=problem, health=health)


@router.post("/documents/{document_id}/retry")
def retry_document(request: Request, document_id: int, person: Person = Depends(require_member)) -> Response:
    try:
        run = start_run(settings_of(request), "process-document", {"document_id": document_id, "force": True},
                        person.email)
    except RunError as err:
        return render(request, "error.html", status_code=503, message=str(err))
    return RedirectResponse(f"/runs/{run.id}", status_code=303)
