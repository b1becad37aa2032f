"""Passwords of the people who log in to the desk: argon2 hashes, never the password itself."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from email_validator import EmailNotValidError, validate_email
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db.models import User
from tasks.errors import InvoiceAutomationError

MIN_LENGTH = 10
MAX_LENGTH = 1024  # argon2 takes any length; a megabyte "password" is only a way to burn CPU
HASHER = PasswordHasher()
# Verified when the email is unknown, so that a wrong email takes as long as a wrong password.
_UNKNOWN_USER_HASH = HASHER.hash("no such user at the desk")


class PasswordError(InvoiceAutomationError):
    """A password that cannot be set (too short, too long) or a person who does not exist."""


def check_new_password(password: str) -> None:
    if len(password) < MIN_LENGTH:
        raise PasswordError(f"a password needs at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise PasswordError(f"a password may have at most {MAX_LENGTH} characters")


def hash_password(password: str) -> str:
    check_new_password(password)
    return HASHER.hash(password)


def password_matches(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` is the one hashed in ``password_hash`` (None: nobody matches)."""
    if len(password) > MAX_LENGTH:
        return False
    try:
        return HASHER.verify(password_hash or _UNKNOWN_USER_HASH, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def normal_email(email: str) -> str:
    try:
        return validate_email(email.strip(), check_deliverability=False).normalized
    except EmailNotValidError as err:
        raise PasswordError(f"{email!r} is not a valid email address: {err}") from err


def find_person(session: Session, email: str) -> User | None:
    """The user with this email (compared without case)."""
    return session.scalars(select(User).where(func.lower(User.email) == email.strip().lower())).first()


def people_with_passwords(session: Session) -> int:
    return session.scalar(select(func.count(User.id)).where(User.password_hash.is_not(None))) or 0
