"""The reminders ledger: claim before sending, mark after, so no email goes out twice.

One row per (invoice, level, recipient). A run first inserts its rows with status ``claimed``
in a transaction of their own, committed before anything is sent; a row another run already
holds is not inserted again (ON CONFLICT DO NOTHING), so two runs at once never both send it.
After the transport answers, the rows become ``sent`` or ``failed``. A row still ``claimed``
long after its run started (``reminders.claim_timeout_minutes``) belongs to a run that died
between sending and marking: it becomes ``uncertain`` and is reported for a person, never resent.

A ``failed`` row with ``next_attempt_at`` set (the server was down) is taken again by a later
run with an UPDATE that only one run can win.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.orm import Session

from db.conflicts import insert_ignoring_conflicts
from db.models import Invoice, Reminder, ReminderStatus, utcnow

CHUNK = 1000  # rows per INSERT (bound parameters stay far below SQLite's and PostgreSQL's limits)


@dataclass(frozen=True)
class Claim:
    row_id: int
    invoice_id: int
    level: int
    retried: bool  # a failed row taken again (released back to failed, not deleted)


def claim(
    session: Session,
    recipient: str,
    items: Iterable[tuple[int, int]],
    retry_row_ids: Iterable[int],
    digest_id: str,
    run_id: str | None,
    now: datetime | None = None,
) -> list[Claim]:
    """Take (invoice_id, level) rows for ``recipient``; returns only the rows this call won."""
    now = now or utcnow()
    rows = [
        {"invoice_id": invoice_id, "level": level, "recipient": recipient, "digest_id": digest_id,
         "status": ReminderStatus.CLAIMED.value, "attempts": 1, "claimed_at": now, "flow_run_id": run_id}
        for invoice_id, level in items
    ]
    claims: list[Claim] = []
    statement = (
        insert_ignoring_conflicts(session, Reminder, ["invoice_id", "level", "recipient"])
        .returning(Reminder.id, Reminder.invoice_id, Reminder.level)
    )
    for start in range(0, len(rows), CHUNK):  # executemany, batched by SQLAlchemy's insertmanyvalues
        result = session.connection().execute(statement, rows[start : start + CHUNK])
        claims += [Claim(r.id, r.invoice_id, r.level, False) for r in result]
    retry = list(retry_row_ids)
    for start in range(0, len(retry), CHUNK):
        statement = (
            update(Reminder)
            .where(
                Reminder.id.in_(retry[start : start + CHUNK]),
                Reminder.status == ReminderStatus.FAILED.value,
                Reminder.next_attempt_at.is_not(None),
                Reminder.next_attempt_at <= now,
            )
            .values(status=ReminderStatus.CLAIMED.value, attempts=Reminder.attempts + 1, claimed_at=now,
                    digest_id=digest_id, flow_run_id=run_id, next_attempt_at=None)
            .returning(Reminder.id, Reminder.invoice_id, Reminder.level)
            .execution_options(synchronize_session=False)
        )
        claims += [Claim(r.id, r.invoice_id, r.level, True) for r in session.execute(statement)]
    return claims


def release(session: Session, claims: list[Claim], reason: str, now: datetime | None = None) -> None:
    """Give back claims of an email that was certainly not sent (it could not be rendered)."""
    new = [c.row_id for c in claims if not c.retried]
    retried = [c.row_id for c in claims if c.retried]
    for start in range(0, len(new), CHUNK):
        session.execute(delete(Reminder).where(Reminder.id.in_(new[start : start + CHUNK])))
    if retried:
        _set(session, retried, status=ReminderStatus.FAILED.value, error=reason, next_attempt_at=now or utcnow())


def _set(session: Session, row_ids: list[int], from_statuses: tuple[str, ...] = (ReminderStatus.CLAIMED.value,), **values: Any) -> None:
    for start in range(0, len(row_ids), CHUNK):
        session.execute(
            update(Reminder)
            .where(Reminder.id.in_(row_ids[start : start + CHUNK]), Reminder.status.in_(from_statuses))
            .values(**values)
            .execution_options(synchronize_session=False)
        )


def mark_sent(session: Session, row_ids: list[int], now: datetime | None = None) -> None:
    """Confirmed by the server (also rows another run meanwhile took for uncertain)."""
    _set(session, row_ids, (ReminderStatus.CLAIMED.value, ReminderStatus.UNCERTAIN.value),
         status=ReminderStatus.SENT.value, sent_at=now or utcnow(), error=None, next_attempt_at=None)


def mark_failed(session: Session, claims: list[Claim], error: str, retry_limit: int | None, now: datetime | None = None) -> None:
    """Record a failure; with ``retry_limit`` (a temporary failure) later runs try again until
    a row has been tried ``retry_limit + 1`` times."""
    now = now or utcnow()
    if retry_limit is None:
        _set(session, [c.row_id for c in claims], status=ReminderStatus.FAILED.value, error=error[:2000])
        return
    ids = [c.row_id for c in claims]
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        base = update(Reminder).where(Reminder.id.in_(chunk), Reminder.status == ReminderStatus.CLAIMED.value)
        session.execute(
            base.where(Reminder.attempts <= retry_limit)
            .values(status=ReminderStatus.FAILED.value, error=error[:2000], next_attempt_at=now)
            .execution_options(synchronize_session=False)
        )
        session.execute(
            base.values(status=ReminderStatus.FAILED.value, error=f"gave up: {error}"[:2000], next_attempt_at=None)
            .execution_options(synchronize_session=False)
        )


def mark_uncertain(session: Session, row_ids: list[int], error: str) -> None:
    _set(session, row_ids, status=ReminderStatus.UNCERTAIN.value, error=error[:2000], next_attempt_at=None)


def expire_stale_claims(session: Session, timeout: timedelta, now: datetime | None = None) -> int:
    """Claims older than ``timeout`` are from a run that died: mark them uncertain."""
    cutoff = (now or utcnow()) - timeout
    result = session.execute(
        update(Reminder)
        .where(Reminder.status == ReminderStatus.CLAIMED.value, Reminder.claimed_at <= cutoff)
        .values(
            status=ReminderStatus.UNCERTAIN.value,
            error="claimed but never marked sent: the run stopped between sending and recording; "
            "it may have been delivered, so it is not sent again",
        )
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def needs_attention(session: Session, since: datetime, limit: int = 200) -> list[dict[str, Any]]:
    """Every uncertain row, and rows failed since ``since`` that no run will try again."""
    rows = session.execute(
        select(Reminder, Invoice.counterparty, Invoice.number)
        .join(Invoice, Invoice.id == Reminder.invoice_id)
        .where(
            or_(
                Reminder.status == ReminderStatus.UNCERTAIN.value,
                and_(
                    Reminder.status == ReminderStatus.FAILED.value,
                    Reminder.next_attempt_at.is_(None),
                    Reminder.claimed_at >= since,
                ),
            )
        )
        .order_by(Reminder.claimed_at.desc())
        .limit(limit)
    ).all()
    return [
        {"ledger id": r.id, "invoice": f"{counterparty} {number}", "level": r.level, "recipient": r.recipient,
         "status": r.status, "when": r.claimed_at.isoformat(timespec="minutes"), "reason": r.error or ""}
        for r, counterparty, number in rows
    ]
