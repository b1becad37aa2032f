"""Polling one IMAP account: dedup before download, claim before work, act after commit.

    1. SELECT the folder and read its UIDVALIDITY; UID SEARCH; subtract the UIDs the ledger knows.
    2. Known messages that still need something: apply the action of those already taken, retry
       failed ones whose back-off is over, take over claims of polls that died.
    3. New messages, in batches: claim in the database, fetch headers and sizes only (filters,
       size limit), then the bodies of the rest; store each message (.eml) and its attachments
       and record the outcome in one transaction per message.
    4. Only then move the message to the processed folder (or flag it / mark it seen).
A message that fails is retried by later polls with back-off, up to INVOICES_IMAP__MAX_ATTEMPTS,
then moved to the failed folder. A dropped connection is re-opened and the poll goes on.
"""

from __future__ import annotations

import imaplib
import logging
import re
import ssl
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from imap_tools import BaseMailBox, MailBox, MailBoxStartTls, MailBoxUnencrypted
from imap_tools.errors import (
    MailboxFolderCreateError,
    MailboxLoginError,
    MailboxStarttlsError,
)
from imap_tools.utils import encode_folder

from db.models import MailStatus
from db.session import session_scope
from tasks.errors import MailboxError
from tasks.mail import ledger
from tasks.mail.parts import PartLimits, read_headers
from tasks.mail.store import store_message
from tasks.settings import ImapAccount, Settings

logger = logging.getLogger(__name__)

FETCH_BYTES = 16 * 1024 * 1024  # message bodies per FETCH round trip
HEADER_FIELDS = "BODY.PEEK[HEADER.FIELDS (MESSAGE-ID SUBJECT FROM DATE)]"
CONNECTION_ERRORS = (imaplib.IMAP4.abort, OSError, EOFError)
_META = re.compile(rb"UID (\d+)|RFC822\.SIZE (\d+)")


@dataclass
class AccountReport:
    account: str
    folder: str = ""
    uidvalidity: int | None = None
    in_folder: int = 0
    new: int = 0
    processed: int = 0
    no_documents: int = 0
    skipped: int = 0
    resynced: int = 0
    failed: int = 0
    gave_up: int = 0
    documents: int = 0
    reconnects: int = 0
    uidvalidity_changed_from: int | None = None
    error: str | None = None
    new_document_ids: list[int] = field(default_factory=list)
    attention: list[dict[str, Any]] = field(default_factory=list)

    def counts(self) -> dict[str, Any]:
        keys = ("in_folder", "new", "processed", "no_documents", "skipped", "resynced", "failed", "gave_up",
                "documents", "reconnects")
        return {"account": self.account, **{k: getattr(self, k) for k in keys}}


def describe(account: ImapAccount) -> str:
    return f"account {account.name!r} ({account.user} at {account.host}:{account.port}, {account.security})"


def connect(account: ImapAccount, settings: Settings) -> BaseMailBox:
    """Log in (never logs or shows the password); raises MailboxError naming the account."""
    timeout = settings.imap.timeout_seconds
    context = ssl.create_default_context(cafile=str(account.ca_file) if account.ca_file else None)
    where = describe(account)
    try:
        if account.security == "tls":
            box: BaseMailBox = MailBox(account.host, account.port, timeout=timeout, ssl_context=context)
        elif account.security == "starttls":
            box = MailBoxStartTls(account.host, account.port, timeout=timeout, ssl_context=context)
        else:
            box = MailBoxUnencrypted(account.host, account.port, timeout=timeout)
    except ssl.SSLCertVerificationError as err:
        raise MailboxError(f"{where}: the server's certificate is not trusted ({err.verify_message}); "
                           "set the account's ca_file for a private certificate") from err
    except MailboxStarttlsError as err:
        raise MailboxError(f"{where}: the server refused STARTTLS: {err}") from err
    except (imaplib.IMAP4.error, OSError) as err:
        raise ConnectionLost(f"{where}: could not connect: {type(err).__name__}: {err}") from err
    try:
        box.login(account.user, account.password.get_secret_value(), initial_folder=None)
        typ, data = box.client.capability()  # servers announce more (MOVE, UIDPLUS) once logged in
        if typ == "OK" and data and data[-1]:
            box.client.capabilities = tuple(data[-1].decode("ascii", "replace").upper().split())
    except MailboxLoginError as err:
        _close(box)
        said = err.command_result[1] if isinstance(err.command_result, tuple) else err
        raise MailboxError(f"{where}: login refused; check the user and password in INVOICES_IMAP__ACCOUNTS "
                           f"(server said: {said!r})") from err
    return box


class ConnectionLost(MailboxError):
    """The connection could not be opened or broke off; the poll tries again."""


def _close(box: BaseMailBox) -> None:
    try:
        box.logout()
    except Exception:  # noqa: BLE001 - the connection may already be gone
        try:
            box.client.shutdown()
        except Exception:  # noqa: BLE001
            pass


def poll_account(account: ImapAccount, settings: Settings, claimer: str | None = None) -> AccountReport:
    """Poll one account until every new message is taken; reconnects after a dropped connection."""
    claimer = claimer or ledger.new_claimer()
    report = AccountReport(account.name, account.folder)
    tries = 0
    try:
        while True:
            try:
                box = connect(account, settings)
                try:
                    _Poll(box, account, settings, claimer, report).run()
                finally:
                    _close(box)
                return report
            except (ConnectionLost, *CONNECTION_ERRORS) as err:
                tries += 1
                if tries > settings.imap.reconnect_attempts:
                    raise MailboxError(f"{describe(account)}: connection lost {tries} times; last: {err}") from err
                report.reconnects += 1
                logger.warning("%s: connection lost (%s); reconnecting", describe(account), err)
                time.sleep(min(0.5 * 2 ** (tries - 1), 10))
    except BaseException as err:
        ledger.release(claimer, f"the poll broke off: {err}")
        raise


class _Poll:
    """One connected pass over one folder."""

    def __init__(self, box: BaseMailBox, account: ImapAccount, settings: Settings, claimer: str,
                 report: AccountReport) -> None:
        self.box, self.account, self.settings, self.claimer, self.report = box, account, settings, claimer, report
        self.imap = settings.imap
        self.limits = PartLimits.from_settings(settings.imap)
        self.folders_ready: set[str] = set()
        self.subjects: dict[int, str] = {}

    # --- IMAP commands -------------------------------------------------------------------
    def command(self, *args: Any) -> list[Any]:
        typ, data = self.box.client.uid(*args)
        if typ != "OK":
            raise MailboxError(f"{describe(self.account)}: UID {args[0]} failed: {data!r}")
        return data

    def select(self) -> int:
        client = self.box.client
        typ, data = client.select(_quote(self.account.folder))
        if typ != "OK":
            raise MailboxError(f"{describe(self.account)}: folder {self.account.folder!r} cannot be opened: {data!r}")
        _, values = client.response("UIDVALIDITY")
        if not values or values[0] is None:
            raise MailboxError(f"{describe(self.account)}: the server sent no UIDVALIDITY for {self.account.folder!r}")
        return int(values[0])

    def fetch(self, uids: list[int], items: str) -> dict[int, tuple[int | None, bytes]]:
        """uid -> (RFC822.SIZE, literal) for the messages still there."""
        data = self.command("FETCH", ",".join(map(str, uids)), items)
        found: dict[int, tuple[int | None, bytes]] = {}
        for index, item in enumerate(data):
            if isinstance(item, tuple):
                following = data[index + 1] if index + 1 < len(data) else None
                meta, literal = item[0] + (following if isinstance(following, bytes) else b""), item[1]
            elif isinstance(item, bytes) and b"BODY[" in item:  # an empty item sent as "" instead of a literal
                meta, literal = item, b""
            else:
                continue
            uid = size = None
            for match in _META.finditer(meta):
                uid = int(match.group(1)) if match.group(1) else uid
                size = int(match.group(2)) if match.group(2) else size
            if uid is not None:
                found[uid] = (size, literal)
        return found

    def ensure_folder(self, folder: str) -> None:
        if folder in self.folders_ready:
            return
        if not self.box.folder.exists(folder):
            try:
                self.box.folder.create(folder)
            except MailboxFolderCreateError:
                if not self.box.folder.exists(folder):  # not a parallel poll that created it first
                    raise
        self.folders_ready.add(folder)

    def act(self, uids: list[int], failed: bool = False) -> None:
        """The account's action (or the move to the failed folder)."""
        if not uids:
            return
        uid_set = ",".join(map(str, uids))
        action = "move" if failed else self.account.action
        if action == "move":
            target = self.account.failed_folder if failed else self.account.processed_folder
            self.ensure_folder(target)
            if "MOVE" in self.box.client.capabilities:
                self.command("MOVE", uid_set, _quote(target))
            else:
                self.command("COPY", uid_set, _quote(target))
                self.command("STORE", uid_set, "+FLAGS.SILENT", r"(\Deleted)")
                if "UIDPLUS" in self.box.client.capabilities:
                    self.command("EXPUNGE", uid_set)
        else:
            self.command("STORE", uid_set, "+FLAGS.SILENT", r"(\Flagged)" if action == "flag" else r"(\Seen)")

    # --- the pass ------------------------------------------------------------------------
    def run(self) -> None:
        account, report = self.account, self.report
        uidvalidity = self.select()
        report.uidvalidity = uidvalidity
        in_folder = [int(uid) for uid in (self.command("SEARCH", "ALL")[0] or b"").split()]
        report.in_folder = len(in_folder)
        present = set(in_folder)
        with session_scope() as session:
            known = ledger.known_uids(session, account.name, account.folder, uidvalidity)
            waiting = ledger.pending(session, account.name, account.folder, uidvalidity)
            if not known:
                report.uidvalidity_changed_from = ledger.earlier_uidvalidity(
                    session, account.name, account.folder, uidvalidity)
        timeout, at = timedelta(minutes=self.imap.claim_timeout_minutes), ledger.now()
        ledger.left_folder([row for row in waiting if row.uid not in present and (
            row.status != MailStatus.CLAIMED.value or row.claimed_by == self.claimer
            or ledger.claimer_gone(row.claimed_by, row.claimed_at, timeout, at))])
        self.known_messages([row for row in waiting if row.uid in present], uidvalidity)
        new = [uid for uid in in_folder if uid not in known]
        report.new = len(new)
        for start in range(0, len(new), self.imap.batch_size):
            batch = new[start:start + self.imap.batch_size]
            self.take(ledger.claim_new(account.name, account.folder, uidvalidity, batch, self.claimer))

    def known_messages(self, rows: list[ledger.Pending], uidvalidity: int) -> None:
        at = ledger.now()
        timeout = timedelta(minutes=self.imap.claim_timeout_minutes)
        done = [r for r in rows if r.status in ledger.DONE and r.claimed_by == self.claimer
                or r.status in ledger.DONE and ledger.claimer_gone(r.claimed_by, r.claimed_at, timeout, at)]
        gave_up = [r for r in rows if r.status == MailStatus.GAVE_UP.value]
        self.act([r.uid for r in done])
        ledger.mark_acted(r.id for r in done)
        self.act([r.uid for r in gave_up], failed=True)
        ledger.mark_acted(r.id for r in gave_up)
        retry: dict[int, int] = {}
        for row in rows:
            due = row.status == MailStatus.FAILED.value and (row.next_attempt_at is None or row.next_attempt_at <= at)
            abandoned = row.status == MailStatus.CLAIMED.value and (
                row.claimed_by == self.claimer or ledger.claimer_gone(row.claimed_by, row.claimed_at, timeout, at))
            if not (due or abandoned):
                continue
            if abandoned and row.claimed_by != self.claimer and row.attempts >= self.imap.max_attempts:
                if ledger.reclaim(row, self.claimer):
                    self.give_up(row.id, row.uid, f"the poll stopped {row.attempts} times while taking this message")
                continue
            if row.claimed_by == self.claimer and row.status == MailStatus.CLAIMED.value or ledger.reclaim(row, self.claimer):
                retry[row.uid] = row.id
        self.take(retry)

    def give_up(self, row_id: int, uid: int, reason: str, **values: Any) -> None:
        ledger.finish(row_id, self.claimer, MailStatus.GAVE_UP, reason, **values)
        self.report.gave_up += 1
        self.note(uid, MailStatus.GAVE_UP.value, reason, values.get("subject"))
        self.act([uid], failed=True)
        ledger.mark_acted([row_id])

    def note(self, uid: int, status: str, reason: str | None, subject: str | None = None) -> None:
        subject = subject or self.subjects.get(uid, "")
        self.report.attention.append({"account": self.account.name, "uid": uid, "subject": subject,
                                      "status": status, "reason": reason or ""})

    def take(self, claimed: dict[int, int]) -> None:
        """Headers first (filters and size limit), then the bodies, one transaction per message."""
        if not claimed:
            return
        heads = self.fetch(sorted(claimed), f"(UID RFC822.SIZE {HEADER_FIELDS})")
        wanted: list[tuple[int, int]] = []
        for uid, row_id in sorted(claimed.items()):
            if uid not in heads:
                ledger.drop_claim(row_id, self.claimer)
                continue
            size, header_bytes = heads[uid]
            headers = read_headers(header_bytes or b"")
            values = {"message_id": headers.message_id, "subject": headers.subject, "sender": headers.sender,
                      "sent_at": headers.sent_at, "size_bytes": size}
            ledger.record_headers(row_id, self.claimer, values)
            self.subjects[uid] = headers.subject
            if not self.wanted(headers.sender, headers.subject):
                ledger.finish(row_id, self.claimer, MailStatus.SKIPPED, "not from an allowed sender or subject",
                              acted_at=ledger.now())
                self.report.skipped += 1
            elif size is not None and size > self.imap.max_message_mb * 1024 * 1024:
                self.give_up(row_id, uid, f"{size / 1048576:.1f} MB is over the {self.imap.max_message_mb} MB message "
                             "limit (INVOICES_IMAP__MAX_MESSAGE_MB); not downloaded", subject=headers.subject)
            else:
                wanted.append((uid, size or 0))
        for group in _groups(wanted, FETCH_BYTES):
            bodies = self.fetch(group, "(UID BODY.PEEK[])")
            done: list[tuple[int, int]] = []
            for uid in group:
                row_id = claimed[uid]
                if uid not in bodies:
                    ledger.drop_claim(row_id, self.claimer)
                    continue
                if self.store(row_id, uid, bodies.pop(uid)[1]):
                    done.append((uid, row_id))
            self.act([uid for uid, _ in done])
            ledger.mark_acted(row_id for _, row_id in done)

    def wanted(self, sender: str, subject: str) -> bool:
        allowed = [a.strip().lower() for a in self.account.allowed_senders if a.strip()]
        if allowed:
            domain = sender.rpartition("@")[2]
            if not any(sender == a if "@" in a.lstrip("@") else
                       (domain == a.lstrip("@") or domain.endswith("." + a.lstrip("@"))) for a in allowed):
                return False
        words = [w.lower() for w in self.account.subject_filters if w]
        return not words or any(w in subject.lower() for w in words)

    def store(self, row_id: int, uid: int, raw: bytes) -> bool:
        """Take one message; True when its outcome is committed and the action may follow."""
        try:
            status, reason, created = store_message(row_id, self.claimer, raw, self.settings, self.limits)
        except Exception as err:  # noqa: BLE001 - recorded on the message, retried with back-off
            error = f"{type(err).__name__}: {err}"
            logger.warning("%s: message uid %s failed: %s", describe(self.account), uid, error)
            outcome = ledger.fail(row_id, self.claimer, error, self.imap.max_attempts, self.imap.retry_backoff_minutes)
            if outcome == MailStatus.GAVE_UP.value:
                self.report.gave_up += 1
                self.note(uid, outcome, error)
                self.act([uid], failed=True)
                ledger.mark_acted([row_id])
            elif outcome == MailStatus.FAILED.value:
                self.report.failed += 1
                self.note(uid, outcome, error)
            return False
        report = self.report
        report.new_document_ids += created
        report.documents += len(created)
        if status == "resynced":
            report.resynced += 1
        elif status == MailStatus.NO_DOCUMENTS.value:
            report.no_documents += 1
            self.note(uid, status, reason)
        else:
            report.processed += 1
            if reason:
                self.note(uid, status, reason)
        return True


def _quote(folder: str) -> bytes:
    return encode_folder(folder)  # quoted, modified UTF-7


def _groups(items: list[tuple[int, int]], budget: int) -> list[list[int]]:
    groups: list[list[int]] = []
    current: list[int] = []
    used = 0
    for uid, size in items:
        if current and used + size > budget:
            groups.append(current)
            current, used = [], 0
        current.append(uid)
        used += size
    if current:
        groups.append(current)
    return groups
