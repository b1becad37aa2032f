"""Screenshots for the README: a sample office (a fresh SQLite database, invoices read from real
PDFs by runs of process-document on a throw-away Prefect server), the desk on a real server, and
chromium taking PNGs of the home page, the list and one invoice."""

from __future__ import annotations

import os
import tempfile
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from db.migrate import upgrade
from db.session import session_scope
from tasks.settings import get_settings

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking"]
EMAIL, PASSWORD = "anna@example.com", "screenshots only"
SAMPLE = [  # counterparty, number, total, currency, days until due, status
    ("Stadtwerke Musterstadt GmbH", "SW-2026-1187", "412.30", "EUR", -12, "open"),
    ("Papier & Co. KG", "R-55120", "86.90", "EUR", 3, "open"),
    ("Northwind Traders Ltd", "NW-00981", "1290.00", "USD", 20, "partially_paid"),
    ("Büro Schmidt", "2026-044", "240.00", "EUR", 5, "needs_review"),
    ("Café Lindner", "K-7781", "58.40", "EUR", -40, "disputed"),
    ("Acme Hosting", "AH-2211", "29.00", "EUR", 30, "paid"),
]


def _sample_pdf(folder: Path, counterparty: str, number: str, total: str, currency: str, due: date) -> Path:
    import pymupdf

    path = folder / f"{number}.pdf"
    document = pymupdf.open()
    page = document.new_page()
    lines = [counterparty, "Musterstraße 1, 12345 Musterstadt", "", f"Invoice number: {number}",
             f"Invoice date: {(due - timedelta(days=30)).isoformat()}", f"Due date: {due.isoformat()}", "",
             f"Net amount: {Decimal(total) / Decimal('1.19'):.2f} {currency}", f"Total: {total} {currency}"]
    page.insert_text((72, 90), "\n".join(lines), fontsize=12)
    document.save(path)
    return path


def _sample_office(folder: Path) -> int:
    """Invoices from real PDFs (stored and read as intake does), some paid, one to review."""
    from db.models import Invoice, User
    from flows.process_document import process_document
    from tasks.documents.intake import ingest_bytes
    from tasks.invoices.records import find_invoice, update_invoice
    from web.accounts import set_password

    settings = get_settings()
    today = date.today()
    with session_scope() as session:
        session.add(User(email=EMAIL, name="Anna", role="admin", locale="de_DE"))
        session.flush()
        set_password(session, EMAIL, PASSWORD)
    first = 0
    for counterparty, number, total, currency, days, status in SAMPLE:
        pdf = _sample_pdf(folder, counterparty, number, total, currency, today + timedelta(days=days))
        with session_scope() as session:
            stored = ingest_bytes(session, settings.documents_dir, pdf.read_bytes(), pdf.name, "upload")
        process_document(document_id=stored.document_id)
        with session_scope() as session:
            invoice = find_invoice(session, counterparty, number) or session.query(Invoice).filter_by(
                document_id=stored.document_id).first()
            if invoice is None:
                continue
            first = first or invoice.id
            values: dict[str, object] = {"status": status}
            if status == "partially_paid":
                values["paid_amount"] = Decimal(total) / 2
            if status == "paid":
                values["paid_amount"] = Decimal(total)
            if status == "needs_review":
                values.update(needs_review=True, review_reasons=["the IBAN differs from this vendor's earlier one"])
            update_invoice(session, invoice, values, EMAIL, "update")
    return first


def make_screenshots(target: Path) -> list[Path]:
    """home.png, list.png and invoice.png in ``target``."""
    from playwright.sync_api import sync_playwright

    from web.server import desk_on_thread

    target = target.resolve()
    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="desk-screenshots-") as scratch:
        folder = Path(scratch)
        os.environ.update({"INVOICES_DATA_DIR": str(folder / "data"), "INVOICES_DATABASE__URL":
                           f"sqlite:///{folder / 'data' / 'invoices.db'}", "PREFECT_HOME": str(folder / "prefect"),
                           "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
                           "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180"})
        os.environ.pop("PREFECT_API_URL", None)  # the sample's runs go to a throw-away Prefect server of its own
        get_settings.cache_clear()
        settings = get_settings()
        upgrade(settings.database.url)
        invoice_id = _sample_office(folder)
        from prefect.server.api.server import SubprocessASGIServer

        os.environ["PREFECT_API_URL"] = SubprocessASGIServer().api_url  # the home page shows the sample's runs
        shots = []
        with desk_on_thread(settings) as url, sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_page(viewport={"width": 1360, "height": 860})
            page.goto(f"{url}/login")
            page.fill("input[name=email]", EMAIL)
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            for name, path in (("home", "/"), ("list", "/invoices?all=1"), ("invoice", f"/invoices/{invoice_id}")):
                page.goto(url + path, wait_until="networkidle")
                if name == "home":
                    page.wait_for_selector("#runs table, #runs .problem", timeout=60_000)
                shots.append(target / f"{name}.png")
                page.screenshot(path=str(shots[-1]), full_page=False)
            browser.close()
    os.environ.pop("PREFECT_API_URL", None)
    get_settings.cache_clear()
    return shots
