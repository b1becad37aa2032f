"""How emails leave the system: an SMTP server, or an outbox folder of .eml files.

`make_transport(settings)` picks one from ``settings.smtp.transport``. Both take an
`email.message.EmailMessage` and return a `Delivery`: which recipients the server took and
which it refused for good (a 5xx reply naming that address). Whole-message failures raise:

- `TemporaryDeliveryError`: the server was down or answered 4xx on every try; nothing was
  delivered, so trying again later is safe;
- `PermanentDeliveryError`: the server refused the message (5xx) or every recipient;
- `UncertainDeliveryError`: the connection broke after the message body was sent and before
  the server confirmed it; it may have been delivered, so it must not be sent again.

SMTP sends retry temporary failures with back-off (``smtp.max_attempts``,
``smtp.retry_backoff_seconds``). The dialogue is driven step by step (MAIL, RCPT, DATA) so that
a failure is known to be before or after the point of no return.
"""

from __future__ import annotations

import base64
import logging
import os
import smtplib
import socket
import ssl
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.message import EmailMessage
from email.utils import getaddresses
from pathlib import Path
from types import TracebackType
from typing import Protocol

from tasks.errors import NotificationError
from tasks.settings import Settings, SmtpSettings

logger = logging.getLogger(__name__)


class TemporaryDeliveryError(NotificationError):
    """Not delivered, for now: the server was unreachable or answered 4xx on every try."""


class PermanentDeliveryError(NotificationError):
    """Refused by the server (5xx): sending the same email again would fail again."""


class UncertainDeliveryError(NotificationError):
    """The connection broke after the message was handed over: it may have been delivered."""


@dataclass
class Delivery:
    """What happened to one email: recipients taken, and recipients refused with the reason."""

    accepted: list[str] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)
    attempts: int = 1
    location: str | None = None  # the .eml file, for the outbox


class Transport(Protocol):
    def send(self, message: EmailMessage) -> Delivery: ...

    def close(self) -> None: ...

    def __enter__(self) -> Transport: ...

    def __exit__(self, *exc: object) -> None: ...


def recipients_of(message: EmailMessage) -> list[str]:
    """Every address in To, Cc and Bcc, in order, without duplicates."""
    values = [str(v) for key in ("To", "Cc", "Bcc") for v in message.get_all(key, [])]
    seen: dict[str, None] = {}
    for _name, address in getaddresses(values):
        if address:
            seen.setdefault(address, None)
    return list(seen)


def sender_of(message: EmailMessage) -> str:
    [(_name, address)] = getaddresses([str(message["From"])]) or [("", "")]
    return address


class _Base:
    def __enter__(self) -> _Base:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        return None


class OutboxTransport(_Base):
    """Writes each email as an .eml file a person can open with any mail program.

    Files appear whole (written under a temporary name, then renamed) and are named
    ``<UTC time>-<Message-ID>.eml`` so that they sort by time.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    def send(self, message: EmailMessage) -> Delivery:
        recipients = recipients_of(message)
        if not recipients:
            raise PermanentDeliveryError(f"email {message['Subject']!r} has no recipient")
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
            message_id = str(message["Message-ID"] or "").strip("<> ").split("@")[0]
            ident = "".join(c for c in message_id if c.isalnum() or c in "-_")[:64]
            target = self.folder / f"{stamp}-{ident or uuid.uuid4().hex}.eml"
            partial = self.folder / f".{target.name}.{os.getpid()}.part"
            partial.write_bytes(message.as_bytes())
            os.replace(partial, target)
        except OSError as err:
            raise TemporaryDeliveryError(f"cannot write to the outbox folder {self.folder}: {err}") from err
        return Delivery(accepted=recipients, location=str(target))


def _is_temporary(code: int) -> bool:
    return 400 <= code < 500


def _reply(code: int, text: bytes | str) -> str:
    message = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    return f"{code} {message}".strip()


def _login(connection: smtplib.SMTP, user: str, password: str) -> None:
    """AUTH PLAIN in UTF-8 (RFC 4616) when offered, a single clear answer; else smtplib's login."""
    if "plain" not in (connection.esmtp_features.get("auth") or "").lower().split():
        connection.login(user, password)
        return
    token = base64.b64encode(b"\0" + user.encode() + b"\0" + password.encode()).decode("ascii")
    code, text = connection.docmd("AUTH", "PLAIN " + token)
    if code not in (235, 503):  # 503: already authenticated
        raise smtplib.SMTPAuthenticationError(code, text)


class SmtpTransport(_Base):
    """Sends through an SMTP server (implicit TLS, STARTTLS or plain), keeping the connection
    open between emails of one run and reconnecting when it drops."""

    def __init__(self, config: SmtpSettings, sleep=time.sleep) -> None:  # type: ignore[no-untyped-def]
        self.config = config
        self.sleep = sleep
        self.connection: smtplib.SMTP | None = None

    def _tls_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context()
        if self.config.ca_file:
            context.load_verify_locations(cafile=str(self.config.ca_file))
        return context

    def _connect(self) -> smtplib.SMTP:
        c = self.config
        where = f"SMTP server {c.host}:{c.port}"
        try:
            if c.security == "tls":
                connection: smtplib.SMTP = smtplib.SMTP_SSL(
                    c.host, c.port, timeout=c.timeout_seconds, context=self._tls_context()
                )
            else:
                connection = smtplib.SMTP(c.host, c.port, timeout=c.timeout_seconds)
            connection.ehlo()
            if c.security == "starttls":
                if not connection.has_extn("starttls"):
                    connection.close()
                    raise PermanentDeliveryError(f"{where} does not offer STARTTLS (set smtp.security)")
                connection.starttls(context=self._tls_context())
                connection.ehlo()
            if c.user:
                _login(connection, c.user, c.password.get_secret_value())
        except smtplib.SMTPAuthenticationError as err:
            raise PermanentDeliveryError(f"{where} refused the login of {c.user!r}: {_reply(err.smtp_code, err.smtp_error)}") from err
        except smtplib.SMTPNotSupportedError as err:
            raise PermanentDeliveryError(f"{where}: {err}") from err
        except ssl.SSLCertVerificationError as err:
            raise PermanentDeliveryError(f"{where}: TLS certificate not trusted ({err.verify_message}); set smtp.ca_file") from err
        except smtplib.SMTPResponseException as err:
            kind = TemporaryDeliveryError if _is_temporary(err.smtp_code) else PermanentDeliveryError
            raise kind(f"{where}: {_reply(err.smtp_code, err.smtp_error)}") from err
        except (OSError, smtplib.SMTPException) as err:
            raise TemporaryDeliveryError(f"cannot connect to {where}: {err or type(err).__name__}") from err
        except (UnicodeError, ValueError) as err:
            raise PermanentDeliveryError(f"{where}: {err}") from err
        return connection

    def close(self) -> None:
        if self.connection is not None:
            try:
                self.connection.quit()
            except (OSError, smtplib.SMTPException):
                self.connection.close()
            self.connection = None

    def _drop(self) -> None:
        if self.connection is not None:
            try:
                self.connection.close()
            except OSError:
                pass
            self.connection = None

    def _once(self, message: EmailMessage, sender: str, recipients: list[str]) -> tuple[list[str], dict[str, str], dict[str, str]]:
        """One MAIL/RCPT/DATA exchange: (accepted, refused for good, refused for now)."""
        needs_utf8 = any(not a.isascii() for a in [sender, *recipients])
        try:
            data = message.as_bytes(policy=message.policy.clone(linesep="\r\n", utf8=needs_utf8))
        except (UnicodeError, ValueError, LookupError) as err:
            raise PermanentDeliveryError(f"the email cannot be encoded: {err}") from err
        if self.connection is None:
            self.connection = self._connect()
        connection = self.connection
        options = []
        if needs_utf8:
            if not connection.has_extn("smtputf8"):
                raise PermanentDeliveryError("an address is not ASCII and the server does not support SMTPUTF8")
            options = ["SMTPUTF8", "BODY=8BITMIME"]
        try:
            code, text = connection.mail(sender, options)
            if code != 250:
                connection.rset()
                kind = TemporaryDeliveryError if _is_temporary(code) else PermanentDeliveryError
                raise kind(f"sender {sender} refused: {_reply(code, text)}")
            accepted, permanent, temporary = [], {}, {}
            for recipient in recipients:
                code, text = connection.rcpt(recipient)
                if code in (250, 251):
                    accepted.append(recipient)
                elif _is_temporary(code):
                    temporary[recipient] = _reply(code, text)
                else:
                    permanent[recipient] = _reply(code, text)
            if not accepted:
                connection.rset()
                return accepted, permanent, temporary
        except (OSError, smtplib.SMTPServerDisconnected) as err:
            self._drop()
            raise TemporaryDeliveryError(f"connection lost before the message was sent: {err}") from err
        try:
            code, text = connection.data(data)
        except smtplib.SMTPDataError as err:
            kind = TemporaryDeliveryError if _is_temporary(err.smtp_code) else PermanentDeliveryError
            raise kind(f"message refused: {_reply(err.smtp_code, err.smtp_error)}") from err
        except (OSError, smtplib.SMTPServerDisconnected) as err:
            self._drop()
            raise UncertainDeliveryError(
                f"connection lost while the server took the message ({err or type(err).__name__}); "
                "it may have been delivered"
            ) from err
        if code != 250:  # smtplib returns (not raises) the reply to the message body
            kind = TemporaryDeliveryError if _is_temporary(code) else PermanentDeliveryError
            raise kind(f"message refused: {_reply(code, text)}")
        return accepted, permanent, temporary

    def send(self, message: EmailMessage) -> Delivery:
        recipients = recipients_of(message)
        if not recipients:
            raise PermanentDeliveryError(f"email {message['Subject']!r} has no recipient")
        sender = sender_of(message) or self.config.sender
        if "Bcc" in message:
            del message["Bcc"]
        delivery = Delivery(attempts=0)
        pending = recipients
        wait = self.config.retry_backoff_seconds
        last_error = ""
        for attempt in range(1, self.config.max_attempts + 1):
            delivery.attempts = attempt
            try:
                accepted, permanent, temporary = self._once(message, sender, pending)
            except TemporaryDeliveryError as err:
                last_error = str(err)
                logger.warning("SMTP try %d of %d failed: %s", attempt, self.config.max_attempts, err)
                self._drop()
            else:
                delivery.accepted += accepted
                delivery.refused.update(permanent)
                if not temporary:
                    break
                pending = list(temporary)
                last_error = "; ".join(f"{a}: {r}" for a, r in temporary.items())
                logger.warning("SMTP try %d of %d: recipients deferred: %s", attempt, self.config.max_attempts, last_error)
            if attempt < self.config.max_attempts:
                self.sleep(wait)
                wait *= 2
        else:
            if not delivery.accepted and not delivery.refused:
                raise TemporaryDeliveryError(f"not sent after {delivery.attempts} tries: {last_error}")
            for address in pending:
                delivery.refused.setdefault(address, f"deferred on every try: {last_error}")
        if not delivery.accepted:
            reasons = "; ".join(f"{a}: {r}" for a, r in delivery.refused.items())
            raise PermanentDeliveryError(f"every recipient was refused: {reasons}")
        return delivery


def make_transport(settings: Settings) -> OutboxTransport | SmtpTransport:
    """The transport configured in ``settings.smtp.transport``."""
    if settings.smtp.transport == "smtp":
        return SmtpTransport(settings.smtp)
    return OutboxTransport(Path(settings.smtp.outbox_dir or settings.data_dir / "outbox"))


def local_domain(settings: Settings) -> str:
    """The domain used in Message-IDs: the sender's, else this host's name."""
    _, _, domain = settings.smtp.sender.rpartition("@")
    return domain or socket.getfqdn() or "localhost"
