"""Who gets reminded about what today: selection from invoice state and the ledger.

The selection reads invoices that can still be reminded (open, partially paid or awaiting
review, with a due date no later than today plus the earliest level's lead time) through the
``(status, due_date)`` index, and the ledger rows of exactly those invoices through the
reminders' ``invoice_id`` index. Everything else is decided in Python (see
`tasks.reminders.policy` for the levels and why a gap is caught up once).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from db.models import Direction, Invoice, Reminder, ReminderStatus, User
from notifications.compose import valid_address
from tasks.errors import NotificationError
from tasks.invoices.records import counterparty_key
from tasks.reminders.policy import (
    REMINDABLE,
    due_level,
    earliest_offset,
    is_quiet,
    level_offset,
)
from tasks.settings import Settings


@dataclass
class Envelope:
    """One email to send: a user's digest, or one invoice's reminder to a customer's contact."""

    kind: str  # "digest" or "customer"
    address: str
    name: str
    locale: str
    items: list[tuple[int, int]] = field(default_factory=list)  # (invoice_id, level) to claim
    retry_row_ids: list[int] = field(default_factory=list)  # failed ledger rows to try again
    user_id: int | None = None

    @property
    def count(self) -> int:
        return len(self.items) + len(self.retry_row_ids)


@dataclass
class Plan:
    today: date
    quiet: bool
    candidates: int = 0
    envelopes: list[Envelope] = field(default_factory=list)
    problems: list[dict[str, str]] = field(default_factory=list)  # {"item": ..., "problem": ...}


def candidate_filter(settings: Settings, today: date) -> Any:
    horizon = today - timedelta(days=earliest_offset(settings.reminders))
    return and_(
        Invoice.status.in_(REMINDABLE),
        Invoice.due_date <= horizon,
        Invoice.is_credit_note.is_(False),
    )


def candidates_query(settings: Settings, today: date) -> Any:
    return select(
        Invoice.id, Invoice.direction, Invoice.counterparty, Invoice.counterparty_key, Invoice.number,
        Invoice.due_date, Invoice.total, Invoice.paid_amount, Invoice.contact_email,
    ).where(candidate_filter(settings, today))


@dataclass
class _Ledger:
    top: dict[tuple[int, str], int]  # (invoice, recipient) -> highest level in the ledger
    rows: dict[tuple[int, int, str], tuple[int, str, datetime | None]]  # -> (row id, status, next attempt)

    def decide(self, invoice_id: int, level: int, recipient: str, now: datetime) -> str | int | None:
        """"new" to claim, a row id to try again, or None (already handled)."""
        top = self.top.get((invoice_id, recipient))
        if top is None or top < level:
            return "new"
        if top > level:
            return None
        row_id, status, next_attempt = self.rows[(invoice_id, level, recipient)]
        if status == ReminderStatus.FAILED.value and next_attempt is not None and next_attempt <= now:
            return row_id
        return None


def _ledger(session: Session, settings: Settings, today: date) -> _Ledger:
    ids = select(Invoice.id).where(candidate_filter(settings, today))
    ledger = _Ledger({}, {})
    query = select(Reminder.id, Reminder.invoice_id, Reminder.level, Reminder.recipient, Reminder.status,
                   Reminder.next_attempt_at).where(Reminder.invoice_id.in_(ids))
    for row_id, invoice_id, level, recipient, status, next_attempt in session.execute(query):
        key = (invoice_id, recipient)
        ledger.top[key] = max(level, ledger.top.get(key, level))
        ledger.rows[(invoice_id, level, recipient)] = (row_id, status, next_attempt)
    return ledger


@dataclass
class _Person:
    user: User
    address: str | None
    directions: set[str] | None
    counterparties: set[str] | None

    def wants(self, direction: str, key: str) -> bool:
        return (self.directions is None or direction in self.directions) and (
            self.counterparties is None or key in self.counterparties
        )


def _people(session: Session) -> tuple[list[_Person], dict[int, str]]:
    people, bad = [], {}
    for user in session.scalars(select(User).where(User.active.is_(True)).order_by(User.id)):
        preferences = user.reminder_preferences or {}
        directions = {str(d).lower() for d in preferences.get("directions") or []} or None
        names = preferences.get("counterparties") or []
        counterparties = {counterparty_key(str(n)) for n in names} or None
        try:
            address = valid_address(user.email, f"user {user.name!r} (id {user.id})")
        except NotificationError as err:
            address, bad[user.id] = None, str(err)
        people.append(_Person(user, address, directions, counterparties))
    return people, bad


def plan_reminders(session: Session, settings: Settings, today: date, now: datetime) -> Plan:
    """Every email due today, with the (invoice, level) rows each one would claim."""
    policy = settings.reminders
    plan = Plan(today=today, quiet=is_quiet(policy, today))
    ledger = _ledger(session, settings, today)
    people, bad_addresses = _people(session)
    digests: dict[int, Envelope] = {}
    customers: dict[tuple[str, int], Envelope] = {}
    missed: dict[int, int] = defaultdict(int)  # user id -> reminders not sent for want of an address

    def add(envelope: Envelope, invoice_id: int, level: int) -> bool:
        decision = ledger.decide(invoice_id, level, envelope.address, now)
        if decision == "new":
            envelope.items.append((invoice_id, level))
        elif isinstance(decision, int):
            envelope.retry_row_ids.append(decision)
        return decision is not None

    for row in session.execute(candidates_query(settings, today)):
        plan.candidates += 1
        if row.total is not None and row.total - (row.paid_amount or 0) <= 0:
            continue  # fully paid in amount, status not yet updated
        level = due_level(policy, (today - row.due_date).days)
        if level is None:
            continue
        key = row.counterparty_key or counterparty_key(row.counterparty)
        for person in people:
            if not person.wants(row.direction, key):
                continue
            if person.address is None:
                missed[person.user.id] += 1
                continue
            envelope = digests.get(person.user.id)
            if envelope is None:
                envelope = Envelope("digest", person.address, person.user.name, person.user.locale or "en",
                                    user_id=person.user.id)
                digests[person.user.id] = envelope
            add(envelope, row.id, level)
        if (policy.email_customers and row.direction == Direction.RECEIVABLE.value
                and level_offset(policy, level) > 0):
            who = f"customer contact of invoice {row.counterparty} {row.number}"
            try:
                address = valid_address(row.contact_email, who)
            except NotificationError as err:
                plan.problems.append({"item": f"invoice {row.counterparty} {row.number}", "problem": str(err)})
                continue
            envelope = Envelope("customer", address, row.counterparty, policy.customer_locale)
            if add(envelope, row.id, level):
                customers[(address, row.id)] = envelope

    for user_id, count in missed.items():
        plan.problems.append({"item": f"user id {user_id}",
                              "problem": f"{bad_addresses[user_id]}; {count} reminder(s) not sent"})
    plan.envelopes = [e for e in digests.values() if e.count] + list(customers.values())
    return plan
