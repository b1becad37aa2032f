"""Currencies: ISO codes and symbols (from CLDR, via babel) found in text, and a country's currency.
"""

from __future__ import annotations

import re
from datetime import date
from functools import lru_cache


@lru_cache(maxsize=1)
def _currency_tables() -> tuple[frozenset[str], dict[str, str]]:
    from babel.core import get_global
    from babel.numbers import get_currency_symbol

    # Only the codes some country tenders today: a historic code (PLZ, DEM, FRF ...) printed on an
    # invoice is an ordinary word ("PLZ" is German for postcode), not the invoice's currency.
    codes = frozenset(code for spans in get_global("territory_currencies").values()
                      for code, _start, end, tender in spans if end is None and tender)
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
                    "A$": "AUD", "₹": "INR"})
    return codes, symbols


# Symbols written in letters, read only as a word of their own beside an amount ("Kč 1.000",
# "Rs. 450", "RM 12.50", "12,99 zł"): elsewhere they are ordinary words or parts of them.
_WORD_SYMBOLS = {"Kč": "CZK", "Rs": "INR", "Rs.": "INR", "RM": "MYR", "zł": "PLN", "Ft": "HUF", "lei": "RON",
                 "R$": "BRL"}
_WORD_SYMBOL_RE = re.compile(
    r"(?<![^\W\d_])(" + "|".join(re.escape(k) for k in sorted(_WORD_SYMBOLS, key=len, reverse=True)) + r")(?![^\W\d_])")


def _word_symbols(text: str) -> list[tuple[int, str]]:
    found = []
    for match in _WORD_SYMBOL_RE.finditer(text):
        before, after = text[max(0, match.start(1) - 2) : match.start(1)], text[match.end(1) : match.end(1) + 2]
        if re.search(r"\d\s?$", before) or re.match(r"\s?\d", after):
            found.append((match.start(1), _WORD_SYMBOLS[match.group(1)]))
    return found


_CODE_RE = re.compile(r"(?<![A-Za-z])([A-Z]{3})(?![A-Za-z])")
_COMMON_CODES = ("EUR", "USD", "GBP", "CHF", "SEK", "DKK", "NOK", "PLN", "CZK", "CAD", "AUD", "JPY")
# Three-letter words that are ISO codes but appear on invoices as something else.
_NOT_CURRENCIES = frozenset({"ALL", "TOP", "MOP", "BOB", "CUP", "PEN", "MAD", "ANG", "BAM", "DOP", "GEL", "SOS"})


def currencies_in(text: str) -> list[str]:
    """ISO 4217 codes in use in ``text``, from codes and from symbols (€, £, $, Fr. ...), in order."""
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
    found += _word_symbols(text)
    return [code for _, code in sorted(found)]


def territory_currency(country: str) -> str | None:
    """The currency in use in a country (ISO 3166 alpha-2), from CLDR."""
    from babel.numbers import get_territory_currencies

    try:
        current = get_territory_currencies(country.upper(), date.today())
    except Exception:  # unknown territory
        return None
    return current[0] if current else None
