"""The drop folder: find files that are ready, claim them, and file them away afterwards.

Layout inside the inbox folder:
    <inbox>/...            files and sub-folders people drop
    <inbox>/.work/<id>/    a file claimed by a run (a crashed run's claims are taken again)
    <inbox>/processed/<date>/
    <inbox>/quarantine/<date>/   with <name>.reason.txt beside each file

Claiming is an atomic rename, so two runs never take the same file. Symbolic links are never
followed: a link is quarantined as itself, and so is anything else that is not a regular file (a
named pipe, a socket, a device), which is never opened. A file whose intake fails is put back for
the next run, and quarantined once it has failed the same way ``MAX_FAILURES`` times (counted in
``<inbox>/.work/.failures.json``, which outlives the runs).
"""

from __future__ import annotations

import errno
import fcntl
import json
import logging
import os
import stat
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from tasks.errors import ConfigurationError, RejectedDocument, StorageError

logger = logging.getLogger(__name__)

WORK_DIR = ".work"
PROCESSED_DIR = "processed"
QUARANTINE_DIR = "quarantine"
RESERVED = {WORK_DIR, PROCESSED_DIR, QUARANTINE_DIR}
MAX_COMPONENT_BYTES = 200
MAX_FAILURES = 3
FAILURES_FILE = ".failures.json"
FORGET_FAILURES_AFTER_SECONDS = 30 * 24 * 3600


@dataclass(frozen=True)
class ClaimedFile:
    path: Path  # <inbox>/.work/<id>/<original name>
    original_name: str  # path relative to the inbox, as the user dropped it

    @property
    def is_symlink(self) -> bool:
        return self.path.is_symlink()

    @property
    def shown(self) -> str:
        """The name as logs, artifacts and the database show it (stray bytes escaped, losslessly)."""
        from tasks.documents.intake import shown_name

        return shown_name(self.original_name)


def safe_text(text: str) -> str:
    """``text`` with any byte of a file name that was not UTF-8 written as ``\\xff``."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


# System clutter and files that are still being written by another program.
IGNORED_NAMES = {".ds_store", "thumbs.db", "desktop.ini"}
IGNORED_PREFIXES = ("._", ".~lock.", "~$")
IGNORED_SUFFIXES = (".part", ".partial", ".crdownload", ".download", ".tmp", ".swp")


def is_ignored(name: str) -> bool:
    lowered = name.lower()
    return lowered in IGNORED_NAMES or lowered.startswith(IGNORED_PREFIXES) or lowered.endswith(IGNORED_SUFFIXES)


def ensure_layout(inbox: Path) -> None:
    for name in ("", WORK_DIR, PROCESSED_DIR, QUARANTINE_DIR):
        (inbox / name).mkdir(parents=True, exist_ok=True)


def _dropped(inbox: Path) -> Iterator[tuple[Path, float]]:
    """Every file people dropped under ``inbox`` (not in its reserved folders, not hidden), with
    its modification time."""
    for directory, subdirs, files in os.walk(inbox, followlinks=False):
        here = Path(directory)
        if here == inbox:
            subdirs[:] = [d for d in subdirs if d not in RESERVED]
        subdirs[:] = sorted(d for d in subdirs if not d.startswith("."))
        for name in sorted(files):
            if is_ignored(name):
                continue
            path = here / name
            try:
                yield path, path.lstat().st_mtime
            except FileNotFoundError:
                continue


def ready_files(inbox: Path, settle_seconds: float) -> list[Path]:
    """Files under ``inbox`` (not in its reserved folders, not hidden) unchanged for ``settle_seconds``."""
    now = time.time()
    return [path for path, modified in _dropped(inbox) if now - modified >= settle_seconds]


def seconds_until_settled(inbox: Path, settle_seconds: float) -> float | None:
    """How long until the next file still settling becomes ready; None when none is settling."""
    now = time.time()
    waits = [modified + settle_seconds - now for _, modified in _dropped(inbox)]
    pending = [wait for wait in waits if wait > 0]
    return min(pending) if pending else None


def claim(inbox: Path, path: Path) -> ClaimedFile | None:
    """Move ``path`` into a private work folder; None when another run took it first."""
    original = path.relative_to(inbox).as_posix()
    slot = inbox / WORK_DIR / uuid.uuid4().hex
    slot.mkdir(parents=True)
    target = slot / path.name
    try:
        os.rename(path, target)
    except FileNotFoundError:
        slot.rmdir()
        return None
    (slot / ".name").write_text(original, encoding="utf-8", errors="surrogateescape")
    return ClaimedFile(target, original)


def abandoned_claims(inbox: Path, older_than_seconds: float = 600) -> list[ClaimedFile]:
    """Claims left by a run that crashed (older than ``older_than_seconds``)."""
    claims: list[ClaimedFile] = []
    work = inbox / WORK_DIR
    if not work.is_dir():
        return claims
    now = time.time()
    for slot in sorted(work.iterdir()):
        if not slot.is_dir() or now - slot.stat().st_mtime < older_than_seconds:
            continue
        name_file = slot / ".name"
        entries = [p for p in slot.iterdir() if p.name != ".name"]
        if not entries:
            name_file.unlink(missing_ok=True)
            slot.rmdir()
            continue
        original = name_file.read_text(encoding="utf-8", errors="surrogateescape") if name_file.exists() else entries[0].name
        claims.append(ClaimedFile(entries[0], original))
    return claims


def _fit(name: str) -> str:
    """Shorten a file name so that suffixes added here stay within file-system limits."""
    encoded = name.encode("utf-8", errors="surrogateescape")
    if len(encoded) <= MAX_COMPONENT_BYTES:
        return name
    stem, dot, ext = name.rpartition(".")
    ext = ext[:16] if dot else ""
    keep = encoded[: MAX_COMPONENT_BYTES - len(ext) - 12].decode("utf-8", errors="ignore")
    return f"{keep}~{uuid.uuid4().hex[:8]}{'.' + ext if ext else ''}"


def _free_target(folder: Path, name: str) -> Path:
    candidate = folder / name
    counter = 1
    stem, dot, ext = name.rpartition(".")
    while candidate.exists() or candidate.is_symlink():
        candidate = folder / (f"{stem} ({counter}).{ext}" if dot and stem else f"{name} ({counter})")
        counter += 1
    return candidate


def _release(claimed: ClaimedFile, destination_root: Path) -> Path:
    folder = destination_root / date.today().isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    target = _free_target(folder, _fit(claimed.path.name))
    os.rename(claimed.path, target)
    slot = claimed.path.parent
    (slot / ".name").unlink(missing_ok=True)
    try:
        slot.rmdir()
    except OSError:
        logger.warning("work folder %s was not empty after filing %s", slot, claimed.shown)
    return target


def mark_processed(inbox: Path, claimed: ClaimedFile) -> Path:
    return _release(claimed, inbox / PROCESSED_DIR)


def mark_quarantined(inbox: Path, claimed: ClaimedFile, reason: str) -> Path:
    target = _release(claimed, inbox / QUARANTINE_DIR)
    target.with_name(target.name + ".reason.txt").write_text(
        f"file: {claimed.shown}\nreason: {safe_text(reason)}\n", encoding="utf-8", errors="backslashreplace"
    )
    return target


@dataclass(frozen=True)
class FileOutcome:
    name: str
    status: str  # stored, duplicate, quarantined
    document_id: int | None
    kind: str | None
    reason: str | None = None


_NOT_REGULAR = (
    (stat.S_ISFIFO, "a named pipe"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISDIR, "a folder"),
)


def _not_regular(name: str, mode: int) -> RejectedDocument:
    kind = next((kind for test, kind in _NOT_REGULAR if test(mode)), "something else")
    return RejectedDocument(f"{name}: {kind}, not a regular file; only files are taken from the inbox")


def _over_limit(name: str, size: int, max_bytes: int) -> RejectedDocument:
    return RejectedDocument(
        f"{name}: {size / 1e6:.1f} MB is over the {max_bytes / 1e6:.0f} MB limit (INVOICES_STORAGE__MAX_FILE_MB)")


def read_claimed(claimed: ClaimedFile, max_bytes: int) -> bytes:
    """The bytes of a claimed regular file of at most ``max_bytes``.

    Raises RejectedDocument for a symbolic link, anything that is not a regular file (never
    opened: a named pipe would block the run) and a file over the limit. The file is opened
    without following links and without blocking, and checked again once open, so a file swapped
    for a pipe after the check is refused as well.
    """
    name = claimed.shown
    status = claimed.path.lstat()
    mode, size = status.st_mode, status.st_size
    if stat.S_ISLNK(mode):
        raise RejectedDocument("symbolic links are not followed; copy the file itself into the inbox")
    if not stat.S_ISREG(mode):
        raise _not_regular(name, mode)
    if size > max_bytes:
        raise _over_limit(name, size, max_bytes)
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NOCTTY", 0)
    descriptor = os.open(claimed.path, flags)
    with os.fdopen(descriptor, "rb") as handle:
        opened = os.fstat(handle.fileno())
        if not stat.S_ISREG(opened.st_mode):
            raise _not_regular(name, opened.st_mode)
        data = handle.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise _over_limit(name, len(data), max_bytes)
    return data


def take_file(inbox: Path, documents_dir: Path, claimed: ClaimedFile, max_bytes: int) -> FileOutcome:
    """Ingest one claimed file, commit, then move it to processed/ or quarantine/.

    The database commit comes first: a crash before the move leaves the file claimed, and the
    next run ingests it again without creating anything twice.
    """
    from db.session import session_scope
    from tasks.documents.intake import ingest_bytes

    name = claimed.shown
    try:
        data = read_claimed(claimed, max_bytes)
    except RejectedDocument as err:
        mark_quarantined(inbox, claimed, str(err))
        return FileOutcome(name, "quarantined", None, None, str(err))
    with session_scope() as session:
        result = ingest_bytes(session, documents_dir, data, claimed.original_name, channel="folder")
    if result.rejected:
        mark_quarantined(inbox, claimed, result.error or "refused")
        forget_failures(inbox, claimed)
        return FileOutcome(name, "quarantined", result.document_id, result.kind, result.error)
    mark_processed(inbox, claimed)
    forget_failures(inbox, claimed)
    return FileOutcome(name, "stored" if result.created else "duplicate", result.document_id, result.kind)


def unclaim(inbox: Path, claimed: ClaimedFile) -> Path:
    """Put a claimed file back where it was dropped (after an error that was not the file's fault)."""
    target = inbox / claimed.original_name
    if not target.resolve().is_relative_to(inbox.resolve()):
        target = inbox / claimed.path.name
    target.parent.mkdir(parents=True, exist_ok=True)
    target = _free_target(target.parent, target.name)
    os.rename(claimed.path, target)
    (claimed.path.parent / ".name").unlink(missing_ok=True)
    claimed.path.parent.rmdir()
    return target


# Failures of the system rather than of the file: they never count against a file.
_SYSTEM_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EMFILE, errno.ENFILE, errno.ENOMEM}


def is_the_files_fault(err: BaseException) -> bool:
    """Whether ``err`` may come from the file itself (and counts towards quarantining it): not when
    the database is unreachable, the document store or a setting failed, or the disk is full."""
    from sqlalchemy import exc

    if isinstance(err, (ConfigurationError, StorageError, exc.OperationalError, exc.InterfaceError,
                        exc.TimeoutError)):
        return False
    return not (isinstance(err, OSError) and err.errno in _SYSTEM_ERRNOS)


def cause_of(err: BaseException) -> str:
    """How a failure is told from another: its type and message, as text any log takes."""
    return safe_text(f"{type(err).__name__}: {err}")[:500]


class _Failures:
    """The failure counts of the inbox's files, keyed by name: read, changed and written whole
    under a lock, so parallel runs never lose a count."""

    def __init__(self, inbox: Path) -> None:
        self.path = inbox / WORK_DIR / FAILURES_FILE
        self.entries: dict[str, dict[str, Any]] = {}

    def __enter__(self) -> _Failures:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = open(self.path.with_name(FAILURES_FILE + ".lock"), "a")
        fcntl.flock(self._lock, fcntl.LOCK_EX)
        try:
            loaded = json.loads(self.path.read_text(encoding="utf-8"))
            self.entries = loaded if isinstance(loaded, dict) else {}
        except FileNotFoundError:
            pass
        except ValueError as err:  # a damaged count file only loses the counts
            logger.warning("failure counts %s unreadable, starting again: %s", self.path, err)
        return self

    def save(self) -> None:
        from tasks.documents.store import write_atomically

        horizon = time.time() - FORGET_FAILURES_AFTER_SECONDS
        kept = {k: v for k, v in self.entries.items() if isinstance(v, dict) and float(v.get("at", 0)) >= horizon}
        if kept or self.path.exists():
            write_atomically(self.path, json.dumps(kept, ensure_ascii=True, indent=1).encode("ascii"))

    def __exit__(self, *exc_info: object) -> None:
        fcntl.flock(self._lock, fcntl.LOCK_UN)
        self._lock.close()


def record_failure(inbox: Path, claimed: ClaimedFile, cause: str) -> int:
    """Count one more failure of ``claimed`` with ``cause``; how many times in a row it failed so.

    A different cause, or another version of the file (other size or modification time), starts
    the count again at one.
    """
    status = claimed.path.lstat()
    version = [status.st_size, status.st_mtime_ns]
    with _Failures(inbox) as failures:
        entry = failures.entries.get(claimed.original_name)
        same = isinstance(entry, dict) and entry.get("cause") == cause and entry.get("version") == version
        count = int(entry["count"]) + 1 if same and entry else 1
        failures.entries[claimed.original_name] = {"cause": cause, "version": version, "count": count,
                                                   "at": time.time()}
        failures.save()
    return count


def forget_failures(inbox: Path, claimed: ClaimedFile) -> None:
    """Drop the failure count of a file that has been taken or quarantined."""
    if not (inbox / WORK_DIR / FAILURES_FILE).exists():
        return
    with _Failures(inbox) as failures:
        if failures.entries.pop(claimed.original_name, None) is not None:
            failures.save()


def give_back(inbox: Path, claimed: ClaimedFile, err: BaseException) -> FileOutcome:
    """After ``err`` while taking ``claimed``: put it back for the next run, or quarantine it once
    it has failed the same way ``MAX_FAILURES`` times (failures of the system never count)."""
    cause = cause_of(err).replace(claimed.path.parent.name, "<claim>")  # each run claims into a new folder
    if is_the_files_fault(err):
        count = record_failure(inbox, claimed, cause)
        if count >= MAX_FAILURES:
            reason = f"{claimed.shown}: intake failed {count} times the same way ({cause})"
            mark_quarantined(inbox, claimed, reason)
            forget_failures(inbox, claimed)
            return FileOutcome(claimed.shown, "quarantined", None, None, reason)
        cause = f"{cause} (failure {count} of {MAX_FAILURES} before it is quarantined)"
    unclaim(inbox, claimed)
    return FileOutcome(claimed.shown, "error", None, None, cause)
