"""The reminder policy: which level an invoice has reached on a given day.

Levels are numbered from 0 in the order of ``reminders.levels_days`` (sorted): with the default
[-3, 1, 7, 14] and ``repeat_every_days`` 14, level 0 is 3 days before the due date, level 3 is
14 days after it, and levels 4, 5, ... follow every 14 days (28, 42, ... days after) while the
invoice is unpaid.

An invoice's *due level* on a day is the highest level whose day has come. A run reminds about
the due level if that level (or a higher one) is not yet in the ledger for the recipient. So a
missed day (server off, quiet weekday) is caught up by the next run, once; and when several
levels came due while nothing ran, one reminder goes out at the highest of them (one email
about an invoice, at its current urgency) instead of a burst of stale ones.
"""

from __future__ import annotations

from datetime import date

from db.models import InvoiceStatus
from tasks.settings import ReminderSettings

REMINDABLE = (InvoiceStatus.OPEN.value, InvoiceStatus.PARTIALLY_PAID.value, InvoiceStatus.NEEDS_REVIEW.value)
"""Statuses that get reminders; paid, cancelled and disputed invoices never do."""


def offsets(policy: ReminderSettings) -> list[int]:
    return sorted(set(policy.levels_days)) or [0]


def level_offset(policy: ReminderSettings, level: int) -> int:
    """Days after the due date at which ``level`` is reached (negative: before)."""
    days = offsets(policy)
    if level < len(days):
        return days[level]
    return days[-1] + (level - len(days) + 1) * max(policy.repeat_every_days, 0)


def due_level(policy: ReminderSettings, days_after_due: int) -> int | None:
    """The highest level reached ``days_after_due`` days after the due date; None: too early."""
    days = offsets(policy)
    if days_after_due < days[0]:
        return None
    if days_after_due <= days[-1] or policy.repeat_every_days <= 0:
        return max(i for i, d in enumerate(days) if d <= days_after_due)
    return len(days) - 1 + (days_after_due - days[-1]) // policy.repeat_every_days


def earliest_offset(policy: ReminderSettings) -> int:
    """Invoices due later than today minus this many days have no level yet."""
    return offsets(policy)[0]


def is_quiet(policy: ReminderSettings, day: date) -> bool:
    return day.weekday() in set(policy.quiet_weekdays)
