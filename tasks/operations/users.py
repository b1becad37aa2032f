"""Users: who gets reminders and alerts, in which language, about what."""

from __future__ import annotations

from typing import Any

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select

from db.models import Direction, User, UserRole
from db.session import session_scope


def save_user(
    email: str, name: str, role: str, locale: str, directions: list[str], counterparties: list[str]
) -> User:
    """Create or update the user with ``email``; raises ValueError on bad values."""
    try:
        address = validate_email(email, check_deliverability=False).normalized
    except EmailNotValidError as err:
        raise ValueError(f"{email!r} is not a valid email address: {err}") from err
    if role not in {r.value for r in UserRole}:
        raise ValueError(f"role {role!r} is not one of {', '.join(r.value for r in UserRole)}")
    unknown = [d for d in directions if d not in {x.value for x in Direction}]
    if unknown:
        raise ValueError(f"direction {unknown[0]!r} is not payable or receivable")
    preferences: dict[str, Any] = {}
    if directions:
        preferences["directions"] = sorted(set(directions))
    if counterparties:
        preferences["counterparties"] = sorted(set(counterparties))
    with session_scope() as session:
        user = session.scalars(select(User).where(User.email == address)).one_or_none()
        if user is None:
            user = User(email=address, name=name or address.split("@")[0])
            session.add(user)
        elif name:
            user.name = name
        user.role, user.locale, user.reminder_preferences = role, locale, preferences
    return user


def list_users() -> list[dict[str, Any]]:
    with session_scope() as session:
        users = session.scalars(select(User).order_by(User.email)).all()
        return [
            {"email": u.email, "name": u.name, "role": u.role, "locale": u.locale, "active": u.active,
             "reminder_preferences": u.reminder_preferences}
            for u in users
        ]
