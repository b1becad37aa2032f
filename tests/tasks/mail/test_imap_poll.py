"""Mailbox intake against a real dovecot, on SQLite and PostgreSQL."""

import pytest
from sqlalchemy import func, select

from db.models import Document, DocumentOrigin, MailMessage
from db.session import session_scope
from tasks.errors import MailboxError
from tasks.mail.imap_poll import poll_account
from tests.support.dovecot import configure, folder_uids
from tests.support.mails import RECEIPT_HTML, body_mail, invoice_mail, zip_bytes
from tests.support.pdfs import text_pdf


def _messages() -> list[MailMessage]:
    with session_scope() as session:
        return list(session.scalars(select(MailMessage).order_by(MailMessage.uid)))


def _count(model) -> int:
    with session_scope() as session:
        return session.scalar(select(func.count()).select_from(model))


def _deliver(server, user, messages, folder="INBOX"):
    with server.mailbox(user) as box:
        if not box.folder.exists(folder):
            box.folder.create(folder)
        for raw in messages:
            box.append(raw, folder)


def test_new_messages_are_stored_once_and_moved_only_after_commit(settings, dovecot, monkeypatch):
    user = dovecot.add_user()
    settings = configure(monkeypatch, [dovecot.account("billing", user)])
    _deliver(dovecot, user, [invoice_mail("Invoice 1"), invoice_mail("Invoice 2"), invoice_mail("Hello", [])])

    report = poll_account(settings.imap.accounts[0], settings)

    assert (report.new, report.processed, report.no_documents, report.documents) == (3, 2, 1, 5)
    rows = _messages()
    assert [r.status for r in rows] == ["processed", "processed", "no_documents"]
    assert all(r.acted_at and r.content_sha256 and r.raw_document_id for r in rows)
    assert rows[0].subject == "Invoice 1" and rows[0].sender == "billing@vendor.example"
    assert rows[2].error == "no attachment"
    with session_scope() as session:
        kinds = sorted(session.scalars(select(Document.kind)))
        origins = session.execute(select(DocumentOrigin.channel, DocumentOrigin.mail_message_id)).all()
    assert kinds == ["eml", "eml", "eml", "pdf", "pdf"]
    assert {channel for channel, _ in origins} == {"mail"} and all(mid for _, mid in origins)
    assert folder_uids(dovecot, user, "INBOX") == []
    assert len(folder_uids(dovecot, user, "Processed")) == 3

    again = poll_account(settings.imap.accounts[0], settings)
    assert (again.in_folder, again.new, again.documents) == (0, 0, 0)
    assert len(_messages()) == 3


def test_the_same_invoice_sent_twice_is_stored_once_and_linked_to_both_messages(settings, dovecot, monkeypatch):
    user = dovecot.add_user()
    settings = configure(monkeypatch, [dovecot.account("billing", user)])
    pdf = text_pdf(["Invoice 77", "Total 10.00"])
    _deliver(dovecot, user, [invoice_mail("Invoice 77", [("inv77.pdf", pdf)]),
                             invoice_mail("Fwd: Invoice 77", [("copy.pdf", pdf)])])

    poll_account(settings.imap.accounts[0], settings)

    with session_scope() as session:
        [document] = session.scalars(select(Document).where(Document.kind == "pdf"))
        linked = sorted(o.mail_message_id for o in document.origins)
    assert linked == sorted(r.id for r in _messages())
    assert [p["outcome"] for r in _messages() for p in r.parts] == ["stored", "duplicate"]


def test_a_receipt_sent_as_the_email_itself_is_stored_and_read_as_a_document(settings, dovecot, monkeypatch):
    from tasks.extraction.invoice_file import understand_file

    user = dovecot.add_user()
    settings = configure(monkeypatch, [dovecot.account("billing", user)])
    _deliver(dovecot, user, [body_mail("Your receipt from Cloudly", RECEIPT_HTML, "Receipt CL-2026-0912: $49.00")])

    report = poll_account(settings.imap.accounts[0], settings)

    assert (report.processed, report.no_documents, report.documents) == (1, 0, 2)  # the original and its body
    with session_scope() as session:
        [body] = session.scalars(select(Document).where(Document.kind == "pdf"))
        path, name = settings.documents_dir / body.storage_path, body.original_name
    assert name == "Your receipt from Cloudly (message text).pdf"
    read = understand_file(path, name, settings.ocr)
    assert read.value("invoice_number") == "CL-2026-0912" and str(read.value("total")) == "49.00"
    assert read.value("currency") == "USD" and read.value("vendor") == "Cloudly Inc."


@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_encrypted_accounts_verify_the_certificate_made_by_the_test(settings, dovecot, monkeypatch, security):
    user = dovecot.add_user()
    settings = configure(monkeypatch, [dovecot.account("secure", user, security),
                                       dovecot.account("untrusting", user, security, ca_file=None)])
    _deliver(dovecot, user, [invoice_mail("Invoice TLS")])

    with pytest.raises(MailboxError, match="'untrusting'.*certificate is not trusted"):
        poll_account(settings.imap.accounts[1], settings)
    report = poll_account(settings.imap.accounts[0], settings)

    assert report.processed == 1


def test_a_wrong_password_is_a_clear_error_naming_the_account(settings, dovecot, monkeypatch):
    user = dovecot.add_user()
    settings = configure(monkeypatch, [dovecot.account("billing", user, password="wrong-pw-123")])

    with pytest.raises(MailboxError) as raised:
        poll_account(settings.imap.accounts[0], settings)

    message = str(raised.value)
    assert "'billing'" in message and user in message and "login refused" in message
    assert "wrong-pw-123" not in message


def test_filters_and_the_seen_action_leave_other_mail_alone(settings, dovecot, monkeypatch):
    user = dovecot.add_user()
    account = dovecot.account("billing", user, action="seen", allowed_senders=["@vendor.example"],
                              subject_filters=["invoice", "rechnung"])
    settings = configure(monkeypatch, [account])
    _deliver(dovecot, user, [invoice_mail("Invoice 5"), invoice_mail("Newsletter"),
                             invoice_mail("Invoice 6", sender="someone@elsewhere.example"),
                             invoice_mail("RECHNUNG 7", sender="a@sub.vendor.example")])

    report = poll_account(settings.imap.accounts[0], settings)

    assert (report.processed, report.skipped) == (2, 2)
    assert [r.status for r in _messages()] == ["processed", "skipped", "skipped", "processed"]
    with dovecot.mailbox(user) as box:
        seen = {int(m.uid): "\\Seen" in m.flags for m in box.fetch(mark_seen=False, headers_only=True)}
    assert seen == {1: True, 2: False, 3: False, 4: True}
    assert poll_account(settings.imap.accounts[0], settings).new == 0


def test_zip_attachments_are_unpacked_and_forwarded_messages_opened(settings, dovecot, monkeypatch):
    user = dovecot.add_user()
    settings = configure(monkeypatch, [dovecot.account("billing", user)])
    inner = invoice_mail("Original invoice", [("original.pdf", text_pdf(["Invoice 900"]))])
    archive = zip_bytes({"march/a.pdf": text_pdf(["Invoice A"]), "../../b.pdf": text_pdf(["Invoice B"]),
                         "notes.txt": b"just text"})
    _deliver(dovecot, user, [invoice_mail("Two things", [("invoices.zip", archive), ("fwd.eml", inner)])])

    poll_account(settings.imap.accounts[0], settings)

    [row] = _messages()
    outcomes = {p["name"]: p["outcome"] for p in row.parts}
    assert outcomes == {"invoices.zip/a.pdf": "stored", "invoices.zip/b.pdf": "stored",
                        "fwd.eml/original.pdf": "stored", "invoices.zip/notes.txt": "ignored"}


def test_a_failing_message_is_retried_with_back_off_then_moved_to_the_failed_folder(settings, dovecot, monkeypatch):
    user = dovecot.add_user()
    broken_store = settings.data_dir / "not-a-folder"
    broken_store.parent.mkdir(parents=True, exist_ok=True)
    broken_store.write_text("the document store cannot be created here")
    monkeypatch.setenv("INVOICES_STORAGE__DOCUMENTS_DIR", str(broken_store))
    settings = configure(monkeypatch, [dovecot.account("billing", user)], max_attempts=2, retry_backoff_minutes=0)
    _deliver(dovecot, user, [invoice_mail("Invoice 1")])

    first = poll_account(settings.imap.accounts[0], settings)
    [row] = _messages()
    assert first.failed == 1 and row.status == "failed" and row.attempts == 1
    assert "StorageError" in row.error and row.next_attempt_at is not None
    assert folder_uids(dovecot, user, "INBOX") == [1]  # a failed message stays where it is

    second = poll_account(settings.imap.accounts[0], settings)
    [row] = _messages()
    assert second.gave_up == 1 and row.status == "gave_up" and row.attempts == 2
    assert second.attention[0]["status"] == "gave_up" and "StorageError" in second.attention[0]["reason"]
    assert folder_uids(dovecot, user, "INBOX") == [] and folder_uids(dovecot, user, "Failed") == [1]


def test_a_recreated_folder_is_resynced_by_content_without_duplicates(settings, dovecot, monkeypatch):
    user = dovecot.add_user()
    settings = configure(monkeypatch, [dovecot.account("billing", user, folder="Invoices", action="flag")])
    mails = [invoice_mail(f"Invoice {n}") for n in range(3)]
    _deliver(dovecot, user, mails, folder="Invoices")
    poll_account(settings.imap.accounts[0], settings)
    documents, origins = _count(Document), _count(DocumentOrigin)
    with dovecot.mailbox(user) as box:  # the folder is deleted and made again: new UIDVALIDITY
        box.folder.delete("Invoices")
    _deliver(dovecot, user, [*mails, invoice_mail("Invoice new")], folder="Invoices")

    report = poll_account(settings.imap.accounts[0], settings)

    assert report.uidvalidity_changed_from is not None and report.uidvalidity != report.uidvalidity_changed_from
    assert (report.new, report.resynced, report.processed) == (4, 3, 1)
    assert _count(Document) == documents + 2 and _count(DocumentOrigin) == origins + 2
    resynced = [r for r in _messages() if r.duplicate_of_id]
    assert len(resynced) == 3 and all("same message as" in r.error for r in resynced)


def test_bad_input_is_recorded_with_a_reason_and_blocks_nothing(settings, dovecot, monkeypatch):
    from tests.support.mails import (
        large_attachment_mail,
        malformed_mail,
        wrong_charsets_mail,
        zip_bomb,
    )

    user = dovecot.add_user()
    settings = configure(monkeypatch, [dovecot.account("billing", user)])
    pdf = text_pdf(["Invoice 1234"])
    _deliver(dovecot, user, [
        invoice_mail("No attachment", []),
        invoice_mail("Hostile name", [("../../x.pdf", text_pdf(["Invoice X"]))]),
        invoice_mail("No name", [(None, text_pdf(["Invoice nameless"]))]),
        wrong_charsets_mail(text_pdf(["Facture 12"])),
        large_attachment_mail(25),
        malformed_mail(),
        invoice_mail("Zip bomb", [("bomb.zip", zip_bomb(50))]),
        invoice_mail("Fake PDF", [("invoice.pdf", b"\x7fELF\x02\x01\x01" + b"\0" * 64)]),
        invoice_mail("Good one", [("good.pdf", pdf)]),
    ])

    report = poll_account(settings.imap.accounts[0], settings)

    rows = {r.subject: r for r in _messages()}
    assert report.new == 9 and report.failed == 0 and report.gave_up == 0
    assert all(r.acted_at for r in rows.values())  # nothing is left behind for the next poll
    assert rows["No attachment"].status == "no_documents" and rows["No attachment"].error == "no attachment"
    [hostile] = rows["Hostile name"].parts
    assert hostile["name"] == "x.pdf" and hostile["outcome"] == "stored" and "../../x.pdf" in hostile["reason"]
    [nameless] = rows["No name"].parts
    assert nameless["name"].startswith("attachment-") and nameless["outcome"] == "stored"
    charset = next(r for r in rows.values() if r.message_id == "<charset@vendor.example>")
    assert charset.status == "processed" and "Facture" in charset.subject
    assert sorted(p["name"] for p in charset.parts) == ["Rechnung-März.pdf", "factureé.pdf"]
    [big] = rows["Big scan"].parts
    assert big["outcome"] == "too_large" and "25.0 MB is over the 20 MB limit" in big["reason"]
    assert rows["Big scan"].status == "no_documents" and "too_large" in rows["Big scan"].error
    broken = rows["broken MIME"]
    assert broken.status in {"processed", "no_documents"} and broken.error
    [bomb] = rows["Zip bomb"].parts
    assert bomb["outcome"] == "refused" and "zip bomb" in bomb["reason"]
    [fake] = rows["Fake PDF"].parts
    assert fake["outcome"] == "quarantined" and "program" in fake["reason"]
    assert rows["Good one"].parts[0]["outcome"] == "stored"
    with session_scope() as session:
        good = session.get(Document, rows["Good one"].parts[0]["document_id"])
        assert good.status == "stored" and good.kind == "pdf" and good.page_count == 1  # read by process-document
        big_original = session.get(Document, rows["Big scan"].raw_document_id)
        assert big_original.kind == "eml" and big_original.size_bytes > 25 * 1024 * 1024  # the original is kept
