"""Email composition, the SMTP and outbox transports, and admin alerts."""

from datetime import date
from decimal import Decimal

import pytest

from notifications.alerts import send_admin_alert
from notifications.compose import RenderedEmail, build_message, render_email
from notifications.transports import (
    OutboxTransport,
    PermanentDeliveryError,
    SmtpTransport,
    TemporaryDeliveryError,
    UncertainDeliveryError,
)
from tasks.settings import SmtpSettings, get_settings
from tests.support.certificates import make_certificates
from tests.support.reminder_fixtures import add_user, outbox, parts
from tests.support.smtp import PASSWORD, USER, SmtpServer


def _message(to: str = "jörg@example.com", name: str = "Jörg Müller") -> object:
    return build_message("invoices@example.com", [(to, name)], RenderedEmail("Grüße: Rechnung ✓", "Text ü", "<p>ü</p>"))


def test_locale_formats_amounts_and_dates_and_html_is_escaped():
    context = {"subject": "<b>x</b>", "text": "a < b", "app_url": ""}
    rendered = render_email("admin_alert", context, "en")
    assert "&lt;b&gt;x&lt;/b&gt;" in rendered.html and "a &lt; b" in rendered.html
    assert rendered.text.startswith("a < b")  # the text part is not escaped
    from notifications.compose import template_environment

    template = template_environment().from_string("{{ 1234.5|money('EUR') }} {{ d|day }} {{ 1234.5|number }}")
    from notifications.compose import parse_locale

    assert template.render(locale=parse_locale("de_DE"), d=date(2026, 3, 2)) == "1.234,50\xa0€ 02.03.2026 1.234,5"
    assert template.render(locale=parse_locale("fr"), d=date(2026, 3, 2)) == "1\u202f234,50\xa0€ 2 mars 2026 1\u202f234,5"
    assert template.render(locale=parse_locale("xx-nonsense"), d=date(2026, 3, 2)).startswith("€1,234.50")
    assert template_environment().from_string("{{ a|money('JPY') }}").render(locale=parse_locale("en"), a=Decimal("5")) == "¥5"


def test_smtp_with_tls_and_login_delivers_non_ascii_names_and_subjects(smtp_tls_server):
    config = SmtpSettings(host=smtp_tls_server.host, port=smtp_tls_server.port, security=smtp_tls_server.security,
                          user=USER, password=PASSWORD, ca_file=smtp_tls_server.ca_file, timeout_seconds=5)
    with SmtpTransport(config) as transport:
        delivery = transport.send(_message())
    assert delivery.accepted == ["jörg@example.com"]
    [received] = smtp_tls_server.handler.messages
    message = received.message
    assert message["Subject"] == "Grüße: Rechnung ✓"
    assert "To: Jörg Müller <jörg@example.com>".encode() in received.data  # SMTPUTF8: raw UTF-8 on the wire
    assert message.get_body(("plain",)).get_content().strip() == "Text ü"


def test_smtp_refuses_an_untrusted_certificate_and_a_wrong_password(smtp_tls_server, tmp_path):
    (tmp_path / "other").mkdir()
    other_ca = make_certificates(tmp_path / "other")
    base = dict(host=smtp_tls_server.host, port=smtp_tls_server.port, security=smtp_tls_server.security,
                user=USER, timeout_seconds=5, retry_backoff_seconds=0)
    with pytest.raises(PermanentDeliveryError, match=f"refused the login of '{USER}'"):
        SmtpTransport(SmtpSettings(**base, password="wrong", ca_file=smtp_tls_server.ca_file)).send(
            _message("a@example.com"))
    # last: aiosmtpd stops answering after a client aborts its TLS handshake
    with pytest.raises(PermanentDeliveryError, match="not trusted"):
        SmtpTransport(SmtpSettings(**base, password=PASSWORD, ca_file=other_ca)).send(_message("a@example.com"))
    assert smtp_tls_server.handler.messages == []


def test_smtp_down_raises_temporary_after_every_try():
    server = SmtpServer()  # never started
    waits: list[float] = []
    config = SmtpSettings(host=server.host, port=server.port, security="plain", max_attempts=3, retry_backoff_seconds=1)
    with pytest.raises(TemporaryDeliveryError, match="not sent after 3 tries"):
        SmtpTransport(config, sleep=waits.append).send(_message("a@example.com"))
    assert waits == [1, 2]  # back-off doubles


def test_a_connection_lost_after_the_message_is_uncertain(smtp_server):
    def drop(received) -> None:  # type: ignore[no-untyped-def]
        raise ConnectionResetError("server crashed before confirming")

    smtp_server.handler.after_data = drop  # the server drops the connection after taking the message
    config = SmtpSettings(host=smtp_server.host, port=smtp_server.port, security="plain", timeout_seconds=1,
                          retry_backoff_seconds=0)
    with pytest.raises(UncertainDeliveryError, match="may have been delivered"):
        SmtpTransport(config).send(_message("a@example.com"))
    assert len(smtp_server.handler.messages) == 1  # delivered indeed, and not sent again

    class Silent:  # a server that takes the message and never confirms it
        async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
            import asyncio

            await asyncio.sleep(5)
            return "250 OK"

    silent = SmtpServer()
    silent.controller.handler = Silent()
    silent.start()
    try:
        with pytest.raises(UncertainDeliveryError, match="may have been delivered"):
            SmtpTransport(SmtpSettings(host=silent.host, port=silent.port, security="plain", timeout_seconds=1,
                                       max_attempts=3, retry_backoff_seconds=0)).send(_message("a@example.com"))
    finally:
        silent.stop()


def test_outbox_writes_whole_eml_files(tmp_path):
    delivery = OutboxTransport(tmp_path / "outbox").send(_message())
    [written] = list((tmp_path / "outbox").iterdir())
    assert delivery.location == str(written) and written.suffix == ".eml"
    [message] = outbox(tmp_path / "outbox")
    assert message["Subject"] == "Grüße: Rechnung ✓" and parts(message)[1].strip() == "<p>ü</p>"


def test_admin_alerts_reach_admins_and_never_raise(settings, monkeypatch, smtp_server):
    smtp_server.env(monkeypatch)
    monkeypatch.setenv("INVOICES_ADMIN_EMAILS", '["ops@example.com", "not an address"]')
    get_settings.cache_clear()
    add_user("boss@example.com", "Boss", role="admin")
    add_user("ann@example.com", "Ann")

    send_admin_alert(get_settings(), "Backup failed <script>", "pg_dump: error\nline 2")

    [received] = smtp_server.handler.messages
    assert sorted(received.rcpt_tos) == ["boss@example.com", "ops@example.com"]
    assert received.message["Subject"] == "[invoices] Backup failed <script>"
    assert "&lt;script&gt;" in received.message.get_body(("html",)).get_content()

    smtp_server.stop()
    send_admin_alert(get_settings(), "SMTP is down too", "nothing raised")  # logged, not raised
