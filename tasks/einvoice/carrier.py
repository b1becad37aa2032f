"""Where an e-invoice travels: an XML file of its own (UBL, CII, XRechnung, Peppol), or the XML a
hybrid PDF carries (Factur-X, ZUGFeRD 1.0 and 2.x, an XRechnung attachment), whatever the
attachment is called, the PDF/A-3 ``/AF`` relation first."""

from __future__ import annotations

from dataclasses import dataclass

from tasks.documents.filetypes import detect
from tasks.errors import UnreadableDocument
from tasks.reading.einvoice_xml import EInvoice, einvoice_from_root, parse_xml, pdf_attachments
from tasks.reading.pdf_layer import open_pdf


@dataclass
class Carried:
    """An e-invoice and how it came: ``carrier`` is "xml" or "pdf" (then ``attachment`` is its name)."""

    einvoice: EInvoice
    carrier: str
    attachment: str | None = None


def einvoice_in_xml(data: bytes, name: str) -> Carried:
    found = einvoice_from_root(parse_xml(data, name), data)
    if found is None:
        raise UnreadableDocument(f"{name}: XML, but not a UBL or CII invoice")
    return Carried(found, "xml")


def einvoice_in_pdf_bytes(data: bytes, name: str) -> Carried:
    """The invoice among a PDF's attachments; UnreadableDocument naming every attachment refused and why."""
    document = open_pdf(data, name)
    refused = []
    try:
        for attachment, xml in pdf_attachments(document):
            try:
                found = einvoice_from_root(parse_xml(xml, f"{name} ({attachment})"), xml)
            except UnreadableDocument as err:
                refused.append(str(err))
                continue
            if found is not None:
                found.attachment = attachment
                return Carried(found, "pdf", attachment)
    finally:
        document.close()
    raise UnreadableDocument("; ".join(refused) if refused else f"{name}: a PDF that carries no e-invoice XML")


def carried_einvoice(data: bytes, name: str) -> Carried:
    """The e-invoice in a file's bytes, by what the bytes are (never by the name)."""
    kind = detect(data[:4096]).kind
    if kind == "xml":
        return einvoice_in_xml(data, name)
    if kind == "pdf":
        return einvoice_in_pdf_bytes(data, name)
    raise UnreadableDocument(f"{name}: a {kind} file, neither an XML e-invoice nor a PDF that carries one")
