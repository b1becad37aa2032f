"""Dates, numbers and money in each person's locale (babel), and the desk's words in their language."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_datetime
from babel.numbers import format_currency, format_decimal, format_percent

from web.catalogue import CATALOGUES


def known_locale(name: str | None) -> str:
    """``name`` if babel knows it (``de_DE``, ``de-DE``, ``en``), else ``en``."""
    try:
        return str(Locale.parse((name or "en").replace("-", "_")))
    except (UnknownLocaleError, ValueError, TypeError):
        return "en"


class Formats:
    """The formatting of one person's pages."""

    def __init__(self, locale: str | None, zone: Any = None) -> None:
        self.locale = known_locale(locale)
        self.language = self.locale.split("_")[0]
        self.zone = zone
        self.words = CATALOGUES.get(self.language, {})

    def t(self, text: str, **values: Any) -> str:
        """``text`` in the person's language (English when the catalogue lacks it)."""
        chosen = self.words.get(text, text)
        return chosen.format(**values) if values else chosen

    def day(self, value: date | datetime | None) -> str:
        if value is None or value == "":
            return ""
        if isinstance(value, datetime):
            value = value.astimezone(self.zone) if self.zone else value
            return format_datetime(value, "short", locale=self.locale)
        return format_date(value, "medium", locale=self.locale)

    def money(self, amount: Decimal | float | None, currency: str | None) -> str:
        if amount is None:
            return ""
        try:
            return format_currency(amount, currency or "EUR", locale=self.locale)
        except (ValueError, KeyError):
            return f"{format_decimal(amount, locale=self.locale)} {currency or ''}".strip()

    def number(self, value: Decimal | float | None) -> str:
        return "" if value is None else format_decimal(value, locale=self.locale)

    def percent(self, value: float | None) -> str:
        return "" if value is None else format_percent(value, locale=self.locale)

    def filters(self) -> dict[str, Callable[..., str]]:
        return {"day": self.day, "money": self.money, "number": self.number, "percent": self.percent}
