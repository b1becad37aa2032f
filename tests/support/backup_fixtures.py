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
