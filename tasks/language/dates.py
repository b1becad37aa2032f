"""Dates as printed in English, German, French and Dutch documents: numeric in the document's own
order, ISO, compact, and written with month names (CLDR, via babel; dateparser for the rest).
"""

from __future__ import annotations

import re
from datetime import date
from functools import lru_cache

from tasks.language.words import LANGUAGES, fold, fold_in_place


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
    day_first = re.compile(rf"\b(\d{{1,2}})(?:er|st|nd|rd|th)?\.?\s*(?:de\s+)?({alternatives})\.?\s?,?\s*(\d{{4}})\b")
    month_first = re.compile(rf"\b({alternatives})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?\s?,?\s+(\d{{4}})\b")
    return day_first, month_first


NUMERIC_DATE_RE = re.compile(r"(?<![\d.,/-])(\d{1,2})\s?([./-])\s?(\d{1,2})\2\s?(\d{4}|\d{2})(?!\d|[.,]\d)")
ISO_DATE_RE = re.compile(r"(?<![\d.])(\d{4})([-/.])(\d{2})\2(\d{2})(?!\d)")  # 2024-07-05, 2024/07/05
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


def find_dates(text: str, order: str = "DMY") -> list[tuple[date, int, int]]:
    """Every date in ``text`` with its span: numeric (``order`` decides 03/04), ISO and written."""
    found: list[tuple[date, int, int]] = []
    # folded character by character, so that spans still fit ``text`` when it holds a dash or a "£"
    folded = fold_in_place(text)
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
        value = _make(int(match.group(1)), int(match.group(3)), int(match.group(4)))
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
