"""Scratch copies of the data that verification and restore make, and dropping the ones a
killed run left behind (every backup run and every `invoices backups verify` looks for them).

A scratch is dropped only when it is provably one of ours and provably dead:

* PostgreSQL: a database named ``invoices_verify_<16 hex>`` owned by the connecting role, whose
  advisory lock (the 64-bit number of its name) no session holds. A verification takes that
  lock before ``CREATE DATABASE`` and keeps the connection that holds it open until after
  ``DROP DATABASE``; when the process dies its connection closes and PostgreSQL releases the
  lock. The lock is looked up in ``pg_locks``, which covers the whole server, so a verification
  connected through another database (``INVOICES_BACKUP__SCRATCH_URL``) counts as well. A name
  of the earlier form (``invoices_verify_<8 hex>``, made before the lock existed) is dropped when
  no session at all is connected to it.
* Files: a folder ``<backup_dir>/.scratch/<verify|restore>-<16 hex>/`` whose ``lock`` file its run
  holds with ``flock`` (released by the kernel when the process dies). A verification keeps its
  SQLite copy inside; a restore lists there the temporary files it writes beside its targets
  (``.<name>.restoring`` next to a SQLite database, ``.copying-*`` in the document store), and
  only names of those forms are removed.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from tasks.backup.database import PgTarget, database_kind, first_line, pg_target
from tasks.errors import BackupError
from tasks.settings import Settings

logger = logging.getLogger(__name__)

SCRATCH = ".scratch"
LOCK = "lock"
RECORD = "scratch.json"
PG_PREFIX = "invoices_verify_"
PG_NAME = re.compile(r"^invoices_verify_([0-9a-f]{16})$")
PG_LEGACY_NAME = re.compile(r"^invoices_verify_[0-9a-f]{8}$")
FOLDER_NAME = re.compile(r"^(verify|restore)-[0-9a-f]{16}$")
RESTORING = re.compile(r"^\..+\.restoring$")
COPYING = ".copying-"


def backup_dir_of(settings: Settings) -> Path:
    return Path(settings.backup.backup_dir or settings.data_dir / "backups")


# --- PostgreSQL scratch databases --------------------------------------------------------------

def new_scratch_name() -> str:
    return f"{PG_PREFIX}{os.urandom(8).hex()}"


def lock_key(name: str) -> int:
    """The advisory lock of a scratch database: the 64-bit number of its name, as a signed bigint."""
    match = PG_NAME.match(name)
    if match is None:
        raise BackupError(f"{name!r} is not the name of a scratch database")
    value = int(match.group(1), 16)
    return value - (1 << 64) if value >= 1 << 63 else value


def admin_target(settings: Settings) -> PgTarget:
    """Where scratch databases are created from and dropped: INVOICES_BACKUP__SCRATCH_URL, or the
    `postgres` database of the backed-up server."""
    admin = pg_target(settings.backup.scratch_url or settings.database.url)
    return admin if settings.backup.scratch_url else admin.with_database("postgres")


def claim_scratch_database(connection: psycopg.Connection, name: str) -> None:
    """Take the scratch's lock on ``connection`` (kept open while the scratch exists), then create it."""
    connection.execute("SELECT pg_advisory_lock(%s)", (lock_key(name),))
    connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def _in_use(connection: psycopg.Connection, name: str) -> bool:
    if PG_LEGACY_NAME.match(name):
        return connection.execute("SELECT 1 FROM pg_stat_activity WHERE datname = %s", (name,)).fetchone() is not None
    key = lock_key(name) % (1 << 64)
    held = connection.execute(
        "SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND classid = %s AND objid = %s AND objsubid = 1",
        (key >> 32, key & 0xFFFFFFFF)).fetchone()
    return held is not None


def drop_dead_databases(target: PgTarget) -> list[str]:
    dropped = []
    with target.connect(autocommit=True) as connection:
        names = [r[0] for r in connection.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE 'invoices\\_verify\\_%%' "
            "AND pg_get_userbyid(datdba) = current_user ORDER BY datname")]
        for name in names:
            if not (PG_NAME.match(name) or PG_LEGACY_NAME.match(name)):
                continue
            if _in_use(connection, name):
                logger.info("scratch database %s belongs to a verification still running; kept", name)
                continue
            try:
                connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
            except psycopg.Error as err:
                dropped.append(f"could not drop the scratch database {name}: {first_line(err)}")
                continue
            dropped.append(f"dropped the scratch database {name} left by a verification that stopped "
                           "(no running verification holds its lock)")
    return dropped


# --- scratch folders -----------------------------------------------------------------------------

@dataclass
class FileScratch:
    """A scratch folder held by this process; ``paths`` are temporary files outside it."""

    folder: Path
    paths: list[str] = field(default_factory=list)
    documents_dir: str | None = None


@contextmanager
def file_scratch(backup_dir: Path, kind: str, paths: list[Path] | None = None,
                 documents_dir: Path | None = None) -> Iterator[FileScratch]:
    """A scratch folder under ``<backup_dir>/.scratch`` locked for as long as the block runs, and
    removed with the temporary files it names when the block ends."""
    root = Path(backup_dir) / SCRATCH
    root.mkdir(parents=True, exist_ok=True)
    name = f"{kind}-{os.urandom(8).hex()}"
    building = root / f".new-{name}"  # its final name only once it is locked: never seen unlocked
    building.mkdir()
    handle = open(building / LOCK, "a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX)
        scratch = FileScratch(root / name, [str(p) for p in paths or []], str(documents_dir) if documents_dir else None)
        record = {"kind": kind, "pid": os.getpid(), "created_at": datetime.now(timezone.utc).isoformat(),
                  "paths": scratch.paths, "documents_dir": scratch.documents_dir}
        (building / RECORD).write_text(json.dumps(record, indent=1))
        os.rename(building, scratch.folder)
        try:
            yield scratch
        finally:
            _remove(scratch.folder, scratch.paths, None)
    finally:
        handle.close()
        shutil.rmtree(building, ignore_errors=True)


def _remove(folder: Path, paths: list[str], documents_dir: str | None) -> list[str]:
    """Remove the scratch folder and the temporary files it names; returns what was removed."""
    removed = []
    for path in map(Path, paths):
        if RESTORING.match(path.name) and path.exists():
            path.unlink(missing_ok=True)
            removed.append(str(path))
    if documents_dir:
        for directory, _subdirs, names in os.walk(documents_dir):
            for name in names:
                if name.startswith(COPYING):
                    (Path(directory) / name).unlink(missing_ok=True)
                    removed.append(str(Path(directory) / name))
    shutil.rmtree(folder, ignore_errors=True)
    return removed


def _read_record(folder: Path) -> dict[str, Any]:
    try:
        record = json.loads((folder / RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}


def drop_dead_folders(backup_dir: Path) -> list[str]:
    root = Path(backup_dir) / SCRATCH
    if not root.is_dir():
        return []
    dropped = []
    for folder in sorted(root.iterdir()):
        if not (folder.is_dir() and FOLDER_NAME.match(folder.name)):
            continue
        try:
            handle = open(folder / LOCK, "a+")
        except OSError as err:
            dropped.append(f"could not check the scratch folder {folder}: {err.strerror or err}")
            continue
        with handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                logger.info("scratch folder %s belongs to a run still going; kept", folder)
                continue
            record = _read_record(folder)
            size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
            removed = _remove(folder, list(record.get("paths") or []), record.get("documents_dir"))
        what = "verification" if folder.name.startswith("verify") else "restore"
        extra = f" and {', '.join(removed)}" if removed else ""
        dropped.append(f"removed the scratch folder {folder} ({size / 1e6:.1f} MB) left by a {what} "
                       f"that stopped{extra}")
    return dropped


# --- both ----------------------------------------------------------------------------------------

def drop_leftovers(settings: Settings) -> list[str]:
    """Drop every scratch database and folder a killed verification or restore left behind; one
    line per thing dropped (or that could not be), for the run's summary. Never raises."""
    lines: list[str] = []
    try:
        lines += drop_dead_folders(backup_dir_of(settings))
    except OSError as err:
        lines.append(f"could not look for leftover scratch folders: {err.strerror or err}")
    try:
        if database_kind(settings.database.url) == "postgresql":
            lines += drop_dead_databases(admin_target(settings))
    except (BackupError, psycopg.Error) as err:
        lines.append(f"could not look for leftover scratch databases: {first_line(err)}")
    for line in lines:
        logger.warning("%s", line)
    return lines
