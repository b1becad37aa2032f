"""The on-disk layout of backups: one folder per backup, a manifest, a checksum file.

    <backup_dir>/<id>/database.dump | database.sqlite3   the database
    <backup_dir>/<id>/files/<path>                         document-store files new in this backup
    <backup_dir>/<id>/manifest.json                        every store file: path, size, sha256 and
                                                           the backup whose files/ holds its bytes
    <backup_dir>/<id>/SHA256SUMS                           sha256 of every file above (`sha256sum -c`)
    <backup_dir>/<id>/verification.json                    the latest verification's outcome

A backup's manifest names every file of the store, so a chain of backups restores everything
while each backup copies only what changed. Everything is readable without the database.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from tasks.documents.store import (
    CHUNK,
    path_in_store,
    relative_path_for,
    sha256_file,
    write_atomically,
)
from tasks.errors import BackupError

MANIFEST = "manifest.json"
CHECKSUMS = "SHA256SUMS"
VERIFICATION = "verification.json"
FILES = "files"
LOCK = ".backup.lock"
# What a backup folder is called: its creation time in UTC (a suffix when two share a second).
BACKUP_ID = re.compile(r"^\d{8}T\d{6}Z(-\d+)?$")
_SHA = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class FileEntry:
    path: str  # inside the document store, posix separators
    size: int
    sha256: str
    stored_in: str  # id of the backup whose files/ folder holds the bytes

    def as_json(self) -> dict[str, Any]:
        return {"path": self.path, "size": self.size, "sha256": self.sha256, "in": self.stored_in}


def new_backup_id(now: datetime | None = None) -> str:
    return (now or datetime.now(timezone.utc)).astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def backup_folder(backup_dir: Path, backup_id: str) -> Path:
    if not BACKUP_ID.match(backup_id):
        raise BackupError(f"{backup_id!r} is not a backup id (they look like 20250131T020000Z)")
    return Path(backup_dir) / backup_id


def chain_path(backup_dir: Path, entry: FileEntry) -> Path:
    return backup_folder(backup_dir, entry.stored_in) / FILES / entry.path


def is_no_space(err: BaseException) -> bool:
    if isinstance(err, OSError) and err.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    return any(sign in str(err) for sign in ("No space left", "disk is full", "Disk quota exceeded"))


# --- JSON files ------------------------------------------------------------------------------

def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write atomically (temporary file, fsync, rename)."""
    write_atomically(path, json.dumps(data, indent=1, sort_keys=True, default=str).encode("utf-8"))


def read_manifest(backup_dir: Path, backup_id: str) -> dict[str, Any]:
    path = backup_folder(backup_dir, backup_id) / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise BackupError(f"backup {backup_id}: {path} does not exist") from err
    except (OSError, ValueError) as err:
        raise BackupError(f"backup {backup_id}: cannot read {path}: {err}") from err
    if not isinstance(manifest, dict) or manifest.get("backup_id") != backup_id or not isinstance(manifest.get("files"), list):
        raise BackupError(f"backup {backup_id}: {path} is not the manifest of this backup")
    return manifest


def manifest_entries(manifest: dict[str, Any]) -> list[FileEntry]:
    try:
        return [FileEntry(e["path"], int(e["size"]), e["sha256"], e["in"]) for e in manifest["files"]]
    except (KeyError, TypeError, ValueError) as err:
        raise BackupError(f"backup {manifest.get('backup_id')}: malformed file entry in its manifest ({err})") from err


def dependencies(manifest: dict[str, Any]) -> set[str]:
    """The other backups whose files/ folders this backup's manifest points into."""
    own = manifest["backup_id"]
    return {e.stored_in for e in manifest_entries(manifest)} - {own}


def read_verification(folder: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((folder / VERIFICATION).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


# --- hashing, copying, checksums -------------------------------------------------------------

def sync_filesystem(folder: Path) -> None:
    """Flush everything written to the file system of ``folder`` to disk (one syncfs, not one fsync per file)."""
    import ctypes

    fd = os.open(folder, os.O_RDONLY)
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.syncfs(fd) != 0:
            raise OSError(ctypes.get_errno(), f"syncfs {folder}")
    except AttributeError:
        os.sync()
    finally:
        os.close(fd)


def copy_hashed(source: Path, target: Path, durable: bool = True) -> tuple[str, int]:
    """Copy ``source`` to ``target`` atomically; returns the sha256 and size copied. Not
    ``durable``: the caller flushes many copies at once with ``sync_filesystem``."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(dir=target.parent, prefix=".copying-")
    digest, size = hashlib.sha256(), 0
    try:
        with os.fdopen(handle, "wb") as out, source.open("rb") as src:
            while chunk := src.read(CHUNK):
                digest.update(chunk)
                out.write(chunk)
                size += len(chunk)
            out.flush()
            if durable:
                os.fsync(out.fileno())
        os.replace(name, target)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
    return digest.hexdigest(), size


def store_files(root: Path) -> Iterator[tuple[str, Path, int]]:
    """(relative path, absolute path, size) of every regular file of the document store, sorted.

    Half-written files (the store's and our own temporary names) and symbolic links are left out.
    """
    root = Path(root)
    if not root.exists():
        return
    for directory, subdirs, names in os.walk(root):
        subdirs.sort()
        for name in sorted(names):
            if name.startswith((".incoming-", ".copying-")):
                continue
            path = Path(directory) / name
            if path.is_symlink() or not path.is_file():
                continue
            yield path.relative_to(root).as_posix(), path, path.stat().st_size


def expected_sha256(relative: str) -> str | None:
    """The sha256 a content-addressed store path promises (``aa/bb/<sha256>``), if it is one."""
    name = relative.rsplit("/", 1)[-1]
    return name if _SHA.match(name) and relative == relative_path_for(name) else None


def target_in_store(root: Path, relative: str) -> Path:
    return path_in_store(root, relative)


def write_checksums(folder: Path, known: dict[str, str]) -> str:
    """Write SHA256SUMS for every file in ``folder`` (hashing only those not in ``known``);
    returns the sha256 of SHA256SUMS itself, the fingerprint of the whole backup."""
    lines = []
    for relative, path, _size in store_files(folder):
        if relative in (CHECKSUMS, VERIFICATION) or relative.startswith("."):
            continue
        lines.append(f"{known.get(relative) or sha256_file(path)}  {relative}\n")
    data = "".join(lines).encode()
    write_atomically(folder / CHECKSUMS, data)
    return hashlib.sha256(data).hexdigest()


def check_checksums(folder: Path, expected_archive_sha256: str | None = None) -> list[str]:
    """Every problem with the folder against its SHA256SUMS (an empty list: all intact)."""
    try:
        data = (folder / CHECKSUMS).read_bytes()
    except OSError as err:
        return [f"{folder / CHECKSUMS} cannot be read: {err.strerror or err}"]
    problems = []
    if expected_archive_sha256 and hashlib.sha256(data).hexdigest() != expected_archive_sha256:
        problems.append(f"{CHECKSUMS} differs from the one written when the backup was made")
    listed: dict[str, str] = {}
    for number, line in enumerate(data.decode("utf-8", "replace").splitlines(), 1):
        digest, sep, relative = line.partition("  ")
        if not sep or not _SHA.match(digest):
            problems.append(f"{CHECKSUMS} line {number} is malformed")
            continue
        listed[relative] = digest
    present = {rel: path for rel, path, _ in store_files(folder)
               if rel not in (CHECKSUMS, VERIFICATION) and not rel.startswith(".")}
    for relative, digest in sorted(listed.items()):
        path = present.get(relative)
        if path is None:
            problems.append(f"{relative} is missing")
        elif sha256_file(path) != digest:
            problems.append(f"{relative} is damaged (its sha256 differs from {CHECKSUMS})")
    problems += [f"{relative} is not listed in {CHECKSUMS}" for relative in sorted(set(present) - set(listed))]
    return problems


def folder_size(folder: Path) -> int:
    return sum(size for _rel, _path, size in store_files(folder))


@contextmanager
def backup_lock(backup_dir: Path, action: str) -> Iterator[None]:
    """Hold the backup folder's lock (one backup, prune or restore at a time on this machine)."""
    Path(backup_dir).mkdir(parents=True, exist_ok=True)
    with open(Path(backup_dir) / LOCK, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as err:
            raise BackupError(f"cannot {action}: another backup, prune or restore is running on {backup_dir}") from err
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
