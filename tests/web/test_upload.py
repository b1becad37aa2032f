"""Uploading a workbook at the desk shows its dry run (nothing written) and asks to confirm."""

from __future__ import annotations

import io

from openpyxl import Workbook

from db.models import Invoice
from db.session import session_scope


def _workbook() -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = "Invoices"
    sheet.append(["Invoice #", "Vendor", "Total", "Due date"])
    sheet.append(["W-1", "Wood AG", 120.5, "2026-12-01"])
    sheet.append(["W-2", "Wood AG", 80, "2026-12-15"])
    sheet.append(["", "No Number Ltd", 5, "2026-12-15"])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_a_workbook_shows_its_dry_run_and_writes_nothing_until_confirmed(desk):
    desk.person("ann@example.com")
    client = desk.login("ann@example.com")
    response = client.post("/upload", data={"csrf_token": client.csrf},
                           files={"files": ("office <book>.xlsx", _workbook(),
                                            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")})
    assert response.status_code == 200
    page = response.text
    assert "office &lt;book&gt;.xlsx" in page and "<th>new</th><td class=\"num\">2</td>" in page
    assert "Import this workbook" in page and 'action="/upload/workbook/' in page
    with session_scope() as session:
        assert session.query(Invoice).count() == 0  # a dry run


def test_a_file_that_is_no_document_is_refused_and_named(desk):
    desk.person("ann@example.com")
    client = desk.login("ann@example.com")
    response = client.post("/upload", data={"csrf_token": client.csrf},
                           files={"files": ("run me.exe", b"MZ\x90\x00" + b"\x00" * 200, "application/octet-stream")})
    assert response.status_code == 200
    assert "run me.exe" in response.text and "refused" in response.text
