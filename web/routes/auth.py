"""Logging in and out, and the first admin of a fresh install (only from the machine itself)."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from db.models import User, UserRole
from db.session import session_scope
from web.pages import LOGIN_CSRF_COOKIE, person_of, render, safe_next, settings_of
from web.passwords import PasswordError, find_person, hash_password, normal_email, people_with_passwords
from web.sessions import COOKIE, LoginThrottled, authenticate, end_session, start_session

router = APIRouter()
LOCAL = {"127.0.0.1", "::1"}


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def from_this_machine(request: Request) -> bool:
    """A browser on the server itself: a loopback peer that no proxy stood in for."""
    forwarded = any(h in request.headers for h in ("x-forwarded-for", "forwarded", "x-real-ip"))
    return client_address(request) in LOCAL and not forwarded


def _secure(request: Request) -> bool:
    return settings_of(request).desk.secure_cookies or request.url.scheme == "https"


def _login_page(request: Request, status_code: int = 200, **context: object) -> Response:
    with session_scope() as session:
        fresh = people_with_passwords(session) == 0
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(32)
    request.state.login_csrf = token
    response = render(request, "login.html", status_code=status_code, fresh=fresh,
                      local=from_this_machine(request), next=safe_next(request.query_params.get("next")), **context)
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", secure=_secure(request),
                        path="/login")
    return response


@router.get("/login")
def login_form(request: Request) -> Response:
    if person_of(request) is not None:
        return RedirectResponse("/", status_code=303)
    return _login_page(request)


def _logged_in(request: Request, user: User, target: str) -> Response:
    settings = settings_of(request)
    with session_scope() as session:
        end_session(session, request.cookies.get(COOKIE))  # a new token at every login
        token = start_session(session, user, settings.desk.session_hours)
    response = RedirectResponse(safe_next(target), status_code=303)
    response.set_cookie(COOKIE, token, max_age=int(settings.desk.session_hours * 3600), httponly=True,
                        samesite="lax", secure=_secure(request), path="/")
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/login")
def login(request: Request, email: str = Form(""), password: str = Form(""), next: str = Form("/")) -> Response:
    desk = settings_of(request).desk
    try:
        with session_scope() as session:
            user = authenticate(session, email, password, client_address(request), desk.login_max_failures,
                                timedelta(minutes=desk.login_window_minutes))
            if user is not None:
                session.expunge(user)
    except LoginThrottled as err:
        return _login_page(request, 429, error=str(err), email=email)
    if user is None:
        return _login_page(request, 401, error="Wrong email or password.", email=email)
    return _logged_in(request, user, next)


@router.post("/login/first-admin")
def first_admin(request: Request, email: str = Form(...), name: str = Form(""), password: str = Form(...),
                password_again: str = Form(...)) -> Response:
    if not from_this_machine(request):
        raise HTTPException(status_code=403, detail="The first admin can only be created from the server itself.")
    try:
        address = normal_email(email)
        if password != password_again:
            raise PasswordError("the two passwords differ")
        password_hash = hash_password(password)
    except PasswordError as err:
        return _login_page(request, 400, error=str(err), email=email)
    with session_scope() as session:
        if people_with_passwords(session) > 0:
            raise HTTPException(status_code=403, detail="The desk has people already; log in.")
        user = find_person(session, address)
        if user is None:
            user = User(email=address, name=name.strip() or address.split("@")[0])
            session.add(user)
        user.role, user.active = UserRole.ADMIN.value, True
        user.password_hash, user.password_changed_at = password_hash, datetime.now(UTC)
        session.flush()
        session.expunge(user)
    return _logged_in(request, user, "/")


@router.post("/logout")
def logout(request: Request) -> Response:
    with session_scope() as session:
        end_session(session, request.cookies.get(COOKIE))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response
