"""The invoice list: filters, search over numbers, names and the documents' text, sorting, paging,
totals per currency, saved views with a default, assignment and the workbook export."""

from __future__ import annotations

import io
import re
from datetime import date
from decimal import Decimal

from openpyxl import load_workbook

from db.models import Document
from db.session import session_scope
from tests.support.desk import add_invoice


def _numbers(html: str) -> list[str]:
    return re.findall(r'<a href="/invoices/\d+">([^<]+)</a>', html)


def _document(text: str, sha: str) -> int:
    with session_scope() as session:
        document = Document(sha256=sha, size_bytes=1, kind="pdf", mime_type="application/pdf",
                            storage_path="x/" + sha, original_name="scan.pdf", status="processed", text=text)
        session.add(document)
        session.flush()
        return document.id


def _office() -> dict[str, int]:
    ids = {
        "A-1": add_invoice("A-1", "Acme GmbH", total=Decimal("100.00"), due_date=date(2026, 12, 1)),
        "A-2": add_invoice("A-2", "Acme GmbH", total=Decimal("250.50"), due_date=date(2026, 11, 15),
                           status="partially_paid", paid_amount=Decimal("50.50")),
        "B-1": add_invoice("B-1", "Beta Ltd", total=Decimal("80.00"), currency="USD", direction="receivable",
                           due_date=date(2026, 12, 20), issue_date=date(2026, 10, 1)),
        "C-1": add_invoice("C-1", "Café Crème SARL", total=Decimal("999.99"), status="needs_review",
                           needs_review=True, due_date=None,
                           document_id=_document("Lieferung von Schrauben und Muttern", "c" * 64)),
        "P-1": add_invoice("P-1", "Paid Co", total=Decimal("10.00"), status="paid", paid_amount=Decimal("10.00")),
    }
    return ids


def test_filters_narrow_the_list_and_the_totals_follow(desk):
    desk.person("ann@example.com")
    _office()
    client = desk.login("ann@example.com")
    everything = client.get("/invoices?all=1").text
    assert sorted(_numbers(everything)) == ["A-1", "A-2", "B-1", "C-1", "P-1"]
    cases = {
        "status=open&status=partially_paid": ["A-1", "A-2", "B-1"],
        "direction=receivable": ["B-1"],
        "counterparty=acme": ["A-1", "A-2"],
        "due_from=2026-11-20&due_to=2026-12-10": ["A-1", "P-1"],
        "issued_to=2026-10-15": ["B-1"],
        "amount_min=90&amount_max=300": ["A-1", "A-2"],
        "review=yes": ["C-1"],
    }
    for query, expected in cases.items():
        html = client.get(f"/invoices?{query}").text
        assert sorted(_numbers(html)) == expected, query
    open_view = client.get("/invoices?status=open&status=partially_paid").text
    assert "€350.50" in open_view  # total of
    assert "€300.00" in open_view  # their balance: 100 + 200
    assert "$80.00" in open_view  # the other currency on its own line
    assert "3 invoices" in open_view


def test_search_finds_numbers_names_and_the_documents_text(desk):
    desk.person("ann@example.com")
    _office()
    client = desk.login("ann@example.com")
    assert _numbers(client.get("/invoices?q=B-1").text) == ["B-1"]
    assert sorted(_numbers(client.get("/invoices?q=acme").text)) == ["A-1", "A-2"]
    assert _numbers(client.get("/invoices?q=schrauben").text) == ["C-1"]  # a word of the document's text
    assert _numbers(client.get("/invoices?q=Muttern+Lieferung").text) == ["C-1"]
    assert _numbers(client.get("/invoices?q=bolts").text) == []
    hostile = client.get('/invoices?q=%22%27%25_%5C*+OR+1%3D1--+NEAR(').text  # quotes, wildcards, FTS syntax
    assert _numbers(hostile) == []


def test_sorting_and_paging(desk, monkeypatch):
    desk.person("ann@example.com")
    for n in range(12):
        add_invoice(f"N-{n:02d}", "Many AG", total=Decimal(n + 1))
    desk.settings.desk.page_size = 5
    client = desk.login("ann@example.com")
    first = client.get("/invoices?sort=total").text
    assert _numbers(first) == ["N-00", "N-01", "N-02", "N-03", "N-04"]
    assert "Page 1 of 3" in first
    third = client.get("/invoices?sort=total&page=3").text
    assert _numbers(third) == ["N-10", "N-11"]
    assert _numbers(client.get("/invoices?sort=-total").text)[:2] == ["N-11", "N-10"]
    assert "Page 3 of 3" in client.get("/invoices?page=99").text  # past the end: the last page
    assert "12 invoices" in client.get("/invoices?sort=nonsense&status=nonsense").text


def test_htmx_gets_only_the_results(desk):
    desk.person("ann@example.com")
    _office()
    client = desk.login("ann@example.com")
    partial = client.get("/invoices?q=B-1", headers={"HX-Request": "true", "HX-Target": "results"}).text
    assert "<nav>" not in partial and _numbers(partial) == ["B-1"]


def test_a_saved_view_becomes_the_default(desk):
    desk.person("ann@example.com")
    _office()
    client = desk.login("ann@example.com")
    saved = client.post("/filters", data={"name": "Receivables", "query": "direction=receivable&page=4",
                                          "default": "true", "csrf_token": client.csrf})
    assert saved.status_code == 303
    landing = client.get("/invoices")
    assert landing.status_code == 303 and landing.headers["location"] == "/invoices?direction=receivable"
    assert _numbers(client.get(landing.headers["location"]).text) == ["B-1"]
    other = desk.person("bob@example.com")
    assert other and desk.login("bob@example.com").get("/invoices").status_code == 200  # one person's default only


def test_assigning_an_invoice_and_the_mine_filter(desk):
    ann = desk.person("ann@example.com", name="Ann")
    ids = _office()
    client = desk.login("ann@example.com")
    response = client.post(f"/invoices/{ids['B-1']}/assign", data={"user_id": str(ann), "csrf_token": client.csrf})
    assert response.status_code == 303
    assert _numbers(client.get("/invoices?assignee=me").text) == ["B-1"]
    assert "B-1" not in _numbers(client.get("/invoices?assignee=none").text)
    page = client.get(f"/invoices/{ids['B-1']}").text
    assert "assign" in page and "ann@example.com" in page  # the audit trail names who did it


def test_the_export_holds_the_filtered_view(desk):
    desk.person("ann@example.com")
    _office()
    client = desk.login("ann@example.com")
    response = client.get("/invoices/export.xlsx?counterparty=acme")
    assert response.status_code == 200
    assert "attachment" in response.headers["content-disposition"]
    sheet = load_workbook(io.BytesIO(response.content))["Invoices"]
    numbers = sorted(row[2] for row in sheet.iter_rows(min_row=2, values_only=True))
    assert numbers == ["A-1", "A-2"]
