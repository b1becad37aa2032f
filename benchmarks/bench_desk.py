"""The desk's invoice list over 10,000 invoices: one view with a filter (open), a sort (largest
total first) and a search (a word of the documents' text, also looked for in numbers and names),
page by page, as the desk serves it over HTTP (a real uvicorn server, a logged-in session, the
rendered page), against the bare SQL of the same page (its totals per currency and its rows,
run on the driver's connection) measured in the same run. Target: within 3x.

Environment: BENCH_DESK_INVOICES (10000), BENCH_DESK_BACKENDS ("postgresql,sqlite"),
BENCH_DESK_REPEAT (15), BENCH_POSTGRES_URL.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
import uuid
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import httpx
import sqlalchemy as sa

from db.migrate import upgrade
from db.models import Document, Invoice
from db.session import engine_for, make_engine, session_scope
from tasks.invoices.records import counterparty_key
from tasks.settings import get_settings

WORD = "schrauben"
PAGES = (1, 2, 5)
WORDS = ["Lieferung", "Beratung", "Wartung", "Material", "Transport", "Software", "Miete", "Reinigung"]


def _fill(url: str, count: int) -> None:
    engine = make_engine(url)
    statuses = ["open", "open", "open", "paid", "partially_paid", "needs_review"]
    with engine.begin() as connection:
        documents = [{"id": n + 1, "sha256": f"{n:064x}", "size_bytes": 1000, "kind": "pdf",
                      "mime_type": "application/pdf", "storage_path": f"x/{n:064x}", "original_name": f"{n}.pdf",
                      "status": "processed",
                      "text": f"Rechnung {n} {WORDS[n % len(WORDS)]} " + ("Schrauben und Muttern " if n % 10 == 0 else "")
                              + "Vielen Dank für Ihren Auftrag. " * 20}
                     for n in range(count)]
        invoices = [{"direction": "payable" if n % 3 else "receivable", "counterparty": f"Vendor {n % 400} GmbH",
                     "counterparty_key": counterparty_key(f"Vendor {n % 400} GmbH") + f" {n}",
                     "number": f"INV-{n:06d}", "issue_date": date(2026, 1, 1) + timedelta(days=n % 300),
                     "due_date": date(2026, 2, 1) + timedelta(days=n % 300), "currency": "EUR" if n % 7 else "USD",
                     "total": Decimal(n % 5000) + Decimal("0.99"), "status": statuses[n % len(statuses)],
                     "source": "document", "document_id": n + 1, "needs_review": n % 6 == 5,
                     "review_reasons": [], "field_sources": {}, "is_credit_note": False}
                    for n in range(count)]
        for start in range(0, count, 5000):
            connection.execute(sa.insert(Document), documents[start:start + 5000])
            connection.execute(sa.insert(Invoice), invoices[start:start + 5000])
        if engine.dialect.name == "postgresql":
            connection.execute(sa.text("ANALYZE"))
    engine.dispose()


def _bare_sql(dialect: str) -> tuple[str, str]:
    """The page's two statements, written by hand (the totals, then the rows)."""
    if dialect == "postgresql":
        text = ("i.document_id IN (SELECT id FROM documents WHERE to_tsvector('simple', coalesce(text, '')) "
                "@@ plainto_tsquery('simple', %(word)s))")
        like = "ILIKE %(like)s"
    else:
        text = "i.document_id IN (SELECT rowid FROM desk_document_search WHERE desk_document_search MATCH :fts)"
        like = "LIKE :like"
    where = (f"i.status IN ('open') AND (i.number {like} OR i.counterparty {like} OR i.customer_name {like} "
             f"OR i.reference {like} OR {text})")
    totals = (f"SELECT i.currency, count(i.id), sum(i.total), sum(i.total - coalesce(i.paid_amount, 0)) "
              f"FROM invoices i WHERE {where} GROUP BY i.currency ORDER BY i.currency")
    rows = ("SELECT i.id, i.direction, i.counterparty, i.number, i.issue_date, i.due_date, i.currency, i.total, "
            "i.paid_amount, i.status, i.needs_review, u.name FROM invoices i "
            "LEFT OUTER JOIN invoice_assignments a ON a.invoice_id = i.id LEFT OUTER JOIN users u ON u.id = a.user_id "
            f"WHERE {where} ORDER BY i.total DESC NULLS LAST, i.id DESC LIMIT 50 OFFSET {{offset}}")
    return totals, rows


def _time(function, repeat: int) -> float:  # type: ignore[no-untyped-def]
    function()  # warm
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def _bench(backend: str, count: int, repeat: int) -> list[str]:
    from tests.support.desk import Desk
    from web.server import desk_on_thread

    folder = Path(tempfile.mkdtemp(prefix="bench-desk-"))
    admin_url = os.environ.get("BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    name = f"bench_desk_{uuid.uuid4().hex[:8]}"
    if backend == "postgresql":
        admin = make_engine(admin_url).execution_options(isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
        url = sa.engine.make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    else:
        url = f"sqlite:///{folder / 'invoices.db'}"
    os.environ.update({"INVOICES_DATABASE__URL": url, "INVOICES_DATA_DIR": str(folder / "data")})
    get_settings.cache_clear()
    lines = []
    try:
        upgrade(url)
        _fill(url, count)
        settings = get_settings()
        settings.desk.page_size = 50
        with desk_on_thread(settings) as address:
            desk = Desk(address, settings)
            desk.person("bench@example.com", role="viewer")
            client = desk.login("bench@example.com")
            totals, rows = _bare_sql(engine_for(url).dialect.name)
            parameters = {"word": WORD, "like": f"%{WORD}%", "fts": f'"{WORD}"'}
            with session_scope() as session:
                found = session.scalar(sa.text("SELECT count(*) FROM invoices WHERE status = 'open'"))
            for page in PAGES:
                def desk_page(page: int = page) -> None:
                    response = client.get(f"/invoices?status=open&sort=-total&q={WORD}&page={page}")
                    response.raise_for_status()
                    if "INV-" not in response.text:
                        raise RuntimeError(f"page {page} shows no invoice")

                def bare(page: int = page) -> None:
                    with engine_for(url).connect() as connection:
                        connection.exec_driver_sql(totals, parameters).fetchall()
                        connection.exec_driver_sql(rows.format(offset=(page - 1) * 50), parameters).fetchall()

                desk_seconds, bare_seconds = _time(desk_page, repeat), _time(bare, repeat)
                lines.append(f"{backend} page {page}: desk {desk_seconds * 1000:.1f} ms, bare SQL "
                             f"{bare_seconds * 1000:.1f} ms, ratio {desk_seconds / bare_seconds:.2f}x (target <= 3x)")
            lines.append(f"{backend}: {count} invoices, {found} open, search word in every tenth document")
    finally:
        engine_for.cache_clear()
        get_settings.cache_clear()
        if backend == "postgresql":
            with admin.connect() as connection:
                connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
    return lines


def run(argv: list[str]) -> list[str]:
    count = int(os.environ.get("BENCH_DESK_INVOICES", "10000"))
    repeat = int(os.environ.get("BENCH_DESK_REPEAT", "15"))
    backends = [b.strip() for b in os.environ.get("BENCH_DESK_BACKENDS", "postgresql,sqlite").split(",") if b.strip()]
    lines = []
    for backend in backends:
        lines += _bench(backend, count, repeat)
    return lines
