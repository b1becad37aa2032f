"""`invoices doctor`: check every dependency and say what is wrong and how to fix it."""

from __future__ import annotations

import shutil
import smtplib
import socket
import ssl
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tasks.settings import Settings


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""


def check_database(settings: Settings) -> Check:
    from db.migrate import schema_state

    state = schema_state(settings.database.url)
    return Check("database", state.ready, state.detail, state.fix)


def check_storage(settings: Settings) -> Check:
    problems = []
    for label, folder in (("documents", settings.documents_dir), ("inbox", settings.inbox_dir),
                          ("backups", settings.backup.backup_dir)):
        folder = Path(folder or "")
        try:
            folder.mkdir(parents=True, exist_ok=True)
            probe = folder / ".doctor-probe"
            probe.write_bytes(b"ok")
            probe.unlink()
        except OSError as err:
            problems.append(f"{label} folder {folder}: {err.strerror or err}")
    if problems:
        return Check("storage", False, "; ".join(problems), "make the folders writable or point INVOICES_DATA_DIR elsewhere")
    free = shutil.disk_usage(settings.documents_dir).free / 1e9
    return Check("storage", True, f"{settings.documents_dir} writable, {free:.1f} GB free")


def check_tesseract(settings: Settings) -> Check:
    binary = shutil.which("tesseract")
    if binary is None:
        return Check("tesseract", False, "tesseract is not installed (scans and images cannot be read)",
                     "run `make setup` or `apt-get install tesseract-ocr tesseract-ocr-eng tesseract-ocr-deu "
                     "tesseract-ocr-fra tesseract-ocr-nld`")
    try:
        listed = subprocess.run([binary, "--list-langs"], capture_output=True, text=True, timeout=20).stdout
    except (OSError, subprocess.SubprocessError) as err:
        return Check("tesseract", False, f"{binary} does not run: {err}", "reinstall tesseract-ocr")
    have = {line.strip() for line in listed.splitlines()[1:]}
    missing = [lang for lang in settings.ocr.languages.split("+") if lang not in have]
    if missing:
        return Check("tesseract", False, f"language packs missing: {', '.join(missing)}",
                     "apt-get install " + " ".join(f"tesseract-ocr-{m}" for m in missing))
    return Check("tesseract", True, f"{binary} with {settings.ocr.languages}")


def _reachable(host: str, port: int, timeout: float) -> str | None:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return None
    except OSError as err:
        return err.strerror or str(err)


def check_imap(settings: Settings) -> list[Check]:
    from imap_tools import MailBox, MailBoxStartTls, MailBoxUnencrypted

    if not settings.imap.accounts:
        return [Check("imap", True, "no IMAP accounts configured (INVOICES_IMAP__ACCOUNTS); mailbox intake is off")]
    checks = []
    for account in settings.imap.accounts:
        name = f"imap:{account.name}"
        problem = _reachable(account.host, account.port, settings.imap.timeout_seconds)
        if problem:
            checks.append(Check(name, False, f"{account.host}:{account.port} unreachable: {problem}",
                                "check the account's host, port and firewall"))
            continue
        box_class = {"tls": MailBox, "starttls": MailBoxStartTls, "plain": MailBoxUnencrypted}[account.security]
        try:
            with box_class(account.host, account.port, timeout=settings.imap.timeout_seconds).login(
                account.user, account.password.get_secret_value(), account.folder
            ):
                checks.append(Check(name, True, f"{account.user}@{account.host}: logged in, folder {account.folder}"))
        except Exception as err:  # imaplib, ssl and imap-tools raise many kinds
            checks.append(Check(name, False, f"{account.user}@{account.host}: {type(err).__name__}: {err}",
                                "check the account's user, password, security and folder"))
    return checks


def check_smtp(settings: Settings) -> Check:
    smtp = settings.smtp
    if smtp.transport == "outbox":
        return Check("smtp", True, f"emails are written to the outbox folder {smtp.outbox_dir} (INVOICES_SMTP__TRANSPORT=outbox)")
    try:
        if smtp.security == "tls":
            client: smtplib.SMTP = smtplib.SMTP_SSL(smtp.host, smtp.port, timeout=smtp.timeout_seconds,
                                                    context=ssl.create_default_context())
        else:
            client = smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout_seconds)
            if smtp.security == "starttls":
                client.starttls(context=ssl.create_default_context())
        with client:
            if smtp.user:
                client.login(smtp.user, smtp.password.get_secret_value())
            client.noop()
    except (OSError, smtplib.SMTPException) as err:
        return Check("smtp", False, f"{smtp.host}:{smtp.port}: {type(err).__name__}: {err}",
                     "check INVOICES_SMTP__HOST, __PORT, __SECURITY, __USER and __PASSWORD")
    return Check("smtp", True, f"{smtp.host}:{smtp.port} accepts connections")


def check_prefect(settings: Settings) -> Check:
    from tasks.operations.prefect_server import api_url, server_problem

    url = api_url(settings)
    problem = server_problem(url)
    if problem:
        return Check("prefect", False, f"no Prefect server answers at {url}: {problem}",
                     "start the system with `make run` (it starts one there), or point INVOICES_PREFECT__API_URL "
                     "or PREFECT_API_URL at yours")
    return Check("prefect", True, f"Prefect API {url} is healthy")


def check_scheduler(settings: Settings) -> Check:
    from tasks.operations.prefect_server import api_url, connected, server_problem
    from tasks.operations.schedule_health import schedule_health

    url = api_url(settings)
    if server_problem(url):
        return Check("scheduler", False, f"not checked: no Prefect server answers at {url}",
                     "start the system with `make run`")
    with connected(settings):
        health = schedule_health()
    return Check("scheduler", health.ok, health.detail, health.fix)


CHECKS = ("database", "storage", "tesseract", "imap", "smtp", "prefect", "scheduler")


def run_checks(settings: Settings, only: list[str] | None = None) -> list[Check]:
    """Run every check (or those named in ``only``) and return their results in order."""
    wanted = [name.strip() for name in (only or CHECKS) if name.strip()]
    unknown = [name for name in wanted if name not in CHECKS]
    if unknown:
        raise ValueError(f"unknown check {unknown[0]!r}; choose from {', '.join(CHECKS)}")
    runners = {
        "database": lambda: [check_database(settings)],
        "storage": lambda: [check_storage(settings)],
        "tesseract": lambda: [check_tesseract(settings)],
        "imap": lambda: check_imap(settings),
        "smtp": lambda: [check_smtp(settings)],
        "prefect": lambda: [check_prefect(settings)],
        "scheduler": lambda: [check_scheduler(settings)],
    }
    return [check for name in wanted for check in runners[name]()]
