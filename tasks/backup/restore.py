"""Restoring a backup: its document files (from wherever in the chain they are kept) into a
document store, and its database dump into a target database, which is then migrated to the
code's schema and has its backups table reconciled with the backup folders.

A target that holds data (rows in any table, or files in the store) is refused unless
``force`` is given. Nothing is touched before the backup's own checksums are confirmed, and
the database is replaced only once every document file has been restored and checked.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import select

from db.models import Backup, BackupStatus
from db.session import engine_for, make_engine, session_scope
from tasks.backup import files as bf
from tasks.backup.database import database_kind, describe_url, sqlite_path
from tasks.backup.database_restore import restore_database, restoring_path, tables_with_rows
from tasks.backup.scratch import file_scratch
from tasks.documents.store import path_in_store, sha256_file
from tasks.errors import BackupError
from tasks.settings import Settings

logger = logging.getLogger(__name__)


@dataclass
class RestoreOutcome:
    backup_id: str
    target: str
    documents_dir: str
    files_restored: int = 0
    files_already_present: int = 0
    extra_files_left: int = 0
    schema_revision: str | None = None
    duration_seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def restore_backup(settings: Settings, backup_id: str, target_url: str | None = None,
                   documents_dir: str | Path | None = None, force: bool = False) -> RestoreOutcome:
    backup_dir = Path(settings.backup.backup_dir or settings.data_dir / "backups")
    target_url = target_url or settings.database.url
    documents = Path(documents_dir or settings.documents_dir)
    started = time.monotonic()
    outcome = RestoreOutcome(backup_id, describe_url(target_url), str(documents))
    with bf.backup_lock(backup_dir, f"restore backup {backup_id}"):
        folder = bf.backup_folder(backup_dir, backup_id)
        manifest = bf.read_manifest(backup_dir, backup_id)
        problems = bf.check_checksums(folder)
        if problems:
            raise BackupError(f"backup {backup_id} is damaged, nothing was restored: {'; '.join(problems[:5])}; "
                              "restore an earlier backup")
        entries = bf.manifest_entries(manifest)
        missing = [f"{e.path} (in backup {e.stored_in})" for e in entries
                   if not _has_size(bf.chain_path(backup_dir, e), e.size)]
        if missing:
            raise BackupError(f"backup {backup_id} cannot be restored, nothing was restored: {len(missing)} document "
                              f"files of its chain are missing or truncated: {', '.join(missing[:5])}")
        _refuse_non_empty(target_url, documents, force)
        engine_for(target_url).dispose()
        temporary = [restoring_path(sqlite_path(target_url))] if database_kind(target_url) == "sqlite" else []
        with file_scratch(backup_dir, "restore", temporary, documents):  # what a kill here leaves is found
            _restore_documents(backup_dir, entries, documents, outcome)
            database = manifest["database"]
            restore_database(database["kind"], folder / database["file"], target_url, settings.backup,
                             int(database.get("tool_major") or 0))
        engine_for(target_url).dispose()
        from db.migrate import current_revision, upgrade

        upgrade(target_url)
        outcome.schema_revision = current_revision(target_url)
        reconcile_backups(target_url, backup_dir, backup_id)
    outcome.duration_seconds = round(time.monotonic() - started, 3)
    logger.info("backup %s restored into %s and %s", backup_id, outcome.target, documents)
    return outcome


def _has_size(path: Path, size: int) -> bool:
    try:
        return path.stat().st_size == size
    except OSError:
        return False


def _refuse_non_empty(target_url: str, documents: Path, force: bool) -> None:
    tables = tables_with_rows(target_url)
    files = sum(1 for _ in bf.store_files(documents))
    if (tables or files) and not force:
        what = []
        if tables:
            what.append(f"database {describe_url(target_url)} has rows in {', '.join(tables)}")
        if files:
            what.append(f"document store {documents} holds {files} files")
        raise BackupError(f"refusing to restore into a target that is not empty: {'; '.join(what)}. "
                          "Pass --force to replace the database (files already in the store are kept)")


def _restore_documents(backup_dir: Path, entries: list[bf.FileEntry], documents: Path, outcome: RestoreOutcome) -> None:
    wanted = {e.path for e in entries}
    failures = []
    for entry in entries:
        target = path_in_store(documents, entry.path)
        if _has_size(target, entry.size) and sha256_file(target) == entry.sha256:
            outcome.files_already_present += 1
            continue
        try:
            sha, _size = bf.copy_hashed(bf.chain_path(backup_dir, entry), target)
        except OSError as err:
            failures.append(f"{entry.path}: {err.strerror or err}")
            continue
        if sha != entry.sha256:
            target.unlink(missing_ok=True)
            failures.append(f"{entry.path}: the copy in backup {entry.stored_in} is damaged")
            continue
        outcome.files_restored += 1
    outcome.extra_files_left = sum(1 for rel, _p, _s in bf.store_files(documents) if rel not in wanted)
    if failures:
        raise BackupError(f"{len(failures)} document files could not be restored, so the database was left as it "
                          f"was: {'; '.join(failures[:5])}")


def reconcile_backups(target_url: str, backup_dir: Path, restored_id: str) -> None:
    """Make the restored backups table describe the backup folders as they are now.

    The dump holds the table as it was when the dump started: its own backup "running", none
    of the later backups, and earlier ones that may have been pruned since. The folders (their
    manifests and verification.json) are the truth about what exists and what was proven.
    """
    on_disk = {}
    for folder in sorted(Path(backup_dir).iterdir()):
        if folder.is_dir() and bf.BACKUP_ID.match(folder.name):
            try:
                on_disk[folder.name] = (folder, bf.read_manifest(backup_dir, folder.name), bf.read_verification(folder))
            except BackupError as err:
                logger.warning("after restore: %s", err)
    engine = make_engine(target_url)
    try:
        with session_scope(engine) as session:
            rows = {row.id: row for row in session.scalars(select(Backup))}
            for backup_id, (folder, manifest, verification) in sorted(on_disk.items()):
                row = rows.get(backup_id)
                if row is None:
                    row = Backup(id=backup_id, created_at=datetime.fromisoformat(manifest["created_at"]))
                    session.add(row)
                    rows[backup_id] = row
                _describe_from_disk(row, folder, manifest, verification, rows)
                session.flush()
            for backup_id, row in rows.items():
                if backup_id not in on_disk and row.status != BackupStatus.FAILED.value:
                    if row.status != BackupStatus.PRUNED.value:
                        row.error = f"its folder was gone when backup {restored_id} was restored"
                    row.status = BackupStatus.PRUNED.value if row.status != BackupStatus.RUNNING.value else BackupStatus.FAILED.value
            restored = rows.get(restored_id)
            if restored is not None:
                restored.details = {**(restored.details or {}), "restored_at": datetime.now(timezone.utc).isoformat()}
    finally:
        engine.dispose()


def _describe_from_disk(row: Backup, folder: Path, manifest: dict[str, Any], verification: dict[str, Any] | None,
                        rows: dict[str, Backup]) -> None:
    import hashlib

    status = (verification or {}).get("status")
    row.status = status if status in (BackupStatus.VERIFIED.value, BackupStatus.FAILED.value) else BackupStatus.CREATED.value
    problems = (verification or {}).get("problems", [])[:3]
    row.error = ("; ".join(problems) or None) if row.status == BackupStatus.FAILED.value else None
    if row.status == BackupStatus.VERIFIED.value and verification and verification.get("checked_at"):
        row.verified_at = datetime.fromisoformat(verification["checked_at"])
    row.path = str(folder.resolve())
    row.database_kind = manifest["database"]["kind"]
    parent = manifest.get("parent_id")
    row.parent_id = parent if parent in rows else None
    documents = manifest.get("documents", {})
    row.file_count, row.new_file_count = documents.get("count"), documents.get("new_count")
    row.invoice_count = manifest.get("source", {}).get("tables", {}).get("invoices", {}).get("rows")
    row.size_bytes = bf.folder_size(folder)
    try:
        row.archive_sha256 = hashlib.sha256((folder / bf.CHECKSUMS).read_bytes()).hexdigest()
    except OSError:
        row.archive_sha256 = None
