"""The desk's doors: nothing without a login, no form without its token, no file outside the
store, no script from a name, no endless guessing, sessions that change at login and end at logout."""

from __future__ import annotations

import re

import pytest
from fastapi.routing import APIRoute

from db.models import DeskSession, Document, LoginFailure
from db.session import session_scope
from tests.support.desk import PASSWORD, add_invoice, csrf_of
from web.app import create_app

OPEN = {"/login", "/health", "/login/first-admin"}
SAMPLE = {"invoice_id": "1", "document_id": "1", "message_id": "1", "filter_id": "1", "user_id": "1",
          "action": "dispute", "run_id": "00000000-0000-0000-0000-000000000000"}


def _routes() -> list[tuple[str, str]]:
    """Every (method, path) of the desk, with sample values for its parameters."""
    found = []
    stack = list(create_app().routes)
    while stack:
        route = stack.pop()
        if hasattr(route, "original_router"):
            stack.extend(route.original_router.routes)
        elif isinstance(route, APIRoute) and route.path not in OPEN:
            path = re.sub(r"{(\w+)}", lambda m: SAMPLE[m.group(1)], route.path)
            found += [(method, path) for method in sorted(route.methods)]
    return sorted(found)


def test_the_route_list_covers_every_page():
    routes = _routes()
    assert ("GET", "/") in routes and ("GET", "/invoices/1") in routes and ("POST", "/invoices/1/payment") in routes
    assert len(routes) >= 25


def test_every_page_but_login_and_health_sends_a_stranger_to_the_login(desk):
    client = desk.client()
    assert client.get("/health").status_code == 200
    assert client.get("/login").status_code == 200
    for method, path in _routes():
        response = client.request(method, path)
        assert response.status_code == 303, (method, path, response.status_code)
        assert response.headers["location"].startswith("/login"), (method, path)
    assert client.get("/invoices/1", headers={"HX-Request": "true"}).headers["HX-Redirect"].startswith("/login")


def test_a_form_without_its_csrf_token_is_refused(desk):
    desk.person("ann@example.com")
    invoice = add_invoice("INV-1")
    client = desk.login("ann@example.com")
    refused = client.post(f"/invoices/{invoice}/payment", data={"amount": "10"})
    assert refused.status_code == 403
    wrong = client.post(f"/invoices/{invoice}/payment", data={"amount": "10", "csrf_token": "x" * 43})
    assert wrong.status_code == 403
    with session_scope() as session:
        from db.models import Invoice

        assert session.get(Invoice, invoice).paid_amount is None
    accepted = client.post(f"/invoices/{invoice}/payment", data={"amount": "10", "csrf_token": client.csrf})
    assert accepted.status_code == 303
    by_header = client.post(f"/invoices/{invoice}/status/dispute", headers={"X-CSRF-Token": client.csrf})
    assert by_header.status_code == 303
    # the login form has its own token too
    stranger = desk.client()
    assert stranger.post("/login", data={"email": "ann@example.com", "password": PASSWORD}).status_code == 403


def _document(kind: str, mime: str, storage_path: str, sha: str) -> int:
    with session_scope() as session:
        document = Document(sha256=sha, size_bytes=4, kind=kind, mime_type=mime, storage_path=storage_path,
                            original_name=f"x.{kind}", status="processed")
        session.add(document)
        session.flush()
        return document.id


def test_a_document_of_another_kind_or_a_crafted_path_is_not_found(desk):
    desk.person("ann@example.com")
    client = desk.login("ann@example.com")
    workbook = _document("xlsx", "application/vnd.ms-excel", "aa/" + "a" * 64, "a" * 64)
    outside = _document("pdf", "application/pdf", "../../../../etc/passwd", "b" * 64)
    for path in (f"/documents/{workbook}", f"/documents/{outside}", "/documents/999999",
                 "/documents/..%2F..%2Fetc%2Fpasswd", "/documents/1%2F..%2F2", "/documents/-1",
                 f"/mail/{workbook}.eml", "/mail/..%2Fx.eml"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert "root:" not in response.text


def test_names_holding_html_or_script_are_shown_as_text(desk):
    desk.person("ann@example.com")
    evil = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    invoice = add_invoice('<b>INV</b>"2', evil, review_reasons=[evil], needs_review=True, status="needs_review")
    client = desk.login("ann@example.com")
    for path in (f"/invoices/{invoice}", "/invoices?all=1", "/"):
        html = client.get(path).text
        assert "<script>alert" not in html and "<img src=x" not in html, path
        assert "&lt;script&gt;alert(" in html, path


def test_repeated_wrong_passwords_are_throttled(desk):
    desk.person("ann@example.com")
    client = desk.client()
    limit = desk.settings.desk.login_max_failures
    for _ in range(limit):
        assert desk.post_login(client, "ann@example.com", "wrong password!").status_code == 401
    throttled = desk.post_login(client, "ann@example.com", PASSWORD)  # even the right one waits now
    assert throttled.status_code == 429
    assert "try again" in throttled.text
    with session_scope() as session:
        assert session.query(LoginFailure).count() == limit


def test_the_session_cookie_is_httponly_samesite_new_at_every_login_and_gone_at_logout(desk):
    desk.person("ann@example.com")
    client = desk.client()
    client.cookies.set("desk_session", "planted-by-someone-else", domain="127.0.0.1", path="/")
    response = desk.post_login(client, "ann@example.com", PASSWORD)
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie
    first = client.cookies["desk_session"]
    assert first != "planted-by-someone-else"
    again = desk.client()
    assert desk.post_login(again, "ann@example.com", PASSWORD).status_code == 303
    second = again.cookies["desk_session"]
    assert second != first
    token = csrf_of(client.get("/").text)
    assert client.post("/logout", data={"csrf_token": token}).status_code == 303
    after = desk.client()
    after.cookies.set("desk_session", first)
    assert after.get("/").status_code == 303
    assert again.get("/").status_code == 200  # the other login goes on
    with session_scope() as session:
        assert session.query(DeskSession).count() == 1


def test_behind_https_the_cookie_is_secure(desk):
    desk.person("ann@example.com")
    client = desk.client()
    token = csrf_of(client.get("/login").text)
    response = client.post("/login", data={"email": "ann@example.com", "password": PASSWORD, "csrf_token": token},
                           headers={"X-Forwarded-Proto": "https"})
    assert response.status_code == 303
    assert "Secure" in response.headers["set-cookie"]


def test_the_first_admin_is_created_only_from_this_machine_and_only_once(desk):
    client = desk.client()
    page = client.get("/login").text
    assert "first-admin" in page
    token = csrf_of(page)
    form = {"email": "boss@example.com", "name": "Boss", "password": PASSWORD, "password_again": PASSWORD,
            "csrf_token": token}
    proxied = client.post("/login/first-admin", data=form, headers={"X-Forwarded-For": "203.0.113.9"})
    assert proxied.status_code == 403
    created = client.post("/login/first-admin", data=form)
    assert created.status_code == 303
    assert client.get("/").status_code == 200
    again = desk.client()
    token = csrf_of(again.get("/login").text)
    assert "first-admin" not in again.get("/login").text
    refused = again.post("/login/first-admin", data={**form, "email": "eve@example.com", "csrf_token": token})
    assert refused.status_code == 403


def test_a_viewer_reads_but_cannot_act(desk):
    desk.person("vic@example.com", role="viewer")
    invoice = add_invoice("INV-9")
    client = desk.login("vic@example.com")
    page = client.get(f"/invoices/{invoice}")
    assert page.status_code == 200 and "INV-9" in page.text
    assert 'action="/invoices/%d/payment"' % invoice not in page.text
    refused = client.post(f"/invoices/{invoice}/payment", data={"amount": "10", "csrf_token": client.csrf})
    assert refused.status_code == 403
    assert client.get("/people").status_code == 403


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", "/\\evil.example"])
def test_login_never_sends_a_person_to_another_site(desk, target):
    desk.person("ann@example.com")
    client = desk.client()
    token = csrf_of(client.get("/login").text)
    response = client.post("/login", data={"email": "ann@example.com", "password": PASSWORD, "csrf_token": token,
                                           "next": target})
    assert response.headers["location"] == "/"
