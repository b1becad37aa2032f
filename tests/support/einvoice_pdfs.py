"""Hybrid PDFs made by the tests: a page of text (what a person sees) carrying e-invoice XML as an
attachment, under any name, optionally named by the PDF/A-3 ``/AF`` relation of the catalogue."""

from __future__ import annotations

import pymupdf

from tests.support.pdfs import text_pdf


def hybrid_pdf(xml: bytes | None, page_lines: list[str], attachment: str = "factur-x.xml",
               af: bool = True, extra: dict[str, bytes] | None = None) -> bytes:
    """A one-page PDF showing ``page_lines`` with ``xml`` attached as ``attachment`` (and ``extra``
    files before it); ``af`` names the invoice's attachment in the catalogue's ``/AF`` array."""
    document = pymupdf.open(stream=text_pdf(page_lines), filetype="pdf")
    for name, data in (extra or {}).items():
        document.embfile_add(name, data, filename=name, ufilename=name)
    if xml is not None:
        stream = document.embfile_add(attachment, xml, filename=attachment, ufilename=attachment)
        if af:  # the file specification as an object of its own, named by the catalogue's /AF
            spec = document.get_new_xref()
            document.update_object(spec, f"<< /Type /Filespec /F ({attachment}) /UF ({attachment}) "
                                         f"/AFRelationship /Alternative /EF << /F {stream} 0 R /UF {stream} 0 R >> >>")
            document.xref_set_key(document.pdf_catalog(), "AF", f"[{spec} 0 R]")
    data = document.tobytes()
    document.close()
    return data
