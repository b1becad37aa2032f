"""Helpers for reminder tests: users, invoices and what the outbox or SMTP server received."""

from __future__ import annotations

import email
import email.policy
from datetime import date
from decimal import Decimal
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from sqlalchemy import select

from db.models import Document, Invoice, Reminder, User
from db.session import session_scope
from tasks.invoices.records import counterparty_key

MONDAY = date(2026, 3, 2)  # a Monday: not a quiet day with the default weekend


def add_user(email_address: str | None, name: str = "Ann", locale: str = "en", role: str = "member",
             preferences: dict[str, Any] | None = None) -> int:
    with session_scope() as session:
        user = User(email=email_address, name=name, locale=locale, role=role, reminder_preferences=preferences or {})
        session.add(user)
        session.flush()
        return user.id


def add_invoice(counterparty: str, number: str, due: date, direction: str = "payable", total: str | None = "100.00",
                status: str = "open", paid: str | None = None, contact: str | None = None, currency: str = "EUR",
                with_document: bool = False, **extra: Any) -> int:
    with session_scope() as session:
        document_id = None
        if with_document:
            document = Document(sha256=f"{number:0>64}"[-64:], size_bytes=10, kind="pdf", mime_type="application/pdf",
                                storage_path=f"ab/{number}.pdf", original_name=f"{number}.pdf")
            session.add(document)
            session.flush()
            document_id = document.id
        invoice = Invoice(
            direction=direction, counterparty=counterparty, counterparty_key=counterparty_key(counterparty),
            number=number, due_date=due, currency=currency, total=Decimal(total) if total else None,
            paid_amount=Decimal(paid) if paid else None, status=status, contact_email=contact, source="manual",
            document_id=document_id, **extra,
        )
        session.add(invoice)
        session.flush()
        return invoice.id


def ledger() -> list[tuple[int, int, str, str]]:
    """(invoice_id, level, recipient, status) of every reminder row."""
    with session_scope() as session:
        rows = session.execute(select(Reminder.invoice_id, Reminder.level, Reminder.recipient, Reminder.status)
                               .order_by(Reminder.invoice_id, Reminder.level, Reminder.recipient))
        return [tuple(r) for r in rows]  # type: ignore[misc]


def outbox(folder: Path) -> list[EmailMessage]:
    return [
        email.message_from_bytes(p.read_bytes(), policy=email.policy.default)  # type: ignore[misc]
        for p in sorted(folder.glob("*.eml"))
    ]


def parts(message: EmailMessage) -> tuple[str, str]:
    """(text, html) of a reminder email."""
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None and html is not None, "every email has a text and an HTML part"
    return text.get_content(), html.get_content()


def to_address(message: EmailMessage) -> str:
    return message["To"].addresses[0].addr_spec
