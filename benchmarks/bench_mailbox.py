"""Mailbox intake speed against a real dovecot.

1. N messages with one PDF each (default 1,000; BENCH_MAILBOX_MESSAGES): messages per second and
   the per-message overhead over ingesting the same PDFs from the drop folder (the plain
   `tasks.documents.drop_folder.take_file` path), measured in the same run, each into a fresh database.
2. A poll of a folder holding M messages that are all already processed (default 10,000;
   BENCH_MAILBOX_PROCESSED): time (target < 0.5 s) and bytes the server sent (counted on the
   socket by a proxy; dovecot's own counters must show no message body read), against a poll of
   an empty folder as the baseline.
Databases are SQLite files in a temporary folder (BENCH_DATABASE_URL_A/B: PostgreSQL URLs instead).
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import tempfile
import time
from pathlib import Path


def _use_database(folder: Path, url: str | None) -> object:
    from db.migrate import upgrade
    from db.session import engine_for
    from tasks.settings import get_settings

    os.environ["INVOICES_DATA_DIR"] = str(folder)
    os.environ["INVOICES_DATABASE__URL"] = url or f"sqlite:///{folder / 'invoices.db'}"
    os.environ["INVOICES_STORAGE__SETTLE_SECONDS"] = "0"
    get_settings.cache_clear()
    engine_for.cache_clear()
    settings = get_settings()
    upgrade(settings.database.url)
    return settings


def _account(server, user: str, port: int | None = None, **extra):  # type: ignore[no-untyped-def]
    import json

    from tasks.settings import get_settings

    account = server.account("bench", user, **extra)
    if port:
        account["port"] = port
    os.environ["INVOICES_IMAP__ACCOUNTS"] = json.dumps([account])
    get_settings.cache_clear()
    settings = get_settings()
    return settings.imap.accounts[0], settings


def _fill_maildir(server, user: str, count: int) -> None:
    """Write `count` small messages straight into the user's maildir (much faster than APPEND)."""
    new = server.maildir(user) / "new"
    for name in ("new", "cur", "tmp"):
        (server.maildir(user) / name).mkdir(parents=True, exist_ok=True)
    stamp = int(time.time())
    for n in range(count):
        (new / f"{stamp}.M{n}P1.bench").write_bytes(
            f"From: vendor@example.com\r\nSubject: Invoice {n}\r\nMessage-ID: <{n}@bench>\r\n\r\nold\r\n".encode())
    if os.geteuid() == 0:
        info = pwd.getpwnam("dovecot")
        for path in [server.maildir(user), *server.maildir(user).rglob("*")]:
            os.chown(path, info.pw_uid, info.pw_gid)


def _mark_all_processed(server, user: str, account) -> int:  # type: ignore[no-untyped-def]
    """Record every message of the folder as processed (as a finished earlier poll would have)."""
    from db.models import MailMessage, MailStatus
    from db.session import session_scope
    from tasks.mail.ledger import now

    with server.mailbox(user) as box:
        uidvalidity = int(box.client.response("UIDVALIDITY")[1][0] or 0) or int(
            box.folder.status("INBOX", ["UIDVALIDITY"])["UIDVALIDITY"])
        uids = [int(u) for u in box.uids()]
    at = now()
    with session_scope() as session:
        session.execute(MailMessage.__table__.insert(), [
            {"account": account.name, "folder": account.folder, "uidvalidity": uidvalidity, "uid": uid,
             "status": MailStatus.PROCESSED.value, "attempts": 1, "claimed_at": at, "processed_at": at,
             "acted_at": at, "parts": []} for uid in uids])
    return len(uids)


def _body_counters(server, user: str) -> str:
    lines = [line for line in server.log().splitlines() if f"imap({user})" in line and "body_count=" in line]
    match = re.search(r"body_count=\d+ body_bytes=\d+", lines[-1]) if lines else None
    return match.group(0) if match else "n/a"


def run(argv: list[str]) -> list[str]:
    from tasks.documents import drop_folder
    from tasks.mail.imap_poll import poll_account
    from tests.support.dovecot import DovecotServer, FaultyProxy
    from tests.support.mails import invoice_mail
    from tests.support.pdfs import text_pdf

    count = int(os.environ.get("BENCH_MAILBOX_MESSAGES", "1000"))
    processed = int(os.environ.get("BENCH_MAILBOX_PROCESSED", "10000"))
    work = Path(tempfile.mkdtemp(prefix="bench-mailbox-"))
    server = DovecotServer(Path(tempfile.mkdtemp(prefix="invoices-dovecot-"))).start()
    lines: list[str] = []
    saved = {k: v for k, v in os.environ.items() if k.startswith("INVOICES_")}
    try:
        pdfs = [text_pdf([f"Invoice {n}", f"Total {n}.00 EUR"]) for n in range(count)]

        settings = _use_database(work / "folder", os.environ.get("BENCH_DATABASE_URL_A"))
        inbox = settings.inbox_dir
        drop_folder.ensure_layout(inbox)
        for n, pdf in enumerate(pdfs):
            (inbox / f"invoice-{n}.pdf").write_bytes(pdf)
        started = time.perf_counter()
        for path in drop_folder.ready_files(inbox, 0):
            claimed = drop_folder.claim(inbox, path)
            drop_folder.take_file(inbox, settings.documents_dir, claimed, 50 * 1024 * 1024)
        folder_seconds = time.perf_counter() - started

        settings = _use_database(work / "mail", os.environ.get("BENCH_DATABASE_URL_B"))
        user = server.add_user()
        with server.mailbox(user) as box:
            for n, pdf in enumerate(pdfs):
                box.append(invoice_mail(f"Invoice {n}", [(f"invoice-{n}.pdf", pdf)]), "INBOX")
        account, settings = _account(server, user)
        started = time.perf_counter()
        report = poll_account(account, settings)
        mail_seconds = time.perf_counter() - started
        if report.processed != count:
            raise RuntimeError(f"only {report.processed} of {count} messages were taken: {report.attention[:3]}")
        lines += [
            f"{count} messages with one PDF each: {count / mail_seconds:.0f} messages/s ({mail_seconds:.2f} s)",
            f"drop folder, same PDFs (baseline): {count / folder_seconds:.0f} files/s ({folder_seconds:.2f} s)",
            f"per-message overhead of mail over the drop folder: "
            f"{(mail_seconds - folder_seconds) / count * 1000:.2f} ms; ratio mail/folder time "
            f"{mail_seconds / folder_seconds:.2f}x",
        ]

        full, empty = server.add_user(), server.add_user()
        _fill_maildir(server, full, processed)
        recorded = _mark_all_processed(server, full, _account(server, full, action="seen")[0])
        results = {}
        for name, who in (("empty", empty), ("full", full)):
            proxy = FaultyProxy(server.plain_port)
            account, settings = _account(server, who, port=proxy.port, action="seen")
            started = time.perf_counter()
            report = poll_account(account, settings)
            seconds = time.perf_counter() - started
            proxy.close()
            if report.new:
                raise RuntimeError(f"{report.new} messages were taken as new from a processed folder")
            results[name] = (seconds, proxy.bytes_from_server, _body_counters(server, who))
        (full_s, full_b, full_c), (empty_s, empty_b, _) = results["full"], results["empty"]
        lines += [
            f"poll of {recorded} already-processed messages: {full_s * 1000:.0f} ms (target < 500 ms: "
            f"{'met' if full_s < 0.5 else 'NOT met'}), {full_b} bytes from the server ({full_b / recorded:.1f} "
            f"per message; dovecot: {full_c})",
            f"poll of an empty folder (baseline): {empty_s * 1000:.0f} ms, {empty_b} bytes; ratio "
            f"{full_s / empty_s:.1f}x time",
        ]
    finally:
        server.stop()
        shutil.rmtree(server.root, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)
        for key in [k for k in os.environ if k.startswith("INVOICES_")]:
            del os.environ[key]
        os.environ.update(saved)
    return lines
