"""Backup and verification of 10,000 invoices and 10,000 documents (about 1 GB), against a bare
`pg_dump` + `cp -r` (and, for verification, `pg_restore` into a scratch database + `sha256sum -c`)
of the same data in the same run; then an incremental backup of the unchanged store.

Sizes: BENCH_BACKUP_INVOICES (10000), BENCH_BACKUP_DOCUMENTS (10000), BENCH_BACKUP_DOC_KB (100),
BENCH_BACKUP_DB (postgresql or sqlite), BENCH_POSTGRES_URL (a server where databases may be made).
Quick run: BENCH_BACKUP_DOCUMENTS=500 BENCH_BACKUP_INVOICES=500 make bench BENCH_ARGS=backup
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
import uuid
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import insert, text

ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def _populate(settings, invoices: int, documents: int, size_kb: int) -> int:  # type: ignore[no-untyped-def]
    from db.models import Document, Invoice
    from db.session import engine_for, session_scope
    from tasks.documents.store import relative_path_for, sha256_bytes

    root = settings.documents_dir
    rows, total = [], 0
    for number in range(documents):
        data = os.urandom(size_kb * 1024)
        sha = sha256_bytes(data)
        path = root / relative_path_for(sha)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        total += len(data)
        rows.append({"sha256": sha, "size_bytes": len(data), "kind": "pdf", "mime_type": "application/pdf",
                     "storage_path": relative_path_for(sha), "original_name": f"invoice-{number}.pdf",
                     "text": f"Invoice {number} Total {number}.50 EUR", "status": "processed"})
    with session_scope(engine_for(settings.database.url)) as session:
        for start in range(0, len(rows), 2000):
            session.execute(insert(Document), rows[start:start + 2000])
        ids = list(session.scalars(text("SELECT id FROM documents ORDER BY id")))
        batch = [{"counterparty": f"Vendor {n % 97} GmbH", "counterparty_key": f"vendor {n % 97} gmbh",
                  "number": f"R-{n}", "issue_date": date(2025, 1, 1) + timedelta(days=n % 365),
                  "due_date": date(2025, 2, 1) + timedelta(days=n % 365), "total": Decimal(f"{n}.50"),
                  "net": Decimal(f"{n}.00"), "tax": Decimal("0.50"), "source": "document",
                  "document_id": ids[n % len(ids)] if ids else None} for n in range(invoices)]
        for start in range(0, len(batch), 2000):
            session.execute(insert(Invoice), batch[start:start + 2000])
    return total


def _timed(function, *args):  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    result = function(*args)
    return time.perf_counter() - started, result


def _sh(*command: str, env: dict[str, str] | None = None) -> None:
    subprocess.run(command, check=True, capture_output=True, env=env)


def _baseline_backup(kind: str, url: str, documents: Path, target: Path) -> None:
    from tasks.backup.database import pg_target, sqlite_path

    target.mkdir(parents=True)
    if kind == "postgresql":
        pg = pg_target(url)
        _sh("pg_dump", "--format=custom", f"--file={target / 'database.dump'}", f"--dbname={pg.conninfo()}",
            env=pg.environment())
    else:
        shutil.copyfile(sqlite_path(url), target / "database.sqlite3")
    _sh("cp", "-r", str(documents), str(target / "documents"))
    with open(target / "SHA256SUMS", "w") as sums:  # what a checked copy needs: a checksum list
        subprocess.run("find documents -type f -print0 | xargs -0 sha256sum", shell=True, check=True, cwd=target,
                       stdout=sums)


def _baseline_check(kind: str, url: str, target: Path) -> None:
    from tasks.backup.database import pg_target

    if kind == "postgresql":
        pg = pg_target(url)
        scratch = f"bench_check_{uuid.uuid4().hex[:8]}"
        admin = pg.with_database("postgres")
        _sh("createdb", f"--maintenance-db={admin.conninfo()}", scratch, env=pg.environment())
        try:
            _sh("pg_restore", "--no-owner", "--exit-on-error", "--single-transaction",
                f"--dbname={pg.with_database(scratch).conninfo()}", str(target / "database.dump"), env=pg.environment())
        finally:
            _sh("dropdb", f"--maintenance-db={admin.conninfo()}", scratch, env=pg.environment())
    _sh("sh", "-c", f"cd {target} && sha256sum --quiet -c SHA256SUMS")


def run(argv: list[str]) -> list[str]:
    from db.migrate import upgrade
    from db.session import engine_for, make_engine
    from tasks.backup.make import make_backup
    from tasks.backup.verify import verify_backup
    from tasks.settings import BackupSettings, DatabaseSettings, Settings

    invoices = int(os.environ.get("BENCH_BACKUP_INVOICES", "10000"))
    documents = int(os.environ.get("BENCH_BACKUP_DOCUMENTS", "10000"))
    size_kb = int(os.environ.get("BENCH_BACKUP_DOC_KB", "100"))
    kind = os.environ.get("BENCH_BACKUP_DB", "postgresql")
    work = Path(tempfile.mkdtemp(prefix="bench-backup-"))
    admin = make_engine(ADMIN_URL).execution_options(isolation_level="AUTOCOMMIT")
    name = f"bench_backup_{uuid.uuid4().hex[:8]}"
    if kind == "postgresql":
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        url = make_engine(ADMIN_URL).url.set(database=name).render_as_string(hide_password=False)
    else:
        url = f"sqlite:///{work / 'data' / 'invoices.db'}"
    try:
        upgrade(url)
        settings = Settings(_env_file=None, data_dir=work / "data", database=DatabaseSettings(url=url),
                            backup=BackupSettings(backup_dir=work / "backups"))
        populate_s, total = _timed(_populate, settings, invoices, documents, size_kb)
        subprocess.run(["sync"], check=False)
        base_s, _ = _timed(_baseline_backup, kind, url, settings.documents_dir, work / "baseline")
        check_s, _ = _timed(_baseline_check, kind, url, work / "baseline")
        shutil.rmtree(work / "baseline")
        backup_s, made = _timed(make_backup, settings)
        verify_s, verified = _timed(verify_backup, settings, made.backup_id)
        again_s, again = _timed(make_backup, settings)
        engine_for(url).dispose()
        return [
            f"data: {invoices} invoices, {documents} documents, {total / 1e9:.2f} GB, {kind} (filled in {populate_s:.1f} s)",
            f"baseline pg_dump + cp -r + sha256sum: {base_s:.1f} s",
            f"backup (dump, manifest, copy, checksums): {backup_s:.1f} s = {backup_s / base_s:.2f}x baseline "
            f"({made.size_bytes / 1e9:.2f} GB, {made.new_file_count} files copied)",
            f"baseline check (pg_restore into scratch + sha256sum -c): {check_s:.1f} s",
            f"verification (scratch restore, every table compared, every file hashed): {verify_s:.1f} s = "
            f"{verify_s / check_s:.2f}x baseline check -> {verified.status}",
            f"backup + verification: {backup_s + verify_s:.1f} s = {(backup_s + verify_s) / (base_s + check_s):.2f}x baseline",
            f"incremental backup of the unchanged store: {again_s:.1f} s = {again_s / backup_s:.2f}x the full backup, "
            f"{again.new_file_count} files copied (expected 0), {again.size_bytes / 1e6:.1f} MB",
        ]
    finally:
        engine_for.cache_clear()
        if kind == "postgresql":
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
        shutil.rmtree(work, ignore_errors=True)
