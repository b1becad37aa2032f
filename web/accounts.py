"""Setting a person's password: a new hash, and every session they had ends."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session

from db.models import User
from web.passwords import PasswordError, find_person, hash_password
from web.sessions import end_sessions_of


def set_password(session: Session, email: str, password: str) -> User:
    """Give the user with ``email`` a new password (their sessions end: they log in again)."""
    user = find_person(session, email)
    if user is None:
        raise PasswordError(f"no user {email!r}; add them first with `invoices user add {email}`")
    user.password_hash = hash_password(password)
    user.password_changed_at = datetime.now(UTC)
    session.flush()
    end_sessions_of(session, user.id)
    return user
