"""What is taken from a message and why the rest is not (no server or database needed)."""

import struct

from tasks.mail.parts import PartLimits, clean_name, decode_text, extract
from tests.support.mails import (
    RECEIPT_HTML,
    body_mail,
    invoice_mail,
    malformed_mail,
    wrong_charsets_mail,
    zip_bomb,
    zip_bytes,
)
from tests.support.pdfs import text_pdf

LIMITS = PartLimits(max_attachment_bytes=2 * 1024 * 1024, min_inline_image_bytes=20 * 1024)
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 100


def _lying_zip(real: bytes) -> bytes:
    """A zip whose headers claim its member is 10 bytes long."""
    data = bytearray(zip_bytes({"small.pdf": real}))
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        start = data.index(signature)
        data[start + offset:start + offset + 4] = struct.pack("<I", 10)
    return bytes(data)


def test_hostile_and_missing_names_are_cleaned():
    assert clean_name("../../x.pdf") == "x.pdf"
    assert clean_name("..\\..\\windows\\evil.pdf") == "evil.pdf"
    assert clean_name("a\x00b\x1f.pdf") == "ab.pdf"
    assert clean_name("..") == "" and clean_name(None) == ""
    assert len(clean_name("x" * 1000 + ".pdf")) <= 200 and clean_name("x" * 1000 + ".pdf").endswith(".pdf")


def test_unknown_and_undeclared_charsets_still_give_text():
    assert decode_text("=?x-no-such-charset?Q?Facture_n=B0_12?=").startswith("Facture n")
    assert decode_text("=?utf-8?B?UmVjaG51bmcgTcOkcno=?=") == "Rechnung März"
    contents = extract(wrong_charsets_mail(text_pdf(["x"])), LIMITS)
    assert contents.headers.sender == "remi@vendor.example"
    assert sorted(a.name for a in contents.attachments) == ["Rechnung-März.pdf", "factureé.pdf"]


def test_small_inline_images_are_skipped_and_large_ones_kept():
    from email.message import EmailMessage

    message = EmailMessage()
    message["Subject"] = "logo"
    message.set_content("hi")
    message.add_attachment(PNG, maintype="image", subtype="png", disposition="inline", filename="logo.png")
    message.add_attachment(b"\x89PNG\r\n\x1a\n" + b"\1" * 40_000, maintype="image", subtype="png",
                           filename="scan.png")
    contents = extract(message.as_bytes(), LIMITS)
    assert [a.name for a in contents.attachments] == ["scan.png"]
    assert contents.notes[0]["outcome"] == "skipped" and "logo" in contents.notes[0]["reason"]


def test_zip_bombs_and_lying_archives_are_refused_without_unpacking_them():
    raw = invoice_mail("zips", [("bomb.zip", zip_bomb(50)), ("liar.zip", _lying_zip(b"%PDF-1.4" + b"\0" * 3_000_000)),
                                ("many.zip", zip_bytes({f"{n}.pdf": b"%PDF" for n in range(300)}))])
    contents = extract(raw, LIMITS)
    assert contents.attachments == []
    reasons = {n["name"]: n["reason"] for n in contents.notes}
    assert "zip bomb" in reasons["bomb.zip/invoice.pdf"]
    assert "expands beyond" in reasons["liar.zip/small.pdf"] or "Bad CRC" in reasons["liar.zip/small.pdf"]
    assert "300 files" in reasons["many.zip"]


def test_zip_in_zip_and_forwarded_messages_are_opened_up_to_a_depth():
    inner = zip_bytes({"deep.pdf": text_pdf(["deep"])})
    forwarded = invoice_mail("inner", [("fwd.pdf", text_pdf(["fwd"]))])
    contents = extract(invoice_mail("outer", [("outer.zip", zip_bytes({"inner.zip": inner})),
                                              ("message.eml", forwarded)]), LIMITS)
    assert sorted(a.name for a in contents.attachments) == ["message.eml/fwd.pdf", "outer.zip/inner.zip/deep.pdf"]
    nested = invoice_mail("n0", [("x.eml", forwarded)])
    for level in range(1, 8):
        nested = invoice_mail(f"n{level}", [("x.eml", nested)])
    deep = extract(nested, LIMITS)
    assert deep.attachments == [] and any("nested" in n["reason"] for n in deep.notes)


def test_malformed_mime_is_walked_and_its_defects_noted():
    contents = extract(malformed_mail(), LIMITS)
    assert contents.headers.subject == "broken MIME"
    assert contents.defects


def _text_of(pdf: bytes) -> str:
    import pymupdf

    with pymupdf.open(stream=pdf, filetype="pdf") as document:
        return "".join(page.get_text() for page in document)


def test_a_message_whose_text_is_the_invoice_gives_its_body_as_a_pdf():
    receipt = extract(body_mail("Your receipt from Cloudly", RECEIPT_HTML, "Receipt CL-2026-0912: $49.00"), LIMITS)
    [body] = receipt.attachments
    assert body.name == "Your receipt from Cloudly (message text).pdf" and body.data.startswith(b"%PDF")
    text = _text_of(body.data)
    assert "CL-2026-0912" in text and "$49.00" in text  # drawn from the HTML part, not the plain one
    assert "track()" not in text and "[image]" not in text
    assert extract(body_mail("Your receipt from Cloudly", RECEIPT_HTML, "x"), LIMITS).attachments[0].data == body.data

    plain = extract(body_mail("Rechnung 2026-17", None, "Rechnung Nr. 2026-17\nBetrag: 1.190,00 EUR\n"), LIMITS)
    assert "2026-17" in _text_of(plain.attachments[0].data)

    forwarded = body_mail("Fwd: receipt", None, "See below, for the books.",
                          forwarded=body_mail("Your receipt from Cloudly", RECEIPT_HTML, "x"))
    [inner] = extract(forwarded, LIMITS).attachments
    assert inner.name == "Your receipt from Cloudly (message text).pdf"  # the forwarded message's body


def test_a_message_text_that_is_not_an_invoice_or_comes_with_an_invoice_file_gives_no_body_document():
    newsletter = body_mail("Spring news", "<p>Our new plans start at $9.00 a month!</p>", "new plans")
    assert extract(newsletter, LIMITS).attachments == []
    assert extract(body_mail("Hello", None, "Thanks for the invoice, we will pay it on Friday."), LIMITS).attachments == []
    with_file = extract(invoice_mail("Invoice 9", [("inv9.pdf", text_pdf(["Invoice 9"]))]), LIMITS)
    assert [a.name for a in with_file.attachments] == ["inv9.pdf"]
