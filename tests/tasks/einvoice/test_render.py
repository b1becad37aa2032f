"""The readable rendering of XML-only invoices: parties, dates, lines, tax breakdown, totals and
payment terms in English, German or French, every value a sender wrote shown as text."""

from __future__ import annotations

import re
from pathlib import Path

import pymupdf
import pytest

from tasks.einvoice.render import language_for_country, language_of, render, render_html
from tasks.einvoice.view import invoice_view
from tasks.reading.einvoice_xml import read_einvoice

DATA = Path(__file__).resolve().parents[2] / "data" / "einvoice"


def _view(path: Path, data: bytes | None = None):  # type: ignore[no-untyped-def]
    data = data if data is not None else path.read_bytes()
    return invoice_view(read_einvoice(data, path.name), path.name)


@pytest.mark.parametrize(("language", "words"), [
    ("en", ["Invoice 12115118", "Seller", "Buyer", "VAT breakdown", "Total with VAT", "250.33", "9 Jan 2015"]),
    ("de_DE", ["Rechnung 12115118", "Verkäufer", "Käufer", "Umsatzsteuer", "Gesamt brutto", "250,33", "09.01.2015"]),
    ("fr", ["Facture 12115118", "Vendeur", "Acheteur", "Détail de la TVA", "Total TTC", "250,33", "9 janv. 2015"]),
])
def test_the_rendering_shows_the_invoice_in_the_readers_language(language: str, words: list[str]) -> None:
    view = _view(DATA / "en16931" / "cii" / "CII_example1.xml")
    made = render(view, language)
    text = " ".join(" ".join(page.get_text().split()) for page in pymupdf.open(stream=made.pdf))
    for word in [*words, "De Koksmaat", "ODIN 59", "PATAT FRITES 10MM 10KG", "NL57 RABO 0107307510"]:
        assert word in text, word
    assert made.language == language_of(language)
    assert len(view.lines) == 20 and len(view.taxes) == 2


def test_a_credit_note_says_so_and_shows_its_payment_terms() -> None:
    view = _view(DATA / "en16931" / "ubl" / "ubl-tc434-creditnote1.xml")
    html = render_html(view, "en")
    assert view.credit_note and "<h1>Credit note " in html
    assert all(term in html for term in view.payment_terms)


def test_what_a_sender_wrote_is_escaped_and_nothing_is_fetched() -> None:
    path = DATA / "en16931" / "cii" / "CII_example1.xml"
    hostile = path.read_bytes().replace(b"De Koksmaat", b"&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=http://127.0.0.9/x&gt;")
    html = render_html(_view(path, hostile), "en")
    assert "<script>" not in html and "<img" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert not re.search(r"""<[^>]*\b(src|href)\s*=""", html)  # no tag of the page names anything to load


def test_the_language_follows_the_buyers_country() -> None:
    assert [language_for_country(c) for c in ("DE", "at", "FR", "NL", None)] == ["de", "de", "fr", "en", "en"]
    assert [language_of(w) for w in ("de_DE", "fr-BE", "nl", None)] == ["de", "fr", "en", "en"]
