"""People (admins only): who may log in, with which role and language."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from db.models import User, UserRole
from db.session import session_scope
from web.accounts import set_password
from web.formats import known_locale
from web.pages import render, require_admin
from web.passwords import PasswordError, find_person, normal_email
from web.sessions import Person, end_sessions_of

router = APIRouter()
ROLES = (UserRole.ADMIN.value, UserRole.MEMBER.value, UserRole.VIEWER.value, UserRole.ACCOUNTANT.value)


def _page(request: Request, status_code: int = 200, **context: object) -> Response:
    with session_scope() as session:
        people = [{"id": u.id, "email": u.email, "name": u.name, "role": u.role, "locale": u.locale,
                   "active": u.active, "can_log_in": u.password_hash is not None}
                  for u in session.scalars(select(User).order_by(User.name))]
    return render(request, "people.html", status_code=status_code, people=people, roles=ROLES, **context)


@router.get("/people")
def people_page(request: Request, admin: Person = Depends(require_admin)) -> Response:
    return _page(request)


@router.post("/people")
def add_person(request: Request, email: str = Form(...), name: str = Form(""), role: str = Form("member"),
               locale: str = Form("en"), password: str = Form(...), admin: Person = Depends(require_admin)
               ) -> Response:
    if role not in ROLES:
        raise HTTPException(status_code=400, detail=f"role {role!r} is not one of {', '.join(ROLES)}")
    try:
        address = normal_email(email)
        with session_scope() as session:
            user = find_person(session, address)
            if user is None:
                user = User(email=address, name=name.strip() or address.split("@")[0])
                session.add(user)
            user.role, user.locale, user.active = role, known_locale(locale), True
            session.flush()
            set_password(session, address, password)
    except PasswordError as err:
        return _page(request, 400, problem=str(err))
    return RedirectResponse("/people", status_code=303)


@router.post("/people/{user_id}/deactivate")
def deactivate(user_id: int, admin: Person = Depends(require_admin)) -> Response:
    with session_scope() as session:
        user = session.get(User, user_id)
        if user is None:
            raise HTTPException(status_code=404)
        if user.id == admin.id:
            raise HTTPException(status_code=400, detail="You cannot lock yourself out.")
        user.active = False
        end_sessions_of(session, user.id)
    return RedirectResponse("/people", status_code=303)
