"""Proving a backup restores: check its checksum file, restore its dump into a scratch database
and compare every table's row count and checksum with the source as it was dumped, and check
every file of its manifest (in this backup or an earlier one of the chain) by sha256.

The outcome is recorded in the backups row (verified or failed, with the problems) and in the
folder's verification.json, so that it is known even when the database is lost.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from db.models import Backup, BackupStatus
from db.session import engine_for, session_scope
from tasks.backup import files as bf
from tasks.backup.database import compare_fingerprints
from tasks.backup.database_restore import fingerprint_of_dump
from tasks.backup.scratch import drop_leftovers
from tasks.documents.store import sha256_file
from tasks.errors import BackupError
from tasks.settings import Settings

logger = logging.getLogger(__name__)
SHOWN = 20  # problems listed one by one; the rest are counted


@dataclass
class VerificationOutcome:
    backup_id: str
    status: str
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    tables: int = 0
    rows: int = 0
    files_checked: int = 0
    bytes_checked: int = 0
    duration_seconds: float = 0.0
    bad_files: list[dict[str, str]] = field(default_factory=list)
    scratch_dropped: list[str] = field(default_factory=list)  # left behind by killed verifications or restores

    @property
    def verified(self) -> bool:
        return self.status == BackupStatus.VERIFIED.value

    def summary(self) -> str:
        if self.verified:
            return (f"backup {self.backup_id} verified: {self.tables} tables ({self.rows} rows) and "
                    f"{self.files_checked} files restore identically")
        shown = "; ".join(self.problems[:SHOWN])
        more = f"; and {len(self.problems) - SHOWN} more" if len(self.problems) > SHOWN else ""
        return f"backup {self.backup_id} FAILED verification: {shown}{more}"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _check_files(backup_dir: Path, manifest: dict[str, Any], outcome: VerificationOutcome) -> dict[str, str]:
    """Check every manifest file where the chain keeps it; returns path -> sha256 of the good ones."""
    good = {}
    for entry in bf.manifest_entries(manifest):
        path = bf.chain_path(backup_dir, entry)
        try:
            sha = sha256_file(path)
        except FileNotFoundError:
            problem = f"document file {entry.path} is missing from backup {entry.stored_in}"
        except OSError as err:
            problem = f"document file {entry.path} in backup {entry.stored_in} cannot be read: {err.strerror or err}"
        else:
            outcome.files_checked += 1
            outcome.bytes_checked += path.stat().st_size
            if sha == entry.sha256:
                good[entry.path] = sha
                continue
            problem = f"document file {entry.path} in backup {entry.stored_in} is damaged (sha256 differs)"
        outcome.problems.append(problem)
        outcome.bad_files.append({"in": entry.stored_in, "path": entry.path})
    return good


def _check_database(settings: Settings, folder: Path, manifest: dict[str, Any], good: dict[str, str],
                    outcome: VerificationOutcome) -> None:
    database = manifest.get("database") or {}
    kind, name = database.get("kind"), database.get("file")
    if kind is None or name is None:
        outcome.problems.append("the manifest does not say which database dump the backup holds")
        return
    try:
        restored, documents = fingerprint_of_dump(
            kind, folder / name, settings, int(database.get("tool_major") or 0),
            query="SELECT id, storage_path, sha256 FROM documents")
    except Exception as err:  # any failure to restore is the verdict, not a crash of the check
        outcome.problems.append(f"the database dump does not restore: {err}")
        return
    outcome.tables = len(restored)
    outcome.rows = sum(t["rows"] for t in restored.values())
    outcome.problems += compare_fingerprints(manifest.get("source", {}).get("tables", {}), restored)
    for document_id, storage_path, sha256 in documents:
        if good.get(storage_path) != sha256 and not any(storage_path == b["path"] for b in outcome.bad_files):
            outcome.warnings.append(f"document {document_id} ({storage_path}) has no file in the backup: "
                                    "it was missing from the document store when the backup was made")


def verify_backup(settings: Settings, backup_id: str) -> VerificationOutcome:
    """Verify one backup and record the outcome; returns it (a failed verification does not raise)."""
    backup_dir = Path(settings.backup.backup_dir or settings.data_dir / "backups")
    folder = bf.backup_folder(backup_dir, backup_id)
    engine = engine_for(settings.database.url, settings.database.echo)
    with session_scope(engine) as session:
        row = session.get(Backup, backup_id)
        if row is not None and row.status in (BackupStatus.RUNNING.value, BackupStatus.PRUNED.value):
            raise BackupError(f"backup {backup_id} is {row.status}; there is nothing to verify")
        archive_sha256 = row.archive_sha256 if row is not None else None
    if not folder.is_dir():
        raise BackupError(f"backup {backup_id}: folder {folder} does not exist")
    started = time.monotonic()
    outcome = VerificationOutcome(backup_id, BackupStatus.FAILED.value, scratch_dropped=drop_leftovers(settings))
    outcome.problems += bf.check_checksums(folder, archive_sha256)
    try:
        manifest = bf.read_manifest(backup_dir, backup_id)
    except BackupError as err:
        outcome.problems.append(str(err))
    else:
        good = _check_files(backup_dir, manifest, outcome)
        _check_database(settings, folder, manifest, good, outcome)
        outcome.warnings += [f"store file {d}" for d in manifest.get("documents", {}).get("damaged", [])]
    outcome.status = BackupStatus.FAILED.value if outcome.problems else BackupStatus.VERIFIED.value
    outcome.duration_seconds = round(time.monotonic() - started, 3)
    _record(settings, folder, outcome)
    if outcome.bad_files:
        _fail_dependents(settings, backup_dir, outcome)
    log = logger.info if outcome.verified else logger.error
    log("%s", outcome.summary())
    return outcome


def _record(settings: Settings, folder: Path, outcome: VerificationOutcome) -> None:
    now = datetime.now(timezone.utc)
    record = {"backup_id": outcome.backup_id, "status": outcome.status, "checked_at": now.isoformat(),
              "problems": outcome.problems, "warnings": outcome.warnings}
    try:
        bf.write_json(folder / bf.VERIFICATION, record)
    except OSError as err:
        outcome.problems.append(f"cannot write {bf.VERIFICATION}: {err.strerror or err}")
        outcome.status = BackupStatus.FAILED.value
    with session_scope(engine_for(settings.database.url, settings.database.echo)) as session:
        row = session.get(Backup, outcome.backup_id)
        if row is None:
            return
        row.status = outcome.status
        row.verified_at = now if outcome.verified else row.verified_at
        row.error = None if outcome.verified else outcome.summary()
        verification = {k: v for k, v in outcome.as_dict().items() if k != "bad_files"}
        verification["problems"] = outcome.problems[:SHOWN]
        row.details = {**(row.details or {}), "verification": verification, "bad_files": outcome.bad_files}


def _fail_dependents(settings: Settings, backup_dir: Path, outcome: VerificationOutcome) -> None:
    """Other backups pointing at a damaged copy no longer restore either: mark them failed."""
    bad = {(b["in"], b["path"]) for b in outcome.bad_files}
    with session_scope(engine_for(settings.database.url, settings.database.echo)) as session:
        rows = session.query(Backup).filter(
            Backup.status.in_([BackupStatus.VERIFIED.value, BackupStatus.CREATED.value]), Backup.id != outcome.backup_id)
        for row in rows:
            try:
                entries = bf.manifest_entries(bf.read_manifest(backup_dir, row.id))
            except BackupError:
                continue
            hit = next((e for e in entries if (e.stored_in, e.path) in bad), None)
            if hit is not None:
                row.status = BackupStatus.FAILED.value
                row.error = (f"document file {hit.path} in backup {hit.stored_in} is damaged "
                             f"(found while verifying backup {outcome.backup_id})")
                logger.error("backup %s: %s", row.id, row.error)
                try:
                    bf.write_json(bf.backup_folder(backup_dir, row.id) / bf.VERIFICATION, {
                        "backup_id": row.id, "status": row.status, "problems": [row.error],
                        "checked_at": datetime.now(timezone.utc).isoformat(), "warnings": []})
                except OSError as err:
                    logger.warning("backup %s: cannot write %s: %s", row.id, bf.VERIFICATION, err)
