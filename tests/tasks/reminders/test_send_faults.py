"""Exactly once, against a real SMTP server: outages, refusals, a killed run, two runs at once."""

import os
import signal
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from db.models import Reminder
from db.session import session_scope
from tasks.reminders import send as reminders
from tasks.reminders.send import run_reminders
from tasks.settings import get_settings
from tests.support.reminder_fixtures import MONDAY, add_invoice, add_user, ledger
from tests.support.smtp import SmtpServer

ROOT = Path(__file__).resolve().parents[3]


def _to(server: SmtpServer, address: str) -> list:
    return [m for m in server.handler.messages if address in m.rcpt_tos]


def _rows() -> list[Reminder]:
    with session_scope() as session:
        return list(session.scalars(select(Reminder).order_by(Reminder.id)))


def test_smtp_down_is_retried_then_recorded_as_failed_and_sent_by_a_later_run(settings, monkeypatch):
    server = SmtpServer()  # not started: connections are refused
    server.env(monkeypatch)
    add_user("ann@example.com")
    add_invoice("Acme", "A-1", MONDAY - timedelta(days=1))
    add_invoice("Acme", "A-2", MONDAY - timedelta(days=8))

    down = run_reminders(get_settings(), MONDAY)

    [outcome] = down.outcomes
    assert outcome.status == "failed" and "not sent after 4 tries" in outcome.detail
    rows = _rows()
    assert [r.status for r in rows] == ["failed", "failed"] and all(r.next_attempt_at for r in rows)
    assert all(r.sent_at is None for r in rows)

    server.start()
    try:
        later = run_reminders(get_settings(), MONDAY)
        run_reminders(get_settings(), MONDAY)
    finally:
        server.stop()
    assert [o.status for o in later.outcomes] == ["sent"]
    assert len(_to(server, "ann@example.com")) == 1
    assert [(r.status, r.attempts) for r in _rows()] == [("sent", 2), ("sent", 2)]


def test_temporary_refusals_are_retried_within_the_run(settings, monkeypatch, smtp_server):
    smtp_server.env(monkeypatch)
    smtp_server.handler.defer_data = 2
    add_user("ann@example.com")
    add_invoice("Acme", "A-1", MONDAY - timedelta(days=1))

    report = run_reminders(get_settings(), MONDAY)

    assert [o.status for o in report.outcomes] == ["sent"] and "after 3 try" in report.outcomes[0].detail
    assert smtp_server.handler.data_attempts == 3 and len(smtp_server.handler.messages) == 1
    assert [status for *_, status in ledger()] == ["sent"]


def test_a_permanent_refusal_is_recorded_for_that_recipient_only(settings, monkeypatch, smtp_server):
    smtp_server.env(monkeypatch)
    smtp_server.handler.refuse_rcpt = {"bob@example.com": "550 5.1.1 <bob@example.com>: no such user"}
    add_user("ann@example.com", "Ann")
    add_user("bob@example.com", "Bob")
    add_invoice("Acme", "A-1", MONDAY - timedelta(days=1))

    report = run_reminders(get_settings(), MONDAY)
    rerun = run_reminders(get_settings(), MONDAY)

    assert sorted((o.address, o.status) for o in report.outcomes) == [("ann@example.com", "sent"), ("bob@example.com", "refused")]
    assert rerun.outcomes == []  # a refused address is not tried again for the same level
    assert len(smtp_server.handler.messages) == 1
    [bob] = [r for r in _rows() if r.recipient == "bob@example.com"]
    assert bob.status == "failed" and bob.next_attempt_at is None and "no such user" in (bob.error or "")
    assert [a["recipient"] for a in rerun.attention] == ["bob@example.com"]


def test_a_run_killed_between_sending_and_recording_never_sends_twice(settings, monkeypatch, smtp_server):
    smtp_server.env(monkeypatch)
    monkeypatch.setenv("INVOICES_ADMIN_EMAILS", '["admin@example.com"]')
    get_settings.cache_clear()
    add_user("ann@example.com")
    add_invoice("Acme", "A-1", MONDAY - timedelta(days=1))
    add_invoice("Initech", "I-1", MONDAY - timedelta(days=7))
    victim: list[subprocess.Popen] = []
    smtp_server.handler.after_data = lambda received: os.kill(victim[0].pid, signal.SIGKILL)
    code = ("import datetime; from tasks.settings import get_settings; from tasks.reminders.send import run_reminders; "
            f"run_reminders(get_settings(), datetime.date.fromisoformat({MONDAY.isoformat()!r}))")
    victim.append(subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}))
    assert victim[0].wait(timeout=120) == -signal.SIGKILL
    smtp_server.handler.after_data = None
    assert len(_to(smtp_server, "ann@example.com")) == 1  # the server has it; the ledger does not know
    assert [status for *_, status in ledger()] == ["claimed", "claimed"]

    soon = run_reminders(get_settings(), MONDAY)  # within the claim timeout: left alone
    assert soon.outcomes == [] and [status for *_, status in ledger()] == ["claimed", "claimed"]
    monkeypatch.setenv("INVOICES_REMINDERS__CLAIM_TIMEOUT_MINUTES", "0")
    get_settings.cache_clear()
    later = run_reminders(get_settings(), MONDAY)
    nextday = run_reminders(get_settings(), MONDAY + timedelta(days=1))

    assert later.expired_claims == 2 and later.outcomes == [] and nextday.outcomes == []
    assert len(_to(smtp_server, "ann@example.com")) == 1
    assert [status for *_, status in ledger()] == ["uncertain", "uncertain"]
    assert {a["status"] for a in later.attention} == {"uncertain"} and len(later.attention) == 2
    assert "may or may not have been delivered" in (reminders.alert_text(later) or "")


def test_two_runs_at_once_send_one_email_per_level_and_recipient(settings, monkeypatch, smtp_server):
    smtp_server.env(monkeypatch)
    add_user("ann@example.com")
    add_user("bob@example.com", preferences={"directions": ["receivable"]})
    for n in range(30):
        add_invoice(f"Vendor {n % 4}", f"N-{n}", MONDAY - timedelta(days=n % 10),
                    direction="receivable" if n % 3 else "payable")
    current = get_settings()
    plans = [reminders.make_plan(current, MONDAY) for _ in range(2)]  # both runs see the same work
    barrier = threading.Barrier(2)
    outcomes: list = []

    def run(plan) -> None:  # type: ignore[no-untyped-def]
        barrier.wait()
        outcomes.extend(reminders.send_envelope(current, envelope, MONDAY, "run") for envelope in plan.envelopes)

    threads = [threading.Thread(target=run, args=(plan,)) for plan in plans]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    rows = ledger()
    per_key = {(i, level, r) for i, level, r, _ in rows}
    assert len(per_key) == len(rows) and {status for *_, status in rows} == {"sent"}
    sent = [o for o in outcomes if o.status == "sent"]
    assert sum(o.reminders for o in sent) == len(rows) == 30 + 20
    for address in ("ann@example.com", "bob@example.com"):
        assert len(_to(smtp_server, address)) == 1
    assert {o.status for o in outcomes} <= {"sent", "taken"}
