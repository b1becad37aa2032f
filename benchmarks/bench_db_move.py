"""`invoices db move` of DB_MOVE_BENCH_INVOICES invoices (default 10,000) with their documents,
verification included, against a bare copy of the same rows with SQLAlchemy Core executemany.

The SQLite database is migrated and filled the way intake and reading fill it: a document per
invoice (its text of a page or two, its origin), the invoice with its amounts, dates, review
reasons and field sources, the link between them and the invoice's audit event. Both copies go
into a fresh migrated PostgreSQL database (DB_MOVE_BENCH_URL names the server; default local,
user postgres); the baseline reads each table with Core and inserts it with executemany in
batches, without any verification. Both targets are migrated beforehand. Peak memory of each run is its own process's (VmHWM).
"""

from __future__ import annotations

import hashlib
import os
import random
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from benchmarks.measured_run import in_own_process, peak_mb

INVOICES = int(os.environ.get("DB_MOVE_BENCH_INVOICES", "10000"))
SERVER = os.environ.get("DB_MOVE_BENCH_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
BATCH = 2000
WORDS = ["Rechnung", "Invoice", "Facture", "Total", "Betrag", "MwSt", "VAT", "Net", "Netto", "Summe", "Datum",
         "Fällig", "Due", "IBAN", "Bank", "Artikel"]


def fill(url: str, count: int) -> None:
    """A migrated SQLite database with ``count`` invoices and their documents."""
    from db.migrate import upgrade
    from db.models import AuditEvent, Document, DocumentOrigin, Invoice, InvoiceLink

    upgrade(url)
    rng = random.Random(20261204)
    start = datetime(2025, 1, 1, 8, tzinfo=UTC)
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        for first in range(1, count + 1, BATCH):
            ids = range(first, min(first + BATCH, count + 1))
            documents, origins, invoices, links, events = [], [], [], [], []
            for n in ids:
                at = start + timedelta(minutes=37 * n)
                text = " ".join(rng.choice(WORDS) for _ in range(300)) + f"\nInvoice R-{n:06d} Total {n}.50 EUR"
                sha = hashlib.sha256(f"document {n}".encode()).hexdigest()
                documents.append({"id": n, "sha256": sha, "size_bytes": 20000 + n, "kind": "pdf",
                                  "mime_type": "application/pdf", "storage_path": f"{sha[:2]}/{sha[2:4]}/{sha}.pdf",
                                  "original_name": f"Rechnung {n} März.pdf", "page_count": 1 + n % 3, "text": text,
                                  "text_source": "text", "status": "processed", "error": None, "created_at": at,
                                  "claimed_at": at, "processed_at": at + timedelta(seconds=2)})
                origins.append({"id": n, "document_id": n, "channel": "folder", "mail_message_id": None,
                                "original_name": f"Rechnung {n} März.pdf", "received_at": at})
                net = Decimal(rng.randrange(1000, 2_000_000)) / 100
                tax = (net * Decimal("0.19")).quantize(Decimal("0.01"))
                invoices.append({
                    "id": n, "direction": "payable", "counterparty": f"Vendor {n % 300} GmbH",
                    "counterparty_key": f"vendor {n % 300}", "number": f"R-{n:06d}", "vendor_id": None,
                    "counterparty_vat_id": "DE123456789", "customer_name": None, "iban": "DE89370400440532013000",
                    "reference": None, "issue_date": date(2025, 1, 1) + timedelta(days=n % 600),
                    "due_date": date(2025, 1, 31) + timedelta(days=n % 600), "currency": "EUR", "net": net,
                    "tax": tax, "total": net + tax, "is_credit_note": n % 50 == 0, "status": "open",
                    "paid_date": None, "paid_amount": None, "contact_email": None, "notes": None,
                    "source": "document", "document_id": n, "mail_message_id": None,
                    "confidence": rng.random(), "needs_review": n % 10 == 0,
                    "review_reasons": ["total differs from net + tax"] if n % 10 == 0 else [],
                    "field_sources": {"number": "text", "total": "text", "due_date": "text"},
                    "created_at": at, "updated_at": at})
                links.append({"id": n, "invoice_id": n, "document_id": n, "workbook_row_id": None, "created_at": at})
                events.append({"id": n, "invoice_id": n, "at": at, "actor": "process-document", "flow_run_id": None,
                               "action": "create", "changes": {"total": [None, str(net + tax)]}})
            for model, rows in ((Document, documents), (DocumentOrigin, origins), (Invoice, invoices),
                                (InvoiceLink, links), (AuditEvent, events)):
                connection.execute(sa.insert(model.__table__), rows)
    engine.dispose()


def _bare_copy(source_url: str, target_url: str) -> dict[str, int]:
    """The baseline: every table read with Core and inserted with executemany, nothing checked."""
    from db.models import Base

    source, target = sa.create_engine(source_url), sa.create_engine(target_url)
    copied = {}
    with source.connect() as reading, target.begin() as writing:
        names = set(sa.inspect(reading).get_table_names())
        for table in Base.metadata.sorted_tables:
            if table.name not in names:
                continue
            result = reading.execution_options(yield_per=BATCH).execute(sa.select(table))
            copied[table.name] = 0
            for rows in result.partitions():
                writing.execute(sa.insert(table), [dict(row._mapping) for row in rows])
                copied[table.name] += len(rows)
    source.dispose()
    target.dispose()
    return copied


def measured_run(kind: str, source_url: str, target_url: str) -> dict[str, float]:
    """One measurement in this fresh process: seconds, peak memory, rows copied."""
    from db.move import move_database

    started = time.perf_counter()
    if kind == "move":
        rows = move_database(source_url, target_url).rows
    else:
        rows = _bare_copy(source_url, target_url)
    return {"seconds": time.perf_counter() - started, "peak_mb": peak_mb(), "rows": sum(rows.values())}


def run(argv: list[str]) -> list[str]:
    from db.migrate import upgrade

    folder = Path(tempfile.mkdtemp(prefix="bench-db-move-"))
    source = f"sqlite:///{(folder / 'invoices.db').as_posix()}"
    fill(source, INVOICES)
    admin = sa.create_engine(SERVER, isolation_level="AUTOCOMMIT")
    created = []
    try:
        for _ in range(2):
            name = f"bench_db_move_{uuid.uuid4().hex[:8]}"
            with admin.connect() as connection:
                connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
            created.append(make_url(SERVER).set(database=name).render_as_string(hide_password=False))
        for url in created:  # both targets migrated beforehand: the same work on both sides
            upgrade(url)
        baseline = in_own_process(__name__, "bare", source, created[0])
        moved = in_own_process(__name__, "move", source, created[1])
    finally:
        with admin.connect() as connection:
            for url in created:
                connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
        admin.dispose()
        for path in folder.iterdir():
            path.unlink()
        folder.rmdir()
    ratio = baseline["seconds"] / moved["seconds"]
    return [
        f"db move: {INVOICES:,} invoices with their documents, {moved['rows']:,.0f} rows, SQLite -> PostgreSQL",
        f"bare copy with Core executemany (no checks): {baseline['seconds']:.2f} s, peak {baseline['peak_mb']:.0f} MB",
        (f"db move (checks, COPY, verify every table, sequences): {moved['seconds']:.2f} s, "
         f"peak {moved['peak_mb']:.0f} MB"),
        (f"  db move vs bare executemany copy: {ratio:.2f}x the speed "
         f"({'faster' if ratio >= 1 else 'slower'}, verification included)"),
    ]
