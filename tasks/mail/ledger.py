"""The mail ledger: what the database knows about each message of each polled folder.

A row per (account, folder, UIDVALIDITY, UID) is claimed before any work (so a parallel or
repeated poll skips it), its outcome is recorded with its documents in one transaction, and the
time the account's action was applied is recorded after that. A poll that dies leaves its rows
claimed; the next poll takes them over once the claimer is known to be gone (same machine: its
process no longer exists; another machine: after INVOICES_IMAP__CLAIM_TIMEOUT_MINUTES).
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from db.conflicts import insert_ignoring_conflicts
from db.models import MailMessage, MailStatus
from db.session import session_scope

DONE = (MailStatus.PROCESSED.value, MailStatus.NO_DOCUMENTS.value)
ACTIONABLE = (*DONE, MailStatus.GAVE_UP.value)  # moved, flagged or marked seen once recorded
MAX_BACKOFF = timedelta(days=1)
_HOST = socket.gethostname()


def now() -> datetime:
    return datetime.now(timezone.utc)


def new_claimer() -> str:
    """An id for one poll: machine, process and a random part (two polls in one process differ)."""
    return f"{_HOST}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def claimer_gone(claimed_by: str | None, claimed_at: datetime | None, timeout: timedelta, at: datetime) -> bool:
    """Whether a claim was left by a poll that is no longer running."""
    if not claimed_by:
        return True
    host, _, rest = claimed_by.partition(":")
    pid_text = rest.partition(":")[0]
    if host == _HOST and pid_text.isdigit():
        pid = int(pid_text)
        if pid == os.getpid():
            return False  # another poll of this very process; it releases its claims itself
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            pass
    return claimed_at is None or at - claimed_at > timeout


def backoff(attempts: int, base_minutes: float) -> timedelta:
    return min(timedelta(minutes=base_minutes) * (2 ** max(attempts - 1, 0)), MAX_BACKOFF)


@dataclass(frozen=True)
class Pending:
    """A known message of the folder that still needs something: a retry, a take-over or its action."""

    id: int
    uid: int
    status: str
    claimed_by: str | None
    claimed_at: datetime | None
    attempts: int
    next_attempt_at: datetime | None


def known_uids(session: Session, account: str, folder: str, uidvalidity: int) -> set[int]:
    rows = session.scalars(
        select(MailMessage.uid).where(
            MailMessage.account == account, MailMessage.folder == folder, MailMessage.uidvalidity == uidvalidity
        )
    )
    return set(rows)


def pending(session: Session, account: str, folder: str, uidvalidity: int) -> list[Pending]:
    rows = session.execute(
        select(MailMessage.id, MailMessage.uid, MailMessage.status, MailMessage.claimed_by, MailMessage.claimed_at,
               MailMessage.attempts, MailMessage.next_attempt_at)
        .where(MailMessage.account == account, MailMessage.folder == folder, MailMessage.uidvalidity == uidvalidity,
               MailMessage.acted_at.is_(None),
               MailMessage.status.in_([MailStatus.CLAIMED.value, MailStatus.FAILED.value, *ACTIONABLE]))
        .order_by(MailMessage.uid)
    ).all()
    return [Pending(*row) for row in rows]


def earlier_uidvalidity(session: Session, account: str, folder: str, uidvalidity: int) -> int | None:
    return session.scalars(
        select(func.max(MailMessage.uidvalidity)).where(
            MailMessage.account == account, MailMessage.folder == folder, MailMessage.uidvalidity != uidvalidity
        )
    ).one()


def claim_new(account: str, folder: str, uidvalidity: int, uids: list[int], claimer: str) -> dict[int, int]:
    """Claim messages never seen before; returns uid -> row id of those this poll won."""
    if not uids:
        return {}
    at = now()
    rows = [
        {"account": account, "folder": folder, "uidvalidity": uidvalidity, "uid": uid,
         "status": MailStatus.CLAIMED.value, "attempts": 1, "claimed_by": claimer, "claimed_at": at, "parts": []}
        for uid in uids
    ]
    with session_scope() as session:
        session.execute(insert_ignoring_conflicts(session, MailMessage), rows)
    with session_scope() as session:
        won = session.execute(
            select(MailMessage.uid, MailMessage.id).where(
                MailMessage.account == account, MailMessage.folder == folder, MailMessage.uidvalidity == uidvalidity,
                MailMessage.uid.in_(uids), MailMessage.claimed_by == claimer,
                MailMessage.status == MailStatus.CLAIMED.value,
            )
        ).all()
    return dict(won)  # type: ignore[arg-type]


def reclaim(row: Pending, claimer: str) -> bool:
    """Take over a failed or abandoned message, if nobody else did in the meantime."""
    with session_scope() as session:
        result = session.execute(
            update(MailMessage)
            .where(MailMessage.id == row.id, MailMessage.status == row.status,
                   MailMessage.claimed_by.is_not_distinct_from(row.claimed_by))
            .values(status=MailStatus.CLAIMED.value, claimed_by=claimer, claimed_at=now(),
                    attempts=MailMessage.attempts + 1)
        )
        return result.rowcount == 1  # type: ignore[attr-defined]


def record_headers(row_id: int, claimer: str, values: dict[str, Any]) -> None:
    with session_scope() as session:
        session.execute(
            update(MailMessage).where(MailMessage.id == row_id, MailMessage.claimed_by == claimer).values(**values)
        )


def finish(row_id: int, claimer: str, status: MailStatus, error: str | None = None, **values: Any) -> None:
    """Record the outcome of a claimed message that needed no documents (skipped, gave up ...)."""
    with session_scope() as session:
        session.execute(
            update(MailMessage)
            .where(MailMessage.id == row_id, MailMessage.claimed_by == claimer)
            .values(status=status.value, error=error, processed_at=now(), **values)
        )


def fail(row_id: int, claimer: str, error: str, max_attempts: int, backoff_minutes: float) -> str:
    """Record a failed try: retried later with back-off, or given up after max_attempts."""
    with session_scope() as session:
        row = session.get(MailMessage, row_id)
        if row is None or row.claimed_by != claimer:
            return "lost"
        if row.attempts >= max_attempts:
            row.status = MailStatus.GAVE_UP.value
            row.error = f"gave up after {row.attempts} attempts: {error}"
            row.next_attempt_at = None
        else:
            row.status = MailStatus.FAILED.value
            row.error = error
            row.next_attempt_at = now() + backoff(row.attempts, backoff_minutes)
        return row.status


def drop_claim(row_id: int, claimer: str) -> None:
    """Forget a claim on a message that disappeared from the folder before it was read."""
    with session_scope() as session:
        session.execute(delete(MailMessage).where(MailMessage.id == row_id, MailMessage.claimed_by == claimer,
                                                  MailMessage.status == MailStatus.CLAIMED.value))


def release(claimer: str, error: str) -> int:
    """After a poll broke off: its claims become failed tries, retried by the next poll at once."""
    with session_scope() as session:
        result = session.execute(
            update(MailMessage)
            .where(MailMessage.claimed_by == claimer, MailMessage.status == MailStatus.CLAIMED.value)
            .values(status=MailStatus.FAILED.value, error=error, next_attempt_at=now())
        )
        return result.rowcount  # type: ignore[attr-defined]


def mark_acted(row_ids: Iterable[int]) -> None:
    ids = list(row_ids)
    if not ids:
        return
    with session_scope() as session:
        session.execute(update(MailMessage).where(MailMessage.id.in_(ids)).values(acted_at=now()))


def left_folder(rows: list[Pending]) -> None:
    """Known messages that are no longer in the folder: nothing more can be done with them."""
    if not rows:
        return
    with session_scope() as session:
        for row in rows:
            values: dict[str, Any] = {"acted_at": now()}
            if row.status not in ACTIONABLE:
                values |= {"status": MailStatus.GAVE_UP.value,
                           "error": "the message left the folder before it could be taken"}
            session.execute(update(MailMessage).where(MailMessage.id == row.id, MailMessage.status == row.status)
                            .values(**values))


def status_summary(session: Session) -> list[dict[str, Any]]:
    """Per account and folder: messages by status and the newest activity."""
    rows = session.execute(
        select(MailMessage.account, MailMessage.folder, MailMessage.status, func.count(),
               func.max(MailMessage.processed_at))
        .group_by(MailMessage.account, MailMessage.folder, MailMessage.status)
        .order_by(MailMessage.account, MailMessage.folder)
    ).all()
    summary: dict[tuple[str, str], dict[str, Any]] = {}
    for account, folder, status, count, last in rows:
        entry = summary.setdefault((account, folder), {"account": account, "folder": folder, "last": None,
                                                       **{s.value: 0 for s in MailStatus}})
        entry[status] = count
        if last and (entry["last"] is None or last > entry["last"]):
            entry["last"] = last
    return list(summary.values())


def needing_attention(session: Session, limit: int = 50) -> list[MailMessage]:
    return list(session.scalars(
        select(MailMessage)
        .where(MailMessage.status.in_([MailStatus.FAILED.value, MailStatus.GAVE_UP.value]))
        .order_by(MailMessage.claimed_at.desc()).limit(limit)
    ))
