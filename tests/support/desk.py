"""The desk under test: a real uvicorn server on a free port (a thread of the test process) over
the test's real database, people to log in as, and invoices to look at."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import httpx
import pytest

from db.models import User
from db.session import session_scope
from tasks.invoices.records import upsert_invoice
from tasks.settings import Settings
from web.accounts import set_password
from web.server import desk_on_thread

PASSWORD = "correct horse battery"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    if found is None:
        raise AssertionError(f"no CSRF token in the page: {html[:500]}")
    return found.group(1)


@dataclass
class Desk:
    url: str
    settings: Settings

    def person(self, email: str, role: str = "member", name: str = "", locale: str = "en",
               password: str = PASSWORD) -> int:
        with session_scope() as session:
            user = User(email=email, name=name or email.split("@")[0], role=role, locale=locale)
            session.add(user)
            session.flush()
            set_password(session, email, password)
            return user.id

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, follow_redirects=False, timeout=30)

    def login(self, email: str, password: str = PASSWORD) -> httpx.Client:
        """A client logged in as ``email`` (its pages' CSRF token in ``client.csrf``)."""
        client = self.client()
        response = self.post_login(client, email, password)
        if response.status_code != 303:
            raise AssertionError(f"login of {email} failed: {response.status_code} {response.text[:300]}")
        client.csrf = csrf_of(client.get("/").text)  # type: ignore[attr-defined]
        return client

    def post_login(self, client: httpx.Client, email: str, password: str) -> httpx.Response:
        token = csrf_of(client.get("/login").text)
        return client.post("/login", data={"email": email, "password": password, "csrf_token": token})


def add_invoice(number: str, counterparty: str = "Acme GmbH", **values: Any) -> int:
    """An invoice as a flow would write it."""
    defaults: dict[str, Any] = {"total": Decimal("100.00"), "currency": "EUR", "issue_date": date(2026, 11, 1),
                                "due_date": date(2026, 12, 1), "source": "manual"}
    with session_scope() as session:
        return upsert_invoice(session, counterparty, number, {**defaults, **values}, actor="test").invoice_id


@pytest.fixture
def desk(settings: Settings) -> Iterator[Desk]:
    """The desk served by uvicorn on a free port, on SQLite and on PostgreSQL."""
    with desk_on_thread(settings) as url:
        yield Desk(url, settings)
