"""Alerts for the people who run the system: a failed backup, an uncertain reminder, ...

`send_admin_alert` emails ``settings.admin_emails`` and every active user with the admin role,
through the configured transport (so with the default outbox they land in the outbox folder).
It never raises because of delivery: an alert is sent from code that is already handling a
failure, and must not hide it. Whatever goes wrong is logged instead.
"""

from __future__ import annotations

import logging

from notifications.compose import build_message, render_email, valid_address
from notifications.transports import local_domain, make_transport
from tasks.errors import InvoiceAutomationError
from tasks.settings import Settings

logger = logging.getLogger(__name__)


def admin_recipients(settings: Settings) -> list[tuple[str, str | None]]:
    """(address, name) of settings.admin_emails and of active admin users; bad addresses are logged."""
    found: dict[str, str | None] = {}
    for address in settings.admin_emails:
        try:
            found.setdefault(valid_address(address, "admin_emails entry").lower(), None)
        except InvoiceAutomationError as err:
            logger.warning("alert recipient skipped: %s", err)
    try:
        from sqlalchemy import select

        from db.models import User, UserRole
        from db.session import engine_for, session_scope

        with session_scope(engine_for(settings.database.url)) as session:
            admins = session.execute(
                select(User.email, User.name).where(User.role == UserRole.ADMIN.value, User.active.is_(True))
            ).all()
    except Exception as err:  # the database may be what failed; settings.admin_emails still get it
        logger.warning("could not read admin users for an alert: %s", err)
        admins = []
    for email, name in admins:
        try:
            address = valid_address(email, f"admin user {name!r}")
        except InvoiceAutomationError as err:
            logger.warning("alert recipient skipped: %s", err)
            continue
        if found.get(address.lower()) is None:
            found[address.lower()] = name
    return list(found.items())


def send_admin_alert(settings: Settings, subject: str, text: str) -> None:
    """Email an alert to the administrators; logs (never raises) when it cannot be delivered."""
    try:
        recipients = admin_recipients(settings)
        if not recipients:
            logger.warning(
                "alert %r not emailed: no admin address (set INVOICES_ADMIN_EMAILS or add an admin user)", subject
            )
            return
        rendered = render_email(
            "admin_alert",
            {"subject": subject, "text": text, "app_url": settings.reminders.app_url},
            "en",
            settings.reminders.templates_dir,
        )
        message = build_message(
            settings.smtp.sender,
            recipients,
            rendered,
            sender_name="Invoice automation",
            domain=local_domain(settings),
        )
        with make_transport(settings) as transport:
            delivery = transport.send(message)
        for address, reason in delivery.refused.items():
            logger.error("alert %r not delivered to %s: %s", subject, address, reason)
        logger.info("alert %r sent to %s", subject, ", ".join(delivery.accepted))
    except Exception as err:  # never let an alert hide the failure it reports
        logger.error("alert %r could not be sent: %s: %s", subject, type(err).__name__, err)
