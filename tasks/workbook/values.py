"""Cell values -> typed invoice values: amounts, dates, status and direction words, codes.

Each parser takes what a cell holds (a number, a date, a string written by a person) and
returns the typed value, or raises ValueError with a reason a person understands.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from tasks.workbook.read import NO_RESULT, BadCell, CellError
from tasks.workbook.vocabulary import ISO_CURRENCIES, Vocabulary, fold

CENT = Decimal("0.01")
_SERIAL_RANGE = (20_000, 80_000)  # 1954 .. 2119: a plain number in a date column is an Excel serial
_EXCEL_EPOCH = date(1899, 12, 30)
_AMOUNT_CHARS = re.compile(r"[^0-9.,\-+()]")
_SPACES = re.compile(r"[\s\u00a0\u202f'’]")
_ISO = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ][0-9:.]+)?$")
_NUMERIC_DATE = re.compile(r"(\d{1,4})[./-](\d{1,2})[./-](\d{1,4})$")
_EMAIL = re.compile(r"[^@\s<]+@[^@\s>]+")


def check_cell(value: Any) -> None:
    """Raise ValueError for a cell that holds an Excel error, an unsaved formula result, or
    something the file gets wrong."""
    if isinstance(value, BadCell):
        raise ValueError(value.reason)
    if isinstance(value, CellError):
        raise ValueError(f"the cell holds the Excel error {value}")
    if value is NO_RESULT:
        raise ValueError("a formula whose result was never saved; open and save the workbook in Excel or LibreOffice")


def text(value: Any) -> str | None:
    """A cell as trimmed text (whole numbers without '.0'); None when empty."""
    check_cell(value)
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, datetime):
        value = value.date() if value.time() == datetime.min.time() else value
    if isinstance(value, (date, datetime)):
        value = value.isoformat()
    result = str(value).strip()
    return result or None


def invoice_number(value: Any) -> str | None:
    if isinstance(value, (date, datetime, bool)):
        raise ValueError(f"{value!r} is not an invoice number")
    if isinstance(value, float) and not value.is_integer():
        raise ValueError(f"{value} is not an invoice number (a decimal number)")
    return text(value)


def amount(value: Any, vocabulary: Vocabulary) -> tuple[Decimal | None, str | None]:
    """(amount rounded to cents, currency named in the cell or None)."""
    if type(value) is float:  # the common case first
        return _cents(Decimal(repr(value)), value), None
    check_cell(value)
    if value is None:
        return None, None
    if isinstance(value, bool) or isinstance(value, (date, datetime)):
        raise ValueError(f"{value!r} is not an amount")
    if isinstance(value, int):
        return _cents(Decimal(value), value), None
    if isinstance(value, float):
        return _cents(Decimal(repr(value)), value), None
    return _amount_text(str(value), vocabulary)


def _cents(number: Decimal, raw: Any) -> Decimal:
    """``number`` rounded to cents (ValueError for one too large to round, or not finite)."""
    try:
        return number.quantize(CENT)
    except InvalidOperation as err:
        raise ValueError(f"{raw!r} is not an amount (too large, or not a number)") from err


@lru_cache(maxsize=4096)
def _amount_text_cached(raw: str, symbols: tuple[tuple[str, str], ...]) -> tuple[Decimal | None, str | None]:
    stripped = raw.strip()
    if not stripped or stripped in {"-", "–", "—"}:
        return None, None
    currency = None
    for symbol, code in symbols:
        if symbol in stripped:
            currency = code
            break
    codes = [code for code in re.findall(r"\b[A-Z]{3}\b", stripped.upper()) if code in ISO_CURRENCIES]
    if codes:
        currency = codes[0]
    compact = _SPACES.sub("", stripped)
    numeric = _AMOUNT_CHARS.sub("", compact)
    negative = numeric.startswith("-") or numeric.endswith("-") or (numeric.startswith("(") and numeric.endswith(")"))
    numeric = numeric.strip("-+()")
    if not numeric or not any(ch.isdigit() for ch in numeric) or re.search(r"[^0-9.,]", numeric):
        raise ValueError(f"{raw!r} is not an amount")
    numeric = _decimal_form(numeric, raw)
    try:
        result = Decimal(numeric).quantize(CENT)
    except InvalidOperation as err:
        raise ValueError(f"{raw!r} is not an amount") from err
    return (-result if negative else result), currency


def _decimal_form(numeric: str, raw: str) -> str:
    """'1.234,56' / '1,234.56' / '1234,5' / '1,234' -> '1234.56' / '1234.56' / '1234.5' / '1234'."""
    dots, commas = numeric.count("."), numeric.count(",")
    if dots and commas:
        decimal_mark = "." if numeric.rfind(".") > numeric.rfind(",") else ","
        thousands = "," if decimal_mark == "." else "."
        if numeric.count(decimal_mark) > 1:
            raise ValueError(f"{raw!r} is not an amount (two decimal marks)")
        return numeric.replace(thousands, "").replace(decimal_mark, ".")
    mark = "." if dots else "," if commas else None
    if mark is None:
        return numeric
    if numeric.count(mark) > 1:  # 1.234.567 or 1,234,567: thousands separators
        return numeric.replace(mark, "")
    head, tail = numeric.split(mark)
    if len(tail) == 3 and head and head != "0":  # 1,234 or 1.234: a thousands separator
        return head + tail
    return f"{head or '0'}.{tail}"


def _amount_text(raw: str, vocabulary: Vocabulary) -> tuple[Decimal | None, str | None]:
    symbols = tuple(sorted(vocabulary.currency_symbols.items(), key=lambda item: -len(item[0])))
    return _amount_text_cached(raw, symbols)


def to_date(value: Any, order: str = "DMY") -> date | None:
    check_cell(value)
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a date")
    if isinstance(value, (int, float)):
        if _SERIAL_RANGE[0] <= value <= _SERIAL_RANGE[1]:
            return _EXCEL_EPOCH + timedelta(days=int(value))
        raise ValueError(f"{value!r} is a number, not a date")
    return _date_text(str(value).strip(), order)


@lru_cache(maxsize=8192)
def _date_text(raw: str, order: str) -> date | None:
    if not raw or raw in {"-", "–", "—"}:
        return None
    try:
        if match := _ISO.match(raw):
            return date(int(match[1]), int(match[2]), int(match[3]))
        if match := _NUMERIC_DATE.match(raw):
            return _numeric_date(int(match[1]), int(match[2]), match[3], order)
    except ValueError as err:
        raise ValueError(f"{raw!r} is not a valid date ({err})") from err
    import dateparser  # only for dates written in words ("15 mars 2024"); slow to import

    settings = {"DATE_ORDER": order, "PREFER_DAY_OF_MONTH": "first", "RETURN_AS_TIMEZONE_AWARE": False}
    parsed = dateparser.parse(raw, languages=["en", "de", "fr"], settings=settings)
    if parsed is None:
        raise ValueError(f"{raw!r} is not a date")
    return parsed.date()


def _numeric_date(first: int, second: int, third_text: str, order: str) -> date:
    third = int(third_text)
    if first > 31:  # 2024/03/15
        return date(first, second, third)
    year = third + (2000 if third < 100 and len(third_text) <= 2 else 0)
    if first > 12 >= second:
        return date(year, second, first)
    if second > 12 >= first:
        return date(year, first, second)
    return date(year, first, second) if order == "MDY" else date(year, second, first)


def _word(value: Any, words: dict[str, str], what: str) -> str | None:
    check_cell(value)
    if value is None:
        return None
    folded = fold(value)
    if not folded:
        return None
    found = words.get(folded)
    if found is None:
        raise ValueError(f"unknown {what} {str(value).strip()!r}; add it to status_words in the mapping file")
    return found


@lru_cache(maxsize=1024)
def _fold_cached(value: str) -> str:
    return fold(value)


def status(value: Any, vocabulary: Vocabulary) -> str | None:
    if isinstance(value, bool):
        return "paid" if value else "open"
    if isinstance(value, str):
        found = vocabulary.status_words.get(_fold_cached(value))
        if found is not None:
            return found
    return _word(value, vocabulary.status_words, "status")


def direction(value: Any, vocabulary: Vocabulary) -> str | None:
    if isinstance(value, str):
        found = vocabulary.direction_words.get(_fold_cached(value))
        if found is not None:
            return found
    try:
        return _word(value, vocabulary.direction_words, "direction")
    except ValueError as err:
        raise ValueError(str(err).replace("status_words", "direction_words")) from err


def currency(value: Any, vocabulary: Vocabulary) -> str | None:
    raw = text(value)
    if raw is None:
        return None
    code = vocabulary.currency_code(raw) or vocabulary.currency_code(raw.upper())
    if code is None:
        raise ValueError(f"{raw!r} is not a currency code (EUR, USD, CHF ...)")
    return code


def email(value: Any) -> str | None:
    raw = text(value)
    if raw is None:
        return None
    if not _EMAIL.search(raw):
        raise ValueError(f"{raw!r} is not an email address")
    return raw


def plain(value: Any) -> Any:
    """A JSON-safe form of a cell for the row's record."""
    if value is None or isinstance(value, (bool, int, str)):
        return str(value) if isinstance(value, CellError) else value
    if isinstance(value, float):
        return int(value) if value.is_integer() else value
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if value is NO_RESULT:
        return None
    return str(value)
