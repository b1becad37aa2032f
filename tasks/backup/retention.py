"""Retention: keep the newest verified backup of each of the last N days, weeks and months
(settings.backup.keep_daily/weekly/monthly, in the business time zone) and prune the rest.

Never pruned: the newest verified backup; a backup still running; anything newer than the
newest verified one (it may still be verified, or a person should look at why it failed); and
any backup whose files a kept backup points to (the file chain). While no backup is verified,
nothing is pruned. Pruning marks the row pruned first and then deletes the folder, so a row
never claims a backup that is half gone.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from db.models import Backup, BackupStatus
from db.session import engine_for, session_scope
from tasks.backup import files as bf
from tasks.errors import BackupError
from tasks.settings import Settings

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Candidate:
    id: str
    created_at: datetime
    status: str
    parent_id: str | None
    depends_on: frozenset[str] | None  # None: manifest unreadable


@dataclass
class RetentionOutcome:
    kept: dict[str, str] = field(default_factory=dict)  # id -> why
    pruned: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    dry_run: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"kept": self.kept, "pruned": self.pruned, "errors": self.errors, "dry_run": self.dry_run}


_PERIODS: list[tuple[str, str, Callable[[datetime], tuple[int, ...]]]] = [
    ("daily", "keep_daily", lambda t: (t.year, t.month, t.day)),
    ("weekly", "keep_weekly", lambda t: tuple(t.isocalendar()[:2])),
    ("monthly", "keep_monthly", lambda t: (t.year, t.month)),
]


def plan_retention(candidates: list[Candidate], limits: dict[str, int], zone: ZoneInfo) -> dict[str, str]:
    """The backups to keep, each with the reason; every other candidate may be pruned."""
    newest_first = sorted(candidates, key=lambda c: (c.created_at, c.id), reverse=True)
    verified = [c for c in newest_first if c.status == BackupStatus.VERIFIED.value]
    if not verified:
        return {c.id: "no backup is verified yet" for c in candidates}
    keep = {verified[0].id: "newest verified"}
    for period, setting, bucket in _PERIODS:
        seen: set[tuple[int, ...]] = set()
        for candidate in verified:
            key = bucket(candidate.created_at.astimezone(zone))
            if key in seen:
                continue
            if len(seen) >= limits[setting]:
                break
            seen.add(key)
            keep.setdefault(candidate.id, period)
    for candidate in newest_first:
        if candidate.status == BackupStatus.RUNNING.value:
            keep[candidate.id] = "running"
        elif candidate.created_at > verified[0].created_at:
            keep.setdefault(candidate.id, f"newer than the newest verified backup ({candidate.status})")
    by_id = {c.id: c for c in candidates}
    pending = list(keep)
    while pending:
        candidate = by_id.get(pending.pop())
        if candidate is None:
            continue
        needed = candidate.depends_on if candidate.depends_on is not None else _ancestors(candidate, by_id)
        for other in needed:
            if other not in keep:
                keep[other] = f"holds files backup {candidate.id} needs"
                pending.append(other)
    return keep


def _ancestors(candidate: Candidate, by_id: dict[str, Candidate]) -> set[str]:
    """Fallback when a manifest cannot be read: it can only point into its parent chain."""
    found: set[str] = set()
    current = candidate.parent_id
    while current and current not in found:
        found.add(current)
        parent = by_id.get(current)
        current = parent.parent_id if parent else None
    return found


def apply_retention(settings: Settings, dry_run: bool = False) -> RetentionOutcome:
    backup_dir = Path(settings.backup.backup_dir or settings.data_dir / "backups")
    engine = engine_for(settings.database.url, settings.database.echo)
    outcome = RetentionOutcome(dry_run=dry_run)
    with bf.backup_lock(backup_dir, "prune backups"):
        with session_scope(engine) as session:
            rows = list(session.scalars(select(Backup).where(Backup.status != BackupStatus.PRUNED.value)))
        candidates = []
        for row in rows:
            folder = bf.backup_folder(backup_dir, row.id)
            if not folder.is_dir():
                continue  # failed while being made (its folder is gone), or kept elsewhere
            try:
                depends_on: frozenset[str] | None = frozenset(bf.dependencies(bf.read_manifest(backup_dir, row.id)))
            except BackupError:
                depends_on = None
            candidates.append(Candidate(row.id, row.created_at, row.status, row.parent_id, depends_on))
        limits = {s: getattr(settings.backup, s) for _p, s, _b in _PERIODS}
        outcome.kept = plan_retention(candidates, limits, settings.zone)
        doomed = sorted(c.id for c in candidates if c.id not in outcome.kept)
        for backup_id in doomed:
            if dry_run:
                outcome.pruned.append(backup_id)
                continue
            with session_scope(engine) as session:
                row = session.get(Backup, backup_id)
                if row is None:
                    continue
                row.details = {**(row.details or {}), "pruned_from": row.status}
                row.status = BackupStatus.PRUNED.value
            try:
                shutil.rmtree(bf.backup_folder(backup_dir, backup_id))
            except OSError as err:
                outcome.errors.append(f"backup {backup_id}: pruned, but its folder could not be deleted: {err}")
            outcome.pruned.append(backup_id)
            logger.info("backup %s pruned", backup_id)
    return outcome
