"""What the invoice columns can hold, read from their types in `db.models`, and whether a value
fits: a value that does not is a rejected workbook row or a review reason, checked before
anything is written, so that SQLite (which would store it unchecked) and PostgreSQL (which would
refuse the whole transaction) end the same way.
"""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache
from typing import Any

from sqlalchemy import Column, Numeric, String

from db.models import Invoice


def text_limit(column: Column[Any]) -> int | None:
    """The most characters a text column holds (None: no limit)."""
    return column.type.length if isinstance(column.type, String) else None


@lru_cache(maxsize=64)
def _largest(precision: int, scale: int) -> Decimal:
    return Decimal(10) ** (precision - scale) - Decimal(1).scaleb(-scale)


def largest_amount(column: Column[Any]) -> Decimal | None:
    """The largest magnitude a numeric column holds (Numeric(14, 2): 999,999,999,999.99)."""
    kind = column.type
    if isinstance(kind, Numeric) and kind.precision is not None:
        return _largest(kind.precision, kind.scale or 0)
    return None


def misfit(column: Column[Any], value: Any) -> str | None:
    """Why ``value`` does not fit ``column``, or None when it does."""
    if isinstance(value, str):
        limit = text_limit(column)
        if limit is not None and len(value) > limit:
            return f"{len(value):,} characters, more than the {limit} the {column.name} column holds"
    elif isinstance(value, Decimal):
        largest = largest_amount(column)
        if largest is not None and (not value.is_finite() or abs(value) > largest):
            return f"{value} is more than the {column.name} column holds (at most {largest:,})"
    return None


def _bound(column: Column[Any]) -> int | Decimal | None:
    return text_limit(column) if isinstance(column.type, String) else largest_amount(column)


# invoice field -> the most characters (a text column) or the largest magnitude (a numeric one)
INVOICE_BOUNDS: dict[str, int | Decimal] = {
    name: bound for name, column in Invoice.__table__.c.items() if (bound := _bound(column)) is not None}


def invoice_misfit(field: str, value: Any) -> str | None:
    """Why ``value`` does not fit the invoice column ``field`` (None when it does or there is no
    such column). Quick for a value that fits: this runs for every value of every row."""
    bound = INVOICE_BOUNDS.get(field)
    if bound is None:
        return None
    if type(value) is str:
        if len(value) <= bound:  # type: ignore[operator]
            return None
    elif type(value) is Decimal:
        if value.is_finite() and -bound <= value <= bound:  # type: ignore[operator]
            return None
    else:
        return None
    return misfit(Invoice.__table__.c[field], value)
