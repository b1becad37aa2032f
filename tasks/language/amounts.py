"""Amounts as printed on invoices, whatever the grouping and decimal separators
(1,234.56  1.234,56  1'234.56  1 234,56), the sign in front or behind.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

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
