"""Fixtures and helpers for backup tests: seeding data, an independent snapshot of what must
survive a restore, wiping, a small full disk, and a PostgreSQL-only settings object."""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from db.models import AuditEvent, Document, DocumentOrigin, Invoice, InvoiceLink
from db.session import engine_for, make_engine, session_scope
from tasks.documents.intake import ingest_bytes
from tasks.invoices.records import upsert_invoice
from tasks.settings import Settings, get_settings
from tests.support.pdfs import text_pdf

SNAPSHOT_MODELS = (Invoice, Document, DocumentOrigin, InvoiceLink, AuditEvent)


def seed(settings: Settings, start: int, count: int) -> None:
    """``count`` invoices, each read from its own stored PDF (numbers start..start+count-1)."""
    with session_scope(engine_for(settings.database.url)) as session:
        for number in range(start, start + count):
            pdf = text_pdf([f"Invoice R-{number}", f"Total {number}.50 EUR"])
            stored = ingest_bytes(session, settings.documents_dir, pdf, f"Rechnung {number} März.pdf", "folder")
            upsert_invoice(session, f"Vendor {number % 3} GmbH", f"R-{number}",
                           {"total": Decimal(f"{number}.50"), "currency": "EUR", "source": "document"},
                           actor="test", document_id=stored.document_id)


def snapshot(settings: Settings, url: str | None = None, documents: Path | None = None) -> dict[str, object]:
    """Checksums of every invoice, document, origin, link and audit row, and of every stored file."""
    engine = make_engine(url or settings.database.url)
    result: dict[str, object] = {}
    try:
        with engine.connect() as connection:
            for model in SNAPSHOT_MODELS:
                table = model.__table__
                rows = [tuple(r) for r in connection.execute(sa.select(table).order_by(table.c.id))]
                result[table.name] = (len(rows), hashlib.sha256(repr(rows).encode()).hexdigest())
    finally:
        engine.dispose()
    root = Path(documents or settings.documents_dir)
    result["files"] = {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
                       for p in sorted(root.rglob("*")) if p.is_file()}
    return result


def wipe(settings: Settings) -> None:
    """Lose the database and the document store."""
    url = settings.database.url
    engine_for(url).dispose()
    engine_for.cache_clear()
    if url.startswith("sqlite"):
        database = Path(sa.engine.make_url(url).database or "")
        for suffix in ("", "-wal", "-shm"):
            Path(f"{database}{suffix}").unlink(missing_ok=True)
    else:
        engine = make_engine(url)
        metadata = sa.MetaData()
        with engine.begin() as connection:
            metadata.reflect(connection)
            metadata.drop_all(connection)
        engine.dispose()
    shutil.rmtree(settings.documents_dir)


def flip_byte(path: Path, offset: int | None = None) -> None:
    data = bytearray(path.read_bytes())
    position = len(data) // 2 if offset is None else offset
    data[position] ^= 0xFF
    path.write_bytes(bytes(data))


def use_settings(monkeypatch: pytest.MonkeyPatch, **env: str) -> Settings:
    for key, value in env.items():
        monkeypatch.setenv(f"INVOICES_{key.upper()}", value)
    get_settings.cache_clear()
    return get_settings()


@pytest.fixture
def pg_settings(postgres, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:  # type: ignore[no-untyped-def]
    """Settings on a fresh PostgreSQL database (for faults of the PostgreSQL tools)."""
    url = postgres.create()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("INVOICES_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("INVOICES_DATABASE__URL", url)
    get_settings.cache_clear()
    yield get_settings()
    get_settings.cache_clear()
    engine_for(url).dispose()
    engine_for.cache_clear()
    postgres.drop(url)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MB file system (tmpfs) for the backup folder, so that writes really fail with ENOSPC."""
    mount_point = tmp_path / f"small-disk-{uuid.uuid4().hex[:6]}"
    mount_point.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount_point)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"the backup fault tests need root to mount a small tmpfs: {done.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def fill_disk(folder: Path, leave_bytes: int) -> Path:
    """Fill the file system of ``folder`` until about ``leave_bytes`` are free."""
    filler = folder / "filler.bin"
    free = shutil.disk_usage(folder).free
    try:
        with filler.open("wb") as handle:
            handle.write(b"\0" * max(0, free - leave_bytes))
    except OSError as err:
        if err.errno != errno.ENOSPC:
            raise
    return filler


def fake_tool(folder: Path, name: str, body: str) -> Path:
    path = folder / name
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(0o755)
    return path


def real_tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise RuntimeError(f"{name} is not installed (deployments/install-system-packages.sh installs it)")
    return found


def env_without(key: str) -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != key}


# --- a verification killed while its scratch copy exists -------------------------------------

_HELD_VERIFICATION = """
import sys, time
from tasks.backup import database_restore
from tasks.backup.verify import verify_backup
from tasks.settings import get_settings

def held(connection):  # the scratch copy is restored and full: say where, then wait to be killed
    if hasattr(connection, "info"):
        where = connection.info.dbname
    else:
        where = connection.execute("PRAGMA database_list").fetchone()[2]
    print("SCRATCH", where, flush=True)
    time.sleep(600)

database_restore.fingerprint_postgresql = held
database_restore.fingerprint_sqlite = held
verify_backup(get_settings(), sys.argv[1])
"""


def start_held_verification(backup_id: str, log: Path, timeout: float = 120) -> tuple[subprocess.Popen[str], str]:
    """Start ``verify_backup`` in another process (settings from the environment) and return it
    once its scratch copy exists and holds the data, with the scratch's name (PostgreSQL) or file
    (SQLite). It then waits to be killed."""
    import select
    import sys
    import time

    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root)}
    process = subprocess.Popen([sys.executable, "-c", _HELD_VERIFICATION, backup_id], stdout=subprocess.PIPE,
                               stderr=log.open("w"), text=True, env=env)
    deadline = time.monotonic() + timeout
    assert process.stdout is not None
    while time.monotonic() < deadline:
        ready, _w, _x = select.select([process.stdout], [], [], 1)
        if ready:
            line = process.stdout.readline()
            if line.startswith("SCRATCH "):
                return process, line.split(" ", 1)[1].strip()
        if process.poll() is not None:
            break
    process.kill()
    process.wait()
    raise RuntimeError(f"the verification never reached its scratch copy: {log.read_text()[-2000:]}")


def scratch_exists(settings: Settings, scratch: str) -> bool:
    """Whether the scratch database (PostgreSQL) or scratch file (SQLite) is still there."""
    if settings.database.url.startswith("sqlite"):
        return Path(scratch).exists()
    import psycopg

    from tasks.backup.database import pg_target

    target = pg_target(settings.database.url).with_database("postgres")
    with psycopg.connect(target.conninfo(), password=target.password, autocommit=True) as connection:
        return connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (scratch,)).fetchone() is not None


def kill_hard(process: subprocess.Popen[str]) -> None:
    import signal

    if process.poll() is None:
        os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=30)


def wait_until_released(settings: Settings, scratch: str, timeout: float = 20) -> None:
    """After a kill: until PostgreSQL has seen the killed client go (no session on the scratch
    database, and its advisory lock, the 64-bit number of its name, released)."""
    if settings.database.url.startswith("sqlite"):
        return
    import time

    import psycopg

    from tasks.backup.database import pg_target

    suffix = scratch.rsplit("_", 1)[-1]
    key = int(suffix, 16) if len(suffix) == 16 else -1
    target = pg_target(settings.database.url).with_database("postgres")
    deadline = time.monotonic() + timeout
    with psycopg.connect(target.conninfo(), password=target.password, autocommit=True) as connection:
        while time.monotonic() < deadline:
            busy = connection.execute(
                "SELECT 1 FROM pg_stat_activity WHERE datname = %s UNION ALL SELECT 1 FROM pg_locks "
                "WHERE locktype = 'advisory' AND classid = %s AND objid = %s AND objsubid = 1",
                (scratch, key >> 32 if key >= 0 else -1, key & 0xFFFFFFFF if key >= 0 else -1)).fetchone()
            if busy is None:
                return
            time.sleep(0.1)
    raise RuntimeError(f"PostgreSQL still serves the killed client of {scratch} {timeout} s after the kill")
