import pytest

from tasks.documents.filetypes import detect
from tests.support.pdfs import text_pdf


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (b"", "empty"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 20, "image"),
        (b"\xff\xd8\xff\xe0" + b"\x00" * 20, "image"),
        (b"II*\x00" + b"\x00" * 20, "image"),
        (b"\x7fELF\x02\x01", "executable"),
        (b"MZ\x90\x00", "executable"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 20, "office-legacy"),
        (b'<?xml version="1.0"?><Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"/>', "xml"),
        (b"<!DOCTYPE html><html><body>hi</body></html>", "text"),
        (b"Received: from x\r\nFrom: a@example.com\r\nSubject: Rechnung\r\n\r\nbody", "eml"),
        (b"Content-Type: multipart/mixed; boundary=b\r\nReply-To: a@example.com\r\n\r\n--b--", "eml"),
        (b"just some words", "text"),
        (bytes(range(256)) * 4, "other"),
    ],
)
def test_kind_comes_from_the_bytes(data, kind):
    assert detect(data).kind == kind


def test_a_pdf_is_a_pdf_whatever_its_name():
    assert detect(text_pdf(["x"])).kind == "pdf"


def test_xml_and_text_saved_in_utf16_or_windows_1252_are_told_by_their_content():
    assert detect('<?xml version="1.0" encoding="UTF-16"?><Invoice/>'.encode("utf-16")).kind == "xml"
    assert detect("Rechnung Nr. 1\nGesamt 10,00 €".encode("utf-16")).kind == "text"
    assert detect("Rechnung Nr. 1\nGesamt 10,00 € für Müller".encode("cp1252")).kind == "text"
    assert detect(b"\x01\x02binary\xff\xfe" * 10).kind == "other"
