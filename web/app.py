"""The desk's application: its pages, the login around them, and the static files."""

from __future__ import annotations

from pathlib import Path

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

from db.session import session_scope
from tasks.settings import Settings, get_settings
from web.pages import check_csrf, login_redirect_target, person_of, render
from web.sessions import COOKIE, session_person

OPEN_PATHS = ("/login", "/health", "/static/")
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "SAMEORIGIN",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; "
                               "script-src 'self'; frame-src 'self'; object-src 'self'; frame-ancestors 'self'",
}


def _lookup(token: str | None):  # type: ignore[no-untyped-def]
    with session_scope() as session:
        return session_person(session, token)


def create_app(settings: Settings | None = None) -> FastAPI:
    from web.routes import actions, auth, documents, home, invoice_page, invoices, people, runs, uploads

    app = FastAPI(title="Invoice desk", docs_url=None, redoc_url=None, openapi_url=None,
                  dependencies=[Depends(check_csrf)])
    app.state.settings = settings or get_settings()
    app.mount("/static", StaticFiles(directory=str(Path(__file__).parent / "static")), name="static")
    for module in (auth, home, invoices, invoice_page, actions, documents, uploads, people, runs):
        app.include_router(module.router)

    @app.middleware("http")
    async def logged_in(request: Request, call_next):  # type: ignore[no-untyped-def]
        path = request.url.path
        request.state.person = await run_in_threadpool(_lookup, request.cookies.get(COOKIE))
        if request.state.person is None and not path.startswith(OPEN_PATHS):
            target = login_redirect_target(request) if request.method == "GET" else "/login"
            if request.headers.get("HX-Request") == "true":
                response: Response = Response(status_code=200, headers={"HX-Redirect": target})
            else:
                response = RedirectResponse(target, status_code=303)
        else:
            response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if not path.startswith("/static/"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    @app.exception_handler(HTTPException)
    async def shown_error(request: Request, error: HTTPException):  # type: ignore[no-untyped-def]
        if error.status_code == 401:
            return RedirectResponse(login_redirect_target(request), status_code=303)
        messages = {404: "There is no such page, invoice or document.", 405: "That cannot be done here."}
        detail = error.detail if isinstance(error.detail, str) and error.status_code != 404 else messages.get(
            error.status_code, "Something went wrong.")
        if request.headers.get("HX-Request") == "true" or person_of(request) is None:
            return PlainTextResponse(detail, status_code=error.status_code)
        return render(request, "error.html", status_code=error.status_code, message=detail)

    @app.exception_handler(RequestValidationError)
    async def bad_form(request: Request, error: RequestValidationError):  # type: ignore[no-untyped-def]
        if request.url.path.startswith(("/documents/", "/invoices/", "/mail/")) and request.method == "GET":
            return PlainTextResponse("There is no such page, invoice or document.", status_code=404)
        fields = ", ".join(str(e.get("loc", ["?"])[-1]) for e in error.errors())
        return PlainTextResponse(f"Some of the form's values are missing or not valid: {fields}.", status_code=422)

    @app.get("/health", include_in_schema=False)
    def health() -> JSONResponse:
        return JSONResponse({"ok": True})

    return app
