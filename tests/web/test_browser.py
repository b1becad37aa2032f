"""The desk in a real browser (Debian's chromium driven by playwright) against a real uvicorn
server and a real database: log in, filter, search, open a PDF, pay in part, correct a field
beside the document, a viewer who cannot act, log out; and a PDF dropped on the upload page,
read by a run of process-document on a real Prefect server."""

from __future__ import annotations

import base64
import time
from decimal import Decimal
from pathlib import Path

import pymupdf
import pytest
from playwright.sync_api import expect

from db.models import AuditEvent, Invoice
from db.session import session_scope
from tasks.documents.intake import ingest_bytes
from tests.support.browser import chromium
from tests.support.desk import PASSWORD, add_invoice
from tests.support.prefect_server import serve_env, start_serve, stop

ROOT = Path(__file__).resolve().parents[2]
CORPUS_PDF = ROOT / "tests" / "data" / "corpus" / "002-en-en_GB.pdf"


def _pdf(text: str) -> bytes:
    document = pymupdf.open()
    document.new_page().insert_text((72, 90), text, fontsize=12)
    return document.tobytes()


def _with_document(settings, number: str) -> int:
    with session_scope() as session:
        stored = ingest_bytes(session, settings.documents_dir, _pdf(f"Invoice {number}\nTotal 300.00 EUR"),
                              f"{number}.pdf", "upload")
    return add_invoice(number, "Globex Corp", total=Decimal("300.00"), document_id=stored.document_id)


def _log_in(page, url: str, email: str) -> None:
    page.goto(f"{url}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{url}/")


def test_a_member_finds_opens_pays_corrects_and_logs_out(desk):
    desk.person("ann@example.com", name="Ann")
    add_invoice("A-100", "Acme GmbH")
    add_invoice("B-200", "Beta Ltd", direction="receivable")
    invoice = _with_document(desk.settings, "G-300")
    with chromium() as browser:
        page = browser.new_page()
        _log_in(page, desk.url, "ann@example.com")
        page.click("nav >> text=Invoices")
        page.wait_for_selector("#invoice-table")
        page.wait_for_load_state("load")  # htmx has taken the form
        assert page.locator("#count").inner_text() == "3 invoices"
        page.select_option("select[name=direction]", "receivable")  # htmx swaps the results
        expect(page.locator("#count")).to_have_text("1 invoices")
        assert "B-200" in page.locator("#results").inner_text()
        assert "direction=receivable" in page.url
        page.select_option("select[name=direction]", "")
        page.fill("#q", "G-300")
        expect(page.locator("#count")).to_have_text("1 invoices")
        with page.expect_response(lambda r: r.url.endswith(f"/invoices/{invoice}")) as opened:
            page.click("#results >> text=G-300")
        assert opened.value.ok
        with session_scope() as session:
            document_id = session.get(Invoice, invoice).document_id
        frame = page.locator("iframe#document")
        assert frame.get_attribute("src") == f"/documents/{document_id}"
        pdf = page.request.get(f"{desk.url}/documents/{document_id}")  # with the page's session
        assert pdf.ok and pdf.headers["content-type"] == "application/pdf" and pdf.body().startswith(b"%PDF")

        page.fill("#pay input[name=amount]", "120")
        page.fill("#pay input[name=note]", "first part")
        page.click("#pay button[type=submit]")
        page.wait_for_selector("p.done")
        assert "180.00 EUR left" in page.locator("p.done").inner_text()

        page.click("details.act >> text=Correct")
        page.fill("#correct input[name=reference]", "PO-4242")
        page.click("#correct button[type=submit]")
        page.wait_for_selector("p.done")
        assert "reference" in page.locator("p.done").inner_text()
        assert page.locator("iframe#document").count() == 1  # the document stays beside the form
        with session_scope() as session:
            row = session.get(Invoice, invoice)
            assert (row.status, row.paid_amount, row.reference) == ("partially_paid", Decimal("120.00"), "PO-4242")
            actors = {e.actor for e in session.query(AuditEvent).filter(AuditEvent.invoice_id == invoice,
                                                                        AuditEvent.action.in_(["payment", "review"]))}
            assert actors == {"ann@example.com"}

        page.click("nav >> text=Log out")
        page.wait_for_url(f"{desk.url}/login")
        page.goto(f"{desk.url}/invoices/{invoice}")
        assert page.url.startswith(f"{desk.url}/login")


def test_a_viewer_reads_but_cannot_act(desk):
    desk.person("vic@example.com", role="viewer", locale="de_DE")
    invoice = add_invoice("V-1", "Acme GmbH", total=Decimal("1234.50"))
    with chromium() as browser:
        page = browser.new_page()
        _log_in(page, desk.url, "vic@example.com")
        page.goto(f"{desk.url}/invoices/{invoice}")
        assert "1.234,50\xa0€" in page.locator("table.fields").text_content()  # German formats for de_DE
        assert page.locator("#pay").count() == 0 and page.locator("#correct").count() == 0
        assert "Ihre Rolle erlaubt nur das Lesen." in page.content()
        assert page.locator("nav >> text=Hochladen").count() == 0
        token = page.evaluate("JSON.parse(document.body.getAttribute('hx-headers'))['X-CSRF-Token']")
        refused = page.request.post(f"{desk.url}/invoices/{invoice}/payment",
                                    form={"amount": "1", "csrf_token": token})
        assert refused.status == 403
    with session_scope() as session:
        assert session.get(Invoice, invoice).paid_amount is None


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_dropped_pdf_is_read_by_a_run_and_shown(desk, live_prefect, monkeypatch, tmp_path):
    monkeypatch.setenv("PREFECT_API_URL", live_prefect["PREFECT_API_URL"])
    desk.person("ann@example.com")
    log = tmp_path / "serve.log"
    serve = start_serve(serve_env(live_prefect), log, ROOT)
    try:
        from prefect.client.orchestration import SyncPrefectClient

        deadline = time.monotonic() + 240
        with SyncPrefectClient(live_prefect["PREFECT_API_URL"]) as client:
            while "process-document" not in {d.name for d in client.read_deployments()}:
                assert time.monotonic() < deadline and serve.poll() is None, log.read_text()[-3000:]
                time.sleep(1)
        with chromium() as browser:
            page = browser.new_page()
            _log_in(page, desk.url, "ann@example.com")
            page.goto(f"{desk.url}/upload")
            data = base64.b64encode(CORPUS_PDF.read_bytes()).decode()
            dropped = page.evaluate_handle("""(b64) => {
                const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
                const transfer = new DataTransfer();
                transfer.items.add(new File([bytes], "dropped invoice.pdf", {type: "application/pdf"}));
                return transfer; }""", data)
            page.dispatch_event("form.dropzone", "drop", {"dataTransfer": dropped})
            page.wait_for_selector("table.uploads")
            assert "dropped invoice.pdf" in page.locator("table.uploads").inner_text()
            page.wait_for_selector("a.result", timeout=180_000)  # the run finished and made an invoice
            assert "Completed" in page.locator(".run").inner_text()
            page.click("a.result")
            page.wait_for_selector("iframe#document")
            assert "dropped invoice.pdf" in page.content()
    finally:
        stop(serve)
