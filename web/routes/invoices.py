"""The invoice list: filters, search, sorting, paging, totals, saved views and the export."""

from __future__ import annotations

import tempfile
from datetime import datetime
from pathlib import Path
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from sqlalchemy import select, update
from starlette.background import BackgroundTask

from db.models import SavedFilter, User
from db.session import session_scope
from tasks.workbook.export import export_workbook
from web.listing import DIRECTIONS, SORTS, STATUSES, ListQuery, filtered, list_page
from web.pages import person_of, render, settings_of
from web.sessions import Person

router = APIRouter()


def _person(request: Request) -> Person:
    person = person_of(request)
    if person is None:
        raise HTTPException(status_code=401)
    return person


def _saved(session, person: Person) -> list[SavedFilter]:  # type: ignore[no-untyped-def]
    return list(session.scalars(select(SavedFilter).where(SavedFilter.user_id == person.id)
                                .order_by(SavedFilter.name)))


@router.get("/invoices")
def invoice_list(request: Request, person: Person = Depends(_person)) -> Response:
    params = request.query_params
    with session_scope() as session:
        saved = _saved(session, person)
        default = next((f for f in saved if f.is_default), None)
        if not params and default is not None and "all" not in params:
            return RedirectResponse(f"/invoices?{default.query}", status_code=303)
        query = ListQuery.from_params(params)
        page = list_page(session, query, settings_of(request).desk.page_size, person.id)
        people = [(u.id, u.name) for u in session.scalars(select(User).where(User.active.is_(True),
                                                                             User.password_hash.is_not(None))
                                                          .order_by(User.name))]
        saved_views = [{"id": f.id, "name": f.name, "query": f.query, "is_default": f.is_default} for f in saved]
    template = "invoice_rows.html" if request.headers.get("HX-Request") == "true" and \
        request.headers.get("HX-Target") == "results" else "invoices.html"
    return render(request, template, query=query, page=page, statuses=STATUSES, directions=DIRECTIONS,
                  sorts=list(SORTS), people=people, saved=saved_views, link=lambda **c: "?" + urlencode([*query.params(**c), ("all", "1")]),
                  export_link="/invoices/export.xlsx?" + urlencode(query.params(page=1)),
                  view_query=urlencode(query.params(page=1)))


@router.get("/invoices/export.xlsx")
def export(request: Request, person: Person = Depends(_person)) -> Response:
    query = ListQuery.from_params(request.query_params)
    with session_scope() as session:
        where = filtered(query, session.get_bind().dialect.name, person.id)
    folder = Path(tempfile.mkdtemp(prefix="desk-export-"))
    target = folder / "invoices.xlsx"
    export_workbook(target, datetime.now(settings_of(request).zone).date(), where=where)

    def cleanup() -> None:
        target.unlink(missing_ok=True)
        folder.rmdir()

    stamp = datetime.now(settings_of(request).zone).strftime("%Y-%m-%d")
    return FileResponse(target, filename=f"invoices-{stamp}.xlsx", background=BackgroundTask(cleanup),
                        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


@router.post("/filters")
def save_filter(request: Request, name: str = Form(...), query: str = Form(""), default: bool = Form(False),
                person: Person = Depends(_person)) -> Response:
    name = name.strip()[:100] or "view"
    canonical = urlencode(ListQuery.from_params(_parsed(query)).params(page=1))
    with session_scope() as session:
        row = session.scalars(select(SavedFilter).where(SavedFilter.user_id == person.id,
                                                        SavedFilter.name == name)).first()
        if row is None:
            row = SavedFilter(user_id=person.id, name=name, query=canonical)
            session.add(row)
        row.query = canonical
        session.flush()
        if default:
            _make_default(session, person.id, row.id)
    return RedirectResponse(f"/invoices?{canonical}" if canonical else "/invoices?all=1", status_code=303)


def _parsed(query: str):  # type: ignore[no-untyped-def]
    from starlette.datastructures import QueryParams

    return QueryParams(query[:2000])


def _make_default(session, user_id: int, filter_id: int | None) -> None:  # type: ignore[no-untyped-def]
    session.execute(update(SavedFilter).where(SavedFilter.user_id == user_id).values(is_default=False))
    if filter_id is not None:
        session.execute(update(SavedFilter).where(SavedFilter.user_id == user_id, SavedFilter.id == filter_id)
                        .values(is_default=True))


def _own(session, person: Person, filter_id: int) -> SavedFilter:  # type: ignore[no-untyped-def]
    row = session.get(SavedFilter, filter_id)
    if row is None or row.user_id != person.id:
        raise HTTPException(status_code=404)
    return row


@router.post("/filters/{filter_id}/default")
def default_filter(filter_id: int, person: Person = Depends(_person)) -> Response:
    with session_scope() as session:
        row = _own(session, person, filter_id)
        _make_default(session, person.id, None if row.is_default else row.id)
    return RedirectResponse("/invoices?all=1", status_code=303)


@router.post("/filters/{filter_id}/delete")
def delete_filter(filter_id: int, person: Person = Depends(_person)) -> Response:
    with session_scope() as session:
        session.delete(_own(session, person, filter_id))
    return RedirectResponse("/invoices?all=1", status_code=303)
