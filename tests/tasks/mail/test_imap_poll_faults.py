"""Faults: a killed poll, a dropped connection, two polls at once; every message exactly once."""

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from sqlalchemy import func, select

from db.models import Document, DocumentOrigin, MailMessage
from db.session import session_scope
from tasks.mail.imap_poll import poll_account
from tests.support.dovecot import FaultyProxy, configure, folder_uids
from tests.support.mails import invoice_mail

ROOT = Path(__file__).resolve().parents[3]


def _deliver(server, user, count):
    with server.mailbox(user) as box:
        for n in range(count):
            box.append(invoice_mail(f"Invoice {n}"), "INBOX")


def _assert_each_message_taken_exactly_once(server, user, count):
    with session_scope() as session:
        rows = list(session.scalars(select(MailMessage)))
        pdf_origins = session.execute(
            select(DocumentOrigin.document_id, func.count()).join(Document).where(Document.kind == "pdf")
            .group_by(DocumentOrigin.document_id)
        ).all()
        kinds = session.execute(select(Document.kind, func.count()).group_by(Document.kind)).all()
    assert len(rows) == count and {r.status for r in rows} == {"processed"}
    assert all(r.acted_at for r in rows)
    assert sorted(r.subject for r in rows) == sorted(f"Invoice {n}" for n in range(count))
    assert dict(kinds) == {"eml": count, "pdf": count}  # none twice, none missing
    assert len(pdf_origins) == count and {n for _, n in pdf_origins} == {1}
    assert folder_uids(server, user, "INBOX") == []
    assert len(folder_uids(server, user, "Processed")) == count


def _states() -> dict[str, int]:
    with session_scope() as session:
        return dict(session.execute(select(MailMessage.status, func.count()).group_by(MailMessage.status)).all())


def test_a_poll_killed_in_the_middle_of_a_batch_is_finished_by_the_next_one(settings, dovecot, monkeypatch):
    user = dovecot.add_user()
    count = 24
    _deliver(dovecot, user, count)
    slow = FaultyProxy(dovecot.plain_port, delay_seconds=0.02)  # a slow line, so the kill lands mid-run
    account = dovecot.account("billing", user, port=slow.port)
    configure(monkeypatch, [account], batch_size=6)
    env = {k: v for k, v in os.environ.items()}
    script = ("from tasks.mail.imap_poll import poll_account; from tasks.settings import get_settings; "
              "s = get_settings(); poll_account(s.imap.accounts[0], s)")
    poller = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    at_kill: dict[str, int] = {}
    try:
        while time.monotonic() < deadline and poller.poll() is None:
            states = _states()
            if states.get("processed", 0) >= 3 and states.get("claimed", 0) >= 1:
                poller.send_signal(signal.SIGKILL)
                at_kill = states
                break
            time.sleep(0.005)
    finally:
        if poller.poll() is None:
            poller.kill()
        poller.wait()
        slow.close()
    assert at_kill, f"the poll ended before it could be killed: {poller.stderr.read().decode()[-2000:]}"
    assert poller.returncode == -signal.SIGKILL
    assert at_kill.get("processed", 0) < count

    settings = configure(monkeypatch, [dovecot.account("billing", user)], batch_size=6)
    report = poll_account(settings.imap.accounts[0], settings)

    assert report.processed + at_kill.get("processed", 0) >= count - at_kill.get("claimed", 0)
    _assert_each_message_taken_exactly_once(dovecot, user, count)


def test_a_dropped_connection_is_reopened_and_the_poll_completes(settings, dovecot, monkeypatch):
    user = dovecot.add_user()
    count = 12
    _deliver(dovecot, user, count)
    flaky = FaultyProxy(dovecot.plain_port, drop_after_bytes=20_000, drop_connections=1)
    settings = configure(monkeypatch, [dovecot.account("billing", user, port=flaky.port)], batch_size=4)
    try:
        report = poll_account(settings.imap.accounts[0], settings)
    finally:
        flaky.close()

    assert flaky.dropped == 1 and report.reconnects == 1
    assert report.failed == 0 and report.gave_up == 0
    _assert_each_message_taken_exactly_once(dovecot, user, count)


def test_two_polls_at_once_take_each_message_once(settings, dovecot, monkeypatch):
    user = dovecot.add_user()
    count = 20
    _deliver(dovecot, user, count)
    settings = configure(monkeypatch, [dovecot.account("billing", user)], batch_size=3)
    account = settings.imap.accounts[0]
    reports, errors = [], []
    start = threading.Barrier(2)

    def poll():
        start.wait()
        try:
            reports.append(poll_account(account, settings))
        except Exception as err:  # noqa: BLE001 - reported by the assertion below
            errors.append(err)

    threads = [threading.Thread(target=poll) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)

    assert errors == []
    assert sum(r.processed for r in reports) == count
    _assert_each_message_taken_exactly_once(dovecot, user, count)
