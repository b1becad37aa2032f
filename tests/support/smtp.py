"""A real SMTP server for tests: aiosmtpd on a free port, recording what it receives.

The handler can be told to defer (4xx) or refuse (5xx) messages or recipients, and to run a
callback once a message has been received (used to kill a sending process at the worst moment).
`smtp_server` is plain SMTP; `smtp_tls_server` is parametrised over STARTTLS and implicit TLS
with a certificate made by the test, and requires a login.
"""

from __future__ import annotations

import email
import email.policy
import socket
import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.support.certificates import make_certificates

USER, PASSWORD = "mailer", "s3cret-pässword"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes

    @property
    def message(self) -> EmailMessage:
        return email.message_from_bytes(self.data, policy=email.policy.default)  # type: ignore[return-value]


@dataclass
class RecordingHandler:
    messages: list[Received] = field(default_factory=list)
    defer_data: int = 0  # answer 451 to this many DATA commands
    refuse_data: bool = False  # answer 554 to DATA
    refuse_rcpt: dict[str, str] = field(default_factory=dict)  # address -> reply
    data_attempts: int = 0
    after_data: Callable[[Received], None] | None = None

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # type: ignore[no-untyped-def]
        if address in self.refuse_rcpt:
            return self.refuse_rcpt[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        self.data_attempts += 1
        if self.defer_data > 0:
            self.defer_data -= 1
            return "451 4.3.0 Temporary failure, try again later"
        if self.refuse_data:
            return "554 5.6.0 Message refused"
        received = Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content or envelope.content)
        self.messages.append(received)
        if self.after_data is not None:
            self.after_data(received)
        return "250 2.0.0 Message accepted"


def _authenticator(server, session, envelope, mechanism, auth_data):  # type: ignore[no-untyped-def]
    ok = isinstance(auth_data, LoginPassword) and auth_data.login == USER.encode() and auth_data.password == PASSWORD.encode()
    return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535 on failure


class SmtpServer:
    def __init__(self, security: str = "plain", tls_folder: Path | None = None) -> None:
        """``tls_folder``: where tests.certificates.make_certificates wrote ca.pem, server.pem, server.key."""
        self.handler = RecordingHandler()
        self.host = "127.0.0.1"
        self.port = free_port()
        self.security = security
        kwargs: dict = {"enable_SMTPUTF8": True}
        ssl_context = None
        if tls_folder is not None:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(str(tls_folder / "server.pem"), str(tls_folder / "server.key"))
            if security == "starttls":
                kwargs.update(tls_context=context, require_starttls=True)
            else:  # implicit TLS: aiosmtpd only counts STARTTLS as TLS when offering AUTH
                ssl_context = context
                kwargs.update(auth_require_tls=False)
            kwargs.update(authenticator=_authenticator, auth_required=True)
        self.controller = Controller(self.handler, hostname=self.host, port=self.port, ssl_context=ssl_context, **kwargs)
        self.ca_file = tls_folder / "ca.pem" if tls_folder is not None else None

    def start(self) -> None:
        self.controller.start()
        self.running = True

    def stop(self) -> None:
        if getattr(self, "running", False):
            self.controller.stop()
            self.running = False

    def env(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Point the settings at this server (fast retries) and clear the cached settings."""
        from tasks.settings import get_settings

        monkeypatch.setenv("INVOICES_SMTP__TRANSPORT", "smtp")
        monkeypatch.setenv("INVOICES_SMTP__HOST", self.host)
        monkeypatch.setenv("INVOICES_SMTP__PORT", str(self.port))
        monkeypatch.setenv("INVOICES_SMTP__SECURITY", self.security)
        monkeypatch.setenv("INVOICES_SMTP__TIMEOUT_SECONDS", "5")
        monkeypatch.setenv("INVOICES_SMTP__RETRY_BACKOFF_SECONDS", "0.01")
        monkeypatch.setenv("INVOICES_SMTP__SENDER", "invoices@example.com")
        if self.ca_file is not None:
            monkeypatch.setenv("INVOICES_SMTP__CA_FILE", str(self.ca_file))
            monkeypatch.setenv("INVOICES_SMTP__USER", USER)
            monkeypatch.setenv("INVOICES_SMTP__PASSWORD", PASSWORD)
        get_settings.cache_clear()


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(params=["starttls", "tls"])
def smtp_tls_server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SmtpServer]:
    make_certificates(tmp_path / "tls")
    server = SmtpServer(request.param, tmp_path / "tls")
    server.start()
    yield server
    server.stop()
