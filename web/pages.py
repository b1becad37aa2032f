"""What every page needs: the person, their formats, the templates, the CSRF check, the roles."""

from __future__ import annotations

import hmac
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import HTTPException, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from tasks.settings import Settings
from web.formats import Formats
from web.sessions import Person

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
LOGIN_CSRF_COOKIE = "desk_login_csrf"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def settings_of(request: Request) -> Settings:
    return request.app.state.settings


def person_of(request: Request) -> Person | None:
    return getattr(request.state, "person", None)


def formats_of(request: Request) -> Formats:
    person = person_of(request)
    return Formats(person.locale if person else None, settings_of(request).zone)


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    formats = formats_of(request)
    person = person_of(request)
    return TEMPLATES.TemplateResponse(
        request, template,
        {"person": person, "t": formats.t, "f": formats, "csrf": csrf_token_of(request),
         "htmx": request.headers.get("HX-Request") == "true", **context},
        status_code=status_code,
    )


def csrf_token_of(request: Request) -> str:
    person = person_of(request)
    if person is not None:
        return person.csrf_token
    return getattr(request.state, "login_csrf", "") or request.cookies.get(LOGIN_CSRF_COOKIE, "")


async def check_csrf(request: Request) -> None:
    """Every form (any request that is not a read) carries the session's token, as a form field
    or as the X-CSRF-Token header htmx sends; before login, the token of the login cookie."""
    if request.method in SAFE_METHODS:
        return
    expected = csrf_token_of(request) if person_of(request) else request.cookies.get(LOGIN_CSRF_COOKIE, "")
    sent = request.headers.get("X-CSRF-Token", "")
    if not sent and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")):
        sent = str((await request.form()).get("csrf_token", ""))
    if not expected or not sent or not hmac.compare_digest(expected.encode(), sent.encode()):
        raise HTTPException(status_code=403, detail="This form has expired or did not come from the desk; "
                                                    "reload the page and try again.")


def require_member(request: Request) -> Person:
    """The person, who may act on invoices (a viewer only reads)."""
    person = person_of(request)
    if person is None:
        raise HTTPException(status_code=401)
    if not person.can_act:
        raise HTTPException(status_code=403, detail="Your role only lets you read.")
    return person


def require_admin(request: Request) -> Person:
    person = require_member(request)
    if not person.is_admin:
        raise HTTPException(status_code=403, detail="Only an admin may do this.")
    return person


def login_redirect_target(request: Request) -> str:
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return f"/login?next={quote(here, safe='')}"


def safe_next(target: str | None) -> str:
    """Where to go after login: only a path of the desk itself, never another site."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target
