"""The content-addressed document store: every file lives at <root>/<aa>/<bb>/<sha256>.

Names given by senders never reach the file system; they are kept only in the database.
Writes are atomic (temporary file, fsync, rename), so a crash never leaves half a document.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tasks.errors import StorageError

CHUNK = 1 << 20


@dataclass(frozen=True)
class StoredFile:
    sha256: str
    relative_path: str
    size_bytes: int
    created: bool  # False when the same bytes were already stored


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def relative_path_for(sha256: str) -> str:
    return f"{sha256[:2]}/{sha256[2:4]}/{sha256}"


def path_in_store(root: Path, relative_path: str) -> Path:
    """The absolute path of a stored file; refuses anything that would leave the store."""
    root = root.resolve()
    target = (root / relative_path).resolve()
    if not target.is_relative_to(root):
        raise StorageError(f"path {relative_path!r} points outside the document store {root}")
    return target


def write_atomically(target: Path, data: bytes) -> None:
    """Write ``data`` to ``target`` so that a crash leaves the old file or the new one, never half
    of it: a temporary file beside it, fsync, rename."""
    handle, temp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name[:40]}.")
    try:
        with os.fdopen(handle, "wb") as temp:
            temp.write(data)
            temp.flush()
            os.fsync(temp.fileno())
        os.replace(temp_name, target)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    fsync_directory(target.parent)  # the rename itself survives a crash only once its folder is synced


def fsync_directory(folder: Path) -> None:
    """Make the entries of ``folder`` (new files, renames) durable."""
    descriptor = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def store_bytes(root: Path, data: bytes) -> StoredFile:
    """Store ``data`` once under its sha256; storing the same bytes again writes nothing."""
    sha256 = sha256_bytes(data)
    relative = relative_path_for(sha256)
    target = path_in_store(root, relative)
    if target.exists() and target.stat().st_size == len(data):
        return StoredFile(sha256, relative, len(data), created=False)
    try:
        new_folders = [folder for folder in (target.parent.parent, target.parent) if not folder.exists()]
        target.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(target, data)
        for folder in new_folders:
            fsync_directory(folder.parent)
    except OSError as err:
        raise StorageError(f"could not store document {sha256[:12]} in {root}: {err}") from err
    return StoredFile(sha256, relative, len(data), created=True)


def read_stored(root: Path, relative_path: str) -> bytes:
    try:
        return path_in_store(root, relative_path).read_bytes()
    except OSError as err:
        raise StorageError(f"could not read stored document {relative_path} from {root}: {err}") from err
