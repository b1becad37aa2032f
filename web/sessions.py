"""Logins at the desk: server-side sessions (the cookie holds a random token, the database its
sha256), a fresh token at every login, and throttled guessing."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from db.models import DeskSession, LoginFailure, User, UserRole
from tasks.errors import InvoiceAutomationError
from web.passwords import find_person, password_matches

COOKIE = "desk_session"
# one address may try this many times the per-email limit (an office shares one address)
ADDRESS_FACTOR = 4


class LoginThrottled(InvoiceAutomationError):
    """Too many wrong passwords lately: logins wait until the window has passed."""


@dataclass(frozen=True)
class Person:
    """Who is logged in, as the pages need it (no ORM object crosses a request)."""

    id: int
    email: str
    name: str
    role: str
    locale: str
    csrf_token: str

    @property
    def can_act(self) -> bool:
        return self.role != UserRole.VIEWER.value

    @property
    def is_admin(self) -> bool:
        return self.role == UserRole.ADMIN.value


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(session: Session, user: User, hours: float, now: datetime | None = None) -> str:
    """A new session for ``user``; returns the cookie's token (shown once, stored only hashed)."""
    now = now or datetime.now(UTC)
    token = secrets.token_urlsafe(32)
    session.add(DeskSession(token_sha256=_digest(token), user_id=user.id, csrf_token=secrets.token_urlsafe(32),
                            created_at=now, expires_at=now + timedelta(hours=hours)))
    session.execute(delete(DeskSession).where(DeskSession.expires_at < now))
    session.flush()
    return token


def session_person(session: Session, token: str | None, now: datetime | None = None) -> Person | None:
    """The active person whose unexpired session ``token`` is, or None."""
    if not token or len(token) > 200:
        return None
    now = now or datetime.now(UTC)
    row = session.execute(
        select(DeskSession, User).join(User, User.id == DeskSession.user_id)
        .where(DeskSession.token_sha256 == _digest(token), DeskSession.expires_at > now, User.active.is_(True),
               User.password_hash.is_not(None))
    ).first()
    if row is None:
        return None
    desk_session, user = row
    return Person(user.id, user.email or "", user.name, user.role, user.locale or "en", desk_session.csrf_token)


def end_session(session: Session, token: str | None) -> None:
    if token:
        session.execute(delete(DeskSession).where(DeskSession.token_sha256 == _digest(token)))


def end_sessions_of(session: Session, user_id: int) -> None:
    session.execute(delete(DeskSession).where(DeskSession.user_id == user_id))


def _failures(session: Session, column: object, value: str, since: datetime) -> int:
    return session.scalar(select(func.count(LoginFailure.id)).where(column == value, LoginFailure.at >= since)) or 0


def check_throttle(session: Session, email: str, address: str, max_failures: int, window: timedelta,
                   now: datetime) -> None:
    """Raise LoginThrottled when this email or this address failed too often within ``window``."""
    since = now - window
    if (_failures(session, LoginFailure.email, email.strip().lower(), since) >= max_failures
            or _failures(session, LoginFailure.address, address, since) >= max_failures * ADDRESS_FACTOR):
        minutes = max(1, int(window.total_seconds() // 60))
        raise LoginThrottled(f"too many wrong passwords; try again in {minutes} minutes")


def authenticate(session: Session, email: str, password: str, address: str, max_failures: int,
                 window: timedelta, now: datetime | None = None) -> User | None:
    """The user whose email and password these are; a miss is counted against email and address."""
    now = now or datetime.now(UTC)
    check_throttle(session, email, address, max_failures, window, now)
    user = find_person(session, email) if email.strip() else None
    if user is not None and user.active and password_matches(user.password_hash, password):
        session.execute(delete(LoginFailure).where(LoginFailure.email == email.strip().lower()))
        return user
    if user is None:
        password_matches(None, password)  # as long as a wrong password takes
    session.add(LoginFailure(email=email.strip().lower()[:320], address=address[:64], at=now))
    session.flush()
    session.execute(delete(LoginFailure).where(LoginFailure.at < now - window * 4))
    return None
