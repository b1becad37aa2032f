"""Making a backup: the database dump, the document-store manifest and the files new since the
previous backup, in one folder per backup, with a checksum file and a row in the backups table.

The row goes running -> created here (failed on any error, its partial folder removed), and
verified or failed in ``tasks.backup.verify``. The database is dumped first and the store read
after: files are stored before their rows are committed, so every document row in the dump has
its file in the manifest.

The backups table is itself in the dump, as it was when the dump started (this backup's own row
says "running"); ``tasks.backup.restore`` reconciles it with the backup folders after a restore.
"""

from __future__ import annotations

import logging
import shutil
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from db.models import Backup, BackupStatus
from db.session import engine_for, session_scope
from tasks.backup import files as bf
from tasks.backup.database import DUMP_NAMES, database_kind, dump_database
from tasks.backup.scratch import drop_leftovers
from tasks.documents.store import sha256_file
from tasks.errors import BackupError
from tasks.settings import Settings

logger = logging.getLogger(__name__)
FORMAT = 1


@dataclass
class BackupOutcome:
    backup_id: str
    status: str
    parent_id: str | None = None
    size_bytes: int = 0
    database_bytes: int = 0
    file_count: int = 0
    store_bytes: int = 0
    new_file_count: int = 0
    new_bytes: int = 0
    invoice_count: int = 0
    duration_seconds: float = 0.0
    damaged: list[str] = field(default_factory=list)
    error: str | None = None
    scratch_dropped: list[str] = field(default_factory=list)  # left behind by killed verifications or restores

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class _Plan:
    entries: list[bf.FileEntry]
    to_copy: list[tuple[str, Path]]
    damaged: list[str]


def _engine(settings: Settings):  # type: ignore[no-untyped-def]
    return engine_for(settings.database.url, settings.database.echo)


def _fail_abandoned(settings: Settings, backup_dir: Path) -> None:
    """Rows left "running" by a run that stopped (we hold the lock, so none is running now)."""
    with session_scope(_engine(settings)) as session:
        for row in session.scalars(select(Backup).where(Backup.status == BackupStatus.RUNNING.value)):
            if Path(row.path).parent.resolve() != backup_dir.resolve():
                continue
            row.status, row.error = BackupStatus.FAILED.value, "abandoned: the run that made it stopped before finishing"
            shutil.rmtree(row.path, ignore_errors=True)
            logger.warning("backup %s was left unfinished by an earlier run; marked failed", row.id)


def _parent(settings: Settings, backup_dir: Path) -> tuple[str | None, dict[str, Any] | None, set[tuple[str, str]]]:
    """The newest intact backup to build on, its manifest, and chain copies known to be bad."""
    with session_scope(_engine(settings)) as session:
        rows = list(session.scalars(select(Backup).where(Backup.status != BackupStatus.PRUNED.value)
                                    .order_by(Backup.created_at.desc(), Backup.id.desc())))
    bad = {(item["in"], item["path"]) for row in rows for item in (row.details or {}).get("bad_files", [])}
    for row in rows:
        if row.status not in (BackupStatus.VERIFIED.value, BackupStatus.CREATED.value):
            continue
        try:
            return row.id, bf.read_manifest(backup_dir, row.id), bad
        except BackupError as err:
            logger.warning("not building on backup %s: %s", row.id, err)
    return None, None, bad


def _claim(settings: Settings, backup_dir: Path, kind: str, parent_id: str | None, flow_run_id: str | None) -> str:
    base = bf.new_backup_id()
    for attempt in range(1, 100):
        backup_id = base if attempt == 1 else f"{base}-{attempt}"
        folder = bf.backup_folder(backup_dir, backup_id)
        if folder.exists():
            continue
        try:
            with session_scope(_engine(settings)) as session:
                session.add(Backup(id=backup_id, status=BackupStatus.RUNNING.value, path=str(folder.resolve()),
                                   database_kind=kind, parent_id=parent_id,
                                   details={"flow_run_id": flow_run_id} if flow_run_id else {}))
        except IntegrityError:
            continue
        folder.mkdir(parents=True)
        return backup_id
    raise BackupError(f"cannot find a free backup id in {backup_dir}")


def plan_documents(root: Path, backup_dir: Path, backup_id: str, parent: dict[str, Any] | None,
                   bad: set[tuple[str, str]]) -> _Plan:
    """Which store files this backup points to in earlier backups and which it copies.

    A file whose path, size and sha256 match the parent's entry is not copied, unless that copy
    is missing or known to be bad. A content-addressed file whose bytes no longer match its name
    is damaged: the earlier good copy is kept if there is one, and it is reported either way.
    """
    previous = {e.path: e for e in bf.manifest_entries(parent)} if parent else {}
    entries, to_copy, damaged = [], [], []
    for relative, path, size in bf.store_files(root):
        old = previous.get(relative)
        promised = bf.expected_sha256(relative)
        if old is None:  # new: hashed while it is copied
            to_copy.append((relative, path))
            continue
        sha = sha256_file(path)
        reusable = ((old.stored_in, old.path) not in bad
                    and _has_size(bf.chain_path(backup_dir, old), old.size))
        if promised and sha != promised:
            if old.sha256 == promised and reusable:
                damaged.append(f"{relative}: the stored bytes no longer match their sha256; "
                               f"the backup keeps the good copy from backup {old.stored_in}")
                entries.append(old)
            else:
                damaged.append(f"{relative}: the stored bytes no longer match their sha256 (no good copy in the backups)")
                to_copy.append((relative, path))
        elif sha == old.sha256 and size == old.size and reusable:
            entries.append(old)
        else:
            to_copy.append((relative, path))
    return _Plan(entries, to_copy, damaged)


def _has_size(path: Path, size: int) -> bool:
    try:
        return path.stat().st_size == size
    except OSError:
        return False


def _check_space(folder: Path, needed: int) -> None:
    free = shutil.disk_usage(folder).free
    if needed > free:
        raise BackupError(f"not enough space in {folder.parent}: the new files need {needed / 1e6:.1f} MB, "
                          f"{free / 1e6:.1f} MB are free")


def make_backup(settings: Settings, flow_run_id: str | None = None) -> BackupOutcome:
    """Make one backup of the database and the document store; raises BackupError on failure."""
    backup_dir = Path(settings.backup.backup_dir or settings.data_dir / "backups")
    kind = database_kind(settings.database.url)
    with bf.backup_lock(backup_dir, "make a backup"):
        _fail_abandoned(settings, backup_dir)
        dropped = drop_leftovers(settings)
        parent_id, parent, bad = _parent(settings, backup_dir)
        backup_id = _claim(settings, backup_dir, kind, parent_id, flow_run_id)
        started = time.monotonic()
        try:
            outcome = _fill(settings, backup_dir, backup_id, kind, parent_id, parent, bad)
        except BaseException as err:
            message = _describe(err, backup_dir)
            shutil.rmtree(bf.backup_folder(backup_dir, backup_id), ignore_errors=True)
            _record_failure(settings, backup_id, message, time.monotonic() - started)
            if isinstance(err, Exception):
                raise BackupError(f"backup {backup_id} failed: {message}") from err
            raise
        outcome.duration_seconds = round(time.monotonic() - started, 3)
        outcome.scratch_dropped = dropped
        with session_scope(_engine(settings)) as session:
            row = session.get(Backup, backup_id)
            if row is not None:
                row.duration_seconds = outcome.duration_seconds
        return outcome


def _describe(err: BaseException, backup_dir: Path) -> str:
    text = str(err) or type(err).__name__
    if bf.is_no_space(err) or (err.__cause__ is not None and bf.is_no_space(err.__cause__)):
        return f"the backup folder {backup_dir} is full ({text})"
    return text


def _record_failure(settings: Settings, backup_id: str, message: str, seconds: float) -> None:
    try:
        with session_scope(_engine(settings)) as session:
            row = session.get(Backup, backup_id)
            if row is not None:
                row.status, row.error, row.duration_seconds = BackupStatus.FAILED.value, message, round(seconds, 3)
    except SQLAlchemyError as err:  # the database itself may be the problem; the log still says why
        logger.error("backup %s failed (%s) and could not be recorded: %s", backup_id, message, err)


def _fill(settings: Settings, backup_dir: Path, backup_id: str, kind: str, parent_id: str | None,
          parent: dict[str, Any] | None, bad: set[tuple[str, str]]) -> BackupOutcome:
    folder = bf.backup_folder(backup_dir, backup_id)
    dump_path = folder / DUMP_NAMES[kind]
    database = dump_database(settings.database.url, dump_path, settings.backup)
    plan = plan_documents(settings.documents_dir, backup_dir, backup_id, parent, bad)
    _check_space(folder, sum(p.stat().st_size for _rel, p in plan.to_copy))
    known: dict[str, str] = {}
    entries = list(plan.entries)
    for relative, source in plan.to_copy:
        sha, size = bf.copy_hashed(source, folder / bf.FILES / relative, durable=False)
        known[f"{bf.FILES}/{relative}"] = sha
        entries.append(bf.FileEntry(relative, size, sha, backup_id))
    bf.sync_filesystem(folder)  # every copy and the dump on disk before the manifest claims them
    entries.sort(key=lambda e: e.path)
    fingerprint = database["fingerprint"]
    manifest = {
        "format": FORMAT,
        "backup_id": backup_id,
        "parent_id": parent_id,
        "created_at": datetime.now(timezone.utc).isoformat(),
        "database": {"kind": kind, "file": dump_path.name, "size": dump_path.stat().st_size,
                     **{k: v for k, v in database.items() if k != "fingerprint"}},
        "source": {"tables": fingerprint},
        "documents": {"count": len(entries), "bytes": sum(e.size for e in entries),
                      "new_count": len(plan.to_copy), "new_bytes": sum(e.size for e in entries if e.stored_in == backup_id),
                      "damaged": plan.damaged},
        "files": [e.as_json() for e in entries],
    }
    bf.write_json(folder / bf.MANIFEST, manifest)
    archive_sha256 = bf.write_checksums(folder, known)
    outcome = BackupOutcome(
        backup_id=backup_id, status=BackupStatus.CREATED.value, parent_id=parent_id,
        size_bytes=bf.folder_size(folder), database_bytes=manifest["database"]["size"],
        file_count=len(entries), store_bytes=manifest["documents"]["bytes"], new_file_count=len(plan.to_copy),
        new_bytes=manifest["documents"]["new_bytes"],
        invoice_count=fingerprint.get("invoices", {}).get("rows", 0), damaged=plan.damaged,
    )
    with session_scope(_engine(settings)) as session:
        row = session.get(Backup, backup_id)
        if row is None:
            raise BackupError(f"the row of backup {backup_id} disappeared while it was being made")
        row.status, row.archive_sha256 = BackupStatus.CREATED.value, archive_sha256
        row.size_bytes, row.file_count, row.new_file_count = outcome.size_bytes, outcome.file_count, outcome.new_file_count
        row.invoice_count = outcome.invoice_count
        row.details = {**(row.details or {}), "database": manifest["database"], "documents": {
            k: v for k, v in manifest["documents"].items()}}
    logger.info("backup %s created: %d files (%d new), %.1f MB", backup_id, outcome.file_count,
                outcome.new_file_count, outcome.size_bytes / 1e6)
    return outcome


def list_backups(settings: Settings) -> list[dict[str, Any]]:
    """Every backup, newest first: the rows of the backups table, plus folders the table does not
    know (after the database was lost, the folders still say what can be restored)."""
    backup_dir = Path(settings.backup.backup_dir or settings.data_dir / "backups")
    found: dict[str, dict[str, Any]] = {}
    try:
        with session_scope(_engine(settings)) as session:
            for row in session.scalars(select(Backup)):
                found[row.id] = {
                    "id": row.id, "created_at": row.created_at.isoformat(), "status": row.status,
                    "size_bytes": row.size_bytes, "files": row.file_count, "new_files": row.new_file_count,
                    "invoices": row.invoice_count, "parent": row.parent_id,
                    "verified_at": row.verified_at.isoformat() if row.verified_at else None, "error": row.error,
                }
    except SQLAlchemyError as err:
        logger.warning("backups table not readable (%s); listing the backup folders only", err)
    if backup_dir.is_dir():
        for folder in sorted(backup_dir.iterdir()):
            if folder.name in found or not folder.is_dir() or not bf.BACKUP_ID.match(folder.name):
                continue
            try:
                manifest = bf.read_manifest(backup_dir, folder.name)
            except BackupError as err:
                found[folder.name] = {"id": folder.name, "status": "unreadable", "error": str(err)}
                continue
            verification = bf.read_verification(folder) or {}
            found[folder.name] = {
                "id": folder.name, "created_at": manifest.get("created_at"),
                "status": f"{verification.get('status', 'created')} (folder only)",
                "size_bytes": bf.folder_size(folder), "files": manifest.get("documents", {}).get("count"),
                "new_files": manifest.get("documents", {}).get("new_count"),
                "invoices": manifest.get("source", {}).get("tables", {}).get("invoices", {}).get("rows"),
                "parent": manifest.get("parent_id"), "verified_at": None, "error": None,
            }
    return sorted(found.values(), key=lambda b: b["id"], reverse=True)
