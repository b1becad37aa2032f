"""Small PDFs made by the tests themselves (pymupdf)."""

from __future__ import annotations

import pymupdf


def text_pdf(lines: list[str]) -> bytes:
    document = pymupdf.open()
    page = document.new_page()
    y = 72
    for line in lines:
        page.insert_text((72, y), line, fontsize=11)
        y += 16
    data = document.tobytes()
    document.close()
    return data


def encrypted_pdf(lines: list[str], password: str = "open-sesame") -> bytes:
    document = pymupdf.open(stream=text_pdf(lines), filetype="pdf")
    data = document.tobytes(encryption=pymupdf.PDF_ENCRYPT_AES_256, user_pw=password, owner_pw=password + "!")
    document.close()
    return data


def html_pdf(html: str) -> bytes:
    """An A4 PDF drawn from HTML by pymupdf's HTML engine (tables set as a real invoice sets them)."""
    import io

    from tests.support.layouts import draw_html

    buffer = io.BytesIO()
    draw_html(f'<html><body style="font-family: sans-serif; font-size: 9.5pt">{html}</body></html>', buffer)
    return buffer.getvalue()
