"""Emails made by the tests: ordinary invoices and the hostile or broken kinds a mailbox receives."""

from __future__ import annotations

import email
import email.policy
import io
import uuid
import zipfile
from email.message import EmailMessage

from tests.support.pdfs import text_pdf


def invoice_mail(subject: str = "Invoice", attachments: list[tuple[str | None, bytes]] | None = None,
                 sender: str = "billing@vendor.example", message_id: str | None = None) -> bytes:
    """A message with a text body and PDF (or other) attachments; name None sends a nameless part."""
    message = EmailMessage()
    message["From"] = f"Vendor <{sender}>"
    message["To"] = "invoices@example.com"
    message["Subject"] = subject
    message["Message-ID"] = message_id or f"<{uuid.uuid4().hex}@vendor.example>"
    message["Date"] = "Tue, 03 Mar 2026 10:00:00 +0100"
    message.set_content("Please find the invoice attached.\n")
    for name, data in attachments if attachments is not None else [(f"{subject}.pdf", text_pdf([subject]))]:
        maintype, subtype = ("application", "pdf") if data.startswith(b"%PDF") else ("application", "octet-stream")
        if name is None:
            message.add_attachment(data, maintype=maintype, subtype=subtype)
            del message.get_payload()[-1]["Content-Disposition"]
            message.get_payload()[-1]["Content-Disposition"] = "attachment"
        else:
            message.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return message.as_bytes()


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def zip_bomb(expanded_mb: int = 200) -> bytes:
    """A small zip whose one member expands to `expanded_mb` of zeros."""
    return zip_bytes({"invoice.pdf": b"\0" * (expanded_mb * 1024 * 1024)})


def wrong_charsets_mail(pdf: bytes) -> bytes:
    """Subject and file name in charsets that do not exist or are not declared at all."""
    import base64

    encoded = base64.encodebytes(pdf).decode()
    return (
        "From: =?x-no-such-charset?Q?R=E9mi?= <remi@vendor.example>\r\n"
        "Subject: =?x-no-such-charset?Q?Facture_n=B0_12?=\r\n"
        "Message-ID: <charset@vendor.example>\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="b1"\r\n\r\n'
        "--b1\r\nContent-Type: text/plain; charset=x-bogus\r\n\r\nMontant d\xfb\r\n"
        "--b1\r\nContent-Type: application/pdf\r\n"
        "Content-Disposition: attachment; filename*=x-bogus''facture%E9.pdf\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\n" + encoded + "--b1\r\n"
        "Content-Type: application/pdf; name=\"Rechnung-M\xe4rz.pdf\"\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\n" + encoded + "--b1--\r\n"
    ).encode("latin-1")


def malformed_mail() -> bytes:
    """Multipart without a boundary, a truncated base64 part and a header without a colon."""
    return (
        b"From: broken@vendor.example\r\n"
        b"Subject: broken MIME\r\n"
        b"Message-ID: <broken@vendor.example>\r\n"
        b"MIME-Version: 1.0\r\n"
        b"Content-Type: multipart/mixed\r\n"
        b"This line is no header\r\n\r\n"
        b"--nothing\r\nContent-Type: application/pdf; name=a.pdf\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQKJcfs\r\n"
    )


def large_attachment_mail(megabytes: int = 25) -> bytes:
    """A message with a `megabytes` MB PDF (written directly: EmailMessage is slow at this size)."""
    import base64

    encoded = base64.b64encode(b"%PDF-1.4\n" + b"0" * (megabytes * 1024 * 1024))
    body = b"\r\n".join(encoded[i:i + 76] for i in range(0, len(encoded), 76)) + b"\r\n"
    head = (b"From: billing@vendor.example\r\nSubject: Big scan\r\nMessage-ID: <big@vendor.example>\r\n"
            b'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n'
            b"--b\r\nContent-Type: text/plain\r\n\r\nThe scan.\r\n"
            b'--b\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename="scan.pdf"\r\n'
            b"Content-Transfer-Encoding: base64\r\n\r\n")
    return head + body + b"--b--\r\n"


def body_mail(subject: str, html: str | None, text: str, forwarded: bytes | None = None) -> bytes:
    """A message whose body is the whole content (HTML with a plain-text alternative, or plain
    text only), optionally with another message forwarded inside it."""
    message = EmailMessage()
    message["From"] = "Cloudly <receipts@cloudly.example>"
    message["To"] = "invoices@example.com"
    message["Subject"] = subject
    message["Message-ID"] = f"<{uuid.uuid4().hex}@cloudly.example>"
    message["Date"] = "Tue, 03 Mar 2026 10:00:00 +0100"
    message.set_content(text)
    if html is not None:
        message.add_alternative(html, subtype="html")
    if forwarded is not None:
        message.add_attachment(email.message_from_bytes(forwarded, policy=email.policy.default))
    return message.as_bytes()


RECEIPT_HTML = """<html><head><style>td { padding: 4px }</style></head><body>
<img src="https://cdn.cloudly.example/logo.png" alt="Cloudly">
<h2>Your receipt from Cloudly Inc.</h2>
<table>
<tr><td>Invoice number</td><td>CL-2026-0912</td></tr>
<tr><td>Date paid</td><td>March 3, 2026</td></tr>
<tr><td>Amount paid</td><td>$49.00</td></tr>
</table>
<p>Cloudly Inc., 500 Market Street, San Francisco, CA 94105</p>
<script>track()</script>
</body></html>"""
