"""The drop folder: find files that are ready, claim them, and file them away afterwards.

Layout inside the inbox folder:
    <inbox>/...            files and sub-folders people drop
    <inbox>/.work/<id>/    a file claimed by a run (a crashed run's claims are taken again)
    <inbox>/processed/<date>/
    <inbox>/quarantine/<date>/   with <name>.reason.txt beside each file

Claiming is an atomic rename, so two runs never take the same file. Symbolic links are never
followed: a link is quarantined as itself.
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

logger = logging.getLogger(__name__)

WORK_DIR = ".work"
PROCESSED_DIR = "processed"
QUARANTINE_DIR = "quarantine"
RESERVED = {WORK_DIR, PROCESSED_DIR, QUARANTINE_DIR}
MAX_COMPONENT_BYTES = 200


@dataclass(frozen=True)
class ClaimedFile:
    path: Path  # <inbox>/.work/<id>/<original name>
    original_name: str  # path relative to the inbox, as the user dropped it

    @property
    def is_symlink(self) -> bool:
        return self.path.is_symlink()


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
        logger.warning("work folder %s was not empty after filing %s", slot, claimed.original_name)
    return target


def mark_processed(inbox: Path, claimed: ClaimedFile) -> Path:
    return _release(claimed, inbox / PROCESSED_DIR)


def mark_quarantined(inbox: Path, claimed: ClaimedFile, reason: str) -> Path:
    target = _release(claimed, inbox / QUARANTINE_DIR)
    target.with_name(target.name + ".reason.txt").write_text(
        f"file: {claimed.original_name}\nreason: {reason}\n", encoding="utf-8", errors="surrogateescape"
    )
    return target


@dataclass(frozen=True)
class FileOutcome:
    name: str
    status: str  # stored, duplicate, quarantined
    document_id: int | None
    kind: str | None
    reason: str | None = None


def take_file(inbox: Path, documents_dir: Path, claimed: ClaimedFile, max_bytes: int) -> FileOutcome:
    """Ingest one claimed file, commit, then move it to processed/ or quarantine/.

    The database commit comes first: a crash before the move leaves the file claimed, and the
    next run ingests it again without creating anything twice.
    """
    from db.session import session_scope
    from tasks.documents.intake import ingest_bytes

    name = claimed.original_name
    if claimed.is_symlink:
        reason = "symbolic links are not followed; copy the file itself into the inbox"
        mark_quarantined(inbox, claimed, reason)
        return FileOutcome(name, "quarantined", None, None, reason)
    size = claimed.path.stat().st_size
    if size > max_bytes:
        reason = f"{name}: {size / 1e6:.1f} MB is over the {max_bytes / 1e6:.0f} MB limit (INVOICES_STORAGE__MAX_FILE_MB)"
        mark_quarantined(inbox, claimed, reason)
        return FileOutcome(name, "quarantined", None, None, reason)
    data = claimed.path.read_bytes()
    with session_scope() as session:
        result = ingest_bytes(session, documents_dir, data, name, channel="folder")
    if result.rejected:
        mark_quarantined(inbox, claimed, result.error or "refused")
        return FileOutcome(name, "quarantined", result.document_id, result.kind, result.error)
    mark_processed(inbox, claimed)
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
