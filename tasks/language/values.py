"""Parsing the values printed on invoices: amounts, dates, currencies, VAT ids, IBANs and
payment terms, in the formats used in English, German, French and Dutch documents.

Month names and currency symbols come from CLDR (babel), VAT ids are checked with
python-stdnum, IBANs with schwifty; unusual written dates fall back to dateparser.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from itertools import islice, product

LANGUAGES = ("en", "de", "fr", "nl")


def fold(text: str) -> str:
    """Lowercase without accents ("Fällig" -> "fallig"), for matching labels and month names."""
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").casefold()


# ---------------------------------------------------------------- amounts

_SPACES = "\u00a0\u202f\u2009 "
# A number as printed: 1,234.56  1.234,56  1'234.56  1 234,56  1234  -12.00  (12.00)  12,00-
AMOUNT_PATTERN = (
    r"(?<![\w.,'/])"
    r"(?P<sign>[-\u2212(]\s?(?:[€£$¥]\s?)?)?"  # "-€300.00" as well as "€ -300.00"
    r"(?P<number>\d{1,3}(?:[.,'\u2019\u00a0\u202f\u2009 °´`]\d{3})+(?:[.,]\d{1,2})?|\d+(?:[.,]\d{1,2})?)"
    r"(?P<trail>-(?!\d)|\))?"
    r"(?![\w/]|[.,]\d|\s?%)"
)
AMOUNT_RE = re.compile(AMOUNT_PATTERN)


def parse_amount(text: str) -> Decimal | None:
    """The amount in ``text`` as a Decimal, whatever the grouping and decimal separators.

    >>> [str(parse_amount(s)) for s in ("1,234.56", "1.234,56", "1'234.56", "1 234,56", "-12,5", "(7.00)")]
    ['1234.56', '1234.56', '1234.56', '1234.56', '-12.5', '-7.00']
    """
    match = AMOUNT_RE.search(text.replace("\u2212", "-"))
    if match is None:
        return None
    return _number(match.group("number"), bool(match.group("sign") or match.group("trail")))


def _number(raw: str, negative: bool = False) -> Decimal | None:
    digits = raw.replace("'", "").replace("\u2019", "")
    for misread in "°´`":  # OCR's readings of the Swiss apostrophe in 1'234.50
        digits = digits.replace(misread, "")
    for space in _SPACES:
        digits = digits.replace(space, "")
    last_dot, last_comma = digits.rfind("."), digits.rfind(",")
    decimal_at = max(last_dot, last_comma)
    if decimal_at >= 0:
        separator = digits[decimal_at]
        fraction = digits[decimal_at + 1 :]
        # One separator followed by exactly three digits is a thousands separator (1.234 / 1,234).
        if digits.count(separator) > 1 or (len(fraction) == 3 and min(last_dot, last_comma) < 0):
            decimal_at = -1
    if decimal_at >= 0:
        whole = digits[:decimal_at].replace(".", "").replace(",", "")
        digits = f"{whole}.{digits[decimal_at + 1:]}"
    else:
        digits = digits.replace(".", "").replace(",", "")
    try:
        value = Decimal(digits)
    except InvalidOperation:
        return None
    return -value if negative else value


# What a number after it is not an amount of: a law's paragraph or article ("§ 19 UStG", "art. 293 B du CGI").
_LEGAL_ARTICLE = re.compile(r"(?:§|\b(?:art|article|artikel|abs|absatz))\.?\s*$", re.I)


def find_amounts(text: str) -> list[tuple[Decimal, int, int]]:
    """Every amount in ``text`` with its span; percentages, dates, long ids and the numbers of
    articles of law are left out."""
    found = []
    for match in AMOUNT_RE.finditer(text.replace("\u2212", "-")):
        number = match.group("number")
        if len(re.sub(r"\D", "", number)) > 13:
            continue
        if _LEGAL_ARTICLE.search(text, max(0, match.start() - 10), match.start()):
            continue
        value = _number(number, bool(match.group("sign") or match.group("trail")))
        if value is not None:
            found.append((value, match.start(), match.end()))
    return found


# ---------------------------------------------------------------- currencies


@lru_cache(maxsize=1)
def _currency_tables() -> tuple[frozenset[str], dict[str, str]]:
    from babel.numbers import get_currency_symbol, list_currencies

    codes = frozenset(code for code in list_currencies() if len(code) == 3 and code.isalpha())
    symbols: dict[str, str] = {}
    # The first locale to claim a symbol wins: "$" is USD, "kr" is SEK unless the text says otherwise.
    for locale in ("en_US", "en_GB", "de_DE", "fr_FR", "nl_NL", "de_CH", "ja_JP", "en_IN", "sv_SE", "pl_PL",
                   "en_CA", "en_AU", "da_DK", "nb_NO", "cs_CZ", "hu_HU", "tr_TR", "ru_RU", "zh_CN", "ko_KR"):
        for code in ("USD", "EUR", "GBP", "CHF", "JPY", "INR", "SEK", "PLN", "CAD", "AUD", "DKK", "NOK",
                     "CZK", "HUF", "TRY", "RUB", "CNY", "KRW", "ILS", "BRL"):
            symbol = get_currency_symbol(code, locale)
            if symbol != code:
                symbols.setdefault(symbol, code)
    symbols.update({"€": "EUR", "£": "GBP", "¥": "JPY", "Fr.": "CHF", "SFr.": "CHF", "US$": "USD", "C$": "CAD",
                    "A$": "AUD"})
    return codes, symbols


_CODE_RE = re.compile(r"(?<![A-Za-z])([A-Z]{3})(?![A-Za-z])")
_COMMON_CODES = ("EUR", "USD", "GBP", "CHF", "SEK", "DKK", "NOK", "PLN", "CZK", "CAD", "AUD", "JPY")
# Three-letter words that are ISO codes but appear on invoices as something else.
_NOT_CURRENCIES = frozenset({"ALL", "TOP", "MOP", "BOB", "CUP", "PEN", "MAD", "ANG", "BAM", "DOP", "GEL", "SOS"})


def currencies_in(text: str) -> list[str]:
    """ISO 4217 codes in ``text``, from codes and from symbols (€, £, $, Fr. ...), in order."""
    codes, symbols = _currency_tables()
    found: list[tuple[int, str]] = []
    for match in _CODE_RE.finditer(text):
        code = match.group(1)
        if code in codes and (code not in _NOT_CURRENCIES):
            found.append((match.start(), code))
    for symbol, code in symbols.items():
        if len(symbol) == 1 or not symbol.isalpha():
            start = text.find(symbol)
            while start >= 0:
                if not (symbol == "$" and start > 0 and text[start - 1].isalpha()):
                    found.append((start, code))
                start = text.find(symbol, start + len(symbol))
    return [code for _, code in sorted(found)]


def territory_currency(country: str) -> str | None:
    """The currency in use in a country (ISO 3166 alpha-2), from CLDR."""
    from babel.numbers import get_territory_currencies

    try:
        current = get_territory_currencies(country.upper(), date.today())
    except Exception:  # unknown territory
        return None
    return current[0] if current else None


# ---------------------------------------------------------------- dates


@lru_cache(maxsize=1)
def _month_names() -> dict[str, int]:
    from babel import Locale

    names: dict[str, int] = {}
    for language in LANGUAGES:
        locale = Locale.parse(language)
        for context in ("format", "stand-alone"):
            for width in ("wide", "abbreviated"):
                for number, name in locale.months[context][width].items():
                    key = fold(name).rstrip(".")
                    if len(key) >= 3:
                        names.setdefault(key, number)
    names.update({"sept": 9, "mrz": 3, "marz": 3, "maerz": 3, "juil": 7, "janv": 1, "fevr": 2, "avr": 4})
    return names


@lru_cache(maxsize=1)
def _written_res() -> tuple[re.Pattern[str], re.Pattern[str]]:
    alternatives = "|".join(sorted((re.escape(n) for n in _month_names()), key=len, reverse=True))
    day_first = re.compile(rf"\b(\d{{1,2}})(?:er|st|nd|rd|th)?\.?\s*(?:de\s+)?({alternatives})\.?,?\s*(\d{{4}})\b")
    month_first = re.compile(rf"\b({alternatives})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}})\b")
    return day_first, month_first


NUMERIC_DATE_RE = re.compile(r"(?<![\d.,/-])(\d{1,2})\s?([./-])\s?(\d{1,2})\2\s?(\d{4}|\d{2})(?!\d|[.,]\d)")
ISO_DATE_RE = re.compile(r"(?<![\d.])(\d{4})-(\d{2})-(\d{2})(?!\d)")
COMPACT_DATE_RE = re.compile(r"(?<!\d)(20\d{2})(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])(?!\d)")


def _year(raw: str) -> int:
    year = int(raw)
    return year + 2000 if year < 100 else year


def _make(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def date_order_hint(text: str) -> str | None:
    """"DMY" or "MDY" when some numeric date in ``text`` can only be read one way, else None."""
    dmy = mdy = 0
    for match in NUMERIC_DATE_RE.finditer(text):
        first, second = int(match.group(1)), int(match.group(3))
        if first > 12 >= second:
            dmy += 1
        elif second > 12 >= first:
            mdy += 1
    if dmy == mdy:
        return None
    return "DMY" if dmy > mdy else "MDY"


@lru_cache(maxsize=4096)
def _fold_character(ch: str) -> str:
    return (fold(ch) or ch.lower())[:1]


def find_dates(text: str, order: str = "DMY") -> list[tuple[date, int, int]]:
    """Every date in ``text`` with its span: numeric (``order`` decides 03/04), ISO and written."""
    found: list[tuple[date, int, int]] = []
    # folded character by character, so that spans still fit ``text`` when it holds a dash or a "£"
    folded = text.lower() if text.isascii() else "".join(map(_fold_character, text))
    day_first, month_first = _written_res()
    months = _month_names()
    for match in day_first.finditer(folded):
        value = _make(int(match.group(3)), months[match.group(2)], int(match.group(1)))
        if value:
            found.append((value, match.start(), match.end()))
    for match in month_first.finditer(folded):
        value = _make(int(match.group(3)), months[match.group(1)], int(match.group(2)))
        if value:
            found.append((value, match.start(), match.end()))
    for match in ISO_DATE_RE.finditer(text):
        value = _make(int(match.group(1)), int(match.group(2)), int(match.group(3)))
        if value:
            found.append((value, match.start(), match.end()))
    for match in NUMERIC_DATE_RE.finditer(text):
        first, separator, second, year = int(match.group(1)), match.group(2), int(match.group(3)), _year(match.group(4))
        if separator == "." or first > 12:
            value = _make(year, second, first)
        elif second > 12 or order == "MDY":
            value = _make(year, first, second)
        else:
            value = _make(year, second, first)
        if value:
            found.append((value, match.start(), match.end()))
    for match in COMPACT_DATE_RE.finditer(text):
        value = _make(int(match.group(1)), int(match.group(2)), int(match.group(3)))
        if value and not any(s <= match.start() < e for _, s, e in found):
            found.append((value, match.start(), match.end()))
    found.sort(key=lambda item: item[1])
    return [item for index, item in enumerate(found) if index == 0 or item[1] >= found[index - 1][2]]


@lru_cache(maxsize=4096)
def parse_date(text: str, order: str = "DMY", languages: tuple[str, ...] = LANGUAGES) -> date | None:
    """The first date in ``text``; unusual spellings ("the 3rd of May, 2024") are given to dateparser."""
    found = find_dates(text, order)
    if found:
        return found[0][0]
    if not re.search(r"(?<!\d)(?:19|20)\d\d(?!\d)", text) or not re.search(r"[^\W\d_]{3,}", text) or len(text) > 40:
        return None  # dateparser only for a written date with its year
    import dateparser

    parsed = dateparser.parse(
        text,
        languages=list(languages),
        settings={"DATE_ORDER": order, "STRICT_PARSING": True, "REQUIRE_PARTS": ["day", "month", "year"]},
    )
    return parsed.date() if parsed else None


# ---------------------------------------------------------------- payment terms

_TERMS_RES = (
    # "Net 30", "netto 14", but not the start of an amount ("Summe netto 31'693.17", "netto 1 250,00")
    re.compile(r"\bnet(?:to)?\s*(\d{1,3})\b(?!\s*[.,'\u2019]\d|[\s\u00a0\u202f]\d{3}\b)", re.I),
    re.compile(r"(\d{1,3})\s*(?:days?|tage?n?|jours?|dagen|dgn)\b", re.I),
)
_IMMEDIATE_RE = re.compile(
    r"due (?:up)?on receipt|payable immediately|sofort (?:zahlbar|f[äa]llig)|zahlbar sofort|"
    r"[àa] r[ée]ception|d[èe]s r[ée]ception|onmiddellijk|direct te betalen", re.I
)
_EARLY_PAYMENT_DISCOUNT = re.compile(r"skonto|discount|escompte|korting", re.I)


def payment_terms_days(text: str) -> int | None:
    """The payment term in days stated in ``text`` ("Net 30", "30 Tage netto", "sous 30 jours" ...)."""
    if _IMMEDIATE_RE.search(text):
        return 0
    for pattern in _TERMS_RES:
        days = [int(found) for found in pattern.findall(text) if 0 <= int(found) <= 180]
        if days:
            # "10 Tage 2 % Skonto, 30 Tage netto": the discount's term is the shorter one
            return max(days) if _EARLY_PAYMENT_DISCOUNT.search(text) else days[0]
    return None


def due_from_terms(issue: date | None, days: int | None) -> date | None:
    if issue is None or days is None:
        return None
    return issue + timedelta(days=days)


# ---------------------------------------------------------------- VAT ids and IBANs

_VAT_RE = re.compile(
    r"\b(ATU|BE|BG|CY|CZ|DE|DK|EE|EL|GR|ES|FI|FR|GB|XI|HR|HU|IE|IT|LT|LU|LV|MT|NL|PL|PT|RO|SE|SI|SK|CHE)"
    r"[\s.-]?([0-9A-Z](?:[0-9A-Z]|(?<=[\dOILSB])[\s.-](?=[\dOILSB])){6,16})"
)


@lru_cache(maxsize=8192)
def normalise_vat(candidate: str) -> str | None:
    """A valid VAT id in compact form (``DE136695976``), or None."""
    from stdnum.ch import uid as ch_uid
    from stdnum.eu import vat as eu_vat
    from stdnum.gb import vat as gb_vat

    text = candidate.upper().replace("MWST", "").replace("TVA", "").replace("IVA", "").strip()
    if text.startswith("CHE"):  # the Swiss UID; the "MWST" / "TVA" after it is dropped above
        return ch_uid.compact(text) if ch_uid.is_valid(text) else None
    if text.startswith(("GB", "XI")) and gb_vat.is_valid(text[2:]):
        return text[:2] + gb_vat.compact(text[2:])
    if eu_vat.is_valid(text):
        return eu_vat.compact(text)
    return None


def find_vat_ids(text: str) -> list[tuple[str, int, bool]]:
    """VAT-id-shaped strings: (compact id, position, valid checksum)."""
    found = []
    for match in _VAT_RE.finditer(text.upper()):
        raw = re.sub(r"[\s.-]", "", match.group(0))
        # A longer match may have swallowed the next word; try shrinking it.
        for end in range(len(raw), max(7, len(raw) - 6), -1):
            valid = normalise_vat(raw[:end])
            if valid:
                found.append((valid, match.start(), True))
                break
        else:
            repaired = _repair_ocr(raw)
            if repaired:
                found.append((repaired, match.start(), True))
            elif re.fullmatch(r"[A-Z]{2,3}\d{8,12}", raw):
                found.append((raw, match.start(), False))
    return found


# A UK VAT registration number printed without its "GB" ("VAT Reg No: 245 6719 41").
_UNPREFIXED_GB_VAT = re.compile(
    r"\bvat\s*(?:reg(?:istration|istered|\.)?\s*)?(?:no\b\.?|number\b|nr\b\.?|#)?\s*[:.]?\s*"
    r"(\d{3}\s?\d{4}\s?\d{2}(?:\s?\d{3})?)(?![\s-]?\d)", re.I)


def find_unprefixed_gb_vat(text: str) -> list[tuple[str, int]]:
    """UK VAT numbers after a VAT label but without the country prefix: (GB id, position), valid ones only."""
    from stdnum.gb import vat as gb_vat

    return [("GB" + gb_vat.compact(match.group(1)), match.start(1)) for match in _UNPREFIXED_GB_VAT.finditer(text)
            if gb_vat.is_valid(match.group(1))]


# What a country's VAT number holds after its prefix, position by position: d a digit, a a
# letter, x either (the formats python-stdnum checks).
_VAT_FORMATS: dict[str, tuple[str, ...]] = {
    "ATU": ("d" * 8,), "BE": ("d" * 10,), "BG": ("d" * 9, "d" * 10), "CHE": ("d" * 9,), "CY": ("d" * 8 + "a",),
    "CZ": ("d" * 8, "d" * 9, "d" * 10), "DE": ("d" * 9,), "DK": ("d" * 8,), "EE": ("d" * 9,), "EL": ("d" * 9,),
    "GR": ("d" * 9,), "ES": ("x" + "d" * 7 + "x",), "FI": ("d" * 8,), "FR": ("xx" + "d" * 9,), "GB": ("d" * 9, "d" * 12),
    "XI": ("d" * 9, "d" * 12), "HR": ("d" * 11,), "HU": ("d" * 8,), "IE": ("d" * 7 + "a", "d" * 7 + "aa", "dx" + "d" * 5 + "a"),
    "IT": ("d" * 11,), "LT": ("d" * 9, "d" * 12), "LU": ("d" * 8,), "LV": ("d" * 11,), "MT": ("d" * 8,),
    "NL": ("d" * 9 + "a" + "dd",), "PL": ("d" * 10,), "PT": ("d" * 9,), "RO": tuple("d" * n for n in range(2, 11)),
    "SE": ("d" * 12,), "SI": ("d" * 8,), "SK": ("d" * 10,),
}
# What OCR reads for a digit, and for a letter: a confusion is undone only where the format
# wants the other kind of character.
_AS_DIGIT = {"O": "0", "D": "0", "Q": "0", "U": "0", "I": "1", "L": "1", "J": "1", "Z": "2", "S": "58", "B": "8",
             "G": "6", "T": "7", "A": "4"}
_AS_LETTER = {"0": "O", "1": "I", "2": "Z", "4": "A", "5": "S", "6": "G", "8": "B"}


def _repair_ocr(raw: str) -> str | None:
    """A VAT id OCR misread (O for 0 among digits, 0 for O where the format wants a letter, S for 5
    or 8 ...): the letters and digits swapped back where the country's format wants the other
    kind, taken only when exactly one repair passes the checksum."""
    prefix = 3 if raw.startswith(("ATU", "CHE")) else 2
    country, body = raw[:prefix], raw[prefix:]
    valid: set[str] = set()
    for shape in _VAT_FORMATS.get(country, ()):
        swapped = sum(kind != "x" and (kind == "d") != ch.isdigit() for kind, ch in zip(shape, body, strict=False))
        if len(shape) > len(body) or len(shape) < 8 or swapped > 3:
            continue  # a word that starts like a VAT id ("ROBOTICS"), not a misread one
        options = []
        for kind, ch in zip(shape, body, strict=False):
            if kind == "x" or (kind == "d") == ch.isdigit():
                options.append(ch)
            else:
                options.append((_AS_DIGIT if kind == "d" else _AS_LETTER).get(ch, ""))
            if not options[-1]:
                break
        else:
            for letters in islice(product(*options), 64):
                found = normalise_vat(country + "".join(letters))
                if found:
                    valid.add(found)
    return valid.pop() if len(valid) == 1 else None


_IBAN_RE = re.compile(r"\b([A-Z]{2}\s?(?:\d[\dOIL]|[OIL]\d)(?:\s?[A-Z0-9]){10,30})")
# Countries whose IBANs hold only digits after the country code: there an O read by OCR is a 0.
_NUMERIC_IBANS = frozenset("AT BE DE DK EE ES FI HR HU LT NO PL PT RS SE SI SK CZ".split())
_OCR_DIGITS = str.maketrans("OIL", "011")


def normalise_iban(candidate: str) -> str | None:
    """A valid IBAN in electronic form (no spaces), or None."""
    from schwifty import IBAN
    from schwifty.exceptions import SchwiftyException

    try:
        return IBAN(candidate).compact
    except (SchwiftyException, ValueError):
        return None


# A mark OCR reads into an IBAN's groups ("NL22 RABO 0312 998: 8 71" for "0312 9988 71").
_STRAY_MARK = re.compile(r"(?<=[A-Z0-9])[:;.,'’`](?=\s?[A-Z0-9])")


def find_ibans(text: str) -> list[tuple[str, int]]:
    """Valid IBANs in ``text`` (the checksum decides where an IBAN ends); where none is found, once
    more without the stray marks OCR reads between its characters."""
    upper = text.upper()
    found = _ibans_in(upper)
    if not found and _STRAY_MARK.search(upper):
        found = _ibans_in(_STRAY_MARK.sub("", upper))
    return found


def _ibans_in(text: str) -> list[tuple[str, int]]:
    found = []
    for match in _IBAN_RE.finditer(text):
        compact = re.sub(r"\s", "", match.group(1))
        for candidate in dict.fromkeys((compact, *_ocr_repaired(compact))):
            iban = _longest_valid_prefix(candidate)
            if iban:
                found.append((iban, match.start()))
                break
    return found


def _longest_valid_prefix(compact: str) -> str | None:
    for end in range(min(len(compact), 34), 14, -1):
        iban = normalise_iban(compact[:end])
        if iban:
            return iban
    return None


def _ocr_repaired(compact: str) -> tuple[str, ...]:
    """The IBAN with the letters OCR reads for digits (O for 0, I/l for 1) read as digits: first
    where it can only hold digits (check digits; the whole of a numeric country's), then
    everywhere. The checksum decides whether a repaired IBAN is taken."""
    country, rest = compact[:2], compact[2:]
    everywhere = country + rest.translate(_OCR_DIGITS)
    if country in _NUMERIC_IBANS:
        return (everywhere,)
    return country + rest[:2].translate(_OCR_DIGITS) + rest[2:], everywhere
