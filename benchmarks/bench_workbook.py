"""Workbook import into PostgreSQL against pandas.read_excel(sheet_name=None) + DataFrame.to_sql.

A workbook of WORKBOOK_BENCH_ROWS rows (default 100,000) over three tabs, written the way Excel
writes it (shared strings, date styles, title rows above the headers, three languages), is
imported into a fresh PostgreSQL database:

* baseline: pandas reads every tab and writes each to a table with to_sql, with its default
  reader (openpyxl) and, for a second ratio, with engine="calamine";
* first import: `tasks.workbook.importer.import_workbook` (every row checked, keyed, hashed,
  invoices + audit events + workbook rows written);
* re-import of the same file, and of a re-saved copy (same rows, other bytes: every row is
  read and compared by hash).

Each run is a separate process, so peak memory (VmHWM) is each one's own. Targets: at least
3x faster and at most half the peak memory of the baseline; re-import at least 5x faster than
the first import. Beside the peak, each run's working memory is reported: its peak minus its
memory once its modules are imported (pandas with openpyxl, which read_excel uses), both
measured the same way. WORKBOOK_BENCH_URL names the PostgreSQL server (default: local, user
postgres).
"""

from __future__ import annotations

import os
import random
import shutil
import tempfile
import time
import uuid
import zipfile
from datetime import date, timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from benchmarks.measured_run import in_own_process, peak_mb

ROWS = int(os.environ.get("WORKBOOK_BENCH_ROWS", "100000"))
SERVER = os.environ.get("WORKBOOK_BENCH_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
CACHE = Path(os.environ.get("WORKBOOK_BENCH_CACHE", Path(tempfile.gettempdir()) / "invoices-bench"))
TABS = [  # name, title rows, headers, status words, date style
    ("Kunden", ["Ausgangsrechnungen", None],
     ["Rechnungsnr.", "Kunde", "Datum", "Fällig am", "Betrag", "Währung", "Status", "Bezahlt am", "Bemerkung"],
     ["offen", "bezahlt", "teilweise bezahlt"], "date"),
    ("Vendors", ["Supplier invoices"],
     ["Invoice #", "Vendor", "Invoice Date", "Due", "Amount", "Currency", "Status", "Paid on", "Notes"],
     ["open", "paid", "disputed"], "date"),
    ("Factures clients", ["Factures émises", "Exercice", None],
     ["N° facture", "Client", "Date de facture", "Échéance", "Montant TTC", "Devise", "Statut", "Payé le", "Remarque"],
     ["impayé", "payé", "en retard"], "text"),
]


def make_workbook(rows: int, path: Path) -> Path:
    """The benchmark workbook (made once per size and kept in CACHE)."""
    from openpyxl import Workbook

    rng = random.Random(20240101)
    book = Workbook()
    book.remove(book.active)
    per_tab = rows // len(TABS)
    for index, (name, titles, headers, statuses, style) in enumerate(TABS):
        sheet = book.create_sheet(name)
        for title in titles:
            sheet.append([title] if title else [])
        sheet.append(headers)
        for number in range(per_tab):
            issued = date(2023, 1, 1) + timedelta(days=rng.randrange(700))
            due = issued + timedelta(days=30)
            status = rng.choice(statuses)
            paid = due - timedelta(days=3) if status in ("bezahlt", "paid", "payé") else None
            dates = [issued, due, paid] if style == "date" else [
                d.strftime("%d/%m/%Y") if d else None for d in (issued, due, paid)]
            sheet.append([f"{name[:2].upper()}-{number:07d}", f"Partner {rng.randrange(3000)} GmbH", dates[0],
                          dates[1], round(rng.uniform(10, 20000), 2), rng.choice(["EUR", "EUR", "USD", "CHF"]),
                          status, dates[2], "note" if number % 7 == 0 else None])
    book.save(path)
    return path


def _resaved(source: Path, target: Path) -> Path:
    """The same rows in a file with other bytes (as after opening and saving without changes)."""
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as copy:
        for item in original.infolist():
            data = original.read(item.filename)
            if item.filename == "docProps/core.xml":
                data = data.replace(b"</cp:coreProperties>", b"<cp:keywords>saved</cp:keywords></cp:coreProperties>")
            copy.writestr(item, data)
    return target


def _database(admin: sa.Engine, migrated: bool) -> str:
    name = f"bench_workbook_{uuid.uuid4().hex[:8]}"
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = make_url(SERVER).set(database=name).render_as_string(hide_password=False)
    if migrated:
        from db.migrate import upgrade

        upgrade(url)
    return url


def measured_run(kind: str, path: str, url: str) -> dict[str, float]:
    """Run one measurement in this (fresh) process; returns seconds and peak memory.

    Modules are imported before the clock starts (a worker has them loaded already); their memory
    is part of the peak, as it is of a worker's, and is reported as ``imported_mb``.
    """
    if kind in ("pandas", "pandas-calamine"):
        import openpyxl  # noqa: F401  (read_excel's default reader)
        import pandas as pd
        import python_calamine  # noqa: F401  (read_excel's calamine reader)

        imported = peak_mb()
        started = time.perf_counter()
        engine = sa.create_engine(url)
        options = {"engine": "calamine"} if kind == "pandas-calamine" else {}
        for name, frame in pd.read_excel(path, sheet_name=None, **options).items():
            frame.to_sql(f"sheet_{abs(hash(name))}", engine, if_exists="replace", index=False)
        engine.dispose()
        rows = 0
    else:
        from functools import partial

        from db.session import make_engine, session_scope
        from tasks.workbook.importer import import_workbook

        imported = peak_mb()
        started = time.perf_counter()
        engine = make_engine(url)
        report = import_workbook(path, session_factory=partial(session_scope, engine))
        rows = report.counts["rows"]
        engine.dispose()
    return {"seconds": time.perf_counter() - started, "peak_mb": peak_mb(), "imported_mb": imported, "rows": rows}


def run(argv: list[str]) -> list[str]:
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"workbook-{ROWS}.xlsx"
    if not path.exists():
        make_workbook(ROWS, path.with_suffix(".tmp.xlsx"))
        shutil.move(path.with_suffix(".tmp.xlsx"), path)
    (CACHE / "resaved").mkdir(exist_ok=True)
    resaved = _resaved(path, CACHE / "resaved" / path.name)
    admin = sa.create_engine(SERVER, isolation_level="AUTOCOMMIT")
    created: list[str] = []
    try:
        created.append(_database(admin, migrated=False))
        baseline = in_own_process(__name__, "pandas", path, created[-1])
        created.append(_database(admin, migrated=False))
        on_calamine = in_own_process(__name__, "pandas-calamine", path, created[-1])
        created.append(_database(admin, migrated=True))
        first = in_own_process(__name__, "import", path, created[-1])
        again = in_own_process(__name__, "import", path, created[-1])
        compared = in_own_process(__name__, "import", resaved, created[-1])
    finally:
        with admin.connect() as connection:
            for url in created:
                connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
        admin.dispose()
    speed = baseline["seconds"] / first["seconds"]
    memory = first["peak_mb"] / baseline["peak_mb"]
    working = {name: run["peak_mb"] - run["imported_mb"] for name, run in (("pandas", baseline), ("first", first))}
    return [
        f"workbook: {first['rows']:,} rows in 3 tabs ({path.stat().st_size / 1e6:.1f} MB), PostgreSQL",
        f"pandas read_excel + to_sql: {baseline['seconds']:.1f} s, peak {baseline['peak_mb']:.0f} MB",
        (f"pandas read_excel(engine='calamine') + to_sql: {on_calamine['seconds']:.1f} s, "
         f"peak {on_calamine['peak_mb']:.0f} MB"),
        f"import-workbook, first import: {first['seconds']:.1f} s, peak {first['peak_mb']:.0f} MB",
        f"  speed vs pandas: {speed:.1f}x faster (target >= 3x) {'OK' if speed >= 3 else 'MISSED'}",
        f"  peak memory vs pandas: {memory:.2f} (target <= 0.5) {'OK' if memory <= 0.5 else 'MISSED'}",
        (f"  speed vs pandas on calamine: {on_calamine['seconds'] / first['seconds']:.1f}x faster, peak memory "
         f"{first['peak_mb'] / on_calamine['peak_mb']:.2f} of its"),
        f"  working memory (peak minus after imports: pandas {baseline['imported_mb']:.0f} MB, import-workbook "
        f"{first['imported_mb']:.0f} MB): pandas {working['pandas']:.0f} MB, import-workbook {working['first']:.0f} MB "
        f"= {working['first'] / working['pandas']:.2f}",
        f"re-import, same file: {again['seconds']:.2f} s = {first['seconds'] / again['seconds']:.0f}x faster "
        f"than the first import (target >= 5x) {'OK' if first['seconds'] >= 5 * again['seconds'] else 'MISSED'}",
        f"re-import, re-saved file (every row read and compared): {compared['seconds']:.1f} s = "
        f"{first['seconds'] / compared['seconds']:.1f}x faster than the first import, peak {compared['peak_mb']:.0f} MB",
    ]
