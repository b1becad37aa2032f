"""A readable rendering of an XML-only e-invoice, in English, German or French: HTML (Jinja2, every
value escaped) and a PDF made from that HTML by pymupdf's ``Story`` (nothing is fetched: the HTML
names no outside resource). The original XML is never changed; the rendering is a document of its
own, linked to it."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import pymupdf
from babel.dates import format_date
from babel.numbers import format_decimal
from jinja2 import Environment, StrictUndefined, select_autoescape

from tasks.einvoice.view import InvoiceView

LANGUAGES = ("en", "de", "fr")
WORDS: dict[str, dict[str, str]] = {
    "en": {"invoice": "Invoice", "credit_note": "Credit note", "number": "Number", "issue_date": "Issue date",
           "due_date": "Due date", "seller": "Seller", "buyer": "Buyer", "vat_id": "VAT ID", "position": "#",
           "description": "Description", "quantity": "Quantity", "unit": "Unit", "unit_price": "Unit price",
           "net_amount": "Net amount", "tax": "VAT", "tax_breakdown": "VAT breakdown", "category": "Category",
           "rate": "Rate", "taxable": "Taxable amount", "totals": "Totals", "lines": "Sum of lines",
           "allowances": "Allowances", "charges": "Charges", "net": "Total without VAT", "total": "Total with VAT",
           "prepaid": "Paid in advance", "due": "Amount due", "payment": "Payment", "terms": "Payment terms",
           "reference": "Payment reference", "buyer_reference": "Buyer reference", "notes": "Notes",
           "currency": "Currency", "made_from": "Rendered from the e-invoice XML, which is the invoice in law",
           "lines_heading": "Lines"},
    "de": {"invoice": "Rechnung", "credit_note": "Gutschrift", "number": "Nummer", "issue_date": "Rechnungsdatum",
           "due_date": "Fällig am", "seller": "Verkäufer", "buyer": "Käufer", "vat_id": "USt-IdNr.", "position": "Pos.",
           "description": "Bezeichnung", "quantity": "Menge", "unit": "Einheit", "unit_price": "Einzelpreis",
           "net_amount": "Nettobetrag", "tax": "USt.", "tax_breakdown": "Umsatzsteuer", "category": "Kategorie",
           "rate": "Satz", "taxable": "Bemessungsgrundlage", "totals": "Summen", "lines": "Summe der Positionen",
           "allowances": "Nachlässe", "charges": "Zuschläge", "net": "Gesamt netto", "total": "Gesamt brutto",
           "prepaid": "Bereits gezahlt", "due": "Zahlbetrag", "payment": "Zahlung", "terms": "Zahlungsbedingungen",
           "reference": "Verwendungszweck", "buyer_reference": "Leitweg-ID / Käuferreferenz", "notes": "Hinweise",
           "currency": "Währung", "made_from": "Dargestellt aus der E-Rechnung (XML); rechtlich gilt die XML-Datei",
           "lines_heading": "Positionen"},
    "fr": {"invoice": "Facture", "credit_note": "Avoir", "number": "Numéro", "issue_date": "Date de facture",
           "due_date": "Échéance", "seller": "Vendeur", "buyer": "Acheteur", "vat_id": "N° TVA", "position": "N°",
           "description": "Désignation", "quantity": "Quantité", "unit": "Unité", "unit_price": "Prix unitaire",
           "net_amount": "Montant HT", "tax": "TVA", "tax_breakdown": "Détail de la TVA", "category": "Catégorie",
           "rate": "Taux", "taxable": "Base HT", "totals": "Totaux", "lines": "Total des lignes",
           "allowances": "Remises", "charges": "Frais", "net": "Total HT", "total": "Total TTC",
           "prepaid": "Acompte versé", "due": "Net à payer", "payment": "Paiement", "terms": "Conditions de paiement",
           "reference": "Référence de paiement", "buyer_reference": "Référence acheteur", "notes": "Notes",
           "currency": "Devise", "made_from": "Rendu de la facture électronique XML, qui fait foi",
           "lines_heading": "Lignes"},
}

_TEMPLATE = """<!DOCTYPE html>
<html lang="{{ lang }}"><head><meta charset="utf-8"><title>{{ title }} {{ view.number or "" }}</title>
<style>{{ css }}</style></head><body>
<h1>{{ title }} {{ view.number or "" }}</h1>
<p class="dates">{{ w.issue_date }}: {{ day(view.issue_date) }}{% if view.due_date %} · {{ w.due_date }}: {{ day(view.due_date) }}{% endif %}{% if view.currency %} · {{ w.currency }}: {{ view.currency }}{% endif %}</p>
<table class="parties"><tr>
{% for label, party in ((w.seller, view.seller), (w.buyer, view.buyer)) %}<td><h2>{{ label }}</h2>
<p><b>{{ party.name or "" }}</b>{% for line in party.address %}<br>{{ line }}{% endfor %}
{% if party.vat_id %}<br>{{ w.vat_id }}: {{ party.vat_id }}{% endif %}{% if party.email %}<br>{{ party.email }}{% endif %}</p></td>
{% endfor %}</tr></table>
<h2>{{ w.lines_heading }}</h2>
<table class="lines"><tr><th>{{ w.position }}</th><th>{{ w.description }}</th><th>{{ w.quantity }}</th><th>{{ w.unit }}</th>
<th>{{ w.unit_price }}</th><th>{{ w.net_amount }}</th><th>{{ w.tax }}</th></tr>
{% for line in view.lines %}<tr><td>{{ line.line_id or line.position }}</td><td>{{ line.description or "" }}</td>
<td class="n">{{ number(line.quantity) }}</td><td>{{ line.unit or "" }}</td><td class="n">{{ number(line.unit_price) }}</td>
<td class="n">{{ money(line.net_amount) }}</td><td>{{ line.tax_category or "" }} {{ percent(line.tax_rate) }}</td></tr>
{% endfor %}</table>
{% if view.taxes %}<h2>{{ w.tax_breakdown }}</h2>
<table class="taxes"><tr><th>{{ w.category }}</th><th>{{ w.rate }}</th><th>{{ w.taxable }}</th><th>{{ w.tax }}</th></tr>
{% for tax in view.taxes %}<tr><td>{{ tax.category or "" }}</td><td class="n">{{ percent(tax.rate) }}</td>
<td class="n">{{ money(tax.taxable) }}</td><td class="n">{{ money(tax.tax) }}</td></tr>{% endfor %}</table>{% endif %}
<h2>{{ w.totals }}</h2>
<table class="totals">{% for key, amount in view.totals %}<tr><td>{{ w[key] }}</td><td class="n">{{ money(amount) }} {{ view.currency or "" }}</td></tr>{% endfor %}</table>
<h2>{{ w.payment }}</h2><p>
{% if view.due_date %}{{ w.due_date }}: {{ day(view.due_date) }}<br>{% endif %}
{% for term in view.payment_terms %}{{ w.terms }}: {{ term }}<br>{% endfor %}
{% if view.iban %}IBAN: {{ view.iban }}{% if view.bic %} · BIC: {{ view.bic }}{% endif %}<br>{% endif %}
{% if view.payment_reference %}{{ w.reference }}: {{ view.payment_reference }}<br>{% endif %}
{% if view.buyer_reference %}{{ w.buyer_reference }}: {{ view.buyer_reference }}{% endif %}</p>
{% if view.notes %}<h2>{{ w.notes }}</h2>{% for note in view.notes %}<p>{{ note }}</p>{% endfor %}{% endif %}
<p class="small">{{ w.made_from }}{% if view.profile %} ({{ view.profile }}){% endif %}.</p>
</body></html>
"""
_CSS = """body { font-family: sans-serif; font-size: 9pt; } h1 { font-size: 15pt; } h2 { font-size: 11pt; }
table { border-collapse: collapse; width: 100%; } th { text-align: left; border-bottom: 1px solid #888; }
td { vertical-align: top; padding: 2px; } td.n { text-align: right; } .small { font-size: 7pt; color: #555; }"""
_ENVIRONMENT = Environment(autoescape=select_autoescape(default=True, default_for_string=True),
                           undefined=StrictUndefined)
_COMPILED = _ENVIRONMENT.from_string(_TEMPLATE)
_LOCALES = {"en": "en_GB", "de": "de_DE", "fr": "fr_FR"}


@dataclass(frozen=True)
class Rendering:
    language: str
    html: str
    pdf: bytes


def language_of(wanted: str | None) -> str:
    """``wanted`` (a language or locale such as de_DE) if it is English, German or French; else English."""
    base = (wanted or "en").replace("-", "_").split("_")[0].lower()
    return base if base in LANGUAGES else "en"


# The language an invoice's buyer reads, by the country of the buyer's address.
_COUNTRY_LANGUAGES = {"DE": "de", "AT": "de", "LI": "de", "FR": "fr", "MC": "fr"}


def language_for_country(country: str | None) -> str:
    """German for a buyer in Germany, Austria or Liechtenstein, French in France or Monaco, else English."""
    return _COUNTRY_LANGUAGES.get((country or "").upper(), "en")


def render_html(view: InvoiceView, language: str = "en") -> str:
    lang = language_of(language)
    locale = _LOCALES[lang]
    words = WORDS[lang]

    def number(value: Decimal | None) -> str:
        return "" if value is None else format_decimal(value, locale=locale, decimal_quantization=False)

    def money(value: Decimal | None) -> str:
        return "" if value is None else format_decimal(value, format="#,##0.00", locale=locale)

    def percent(value: Decimal | None) -> str:
        return "" if value is None else f"{number(value)} %"

    def day(value: date | None) -> str:
        return "" if value is None else format_date(value, format="medium", locale=locale)

    values: dict[str, Any] = {"lang": lang, "w": words, "view": view, "css": _CSS, "number": number,
                              "money": money, "percent": percent, "day": day,
                              "title": words["credit_note" if view.credit_note else "invoice"]}
    return _COMPILED.render(**values)


def html_to_pdf(html: str) -> bytes:
    """An A4 PDF of ``html`` laid out by pymupdf's Story, page after page."""
    buffer = io.BytesIO()
    story = pymupdf.Story(html=html)
    writer = pymupdf.DocumentWriter(buffer)
    page, frame = pymupdf.paper_rect("a4"), pymupdf.paper_rect("a4") + (36, 36, -36, -36)
    more = True
    while more:
        device = writer.begin_page(page)
        more, _ = story.place(frame)
        story.draw(device)
        writer.end_page()
    writer.close()
    return buffer.getvalue()


def render(view: InvoiceView, language: str = "en") -> Rendering:
    html = render_html(view, language)
    return Rendering(language_of(language), html, html_to_pdf(html))
