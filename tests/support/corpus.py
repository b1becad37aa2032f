"""A labelled invoice corpus made from a seed: PDFs in English, German, French and Dutch with
varied layouts, fonts, currencies, number and date formats, plus scanned variants (rendered
to images with skew, noise, blur, low resolution, a page upside down), each with its expected
fields as JSON.

    python -m tests.corpus tests/data/corpus        # regenerate the committed corpus
    generate(folder, seed=7, text_count=80, scan_count=20)   # a larger, held-out set (benchmarks)
"""

from __future__ import annotations

import json
import random
import sys
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from babel.dates import format_date
from babel.numbers import format_decimal

from tests.support.corpus_words import LANGS, company, person_or_company

SEED = 20240301
FONTS = [("Helvetica", "Helvetica-Bold"), ("Times-Roman", "Times-Bold"), ("Courier", "Courier-Bold"), ("Vera", "VeraBd")]


@dataclass
class Invoice:
    lang: str
    locale: str
    currency: str
    number: str
    issue: date
    due: date | None
    terms_days: int | None
    vendor: str
    vendor_country: str
    vat_id: str
    iban: str
    customer: str
    reference: str | None
    credit: bool
    items: list[tuple[str, int, Decimal, int]] = field(default_factory=list)  # text, qty, price, rate

    def totals(self) -> tuple[Decimal, dict[int, Decimal], Decimal]:
        net = sum((q * p for _, q, p, _ in self.items), Decimal("0")).quantize(Decimal("0.01"))
        taxes: dict[int, Decimal] = {}
        for _, q, p, rate in self.items:
            taxes[rate] = taxes.get(rate, Decimal("0")) + q * p * rate / 100
        taxes = {r: v.quantize(Decimal("0.01"), ROUND_HALF_UP) for r, v in taxes.items()}
        return net, taxes, net + sum(taxes.values(), Decimal("0"))

    def expected(self, name: str) -> dict[str, object]:
        net, taxes, total = self.totals()
        sign = Decimal("-1") if self.credit and self.negative else Decimal("1")
        return {
            "file": name, "invoice_number": self.number, "issue_date": self.issue.isoformat(),
            "due_date": self.due.isoformat() if self.due else None, "vendor": self.vendor,
            "vendor_vat_id": self.vat_id, "iban": self.iban, "currency": self.currency,
            "net": str(net * sign), "tax": str(sum(taxes.values(), Decimal("0")) * sign), "total": str(total * sign),
            "reference": self.reference, "customer": self.customer, "is_credit_note": self.credit,
        }

    negative: bool = False


_LOCALES = {"en": [("en_US", "USD"), ("en_GB", "GBP"), ("en_IE", "EUR")], "de": [("de_DE", "EUR"), ("de_AT", "EUR"), ("de_CH", "CHF")],
            "fr": [("fr_FR", "EUR"), ("fr_BE", "EUR"), ("fr_CH", "CHF")], "nl": [("nl_NL", "EUR"), ("nl_BE", "EUR")]}
_COUNTRY = {"en_US": "GB", "en_GB": "GB", "en_IE": "IE", "de_DE": "DE", "de_AT": "AT", "de_CH": "DE", "fr_FR": "FR",
            "fr_BE": "BE", "fr_CH": "FR", "nl_NL": "NL", "nl_BE": "BE"}


def _vat_id(rng: random.Random, country: str) -> str:
    from stdnum.eu import vat
    from stdnum.gb import vat as gb_vat

    lengths = {"DE": 9, "AT": 8, "FR": 11, "BE": 10, "NL": 12, "GB": 9, "IE": 8}
    while True:
        digits = "".join(rng.choice("0123456789") for _ in range(lengths[country]))
        if country == "AT":
            candidate = "ATU" + digits
        elif country == "NL":
            candidate = f"NL{digits[:9]}B{digits[9:11]}"
        elif country == "BE":
            candidate = "BE0" + digits[1:]
        elif country == "IE":
            candidate = "IE" + digits[:7] + rng.choice("ABCDEFGHW")
        else:
            candidate = country + digits
        if (country == "GB" and gb_vat.is_valid(candidate[2:])) or (country != "GB" and vat.is_valid(candidate)):
            return candidate


def _iban(rng: random.Random, country: str) -> str:
    from schwifty import IBAN

    banks = {"DE": ["37040044", "10070000", "50010517"], "AT": ["19043", "12000"], "FR": ["3000600001", "3000400003"],
             "BE": ["539", "001"], "NL": ["ABNA", "INGB", "RABO"], "GB": ["NWBK601613", "BARC200000"],
             "IE": ["AIBK931152", "BOFI900017"]}
    length = {"DE": 10, "AT": 11, "FR": 11, "BE": 7, "NL": 10, "GB": 8, "IE": 8}[country]
    for _ in range(200):
        account = "".join(rng.choice("0123456789") for _ in range(length))
        try:
            return IBAN.generate(country, bank_code=rng.choice(banks[country]), account_code=account).compact
        except Exception:  # an account number the country's check rules refuse
            continue
    raise RuntimeError(f"no IBAN for {country}")


def make_invoice(rng: random.Random) -> Invoice:
    lang = rng.choice(list(LANGS))
    locale, currency = rng.choice(_LOCALES[lang])
    country = _COUNTRY[locale]
    issue = date(2023, 1, 1) + timedelta(days=rng.randrange(0, 700))
    terms = rng.choice([None, 14, 30, 30, 45]) if rng.random() < 0.5 else None
    due = issue + timedelta(days=terms if terms is not None else rng.choice([14, 21, 30]))
    if rng.random() < 0.12:
        due, terms = None, None
    prefix = rng.choice(["INV-", "RE-", "F", "", "2024/", "A-", "NR"])
    number = f"{prefix}{issue.year}{rng.choice(['-', '', '/'])}{rng.randrange(1, 99999):0{rng.choice([3, 4, 5])}d}"
    vendor = company(rng, country)
    items = [(rng.choice(LANGS[lang]["items"]), rng.randint(1, 12), Decimal(rng.randrange(500, 250000)) / 100,
              rng.choice(LANGS[lang]["rates"][country]) ) for _ in range(rng.randint(1, 5))]
    if rng.random() < 0.7:  # usually one rate per invoice
        items = [(t, q, p, items[0][3]) for t, q, p, _ in items]
    invoice = Invoice(
        lang=lang, locale=locale, currency=currency, number=number, issue=issue, due=due, terms_days=terms,
        vendor=vendor, vendor_country=country, vat_id=_vat_id(rng, country), iban=_iban(rng, country),
        customer=person_or_company(rng, country), reference=(f"PO-{rng.randrange(1000, 99999)}" if rng.random() < 0.5
                                                             else None),
        credit=rng.random() < 0.1, items=items,
    )
    invoice.negative = invoice.credit and rng.random() < 0.5
    return invoice


def money(invoice: Invoice, value: Decimal, rng: random.Random, style: int) -> str:
    text = format_decimal(value, format="#,##0.00", locale=invoice.locale).replace("\u202f", " ").replace("\u00a0", " ")
    symbol = {"EUR": "€", "USD": "$", "GBP": "£", "CHF": "CHF"}[invoice.currency]
    return [f"{text} {invoice.currency}", f"{symbol} {text}" if symbol != "CHF" else f"CHF {text}",
            f"{text} {symbol}", text][style]


def when(invoice: Invoice, value: date, style: int) -> str:
    if style == 0:
        return value.isoformat()
    if style == 1:
        return format_date(value, format="long", locale=invoice.locale)
    if invoice.locale == "en_US":
        return value.strftime("%m/%d/%Y")
    return value.strftime({"de": "%d.%m.%Y", "fr": "%d/%m/%Y", "nl": "%d-%m-%Y", "en": "%d/%m/%Y"}[invoice.lang])


def generate(folder: Path, seed: int = SEED, text_count: int = 16, scan_count: int = 6) -> list[Path]:
    """Write ``text_count`` PDFs and ``scan_count`` scanned variants with their JSON; returns the files."""
    from tests.support.corpus_render import render_pdf, scan

    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    written = []
    for index in range(text_count):
        invoice = make_invoice(rng)
        name = f"{index + 1:03d}-{invoice.lang}-{invoice.locale}.pdf"
        (folder / name).write_bytes(render_pdf(invoice, rng))
        (folder / name).with_suffix(".json").write_text(json.dumps(invoice.expected(name), indent=1, ensure_ascii=False) + "\n")
        written.append(folder / name)
    for index in range(scan_count):
        invoice = make_invoice(rng)
        data, suffix, how = scan(render_pdf(invoice, rng), rng, index)
        name = f"scan-{index + 1:03d}-{invoice.lang}-{how}{suffix}"
        (folder / name).write_bytes(data)
        expected = invoice.expected(name)
        (folder / name).with_suffix(".json").write_text(json.dumps(expected, indent=1, ensure_ascii=False) + "\n")
        written.append(folder / name)
    return written


def cases(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix != ".json" and p.with_suffix(".json").exists())


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "tests/data/corpus")
    for old in target.glob("*"):
        old.unlink()
    for path in generate(target):
        print(path, len(path.read_bytes()) // 1024, "KB")
